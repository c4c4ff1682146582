"""Quickstart: fit, predict and score a RobustLossClassifier on the digits data.

``RobustLossClassifier`` is used like scikit-learn's ``MLPClassifier``; the one
new parameter is ``loss``, here the generalized cross-entropy ("gce"), a loss
that tolerates wrong training labels. The classifier learns the label set from
``y`` (``classes_``) and ``predict_proba`` returns one column per class, in
that order.

Run it with ``python examples/quickstart.py``; with ``SKLOSS_EXAMPLE_FAST=1``
it trains for a few epochs only (as the test suite does).
"""

import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skloss import RobustLossClassifier

FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
if FAST:
    # The test suite only checks that the example runs; a cut-short fit is expected.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16; networks train best on inputs of order 1
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)

clf = RobustLossClassifier(
    loss="gce",
    hidden_layer_sizes=(128,),
    max_iter=5 if FAST else 100,
    early_stopping=not FAST,  # hold out 10% and keep the best epoch's weights
    random_state=0,
)
clf.fit(X_train, y_train)

print(f"classes: {clf.classes_}")
print(f"epochs run: {clf.n_iter_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
print(f"first predictions: {clf.predict(X_test[:8])}  (true: {y_test[:8]})")

proba = clf.predict_proba(X_test[:3])
np.set_printoptions(precision=2, suppress=True)
print("class probabilities of the first three test images (rows sum to 1):")
print(proba)
