"""Data for the ``skloss`` jobs: scikit-learn's bundled data sets, or a CSV file."""

from collections import namedtuple

import numpy as np

DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes")


def load_bundled(name):
    """Load one of the data sets shipped with scikit-learn (no download).

    Parameters
    ----------
    name : {"digits", "breast_cancer", "wine", "iris", "diabetes"}
        The data set: four classification sets, and ``"diabetes"``, a regression
        set (a disease-progression score one year after baseline, 25 to 346).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The integer class labels, or the real targets of ``"diabetes"``.

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
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        raise ValueError(f"name must be one of {list(loaders)}, got {name!r}.")
    return loaders[name](return_X_y=True)


def load_csv(path, target, *, na_values=None, allow_missing=False):
    """Read features and a target (labels or values) from a CSV file with a header row.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    target : str
        Name of the target column (class labels or real values); every other
        column is a feature.
    na_values : list of str, default=None
        Strings that mean "missing" besides pandas' own (empty, ``NA``,
        ``NaN``, ...), e.g. ``["?"]``.
    allow_missing : bool, default=False
        Whether missing feature values are kept (as NaN, for an imputer);
        a missing target is always an error.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, n_features)
        The feature columns as read: numbers (and booleans) as floats, the
        other columns as text, to be encoded inside each training fold.
    y : ndarray of shape (n_samples,)
        The target column, of any type.
    categorical : list of str
        The non-numeric feature columns.

    Raises
    ------
    ValueError
        If ``target`` is not a column (the message lists the columns), no
        feature column is left, a target is missing, a feature value is
        missing (unless ``allow_missing``) or infinite.

    Examples
    --------
    >>> import io
    >>> from skloss.cli import load_csv
    >>> X, y, categorical = load_csv(io.StringIO("a,colour,label\\n1,red,x\\n2,blue,y\\n"), "label")
    >>> X["a"].tolist(), y.tolist(), categorical
    ([1.0, 2.0], ['x', 'y'], ['colour'])
    """
    import pandas as pd

    frame = pd.read_csv(path, na_values=na_values)
    if target not in frame.columns:
        raise ValueError(
            f"--target {target!r} is not a column of the CSV file; its columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"the CSV file has no feature columns besides --target {target!r}.")
    _check_missing(frame, target, allow_missing)
    categorical = [
        str(c)
        for c in features.columns
        if not (
            pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
        )
    ]
    numeric = [c for c in features.columns if str(c) not in categorical]
    features[numeric] = features[numeric].astype(float)
    # pandas reads "inf" and "-inf" as numbers, which no network can train on.
    infinite = [str(c) for c in numeric if np.isinf(features[c].to_numpy()).any()]
    if infinite:
        raise ValueError(
            f"the CSV file has infinite values in column(s) {', '.join(infinite)}; "
            "replace or drop them before running skloss."
        )
    return features, frame[target].to_numpy(), categorical


def _check_missing(frame, target, allow_missing):
    if frame[target].isna().any():
        raise ValueError(
            f"the CSV file has {int(frame[target].isna().sum())} row(s) without a value in "
            f"--target {target!r}; drop them first: every row needs its target."
        )
    missing = frame.columns[frame.isna().any()].tolist()
    if missing and not allow_missing:
        raise ValueError(
            f"the CSV file has missing values in column(s) {', '.join(map(str, missing))}; "
            "pass --impute median (or mean, most_frequent) to fill them inside each "
            "training fold, or fill or drop them first."
        )


def numbers_read_as_text(X, categorical):
    """``{column: [text values]}`` of text columns that hold mostly numbers.

    Such a column is a numeric one with a few placeholders (``"?"``, ``"n/a"``)
    that made pandas read it as text; it would be one-hot encoded value by value.
    """
    import pandas as pd

    found = {}
    for column in categorical:
        values = X[column].dropna()
        as_numbers = pd.to_numeric(values, errors="coerce")
        text = sorted(set(values[as_numbers.isna()].astype(str)))
        if len(values) and as_numbers.notna().mean() >= 0.5 and len(text) <= 3:
            found[column] = text
    return found


#: What a job trains on: features, the target, a name for reports, the text columns.
Data = namedtuple("Data", "X y name categorical")


def load_data(args, parser, log):
    """Return the :data:`Data` of the parsed options; unusable files are usage errors."""
    if args.csv is None:
        name = args.dataset or "digits"
        X, y = load_bundled(name)
        return Data(X, y, name, [])
    if args.csv.is_dir():
        parser.error(f"argument --csv: {args.csv} is a folder; pass the path of a CSV file")
    if not args.csv.is_file():
        parser.error(f"argument --csv: no such file: {args.csv}")
    import pandas as pd

    try:
        X, y, categorical = load_csv(
            args.csv, args.target, na_values=args.na_values, allow_missing=args.impute is not None
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        parser.error(f"argument --csv: cannot read {args.csv} as CSV: {exc}")
    except OSError as exc:
        parser.error(f"argument --csv: cannot read {args.csv}: {exc.strerror or exc}")
    except ValueError as exc:
        parser.error(str(exc))
    for column, text in numbers_read_as_text(X, categorical).items():
        log(
            f"column {column!r} holds numbers and the text {', '.join(map(repr, text))}, so it "
            f"is read as categories; if {'they mean' if len(text) > 1 else 'it means'} "
            f"'missing', pass --na-values {','.join(text)} (and --impute)"
        )
    if categorical:
        log(f"one-hot encoded non-numeric column(s): {', '.join(categorical)}")
    return Data(X, y, str(args.csv), categorical)


def fingerprint(X, y):
    """A SHA-256 of the features and the target: the same data gives the same digest."""
    import hashlib

    digest = hashlib.sha256()
    if hasattr(X, "columns"):
        import pandas as pd

        digest.update(",".join(map(str, X.columns)).encode())
        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    else:
        digest.update(np.ascontiguousarray(X, dtype=float).tobytes())
    digest.update("\x1f".join(map(str, np.asarray(y).tolist())).encode())
    return digest.hexdigest()
