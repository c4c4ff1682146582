"""
Adversarial training on a table: TRADES and smooth adversarial comp-sum
=======================================================================

A classifier trained with cross-entropy can be fooled by small, deliberate
changes to its inputs. This example trains the same network with cross-entropy,
with TRADES and with the smooth adversarial comp-sum loss of Mao, Mohri and Zhong
(2023), measures each one's accuracy under a projected-gradient (PGD) attack with
:func:`skloss.robustness.pgd_accuracy`, freezes the columns an attacker cannot
change with a per-feature ``epsilon``, and chooses the regulariser's weight by
robust accuracy with ``GridSearchCV``.

Run it with ``python examples/adversarial.py`` (about 15 seconds).
"""

# %%
# The data: the breast cancer table, standardised inside a pipeline, so that
# ``epsilon`` is in standard deviations of each feature: ``epsilon=0.1`` lets the
# attacker move every feature by a tenth of its spread.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.losses import TRADES, AdvCompSum
from skloss.robustness import make_pgd_scorer, pgd_accuracy

warnings.filterwarnings("ignore", category=ConvergenceWarning)
EPOCHS = 25
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    EPOCHS = 3
# sphinx_gallery_end_ignore

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def model(loss):
    network = RobustLossClassifier(
        loss=loss,
        hidden_layer_sizes=(64,),
        learning_rate_init=3e-3,
        batch_size=64,
        max_iter=EPOCHS,
        random_state=0,
    )
    return make_pipeline(StandardScaler(), network)


# %%
# Three models of the same network: the adversarial losses perturb each
# training batch within ``epsilon = 0.1`` (here 5 signed gradient steps, half the
# default, to keep the example quick; the network in eval mode) and train on the
# result.
models = {
    "cross-entropy": model("ce"),
    "TRADES (beta 6)": model(TRADES(beta=6.0, epsilon=0.1, steps=5)),
    "adv. comp-sum (tau 1)": model(AdvCompSum(tau=1.0, nu=1.0, epsilon=0.1, steps=5)),
}
epsilons = [0.0, 0.05, 0.1, 0.2, 0.3]
curves = {}
print(f"{'loss':22s} " + " ".join(f"eps={e:<5}" for e in epsilons))
for name, pipeline in models.items():
    pipeline.fit(X_train, y_train)
    # PGD-20 in the network's input space (after the scaler), seeded.
    curves[name] = [pgd_accuracy(pipeline, X_test, y_test, e, random_state=0) for e in epsilons]
    print(f"{name:22s} " + " ".join(f"{a:9.3f}" for a in curves[name]))

# %%
# Robust accuracy against the attack's budget: epsilon 0 is the clean accuracy.
# From epsilon 0.1 on, the adversarially trained models keep more accuracy under
# attack than cross-entropy. They give up little or no clean accuracy on this
# small table; on the four larger tables of ``benchmarks/adversarial.py`` they
# lost a few points, more as epsilon grows (see the user guide).
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, accuracies in curves.items():
    ax.plot(epsilons, accuracies, marker="o", label=name)
ax.set(xlabel="epsilon (standard deviations, L-infinity)", ylabel="test accuracy under PGD-20")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %%
# Columns an attacker cannot change (an identifier, a fixed attribute, the
# one-hot columns of a category) get ``epsilon = 0``: neither the training attack
# nor the evaluation moves them. Here the first ten columns are frozen.
frozen = np.full(X.shape[1], 0.1)
frozen[:10] = 0.0
partial = model(TRADES(beta=6.0, epsilon=frozen, steps=5)).fit(X_train, y_train)
accuracy, X_attacked = pgd_accuracy(
    partial, X_test, y_test, frozen, random_state=0, return_adversarial=True
)
# The attacked inputs are what the network saw: scaled, in float32.
moved = np.abs(X_attacked - partial[0].transform(X_test).astype(np.float32)).max(axis=0)
print(f"\nrobust accuracy with 10 frozen columns: {accuracy:.3f}")
print(f"largest change of a frozen column: {moved[:10].max():.2g}")
print(f"largest change of the other columns: {moved[10:].max():.3f}")

# %%
# ``nu`` trades clean accuracy for robustness, so select it by robust accuracy:
# :func:`~skloss.robustness.make_pgd_scorer` is a scorer for ``GridSearchCV``
# (plain accuracy would pick the weakest regulariser).
search = GridSearchCV(
    model(AdvCompSum(epsilon=0.1, steps=5)),
    {"robustlossclassifier__loss__nu": [0.3, 3.0]},
    scoring=make_pgd_scorer(epsilon=0.1),
    cv=2,
).fit(X_train, y_train)
print(f"\nnu chosen by robust accuracy: {search.best_params_['robustlossclassifier__loss__nu']}")
best = search.best_estimator_
print(
    f"its test accuracy under PGD-20: {pgd_accuracy(best, X_test, y_test, 0.1, random_state=0):.3f}"
)
