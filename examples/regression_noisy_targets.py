"""
Regression with gross target errors: squared error, Huber, HL-Gauss and intervals
=================================================================================

:class:`~skloss.RobustLossRegressor` is ``MLPRegressor`` with a ``loss``. Here 20%
of the training targets of a synthetic problem are replaced by heavy-tailed gross
errors (:func:`skloss.noise.make_noisy_targets`); every model is scored on clean
test targets. The squared error chases the errors, Huber and the absolute error
bound their pull, and HL-Gauss (regression by classification on a smoothed
histogram of the target) also predicts intervals.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error

from skloss import RobustLossRegressor
from skloss.losses import HLGauss
from skloss.noise import make_noisy_targets

MAX_ITER = 60
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs: a cut-short fit.
    MAX_ITER = 3
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore

# %%
# A noisy training set, a clean test set
# --------------------------------------
rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(2000, 1))
y = np.sin(X[:, 0]) * 2 + 0.3 * (1 + np.abs(X[:, 0])) * rng.normal(size=2000)
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
y_noisy, corrupted = make_noisy_targets(y_train, 0.2, random_state=0)
print(f"{corrupted.sum()} of {len(y_train)} training targets are gross errors")

# %%
# Three losses, the same network
# ------------------------------
losses = {
    "squared_error": "squared_error",
    "huber": "huber",
    "hl_gauss": "hl_gauss",
    # The bins on the central 90% of the training targets: the gross errors beyond
    # are clipped to the outer bins, a bounded pull.
    "hl_gauss, tail=0.05": HLGauss(tail=0.05),
}
models = {}
for name, loss in losses.items():
    model = RobustLossRegressor(
        loss=loss, hidden_layer_sizes=(64, 64), max_iter=MAX_ITER, random_state=0
    )
    models[name] = model.fit(X_train, y_noisy)
    rmse = mean_squared_error(y_test, model.predict(X_test)) ** 0.5
    print(f"{name:20s} clean test RMSE {rmse:.3f}")

# %%
# HL-Gauss predicts a distribution: a 90% interval
# ------------------------------------------------
interval = models["hl_gauss, tail=0.05"].predict_interval(X_test, coverage=0.9)
inside = np.mean((y_test >= interval[:, 0]) & (y_test <= interval[:, 1]))
print(f"share of clean test targets inside the 90% interval: {inside:.2f}")

order = np.argsort(X_test[:, 0])
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X_test[:, 0], y_test, s=4, color="0.6", label="clean test targets")
for loss, model in models.items():
    ax.plot(X_test[order, 0], model.predict(X_test[order]), label=loss)
ax.fill_between(
    X_test[order, 0], interval[order, 0], interval[order, 1], alpha=0.2, label="90% (HL-Gauss)"
)
ax.set_ylim(-5, 5)
ax.legend(loc="lower right", fontsize=8)
ax.set_title("Trained on 20% gross-error targets")
plt.show()
