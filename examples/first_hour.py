"""
The first hour: a real-looking table, a pipeline, cross-validation, a loss grid, saving
=======================================================================================

Tables have strings, categories and missing values. skloss's estimators take
numbers, like scikit-learn's networks, so the preparation goes in a
:class:`~sklearn.compose.ColumnTransformer`, and the whole pipeline is what you
cross-validate, search and save. This example walks through it on a small
census-like table made up here (income above 50k from age, hours, education,
occupation and capital gains, with gaps).
"""

import os
import tempfile
import warnings

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skloss import RobustLossClassifier
from skloss.tuning import loss_grid

MAX_ITER = 25
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs: cut-short fits.
    MAX_ITER = 3
# sphinx_gallery_end_ignore
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# A table with numbers, categories and gaps
# -----------------------------------------
rng = np.random.default_rng(0)
n = 1500
education = rng.choice(["school", "college", "bachelor", "master"], n, p=[0.35, 0.3, 0.25, 0.1])
occupation = rng.choice(["clerical", "craft", "sales", "professional", None], n)
table = pd.DataFrame(
    {
        "age": rng.integers(18, 70, n).astype(float),
        "hours": rng.normal(40, 10, n).round(),
        "education": pd.Categorical(education),
        "occupation": occupation,
        "capital_gain": np.where(rng.random(n) < 0.1, rng.exponential(5000, n), 0.0),
    }
)
table.loc[rng.random(n) < 0.05, "hours"] = np.nan  # missing values
score = (
    0.04 * (table["age"] - 40)
    + 0.05 * (table["hours"].fillna(40) - 40)
    + table["education"]
    .map({"school": -1.0, "college": 0.0, "bachelor": 1.0, "master": 1.8})
    .astype(float)
    + 0.8 * (table["occupation"] == "professional")
    + 0.0002 * table["capital_gain"]
)
income = np.where(score + rng.logistic(size=n) > 0.5, ">50K", "<=50K")
X_train, X_test, y_train, y_test = train_test_split(table, income, random_state=0)
table.head()

# %%
# Categories are refused with the fix, before any training
# --------------------------------------------------------
try:
    RobustLossClassifier().fit(X_train[["age", "education"]], y_train)
except ValueError as error:
    print(error)

# %%
# The pipeline: impute, scale, one-hot encode, then the network
# -------------------------------------------------------------
numeric = ["age", "hours", "capital_gain"]
categorical = ["education", "occupation"]
prepare = ColumnTransformer(
    [
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (
            "categories",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            categorical,
        ),
    ]
)
model = make_pipeline(prepare, RobustLossClassifier(max_iter=MAX_ITER, random_state=0))
model.set_output(transform="pandas")  # every step's transform returns a DataFrame
model.fit(X_train, y_train)
print("classes:", model.classes_, " test accuracy:", round(model.score(X_test, y_test), 3))
# transform runs the whole pipeline: the network's last hidden layer, named columns.
model.transform(X_test).iloc[:3, :4]

# %%
# Cross-validation and a grid over losses
# ---------------------------------------
# ``loss_grid`` builds one grid per loss, so a loss never receives another's
# parameter (``q`` belongs to ``gce`` only).
scores = cross_val_score(model, X_train, y_train, cv=3)
print("3-fold CV accuracy:", scores.round(3))
grid = loss_grid({"ce": {}, "gce": {"q": [0.5, 0.7]}, "sce": {}}, model)
print(grid)
search = GridSearchCV(model, grid, cv=3).fit(X_train, y_train)
print("best:", search.best_params_, round(search.best_score_, 3))

# %%
# Saving and loading
# ------------------
# The fitted pipeline pickles as a whole (the network included) and predicts the
# same after loading, in this process or another.
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.joblib")
    joblib.dump(search.best_estimator_, path)
    loaded = joblib.load(path)
same = np.array_equal(loaded.predict_proba(X_test), search.best_estimator_.predict_proba(X_test))
print("same predictions after loading:", same)
