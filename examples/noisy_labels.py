"""
Training on 40% wrong labels: CE vs GCE vs MAE
==============================================

:func:`~skloss.noise.make_noisy_labels` replaces 40% of the digits training
labels with a uniformly drawn *other* class (symmetric noise); the test labels
stay clean. The same network is then trained with three losses:

- cross-entropy (``"ce"``) is unbounded, so given enough epochs it memorises the
  wrong labels and its clean test accuracy drops;
- generalized cross-entropy (``"gce"``) and mean absolute error (``"mae"``) are
  bounded, so a wrong label can only pull so hard, and they stay much closer to
  their clean-label accuracy.

The "memorised" share is the fraction of corrupted training samples predicted
with their *wrong* label: a direct measure of fitting the noise.
"""

import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.noise import make_noisy_labels

EPOCHS = 100
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    EPOCHS = 3  # tests/test_examples.py only checks that the example runs
# sphinx_gallery_end_ignore

# %%
# Noisy training labels, clean test labels
# ----------------------------------------

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

y_noisy, flipped = make_noisy_labels(y_train, 0.4, kind="symmetric", random_state=0)
print(
    f"{flipped.mean():.0%} of {len(y_train)} training labels corrupted; "
    f"{len(y_test)} clean test labels"
)

# %%
# One epoch at a time
# -------------------
#
# ``partial_fit`` trains one epoch per call, so the clean test accuracy and the
# memorised share can be recorded after every epoch. A fixed epoch budget is the
# experiment here: cross-entropy is meant to run long enough to memorise the
# noise.

curves = {}
for loss in ["ce", "gce", "mae"]:
    clf = RobustLossClassifier(
        loss=loss, hidden_layer_sizes=(256, 256), batch_size=128, random_state=0
    )
    accuracy, memorised = [], []
    for _ in range(EPOCHS):
        clf.partial_fit(X_train, y_noisy, classes=range(10))
        accuracy.append(clf.score(X_test, y_test))
        memorised.append((clf.predict(X_train[flipped]) == y_noisy[flipped]).mean())
    curves[loss] = accuracy, memorised

print(f"after {EPOCHS} epochs:")
print(f"{'loss':<6}{'clean test acc':>16}{'best epoch acc':>16}{'memorised':>12}")
for loss, (accuracy, memorised) in curves.items():
    print(f"{loss:<6}{accuracy[-1]:>16.3f}{max(accuracy):>16.3f}{memorised[-1]:>12.1%}")

# %%
# Cross-entropy first learns the clean structure (its accuracy peaks early),
# then memorises the wrong labels and loses what it had learned; the bounded
# losses barely memorise.

fig, (ax_acc, ax_mem) = plt.subplots(1, 2, figsize=(10, 4))
epochs = range(1, EPOCHS + 1)
for loss, (accuracy, memorised) in curves.items():
    ax_acc.plot(epochs, accuracy, label=loss)
    ax_mem.plot(epochs, memorised, label=loss)
ax_acc.set(xlabel="epoch", ylabel="clean test accuracy", title="accuracy on clean labels")
ax_mem.set(
    xlabel="epoch",
    ylabel="share of corrupted labels fitted",
    title="memorised noise",
    ylim=(0, 1),
)
ax_acc.legend()
fig.tight_layout()
plt.show()
