"""
Learning from aggregate responses: bags of rows, one response each
==================================================================

Sometimes only a group's average is known: the mean spend of a household, the
share of positive cases in a clinic, a response aggregated before it was shared
to protect privacy. The rows still have their own features, and the goal is
still to predict one row. ``fit(X, y, bags=...)`` trains on such data:
``bags`` gives each row's bag, ``y`` repeats the bag's response on its rows.

This example makes bags of 8 rows on a regression problem, trains the bag-level
loss (``rho=0``), the instance-level loss (``rho=1``) and values in between
(Javanmard et al., ICLR 2024), scores each on the individual test responses,
chooses ``rho`` by cross-validation over whole bags, and ends with label
proportions (a classifier that only knows each bag's share of positives).

Run it with ``python examples/aggregate_responses.py`` (about 20 seconds).
"""

# %%
# Rows with a known nonlinear response (Friedman #1), cut into random bags of 8.
# Only the bag means are kept for training; the test rows keep their own
# responses.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier, RobustLossRegressor
from skloss.losses import BagBCE, BagSquaredError

warnings.filterwarnings("ignore", category=ConvergenceWarning)
EPOCHS = 60
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    EPOCHS = 3
# sphinx_gallery_end_ignore

X, y = make_friedman1(n_samples=1600, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

rng = np.random.default_rng(0)
bags = rng.permutation(len(y_train)) // 8  # a bag id per training row
bag_mean = np.bincount(bags, y_train) / np.bincount(bags)
y_bags = bag_mean[bags]  # each row carries its bag's mean response
print(f"{len(y_train)} training rows in {bags.max() + 1} bags of 8")


# %%
# One network per ``rho``; the same seed, batches of whole bags. The score is
# the root mean squared error on the test rows' own responses, which training
# never saw.
def rmse(model):
    return np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))


def bag_regressor(rho):
    return RobustLossRegressor(loss=BagSquaredError(rho=rho), max_iter=EPOCHS, random_state=0)


rhos = [0.0, 0.1, 0.3, 1.0]
errors = {rho: rmse(bag_regressor(rho).fit(X_train, y_bags, bags=bags)) for rho in rhos}
for rho, error in errors.items():
    print(f"rho = {rho:<4} test RMSE {error:.3f}")
print(f"predicting the mean: {np.std(y_test):.3f}")

# %%
# ``rho = 1`` fits every row to its bag's mean: its predictions shrink toward
# the bag mean, a bias that grows with the bag size. ``rho = 0`` only asks each
# bag's mean prediction to match, which is unbiased but leaves one equation per
# bag. In between, the spread of the predictions within a bag is penalised
# rather than forbidden.
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(rhos, [errors[rho] for rho in rhos], marker="o")
ax.set_xlabel("rho (0: bag-level loss, 1: instance-level loss)")
ax.set_ylabel("test RMSE (individual rows)")
fig.tight_layout()

# %%
# Choosing ``rho`` needs only the training bags: ``GroupKFold`` keeps each bag
# in one fold, and ``score(X, y, bags=...)`` compares each held-out bag's mean
# prediction with its response (the rows' own R^2 against the repeated means
# would reward the instance-level loss's shrinkage). With metadata routing
# enabled, ``bags`` reaches ``fit`` and ``score`` like ``groups`` reaches the
# splitter.
with sklearn.config_context(enable_metadata_routing=True):
    model = bag_regressor(0.0).set_fit_request(bags=True).set_score_request(bags=True)
    search = GridSearchCV(model, {"loss__rho": rhos}, cv=GroupKFold(n_splits=3))
    search.fit(X_train, y_bags, bags=bags, groups=bags)
chosen = search.best_params_["loss__rho"]
print(f"rho chosen on the training bags: {chosen}; test RMSE {rmse(search.best_estimator_):.3f}")

# %%
# Label proportions: a binary classifier that knows only each bag's share of
# positives. ``loss=BagBCE(rho=0)`` is DLLP (the bag's mean probability
# against its share); ``classes_`` is ``[0, 1]`` and ``predict`` labels rows.
Xc, yc = load_breast_cancer(return_X_y=True)
Xc_train, Xc_test, yc_train, yc_test = train_test_split(Xc, yc, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(Xc_train)
Xc_train, Xc_test = scaler.transform(Xc_train), scaler.transform(Xc_test)
bags_c = rng.permutation(len(yc_train)) // 8
share = (np.bincount(bags_c, yc_train) / np.bincount(bags_c))[bags_c]
for rho in (0.0, 1.0):
    clf = RobustLossClassifier(loss=BagBCE(rho=rho), max_iter=EPOCHS, random_state=0)
    clf.fit(Xc_train, share, bags=bags_c)
    print(f"label proportions, rho = {rho}: test accuracy {clf.score(Xc_test, yc_test):.3f}")
