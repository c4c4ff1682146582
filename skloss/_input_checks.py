"""Checks of what users pass to ``fit`` and ``predict``: one place for every estimator.

Each check raises a ``ValueError`` that names the argument and says the fix,
before any training; none modifies its input.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_class_weight_values",
    "check_float32_range",
    "check_no_categorical",
    "unique_labels",
]


def unique_labels(y, return_inverse=False, name="y"):
    """``np.unique`` of labels, with a clear error for labels of mixed types.

    Parameters
    ----------
    y : array-like
        Labels.
    return_inverse : bool, default=False
        Also return the position of each label in the sorted unique labels.
    name : str, default="y"
        The argument's name, for the message.

    Returns
    -------
    ndarray or tuple of ndarray
        What ``np.unique(y, return_inverse=return_inverse)`` returns.

    Raises
    ------
    ValueError
        If the labels cannot be sorted (e.g. integers and strings mixed).

    Examples
    --------
    >>> unique_labels([2, 0, 2])
    array([0, 2])
    >>> unique_labels(np.array([1, "a"], dtype=object))
    Traceback (most recent call last):
    ...
    ValueError: y mixes labels of types ['int', 'str'], which cannot be sorted ...
    """
    try:
        return np.unique(y, return_inverse=return_inverse)
    except TypeError as error:
        kinds = sorted({type(label).__name__ for label in np.asarray(y, dtype=object).ravel()})
        raise ValueError(
            f"{name} mixes labels of types {kinds}, which cannot be sorted into classes_; "
            f"use one type for every label, e.g. {name} = numpy.asarray({name}).astype(str)."
        ) from error


def check_class_weight_values(class_weight):
    """Every value of a ``class_weight`` dict is a finite number >= 0.

    Parameters
    ----------
    class_weight : dict
        Label -> weight.

    Raises
    ------
    ValueError
        Naming the first bad entry.
    """
    for label, value in class_weight.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not np.isfinite(value)
            or value < 0
        ):
            raise ValueError(
                f"class_weight[{label!r}] = {value!r}: class weights must be finite numbers "
                ">= 0 (0 ignores the class); pass non-negative weights or 'balanced'."
            )


#: Largest magnitude a float32 holds: the networks compute in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(X):
    """Reject features that are finite in float64 but overflow the float32 networks.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Validated features.

    Raises
    ------
    ValueError
        If a value's magnitude exceeds float32's largest.
    """
    values = X.data if sp.issparse(X) else X
    if values.size and values.dtype.kind == "f" and values.dtype.itemsize > 4:
        largest = float(np.max(np.abs(values)))
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"X holds values up to {largest:.3g} in magnitude, beyond float32's range "
                f"({FLOAT32_MAX:.3g}) in which the network computes; scale the features "
                "(e.g. sklearn.preprocessing.StandardScaler) or clip them."
            )


def check_no_categorical(X, estimator_name):
    """Refuse a table with categorical columns, which the estimator would read as numbers.

    A pandas ``category`` column (or a polars ``Categorical`` / ``Enum`` one)
    holds categories, not quantities: its strings cannot become float features,
    and numeric categories would pass as numbers in an order that means nothing
    (scikit-learn's linear models and networks do the same; only its histogram
    gradient boosting reads the dtype). One-hot encoding them is the fix.

    Parameters
    ----------
    X : object
        Training or prediction input, as the user passed it; anything without
        ``dtypes`` and ``columns`` (an array, a sparse matrix, a list) passes.
    estimator_name : str
        The estimator's class name, for the message.

    Raises
    ------
    ValueError
        Naming the categorical columns and the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> check_no_categorical(pd.DataFrame({"size": [1.0, 2.0]}), "Classifier")
    >>> frame = pd.DataFrame({"size": [1.0, 2.0], "colour": pd.Categorical(["red", "blue"])})
    >>> check_no_categorical(frame, "Classifier")
    Traceback (most recent call last):
    ...
    ValueError: X has categorical columns ['colour'], which Classifier cannot use as numbers. ...
    """
    dtypes, columns = getattr(X, "dtypes", None), getattr(X, "columns", None)
    if dtypes is None or columns is None:
        return
    categorical = [
        str(column)
        for column, dtype in zip(columns, dtypes, strict=False)
        if str(dtype) == "category" or str(dtype).startswith(("Categorical", "Enum"))
    ]
    if categorical:
        raise ValueError(
            f"X has categorical columns {categorical}, which {estimator_name} cannot use as "
            "numbers. One-hot encode them first: make_pipeline(ColumnTransformer("
            f'[("categories", OneHotEncoder(handle_unknown="ignore"), {categorical})], '
            f'remainder="passthrough"), {estimator_name}(...)), with ColumnTransformer '
            "from sklearn.compose and OneHotEncoder from sklearn.preprocessing."
        )
