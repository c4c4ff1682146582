"""Data for ``skloss compare``: scikit-learn's bundled data sets, or a CSV file."""

import numpy as np

DATASETS = ("digits", "breast_cancer", "wine", "iris")


def load_bundled(name):
    """Load one of the data sets shipped with scikit-learn (no download).

    Parameters
    ----------
    name : {"digits", "breast_cancer", "wine", "iris"}
        The data set.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The integer class labels.

    Examples
    --------
    >>> from skloss.cli import load_bundled
    >>> X, y = load_bundled("iris")
    >>> X.shape
    (150, 4)
    """
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
    }
    if name not in loaders:
        raise ValueError(f"name must be one of {list(loaders)}, got {name!r}.")
    return loaders[name](return_X_y=True)


def load_csv(path, target):
    """Read features and labels from a CSV file with a header row.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    target : str
        Name of the label column; every other column is a feature.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype=float64
        The features, non-numeric columns one-hot encoded (one 0/1 column per
        category, via :func:`pandas.get_dummies`).
    y : ndarray of shape (n_samples,)
        The labels, of any type.
    encoded : list of str
        The columns that were one-hot encoded.

    Raises
    ------
    ValueError
        If ``target`` is not a column (the message lists the columns), no
        feature column is left, or a value is missing or infinite.

    Examples
    --------
    >>> import io
    >>> from skloss.cli import load_csv
    >>> X, y, encoded = load_csv(io.StringIO("a,colour,label\\n1,red,x\\n2,blue,y\\n"), "label")
    >>> X.tolist(), y.tolist(), encoded
    ([[1.0, 0.0, 1.0], [2.0, 1.0, 0.0]], ['x', 'y'], ['colour'])
    """
    import pandas as pd

    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise ValueError(
            f"--target {target!r} is not a column of the CSV file; its columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"the CSV file has no feature columns besides --target {target!r}.")
    missing = frame.columns[frame.isna().any()].tolist()
    if missing:
        raise ValueError(
            f"the CSV file has missing values in column(s) {', '.join(map(str, missing))}; "
            "fill or drop them before running skloss compare."
        )
    encoded = [
        str(c)
        for c in features.columns
        if not (
            pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
        )
    ]
    numeric = features.drop(columns=encoded)
    # pandas reads "inf" and "-inf" as numbers, which no network can train on.
    infinite = [
        str(c) for c in numeric.columns if not np.isfinite(numeric[c].to_numpy(dtype=float)).all()
    ]
    if infinite:
        raise ValueError(
            f"the CSV file has infinite values in column(s) {', '.join(infinite)}; "
            "replace or drop them before running skloss compare."
        )
    if encoded:
        features = pd.get_dummies(features, columns=encoded, dtype=float)
    return features.to_numpy(dtype=float), frame[target].to_numpy(), encoded


def load_data(args, parser):
    """Return ``(X, y, name, one-hot encoded columns)`` for the parsed options.

    Unreadable or unusable files are usage errors reported through ``parser``.
    """
    if args.csv is None:
        name = args.dataset or "digits"
        X, y = load_bundled(name)
        return X, y, name, []
    if args.csv.is_dir():
        parser.error(f"argument --csv: {args.csv} is a folder; pass the path of a CSV file")
    if not args.csv.is_file():
        parser.error(f"argument --csv: no such file: {args.csv}")
    import pandas as pd

    try:
        X, y, encoded = load_csv(args.csv, args.target)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        parser.error(f"argument --csv: cannot read {args.csv} as CSV: {exc}")
    except OSError as exc:
        parser.error(f"argument --csv: cannot read {args.csv}: {exc.strerror or exc}")
    except ValueError as exc:
        parser.error(str(exc))
    return X, y, str(args.csv), encoded


def check_data(X, y, args, parser):
    """Return the classes of ``y``, or report labels ``compare`` cannot use."""
    from sklearn.utils.multiclass import type_of_target

    from skloss.losses import get_loss

    if type_of_target(y) == "continuous":
        parser.error(
            "the labels look continuous (non-integer numbers); skloss compare needs class "
            "labels. Pick a categorical --target column or bin the values first."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        parser.error(f"the labels have {len(classes)} class; at least 2 are needed")
    if counts.min() < args.folds:
        rare = classes.tolist()[np.argmin(counts)]
        parser.error(
            f"class {rare!r} has only {counts.min()} sample(s), fewer than --folds "
            f"{args.folds}; every fold needs each class. Lower --folds."
        )
    binary_only = [name for name in args.losses if getattr(get_loss(name), "binary_only", False)]
    if binary_only and len(classes) > 2:
        parser.error(
            f"argument --losses: {', '.join(binary_only)} handle(s) two classes only, and "
            f"the labels have {len(classes)}; drop it from --losses or use a binary data set"
        )
    return classes
