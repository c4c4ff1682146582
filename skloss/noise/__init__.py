"""Controlled label noise, for training on corrupted labels and scoring on clean ones.

One concept per module:

- injection (:func:`make_noisy_labels`, :func:`transition_matrix`): corrupt a
  label vector with one of the standard protocols of the noisy-label literature
  (symmetric, pair-flip, or an arbitrary class-transition matrix);
- the noisy-fold protocol (:func:`noisy_folds`, :class:`NoisyFold`): split the
  data, corrupt the training labels only, keep the held-out labels clean;
- estimating the noise (:func:`estimate_transition`, :func:`transition_from_proba`):
  the class-transition matrix of noisy labels, by the confident joint;
- selection (:func:`expected_noisy_accuracy`, :func:`select_by_noisy_scores`,
  :func:`estimated_clean_accuracy`, :func:`clean_accuracy_scorer`): choose a model
  from scores on noisy labels, or from the clean accuracy estimated through the
  transition matrix;
- loss correction (:class:`LossCorrectionClassifier`): train with the loss
  corrected by the transition matrix, estimated inside ``fit``;
- gross errors in regression targets (:func:`make_noisy_targets`), the same
  protocol for regressors.
"""

from skloss.noise.clean_accuracy import (
    CleanAccuracyScorer,
    clean_accuracy_scorer,
    estimated_clean_accuracy,
)
from skloss.noise.correction import LossCorrectionClassifier
from skloss.noise.folds import NoisyFold, noisy_folds
from skloss.noise.injection import make_noisy_labels, transition_matrix
from skloss.noise.selection import expected_noisy_accuracy, select_by_noisy_scores
from skloss.noise.targets import make_noisy_targets
from skloss.noise.transition import TransitionEstimate, estimate_transition, transition_from_proba

__all__ = [
    "CleanAccuracyScorer",
    "LossCorrectionClassifier",
    "NoisyFold",
    "TransitionEstimate",
    "clean_accuracy_scorer",
    "estimate_transition",
    "estimated_clean_accuracy",
    "expected_noisy_accuracy",
    "make_noisy_labels",
    "make_noisy_targets",
    "noisy_folds",
    "select_by_noisy_scores",
    "transition_from_proba",
    "transition_matrix",
]
