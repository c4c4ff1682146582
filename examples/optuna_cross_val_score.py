"""
Tune the loss with Optuna and cross_val_score
=============================================

An Optuna objective draws a configuration with
:func:`skloss.tuning.suggest_params` (the loss among the registry's names,
that loss's own parameters, learning rate, ``alpha``, hidden sizes) and scores
it with ``cross_val_score``. A :class:`skloss.tuning.PruningCallback` reports
every fold's validation accuracy epoch by epoch, so that Optuna's pruner stops
poor trials early, inside the cross-validation.

The training labels carry 40% symmetric noise; the test labels stay clean and
are used once, at the end. Cross-validating on noisy labels still ranks
configurations correctly in expectation (see
:func:`skloss.noise.expected_noisy_accuracy`).

"""

# %%
# Data: digits, noisy training labels, clean test labels
# ------------------------------------------------------
import os
import warnings

import numpy as np
import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.noise import make_noisy_labels
from skloss.tuning import PruningCallback, params_from_trial, suggest_params

FAST = False
# sphinx_gallery_start_ignore
# tests/test_examples.py runs a shortened version.
FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
# sphinx_gallery_end_ignore
warnings.filterwarnings("ignore")  # fixed epoch budgets: ConvergenceWarning is expected
optuna.logging.set_verbosity(optuna.logging.WARNING)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
y_noisy, _ = make_noisy_labels(y_train, 0.4, random_state=0)
MAX_ITER = 5 if FAST else 30

# %%
# The objective
# -------------
# ``early_stopping=True`` gives every fit a validation split whose accuracy the
# callback reports; ``error_score="raise"`` lets the prune reach Optuna (with
# scikit-learn's default, a pruned fold would just score NaN).
cv = StratifiedKFold(3, shuffle=True, random_state=0)


def objective(trial):
    params = suggest_params(
        trial, RobustLossClassifier(), losses=["ce", "gce", "sce"], space={"early_stopping": None}
    )
    clf = RobustLossClassifier(
        max_iter=MAX_ITER,
        early_stopping=True,
        n_iter_no_change=MAX_ITER,
        random_state=0,
        callbacks=[PruningCallback.for_trial(trial)],
    )
    model = make_pipeline(StandardScaler(), clf.set_params(**params))
    return cross_val_score(model, X_train, y_noisy, cv=cv, error_score="raise").mean()


study = optuna.create_study(
    direction="maximize",
    sampler=optuna.samplers.TPESampler(seed=0),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
)
study.optimize(objective, n_trials=4 if FAST else 30)

# %%
# The result, scored once on the clean test labels
# ------------------------------------------------
states = [t.state.name for t in study.trials]
print(f"{len(states)} trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned")
best = params_from_trial(study.best_trial)
print("best parameters:", best)
model = make_pipeline(
    StandardScaler(),
    RobustLossClassifier(
        max_iter=MAX_ITER,
        early_stopping=True,
        n_iter_no_change=MAX_ITER,
        random_state=0,
    ).set_params(**best),
)
model.fit(X_train, y_noisy)
print(
    f"noisy CV accuracy {study.best_value:.3f}; clean test accuracy "
    f"{np.mean(model.predict(X_test) == y_test):.3f}"
)
