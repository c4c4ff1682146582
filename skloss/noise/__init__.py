"""Controlled label noise, for training on corrupted labels and scoring on clean ones.

Three concepts, one module each:

- injection (:func:`make_noisy_labels`, :func:`transition_matrix`): corrupt a
  label vector with one of the standard protocols of the noisy-label literature
  (symmetric, pair-flip, or an arbitrary class-transition matrix);
- the noisy-fold protocol (:func:`noisy_folds`, :class:`NoisyFold`): split the
  data, corrupt the training labels only, keep the held-out labels clean;
- selection (:func:`expected_noisy_accuracy`, :func:`select_by_noisy_scores`):
  choose a model from scores on noisy labels;
- gross errors in regression targets (:func:`make_noisy_targets`), the same
  protocol for regressors.
"""

from skloss.noise.folds import NoisyFold, noisy_folds
from skloss.noise.injection import make_noisy_labels, transition_matrix
from skloss.noise.selection import expected_noisy_accuracy, select_by_noisy_scores
from skloss.noise.targets import make_noisy_targets

__all__ = [
    "NoisyFold",
    "expected_noisy_accuracy",
    "make_noisy_labels",
    "make_noisy_targets",
    "noisy_folds",
    "select_by_noisy_scores",
    "transition_matrix",
]
