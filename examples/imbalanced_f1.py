"""
Optimising F1 directly on imbalanced data
=========================================

A classifier trained on cross-entropy and thresholded at 0.5 tends to miss the
rare class: cross-entropy rewards calibrated probabilities, not F1. The usual
fix is to tune the decision threshold afterwards. :class:`AnyLossClassifier`
instead trains on ``1 - F1`` of each batch, computed from a differentiable
confusion matrix, so that its plain 0.5 threshold is already the F1-oriented one.

This example compares, on a synthetic problem with 5% positives:

- the same network trained on cross-entropy (``RobustLossClassifier(loss="ce")``);
- that network with its threshold tuned for F1 (``TunedThresholdClassifierCV``);
- ``AnyLossClassifier(metric="f1")`` and ``metric="balanced_accuracy"``.

Run it with ``python examples/imbalanced_f1.py`` (about 20 seconds).
"""

import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.anyloss import AnyLossClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(
    n_samples=6000, n_features=20, n_informative=6, weights=[0.95], flip_y=0.01,
    class_sep=0.8, random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

network = dict(hidden_layer_sizes=(100,), max_iter=60, random_state=0)
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
for name, model in models.items():
    predicted = model.fit(X_train, y_train).predict(X_test)
    print(
        f"{name:32s} {f1_score(y_test, predicted):6.3f} "
        f"{balanced_accuracy_score(y_test, predicted):10.3f} {predicted.sum():12d}"
    )

# The F1 model predicts positives where cross-entropy at 0.5 does not, without a
# validation split spent on choosing a threshold. The balanced-accuracy model
# trades precision for recall further, as its metric asks.
