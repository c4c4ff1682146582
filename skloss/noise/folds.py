"""The noisy-fold protocol: split, corrupt the training labels only, keep test labels clean."""

from collections import namedtuple
from numbers import Integral

import numpy as np
from sklearn.utils import _safe_indexing

from skloss.noise.injection import _check_labels, _check_protocol, make_noisy_labels

__all__ = ["NoisyFold", "check_fold_seed", "noisy_folds"]

# numpy's RandomState takes seeds in [0, 2**32 - 1].
MAX_SEED = 2**32 - 1


NoisyFold = namedtuple("NoisyFold", "X_train y_train X_test y_test flipped train_index test_index")
NoisyFold.__doc__ = """One fold of :func:`noisy_folds`: noisy training labels, clean test labels.

Attributes
----------
X_train, X_test : array-like
    The rows of ``X`` in the training and the test fold.
y_train : ndarray of shape (n_train,)
    The *noisy* training labels.
y_test : ndarray of shape (n_test,)
    The *clean* test labels.
flipped : ndarray of shape (n_train,), dtype=bool
    True where ``y_train`` differs from the clean training label.
train_index, test_index : ndarray of int
    The positions of the fold's rows in ``X`` and ``y``; ``y[train_index]`` are
    the clean training labels.
"""


def _n_samples(X):
    if hasattr(X, "shape") and len(X.shape) > 0:
        return int(X.shape[0])
    try:
        return len(X)
    except TypeError:
        raise ValueError(
            f"X must be an array-like of shape (n_samples, n_features), got {type(X).__name__}."
        ) from None


def _check_cv(cv, y, n_samples, random_state):
    """Return ``(list of (train, test) index arrays, description of cv for messages)``."""
    from sklearn.model_selection import StratifiedKFold

    if isinstance(cv, Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(
                f"cv must be at least 2 folds, got cv={cv!r}: each sample needs a fold "
                "in which it is held out. Pass cv=5 or a splitter for one split."
            )
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < cv:
            rare = classes.tolist()[np.argmin(counts)]
            raise ValueError(
                f"cv={cv} folds need at least {cv} samples of every class, but class "
                f"{rare!r} of y has {counts.min()}: some fold would miss it. Use fewer "
                "folds."
            )
        splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
        return [tuple(pair) for pair in splitter.split(np.zeros((n_samples, 1)), y)]
    # A str has a .split method and is iterable, but is never a splitter.
    if isinstance(cv, (str, bytes, bool)) or not (hasattr(cv, "split") or hasattr(cv, "__iter__")):
        raise ValueError(
            "cv must be an int (the number of stratified folds), a scikit-learn splitter "
            f"or an iterable of (train_index, test_index) pairs, got {cv!r}."
        )
    if hasattr(cv, "split"):
        return [tuple(pair) for pair in cv.split(np.zeros((n_samples, 1)), y)]
    splits = []
    for pair in cv:
        try:
            train, test = (np.asarray(part) for part in pair)
        except (TypeError, ValueError):
            raise ValueError(
                "cv as an iterable must yield (train_index, test_index) pairs, got an "
                f"element {pair!r}."
            ) from None
        for name, index in (("train_index", train), ("test_index", test)):
            if index.ndim != 1 or index.dtype.kind not in "iu" or index.size == 0:
                raise ValueError(
                    f"cv yielded a {name} that is not a non-empty 1-D array of integer "
                    f"positions (dtype {index.dtype}, shape {index.shape}); pass positions "
                    "such as np.flatnonzero(mask), not a boolean mask."
                )
            if index.min() < 0 or index.max() >= n_samples:
                raise ValueError(
                    f"cv yielded a {name} with positions outside [0, {n_samples - 1}] for "
                    f"the {n_samples} samples of X and y."
                )
        splits.append((train, test))
    if not splits:
        raise ValueError("cv yielded no (train_index, test_index) pair; pass at least one.")
    return splits


def noisy_folds(X, y, rate=None, kind="symmetric", *, cv=5, random_state=0):
    """Split data into folds whose training labels, and only those, are noisy.

    The evaluation protocol of robust-loss studies: in every fold the training
    labels are corrupted with :func:`make_noisy_labels` and the held-out labels
    stay clean, so a score on the test fold says how well a model learned the
    *true* classes from noisy supervision. Fold ``k`` is corrupted with
    ``random_state=random_state + k``, and the same arguments give the same folds
    and noisy labels, so every method compared on them sees identical data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features (an ndarray, a DataFrame, ...); rows are taken with scikit-learn's
        indexing, so a DataFrame gives DataFrame folds.
    y : array-like of shape (n_samples,)
        The clean labels, with no missing values.
    rate : float, default=None
        Share of each training fold's labels to corrupt; see
        :func:`make_noisy_labels`. Must be None when ``kind`` is a matrix.
    kind : {"symmetric", "pairflip"} or array-like of shape (n_classes, n_classes), \
default="symmetric"
        The noise protocol, see :func:`make_noisy_labels`.
    cv : int, cross-validation splitter or iterable, default=5
        How to split. An int is the number of folds of a shuffled
        :class:`~sklearn.model_selection.StratifiedKFold` seeded with
        ``random_state``; a splitter's ``split(X, y)`` is used as it is (it owns
        its seed); an iterable gives ``(train_index, test_index)`` pairs of
        integer positions directly, e.g. ``[(train, test)]`` for one hold-out
        split.
    random_state : int, default=0
        Seeds the fold split (when ``cv`` is an int) and, offset by the fold
        index, the noise. An int is required: the point of the protocol is
        that every method sees the same folds and labels.

    Returns
    -------
    folds : iterator of NoisyFold
        One named tuple ``(X_train, y_train, X_test, y_test, flipped,
        train_index, test_index)`` per split, with ``y_train`` noisy,
        ``y_test`` clean and ``flipped`` the mask of corrupted training labels.
        ``X`` and ``y`` are left unchanged.

    Raises
    ------
    ValueError
        At the call, before any fold is produced: if ``X`` and ``y`` differ in
        length, ``y``, ``rate`` or ``kind`` are invalid (as for
        :func:`make_noisy_labels`), ``cv`` is not a valid split or asks for
        more folds than the rarest class has samples, or ``random_state`` is
        not an int that leaves room for one seed per fold.

    See Also
    --------
    make_noisy_labels : The noise applied to each training fold.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skloss.noise import noisy_folds
    >>> X, y = load_iris(return_X_y=True)
    >>> folds = list(noisy_folds(X, y, 0.2, cv=3, random_state=0))
    >>> fold = folds[0]
    >>> len(fold.y_train), len(fold.y_test), float(fold.flipped.mean())
    (100, 50, 0.2)
    >>> bool((fold.y_test == y[fold.test_index]).all())  # held-out labels are clean
    True

    One hold-out split instead of K folds:

    >>> from sklearn.model_selection import train_test_split
    >>> import numpy as np
    >>> train, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y,
    ...                                random_state=0)
    >>> (fold,) = noisy_folds(X, y, 0.4, kind="pairflip", cv=[(train, test)])
    >>> int(fold.flipped.sum()), len(fold.y_test)
    (42, 45)
    """
    n_samples = _n_samples(X)
    y, classes, _ = _check_labels(y)
    if len(y) != n_samples:
        raise ValueError(
            f"X and y must have the same number of samples, got {n_samples} rows in X and "
            f"{len(y)} labels in y."
        )
    _check_protocol(rate, kind, classes)
    splits = _check_cv(cv, y, n_samples, _check_seed_type(random_state))
    random_state = check_fold_seed(random_state, len(splits))
    return _generate_folds(X, y, rate, kind, splits, random_state)


def _check_seed_type(random_state):
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, Integral)
        or not (0 <= random_state <= MAX_SEED)
    ):
        raise ValueError(
            f"random_state must be an int in [0, 2**32 - 1], got {random_state!r}: the "
            "folds and the noise of every fold are seeded from it, so that every method "
            "sees the same data."
        )
    return int(random_state)


def check_fold_seed(random_state, n_folds):
    """Return ``random_state`` if it seeds ``n_folds`` folds' noise (``random_state + k``).

    Parameters
    ----------
    random_state : int
        The seed of the protocol, in [0, 2**32 - 1].
    n_folds : int
        The number of folds; fold ``k``'s noise is seeded with ``random_state + k``.

    Returns
    -------
    int
        The seed.

    Raises
    ------
    ValueError
        If ``random_state`` is not such an int, or ``random_state + n_folds - 1``
        passes 2**32 - 1.
    """
    random_state = _check_seed_type(random_state)
    if random_state + n_folds - 1 > MAX_SEED:
        raise ValueError(
            f"random_state must be at most 2**32 - {n_folds} for {n_folds} folds, "
            f"got {random_state}: fold k's noise is seeded with random_state + k, which "
            "must stay below 2**32."
        )
    return random_state


def _generate_folds(X, y, rate, kind, splits, random_state):
    for k, (train, test) in enumerate(splits):
        y_train, flipped = make_noisy_labels(
            y[train], rate, kind=kind, random_state=random_state + k
        )
        yield NoisyFold(
            _safe_indexing(X, train),
            y_train,
            _safe_indexing(X, test),
            y[test],
            flipped,
            np.asarray(train),
            np.asarray(test),
        )
