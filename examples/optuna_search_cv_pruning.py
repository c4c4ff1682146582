"""
OptunaSearchCV with pruning
===========================

:class:`skloss.tuning.OptunaSearchCV` is ``optuna_integration.OptunaSearchCV``
with two guards; :func:`skloss.tuning.param_distributions` gives it the search
space of one loss (here GCE: ``q``, learning rate, ``alpha``, hidden sizes).
With ``enable_pruning=True`` the search trains by ``partial_fit``, one epoch
per call, reports the mean validation score over the folds after each epoch
and prunes trials that fall behind.

Two pitfalls are refused before any trial: per-sample ``sample_weight`` (it
would reach ``partial_fit`` unsliced, optuna-integration #315; use
``class_weight``) and a splitter seeded with a ``RandomState`` object (it would
re-split every epoch, #317; seed it with an int).

"""

# %%
import os
import warnings

import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.tuning import OptunaSearchCV, param_distributions

FAST = False
# sphinx_gallery_start_ignore
# tests/test_examples.py runs a shortened version.
FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
# sphinx_gallery_end_ignore
warnings.filterwarnings("ignore")  # OptunaSearchCV is "experimental"; fixed epoch budgets
optuna.logging.set_verbosity(optuna.logging.WARNING)

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# The search
# ----------
clf = RobustLossClassifier(loss="gce", random_state=0)
search = OptunaSearchCV(
    clf,
    param_distributions(clf, space={"early_stopping": None}),
    cv=StratifiedKFold(3, shuffle=True, random_state=0),  # an int seed, not a RandomState
    enable_pruning=True,
    max_iter=5 if FAST else 30,
    n_trials=6 if FAST else 40,
    random_state=0,
    study=optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=3)
    ),
)
search.fit(X_train, y_train)

# %%
# Results
# -------
states = [t.state.name for t in search.trials_]
print(f"{len(states)} trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned")
print("best parameters:", search.best_params_)
print(
    f"best CV accuracy {search.best_score_:.3f}; test accuracy {search.score(X_test, y_test):.3f}"
)
