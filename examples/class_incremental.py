"""
Learning new classes as they arrive, without forgetting
=======================================================

A network is trained on the *base* classes (digits 0-4) only. Its hidden layer
then serves as a frozen backbone for
:class:`~skloss.AnalyticIncrementalClassifier`, which learns the digits 5-9 one
at a time with ``partial_fit``: every call sees only the new digit's rows, yet
the weights stay exactly those of a ridge regression on everything seen so far,
so the old digits are not forgotten, and no data is stored.

For contrast, :class:`~sklearn.linear_model.SGDClassifier` gets the same stream
through its ``partial_fit``: each phase pulls it towards the newest class and it
forgets the rest.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skloss import AnalyticIncrementalClassifier, RobustLossClassifier

BACKBONE_EPOCHS, BUFFER = 60, 2048
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    BACKBONE_EPOCHS, BUFFER = 10, 256
# sphinx_gallery_end_ignore
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# The base phase
# --------------
#
# Only the base phase's data is there to fit the scaling and the backbone.

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
base_classes, new_classes = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
is_base = np.isin(y_train, base_classes)

scaler = StandardScaler().fit(X_train[is_base])
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
backbone = RobustLossClassifier(hidden_layer_sizes=(128,), max_iter=BACKBONE_EPOCHS, random_state=0)
backbone.fit(X_train[is_base], y_train[is_base])

# %%
# One new digit per phase
# -----------------------

analytic = AnalyticIncrementalClassifier(backbone=backbone, buffer_size=BUFFER, random_state=0)
sgd = SGDClassifier(random_state=0)

print(f"{'phase':>16} | {'analytic':>8} | {'SGD':>8}   (test accuracy on the classes seen)")
seen, phases, accuracy = [], [], {"analytic": [], "SGDClassifier": []}
for phase, classes in enumerate([base_classes] + [[c] for c in new_classes]):
    rows = np.isin(y_train, classes)
    analytic.partial_fit(X_train[rows], y_train[rows])
    sgd.partial_fit(X_train[rows], y_train[rows], classes=np.arange(10))
    seen += classes
    test = np.isin(y_test, seen)
    phases.append("base 0-4" if phase == 0 else f"+ {classes[0]}")
    accuracy["analytic"].append(analytic.score(X_test[test], y_test[test]))
    accuracy["SGDClassifier"].append(sgd.score(X_test[test], y_test[test]))
    print(
        f"{phases[-1]:>16} | {accuracy['analytic'][-1]:8.3f} | {accuracy['SGDClassifier'][-1]:8.3f}"
    )

# %%
# The guarantee: one joint fit on all the rows gives the same weights.

joint = AnalyticIncrementalClassifier(backbone=backbone, buffer_size=BUFFER, random_state=0).fit(
    X_train, y_train
)
difference = (analytic.weight_ - joint.weight_).abs().max().item()
print(f"largest weight difference, phase by phase vs joint fit: {difference:.1e}")

# %%
# Accuracy on the classes seen so far, after each phase:

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in accuracy.items():
    ax.plot(phases, values, "o-", label=name)
ax.set(xlabel="phase", ylabel="test accuracy on the classes seen", ylim=(0, 1.02))
ax.legend()
fig.tight_layout()
plt.show()
