"""
Optimising F1 directly on imbalanced data
=========================================

A classifier trained on cross-entropy and thresholded at 0.5 tends to miss the
rare class: cross-entropy rewards calibrated probabilities, not F1. The usual
fix is to tune the decision threshold afterwards. :class:`AnyLossClassifier`
instead trains on ``1 - F1`` of each batch, computed from a differentiable
confusion matrix, so that its plain 0.5 threshold is already the F1-oriented one.
See :doc:`/user_guide/anyloss` for where this helps and where it does not.

This example compares, on a synthetic problem with 5% positives:

- the same network trained on cross-entropy (``RobustLossClassifier(loss="ce")``);
- that network with its threshold tuned for F1 (``TunedThresholdClassifierCV``);
- ``AnyLossClassifier(metric="f1")`` and ``metric="balanced_accuracy"``.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.anyloss import AnyLossClassifier

N_SAMPLES, EPOCHS = 6000, 60
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    N_SAMPLES, EPOCHS = 2000, 5
# sphinx_gallery_end_ignore
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# A problem with 5% positives
# ---------------------------

X, y = make_classification(
    n_samples=N_SAMPLES,
    n_features=20,
    n_informative=6,
    weights=[0.95],
    flip_y=0.01,
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

# %%
# Four models on the same network
# -------------------------------

network = dict(hidden_layer_sizes=(100,), max_iter=EPOCHS, random_state=0)
bce = make_pipeline(StandardScaler(), RobustLossClassifier(loss="ce", **network))
models = {
    "cross-entropy, threshold 0.5": bce,
    "cross-entropy, tuned threshold": TunedThresholdClassifierCV(
        bce, scoring="f1", cv=3, random_state=0
    ),
    # One logit, last layer started at zero (p = 0.5), batches of 512 by default.
    "AnyLoss F1": make_pipeline(StandardScaler(), AnyLossClassifier(metric="f1", **network)),
    "AnyLoss balanced accuracy": make_pipeline(
        StandardScaler(), AnyLossClassifier(metric="balanced_accuracy", **network)
    ),
}

print(f"positives in the test set: {y_test.sum()} of {len(y_test)}\n")
print(f"{'model':32s} {'F1':>6s} {'bal. acc.':>10s} {'predicted +':>12s}")
scores = {}
for name, model in models.items():
    predicted = model.fit(X_train, y_train).predict(X_test)
    scores[name] = f1_score(y_test, predicted), balanced_accuracy_score(y_test, predicted)
    print(f"{name:32s} {scores[name][0]:6.3f} {scores[name][1]:10.3f} {predicted.sum():12d}")

# %%
# The F1 model predicts positives where cross-entropy at 0.5 does not, without a
# validation split spent on choosing a threshold. The balanced-accuracy model
# trades precision for recall further, as its metric asks.

fig, ax = plt.subplots(figsize=(7, 3.5))
rows = np.arange(len(scores))
ax.barh(rows - 0.2, [f1 for f1, _ in scores.values()], height=0.4, label="F1")
ax.barh(rows + 0.2, [ba for _, ba in scores.values()], height=0.4, label="balanced accuracy")
ax.set_yticks(rows, list(scores))
ax.set(xlim=(0, 1), xlabel="score on the test set")
ax.invert_yaxis()
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
