"""
Quickstart: fit, predict and score a RobustLossClassifier
=========================================================

:class:`~skloss.RobustLossClassifier` is used like scikit-learn's
:class:`~sklearn.neural_network.MLPClassifier`; the one new parameter is
``loss``, here the generalized cross-entropy (``"gce"``), a loss that tolerates
wrong training labels. The classifier learns the label set from ``y``
(``classes_``) and ``predict_proba`` returns one column per class, in that
order.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skloss import RobustLossClassifier

MAX_ITER = 100
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs: a cut-short fit.
    MAX_ITER = 5
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore

# %%
# Data and fit
# ------------
#
# The 8x8 digits: pixel intensities run from 0 to 16, and networks train best on
# inputs of order 1, so they are divided by 16. ``early_stopping=True`` holds out
# 10% of the training rows and keeps the weights of the best epoch.

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

clf = RobustLossClassifier(
    loss="gce",
    hidden_layer_sizes=(128,),
    max_iter=MAX_ITER,
    early_stopping=True,
    random_state=0,
)
clf.fit(X_train, y_train)

print(f"classes: {clf.classes_}")
print(f"epochs run: {clf.n_iter_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Predictions and probabilities
# -----------------------------
#
# ``predict`` returns labels from ``classes_``; ``predict_proba`` one row per
# sample that sums to 1.

print(f"first predictions: {clf.predict(X_test[:8])}  (true: {y_test[:8]})")
proba = clf.predict_proba(X_test[:3])
np.set_printoptions(precision=2, suppress=True)
print("class probabilities of the first three test images:")
print(proba)

# %%
# The first test images with their predicted probabilities:

fig, axes = plt.subplots(2, 4, figsize=(8, 4.2))
for image, ax_image, ax_proba, p in zip(
    X_test[:4], axes[0], axes[1], clf.predict_proba(X_test[:4]), strict=True
):
    ax_image.imshow(image.reshape(8, 8), cmap="gray_r")
    ax_image.set_axis_off()
    ax_image.set_title(f"predicted {clf.classes_[p.argmax()]}")
    ax_proba.bar(clf.classes_, p)
    ax_proba.set_xticks(clf.classes_)
    ax_proba.set_ylim(0, 1)
axes[1, 0].set_ylabel("probability")
fig.tight_layout()
plt.show()
