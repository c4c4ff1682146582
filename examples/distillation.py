"""
Distilling a random forest into a small network
===============================================

A random forest of a few hundred trees is accurate on small tables but slow to
predict. :class:`skloss.DistillationClassifier` trains a small network (the
student) on the labels *and* on the forest's class scores (the teacher), with
the PLD loss (Plackett-Luce distillation) or Hinton et al.'s KD. This example
compares the student with the same network trained on the labels alone, shows
why the teacher's scores must be out of fold, and times prediction.

Run it with ``python examples/distillation.py`` (about 20 seconds).
"""

# %%
# Digits, a forest teacher and a network of one hidden layer of 32 units.
import os
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import DistillationClassifier, RobustLossClassifier
from skloss.distillation import out_of_fold_scores, teacher_scores

warnings.filterwarnings("ignore", category=ConvergenceWarning)
N_TREES, MAX_ITER = 300, 200
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    N_TREES, MAX_ITER = 20, 10
# sphinx_gallery_end_ignore

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)
forest = RandomForestClassifier(n_estimators=N_TREES, random_state=0)
network = {"hidden_layer_sizes": (32,), "max_iter": MAX_ITER, "random_state": 0}

# %%
# The leak that out-of-fold scores avoid
# --------------------------------------
# A forest scoring the rows it was trained on has seen their labels: its
# probabilities there are close to one-hot, and a student learning from them
# learns little beyond the labels. ``DistillationClassifier`` fitting an
# unfitted teacher scores every row with a copy fitted on the other folds
# instead (``cv=5`` folds, then one more fit on all rows as ``teacher_``).
# :func:`~skloss.distillation.out_of_fold_scores` computes the same scores on
# their own, so that several students can share them.
in_sample = teacher_scores(forest.fit(X_train, y_train), X_train)
out_of_fold = out_of_fold_scores(forest, X_train, y_train, cv=5, random_state=0)
for name, scores in (("in sample", in_sample), ("out of fold", out_of_fold)):
    top = np.exp(scores).max(axis=1)
    right = np.mean(scores.argmax(axis=1) == y_train)
    print(f"teacher {name:>11}: mean top probability {top.mean():.3f}, accuracy {right:.3f}")

# %%
# Three students, one teacher
# ---------------------------
# The same network and seed, trained on the labels alone (cross-entropy), with
# KD and with PLD on the out-of-fold scores, which reach the student through a
# pipeline as the ``teacher_scores`` fit parameter.
students = {
    "CE (labels only)": make_pipeline(StandardScaler(), RobustLossClassifier(**network)),
    "KD": make_pipeline(StandardScaler(), DistillationClassifier(loss="kd", **network)),
    "PLD": make_pipeline(StandardScaler(), DistillationClassifier(loss="pld", **network)),
}
teacher_test = forest.predict(X_test)
print(f"{'model':>16}  accuracy  agreement with the forest")
print(f"{'forest':>16}  {np.mean(teacher_test == y_test):.3f}")
for name, model in students.items():
    if name.startswith("CE"):
        model.fit(X_train, y_train)
    else:
        model.fit(X_train, y_train, distillationclassifier__teacher_scores=out_of_fold)
    predicted = model.predict(X_test)
    print(
        f"{name:>16}  {np.mean(predicted == y_test):.3f}     "
        f"{np.mean(predicted == teacher_test):.3f}"
    )

# %%
# What the student is for: prediction time
# ----------------------------------------
# One forward pass through a 64 x 32 x 10 network against a few hundred trees.
rows = np.resize(X_test, (10_000, X_test.shape[1]))
for name, model in (("forest", forest), ("PLD student", students["PLD"])):
    start = time.perf_counter()
    model.predict(rows)
    print(f"{name:>12}: {1000 * (time.perf_counter() - start):.0f} ms per 10,000 rows")

# %%
# Fitting the teacher inside
# --------------------------
# Without ``teacher_scores``, the estimator fits an unfitted teacher itself:
# out-of-fold scores for the student, then ``teacher_`` on all rows. The default
# teacher (``teacher=None``) is a ``HistGradientBoostingClassifier``. A *fitted*
# teacher would be used as given: here that would be the forest fitted above on
# unscaled features, which the pipeline would hand scaled ones, hence the clone.
teacher = clone(forest)
clf = make_pipeline(StandardScaler(), DistillationClassifier(teacher, cv=3, **network))
clf.fit(X_train, y_train)
print(type(clf[-1].teacher_).__name__, f"test accuracy {clf.score(X_test, y_test):.3f}")
