"""Optuna tuning for skloss estimators: search spaces and clone-safe pruning.

Three concepts, one module each, all on top of Optuna's and scikit-learn's own
machinery:

- search spaces: :func:`suggest_params` (define-by-run, inside an Optuna
  objective) and :func:`param_distributions` (for
  :class:`optuna_integration.OptunaSearchCV`) draw from one search space: the
  loss among the registry's names of the estimator's kind (for a classifier,
  the classification losses that can train its number of classes; for
  :class:`~skloss.RobustLossRegressor`, the regression losses), each loss's own
  parameters from its
  ``search_space`` class attribute (declared next to the loss), a log-uniform
  learning rate and ``alpha``, hidden layer sizes and early stopping on or off.
  :func:`params_from_trial` turns a finished trial's parameters (from any
  storage) back into ``set_params`` arguments, and :func:`loss_grid` builds the
  list of grids, one per loss, that ``GridSearchCV`` needs to search losses with
  different parameters. Each takes a skloss estimator or a ``Pipeline`` holding
  one, and then names parameters with the step's prefix (``clf__loss__q``).
- :class:`PruningCallback`: a skorch callback that reports each fit's
  validation score to an Optuna trial and prunes, and that survives
  :func:`sklearn.base.clone` and deep copies, so it works inside
  ``cross_val_score`` and ``GridSearchCV``.
- :class:`OptunaSearchCV`: ``optuna_integration.OptunaSearchCV`` with guards
  against two of its pitfalls (see its docstring).

Optuna and optuna-integration are optional dependencies (the ``tune`` extra):
they are imported when these functions are called, not when skloss is.

:func:`skloss.noise.expected_noisy_accuracy` and
:func:`skloss.noise.select_by_noisy_scores` (choosing under label noise) live in
:mod:`skloss.noise`; they stay importable from here, where earlier releases
documented them.
"""

from skloss.noise import expected_noisy_accuracy, select_by_noisy_scores  # noqa: F401
from skloss.tuning.grids import loss_grid
from skloss.tuning.pruning import PruningCallback
from skloss.tuning.search import OptunaSearchCV
from skloss.tuning.spaces import (
    ESTIMATOR_SPACE,
    HIDDEN_LAYER_CHOICES,
    loss_choices,
    param_distributions,
    params_from_trial,
    search_space,
    suggest_params,
)

__all__ = [
    "ESTIMATOR_SPACE",
    "HIDDEN_LAYER_CHOICES",
    "OptunaSearchCV",
    "PruningCallback",
    "loss_choices",
    "loss_grid",
    "param_distributions",
    "params_from_trial",
    "search_space",
    "suggest_params",
]
