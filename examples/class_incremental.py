"""Learn new classes as they arrive, without forgetting and without storing data.

A network is trained on the *base* classes (digits 0-4) only. Its hidden layer
then serves as a frozen backbone for ``AnalyticIncrementalClassifier``, which
learns the digits 5-9 one at a time with ``partial_fit``: every call sees only
the new digit's rows, yet the weights stay exactly those of a ridge regression
on everything seen so far, so the old digits are not forgotten.

For contrast, ``SGDClassifier.partial_fit`` gets the same stream: each phase
pulls it towards the newest class and it forgets the rest.

Run it with ``python examples/class_incremental.py`` (under a minute);
``SKLOSS_EXAMPLE_FAST=1`` shrinks the training for the test suite.
"""

import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.analytic import AnalyticIncrementalClassifier

FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)
base_classes, new_classes = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
is_base = np.isin(y_train, base_classes)

# Only the base phase's data is there to fit the scaling and the backbone.
scaler = StandardScaler().fit(X_train[is_base])
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
backbone = RobustLossClassifier(hidden_layer_sizes=(128,), max_iter=10 if FAST else 60,
                                random_state=0)
backbone.fit(X_train[is_base], y_train[is_base])

analytic = AnalyticIncrementalClassifier(backbone=backbone,
                                         buffer_size=256 if FAST else 2048, random_state=0)
sgd = SGDClassifier(random_state=0)

print(f"{'phase':>16} | {'analytic':>8} | {'SGD':>8}   (test accuracy on the classes seen)")
seen = []
for phase, classes in enumerate([base_classes] + [[c] for c in new_classes]):
    rows = np.isin(y_train, classes)
    analytic.partial_fit(X_train[rows], y_train[rows])
    sgd.partial_fit(X_train[rows], y_train[rows], classes=np.arange(10))
    seen += classes
    test = np.isin(y_test, seen)
    name = "base 0-4" if phase == 0 else f"+ digit {classes[0]}"
    print(f"{name:>16} | {analytic.score(X_test[test], y_test[test]):8.3f} | "
          f"{sgd.score(X_test[test], y_test[test]):8.3f}")

# The guarantee: one joint fit on all the rows gives the same weights.
joint = AnalyticIncrementalClassifier(backbone=backbone, buffer_size=analytic.buffer_size,
                                      random_state=0).fit(X_train, y_train)
difference = (analytic.weight_ - joint.weight_).abs().max().item()
print(f"largest weight difference, phase by phase vs joint fit: {difference:.1e}")
