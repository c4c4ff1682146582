"""
Tuning a robust loss with a Pipeline and GridSearchCV
=====================================================

A :class:`~skloss.RobustLossClassifier` is an ordinary scikit-learn estimator,
so it goes in a :class:`~sklearn.pipeline.Pipeline` after a
:class:`~sklearn.preprocessing.StandardScaler` and its loss is searched like any
other hyperparameter:

- ``clf__loss__q`` reaches *inside* the loss object ``GCE()``, tuning its
  robustness parameter ``q`` (``q -> 0`` is cross-entropy, ``q = 1`` is MAE);
- ``clf__loss`` swaps the loss itself, by registry name.

Both grids go into one search as a list. The training labels carry 30%
symmetric noise while the test labels stay clean. Cross-validation then scores
on *noisy* validation labels, which still ranks models correctly: under
symmetric noise of rate :math:`r` over :math:`K` classes, the accuracy measured
against noisy labels is :math:`(1 - r)\\,a + r\\,(1 - a)/(K - 1)`, an increasing
function of the clean accuracy :math:`a`.
"""

import os
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.losses import GCE
from skloss.noise import make_noisy_labels

EPOCHS, Q_GRID, FOLDS = 60, [0.1, 0.4, 0.7, 1.0], 3
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    EPOCHS, Q_GRID, FOLDS = 3, [0.3, 0.7], 2
# sphinx_gallery_end_ignore
# Every candidate trains for a fixed number of epochs on purpose, so that the
# search compares losses under the same budget.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# Noisy training labels
# ---------------------

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
y_train_noisy, _ = make_noisy_labels(y_train, 0.3, kind="symmetric", random_state=0)

# %%
# One search over the loss and its parameter
# ------------------------------------------

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "clf",
            RobustLossClassifier(
                loss=GCE(), hidden_layer_sizes=(64,), max_iter=EPOCHS, batch_size=64, random_state=0
            ),
        ),
    ]
)
param_grid = [
    {"clf__loss__q": Q_GRID},
    {"clf__loss": ["ce", "mae"]},
]
search = GridSearchCV(pipe, param_grid, cv=FOLDS)
search.fit(X_train, y_train_noisy)

table = pd.DataFrame(search.cv_results_)
table["candidate"] = [
    f"gce q={p['clf__loss__q']}" if "clf__loss__q" in p else p["clf__loss"]
    for p in search.cv_results_["params"]
]
print("cross-validated accuracy on noisy validation labels:")
print(
    table.sort_values("rank_test_score")[
        ["candidate", "mean_test_score", "std_test_score"]
    ].to_string(index=False, float_format="%.3f")
)
print(f"\nbest: {search.best_params_}")
print(f"clean test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")

# %%
# The cross-validated scores, with one standard deviation over the folds:

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(table["candidate"], table["mean_test_score"], xerr=table["std_test_score"])
ax.set(xlabel="accuracy on noisy validation labels", xlim=(0, 1))
ax.invert_yaxis()
fig.tight_layout()
plt.show()
