"""Train on 40% wrong labels, score on clean ones: CE vs GCE vs MAE.

``make_noisy_labels`` replaces 40% of the digits training labels with a
uniformly drawn *other* class (symmetric noise); the test labels stay clean.
The same network is then trained with three losses:

- cross-entropy ("ce") is unbounded, so given enough epochs it memorises the
  wrong labels and its clean test accuracy drops;
- generalized cross-entropy ("gce") and mean absolute error ("mae") are
  bounded, so a wrong label can only pull so hard, and they stay much closer
  to their clean-label accuracy.

The "memorised" column is the share of corrupted training samples predicted
with their *wrong* label, a direct measure of fitting the noise.

Run it with ``python examples/noisy_labels.py`` (a few seconds on a laptop);
``SKLOSS_EXAMPLE_FAST=1`` shrinks the training for the test suite.
"""

import os
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.noise import make_noisy_labels

FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
# A fixed epoch budget is the experiment: CE is meant to run long enough to
# memorise the noise, not to stop when its training loss flattens.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
y_noisy, flipped = make_noisy_labels(y_train, 0.4, kind="symmetric", random_state=0)
print(f"{flipped.mean():.0%} of {len(y_train)} training labels corrupted; "
      f"{len(y_test)} clean test labels\n")

print(f"{'loss':<6}{'clean test acc':>16}{'memorised':>12}")
for loss in ["ce", "gce", "mae"]:
    model = make_pipeline(
        StandardScaler(),
        RobustLossClassifier(loss=loss, hidden_layer_sizes=(256, 256),
                             max_iter=5 if FAST else 150, batch_size=128, random_state=0),
    )
    model.fit(X_train, y_noisy)
    memorised = (model.predict(X_train[flipped]) == y_noisy[flipped]).mean()
    print(f"{loss:<6}{model.score(X_test, y_test):>16.3f}{memorised:>12.1%}")
