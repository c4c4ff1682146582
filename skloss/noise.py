"""Controlled label noise, for training on corrupted labels and scoring on clean ones.

:func:`make_noisy_labels` corrupts a label vector with one of the standard
protocols of the noisy-label literature (symmetric, pair-flip, or an arbitrary
class-transition matrix); :func:`transition_matrix` returns the matrix that the
named protocols imply; :func:`noisy_folds` is the evaluation protocol built on
them: split the data, corrupt the training labels only, keep the held-out labels
clean.
"""

import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.utils import _safe_indexing, check_random_state

__all__ = ["NoisyFold", "make_noisy_labels", "noisy_folds", "transition_matrix"]

KINDS = ("symmetric", "pairflip")

# numpy's RandomState takes seeds in [0, 2**32 - 1].
_MAX_SEED = 2**32 - 1


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(
            f"kind must be one of {list(KINDS)} or an (n_classes, n_classes) transition "
            f"matrix, got {kind!r}."
        )


def _check_rate(rate, kind, n_classes):
    if rate is None:
        raise ValueError(
            f"rate is required for kind={kind!r}: pass the share of labels to corrupt, "
            "e.g. rate=0.4."
        )
    # bool is an Integral, and rate=True is a mistake rather than a rate of 1.
    if isinstance(rate, bool) or not isinstance(rate, Real) or not np.isfinite(rate):
        raise ValueError(f"rate must be a finite number, got {rate!r}.")
    if kind == "symmetric" and not 0 <= rate < 1:
        raise ValueError(
            f"rate must be in [0, 1) for kind='symmetric', got {rate!r}: it is the share "
            "of labels replaced by another class, and at 1 no label is left intact."
        )
    if kind == "pairflip" and not 0 <= rate < 0.5:
        raise ValueError(
            f"rate must be in [0, 0.5) for kind='pairflip', got {rate!r}: at 0.5 or above "
            "the flipped-to class becomes the majority label of each class, so the true "
            "labels can no longer be recovered from the noisy ones. Use a smaller rate."
        )
    return float(rate)


def _check_n_classes(n_classes):
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 2:
        raise ValueError(
            f"n_classes must be an integer >= 2, got {n_classes!r}: label noise needs a "
            "second class to flip to."
        )
    return int(n_classes)


def transition_matrix(n_classes, rate, kind="symmetric"):
    """Return the class-transition matrix of a named noise protocol.

    Entry ``T[i, j]`` is the probability that a sample of true class ``i``
    (classes in sorted order) is given the noisy label ``j``.

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    rate : float
        Probability that a label is corrupted: in [0, 1) for ``"symmetric"``,
        in [0, 0.5) for ``"pairflip"``.
    kind : {"symmetric", "pairflip"}, default="symmetric"
        ``"symmetric"`` spreads ``rate`` evenly over the ``n_classes - 1`` other
        classes; ``"pairflip"`` moves it all to the next class (cyclically).

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        A row-stochastic matrix with ``1 - rate`` on the diagonal.

    See Also
    --------
    make_noisy_labels : Corrupt labels according to such a protocol.

    Examples
    --------
    >>> from skloss.noise import transition_matrix
    >>> transition_matrix(3, 0.2, kind="pairflip")
    array([[0.8, 0.2, 0. ],
           [0. , 0.8, 0.2],
           [0.2, 0. , 0.8]])
    """
    if not isinstance(kind, str):
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}.")
    _check_kind(kind)
    n_classes = _check_n_classes(n_classes)
    rate = _check_rate(rate, kind, n_classes)
    if kind == "symmetric":
        matrix = np.full((n_classes, n_classes), rate / (n_classes - 1))
    else:
        matrix = np.zeros((n_classes, n_classes))
        matrix[np.arange(n_classes), (np.arange(n_classes) + 1) % n_classes] = rate
    np.fill_diagonal(matrix, 1 - rate)
    return matrix


def _kind_error(got):
    return ValueError(
        f"kind must be one of {list(KINDS)} or an (n_classes, n_classes) transition "
        f"matrix, got {got}."
    )


def _check_matrix(kind, n_classes, classes):
    try:
        matrix = np.array(kind, dtype=float)
    except (TypeError, ValueError):
        raise _kind_error(repr(kind)) from None
    if matrix.shape != (n_classes, n_classes):
        raise ValueError(
            f"kind as a transition matrix must have shape (n_classes, n_classes) = "
            f"({n_classes}, {n_classes}) for the {n_classes} classes of y "
            f"{classes.tolist()}, got shape {matrix.shape}. Its rows and columns follow "
            "np.unique(y)."
        )
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(
            "kind as a transition matrix must contain finite, non-negative probabilities."
        )
    row_sums = matrix.sum(axis=1)
    bad = np.flatnonzero(~np.isclose(row_sums, 1.0, rtol=0, atol=1e-6))
    if bad.size:
        raise ValueError(
            "kind as a transition matrix must be row-stochastic (each row sums to 1), but "
            f"row {bad[0]} (class {classes[bad[0]]!r}) sums to {row_sums[bad[0]]:.6g}."
        )
    return matrix


def _flip_counts(class_sizes, rate, rng):
    """Split ``round(rate * n)`` flips over classes in proportion to their sizes.

    Largest-remainder apportionment: every class gets ``floor(rate * n_c)`` flips and
    the leftover flips go to the classes with the largest fractional parts (ties in
    random order), so both the overall count and each class's count are exact to
    within one sample.
    """
    quotas = rate * class_sizes
    # The small epsilon keeps a product such as 0.1 * 30 = 3.0000000000000004 (or
    # 2.9999999999999996) from losing a whole flip to floating-point rounding.
    counts = np.floor(quotas + 1e-9).astype(int)
    total = int(np.floor(rate * class_sizes.sum() + 0.5 + 1e-9))
    leftover = total - counts.sum()
    if leftover > 0:
        order = rng.permutation(len(class_sizes))
        order = order[np.argsort(-(quotas - counts)[order], kind="stable")]
        counts[order[:leftover]] += 1
    return np.minimum(counts, class_sizes)


def _missing_labels(y):
    """Boolean mask of labels that are missing or not finite (NaN, inf, None, NaT, pd.NA)."""
    if y.dtype.kind in "fc":
        return ~np.isfinite(y)
    if y.dtype.kind in "mM":
        return np.isnat(y)
    if y.dtype.kind == "O":
        return np.array(
            [
                v is None
                or type(v).__name__ in ("NAType", "NaTType")
                or (isinstance(v, (float, np.floating)) and not np.isfinite(v))
                for v in y.tolist()
            ],
            dtype=bool,
        )
    return np.zeros(y.shape, dtype=bool)


def _check_labels(y):
    """Validate a label vector; return it as an array with its classes and class codes."""
    y = np.asarray(y)
    if y.ndim != 1:
        hint = " Use y.ravel() for a column vector." if y.ndim == 2 and y.shape[1] == 1 else ""
        raise ValueError(f"y must be a 1-D array of labels, got an array of shape {y.shape}.{hint}")
    missing = _missing_labels(y)
    if missing.any():
        where = np.flatnonzero(missing)
        raise ValueError(
            f"y contains {where.size} missing or non-finite label(s) (NaN, inf, None), the "
            f"first at index {where[0]}; drop those samples or fill in their labels first: "
            "label noise needs the true class of every sample."
        )
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        types = sorted({type(v).__name__ for v in y.tolist()})
        raise ValueError(
            f"y mixes label types that cannot be sorted ({', '.join(types)}); convert the "
            "labels to one type first, e.g. y.astype(str)."
        ) from None
    codes = codes.reshape(-1)  # numpy 2.0.x returned the inverse in y's shape
    if len(classes) < 2:
        raise ValueError(
            f"y must contain at least 2 classes to flip between, got {len(classes)} "
            f"({classes.tolist()})."
        )
    return y, classes, codes


def _check_protocol(rate, kind, classes):
    """Validate ``rate`` and ``kind`` for these classes; return ``(rate, matrix or None)``."""
    if isinstance(kind, str):
        _check_kind(kind)
        return _check_rate(rate, kind, len(classes)), None
    try:
        ndim = np.ndim(kind)
    except ValueError:  # a ragged nested list
        ndim = -1
    if ndim != 2:
        raise _kind_error(repr(kind) if ndim <= 0 else f"an array of shape {np.shape(kind)}")
    if rate is not None:
        raise ValueError(
            f"rate must be None when kind is a transition matrix, got rate={rate!r}: "
            "the matrix alone sets how often each class is flipped (1 - its diagonal)."
        )
    return None, _check_matrix(kind, len(classes), classes)


def _check_seed(random_state):
    # bool is an Integral, and random_state=True is a mistake rather than the seed 1.
    try:
        if isinstance(random_state, bool):
            raise TypeError
        return check_random_state(random_state)
    except (TypeError, ValueError):
        raise ValueError(
            f"random_state must be None, an int in [0, 2**32 - 1] or a "
            f"numpy.random.RandomState, got {random_state!r}. Pass an int for "
            "reproducible noise."
        ) from None


def make_noisy_labels(y, rate=None, kind="symmetric", random_state=None):
    """Return a copy of ``y`` with some labels replaced by other classes.

    Only labels present in ``y`` are used, so the result has the same classes
    and dtype as ``y``; ``y`` itself is left unchanged. Corrupt the training
    labels only and score on clean test labels to measure noise robustness.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any hashable type (ints, strings, bools, ...), with at least
        two distinct classes.
    rate : float, default=None
        Share of labels to corrupt, required for the named kinds: in [0, 1) for
        ``"symmetric"`` and in [0, 0.5) for ``"pairflip"`` (at 0.5 the flipped-to
        class would be as frequent as the true one). A symmetric rate of
        ``(n_classes - 1) / n_classes`` or more (0.5 for two classes) makes the
        noisy labels uninformative and raises a warning. Must be None when ``kind``
        is a matrix, whose diagonal already says how many labels stay.
    kind : {"symmetric", "pairflip"} or array-like of shape (n_classes, n_classes), \
default="symmetric"
        The noise protocol.

        - ``"symmetric"``: a random subset of exactly ``rate * n_samples``
          samples (rounded to the nearest integer, halves up) is corrupted, each
          to a class drawn uniformly among the *other* classes (never its own).
          The subset is stratified: each class loses ``rate`` of its samples, to
          within one sample.
        - ``"pairflip"``: the same exact, stratified subset is corrupted, each
          sample to the next class in sorted order (the last class to the first).
        - a row-stochastic matrix ``T``: rows are true classes and columns noisy
          classes, both in the order of ``np.unique(y)``; each sample's noisy
          label is drawn independently from ``T[its class]``, so the realised
          rate varies around its expectation.

        The exact count makes the realised noise rate equal to the nominal one,
        rather than binomially spread around it; in expectation over the random
        subset both named kinds match :func:`transition_matrix`.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of samples and of their noisy classes. Pass an int for
        reproducible noise.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The corrupted labels, with the dtype of ``np.asarray(y)``.
    flipped : ndarray of shape (n_samples,), dtype=bool
        True where ``y_noisy`` differs from ``y``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, has missing labels (NaN, None) or fewer than two
        classes, ``rate`` is out of range, ``kind`` is unknown, the matrix is
        not a valid transition matrix for the classes of ``y``, or
        ``random_state`` cannot seed a generator.

    See Also
    --------
    transition_matrix : The matrix that a named kind implies.

    Examples
    --------
    >>> import numpy as np
    >>> from skloss.noise import make_noisy_labels
    >>> y = np.array(["cat", "dog", "bird"] * 4)
    >>> y_noisy, flipped = make_noisy_labels(y, 0.25, random_state=0)
    >>> int(flipped.sum())
    3
    >>> bool(np.all((y_noisy != y) == flipped))
    True
    """
    y, classes, codes = _check_labels(y)
    n_classes = len(classes)
    rate, matrix = _check_protocol(rate, kind, classes)
    is_named = matrix is None
    rng = _check_seed(random_state)
    if is_named and kind == "symmetric" and rate >= (n_classes - 1) / n_classes:
        warnings.warn(
            f"rate={rate:g} with {n_classes} classes leaves the true class no more frequent "
            f"than each wrong one among its samples' noisy labels (the limit is "
            f"(n_classes - 1) / n_classes = {(n_classes - 1) / n_classes:.3g}), so no "
            "loss can recover the true labels.",
            UserWarning,
        )

    noisy = codes.copy()
    if is_named:
        sizes = np.bincount(codes, minlength=n_classes)
        counts = _flip_counts(sizes, rate, rng)
        for c in range(n_classes):
            members = np.flatnonzero(codes == c)
            chosen = rng.choice(members, size=counts[c], replace=False)
            if kind == "symmetric":
                # Drawing from the K - 1 others and skipping c keeps the draw uniform.
                other = rng.randint(0, n_classes - 1, size=counts[c])
                noisy[chosen] = other + (other >= c)
            else:
                noisy[chosen] = (c + 1) % n_classes
    else:
        cumulative = np.cumsum(matrix, axis=1)
        # Normalising by the last entry absorbs the up-to-1e-6 slack allowed in row sums.
        cumulative /= cumulative[:, -1:]
        draws = rng.random_sample(len(codes))
        for c in range(n_classes):
            members = np.flatnonzero(codes == c)
            picked = np.searchsorted(cumulative[c], draws[members], side="right")
            noisy[members] = np.minimum(picked, n_classes - 1)

    y_noisy = classes[noisy]
    return y_noisy, noisy != codes


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
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, Integral)
        or not (0 <= random_state <= _MAX_SEED)
    ):
        raise ValueError(
            f"random_state must be an int in [0, 2**32 - 1], got {random_state!r}: the "
            "folds and the noise of every fold are seeded from it, so that every method "
            "sees the same data."
        )
    random_state = int(random_state)
    splits = _check_cv(cv, y, n_samples, random_state)
    if random_state + len(splits) - 1 > _MAX_SEED:
        raise ValueError(
            f"random_state must be at most 2**32 - {len(splits)} for {len(splits)} folds, "
            f"got {random_state}: fold k's noise is seeded with random_state + k, which "
            "must stay below 2**32."
        )
    return _generate_folds(X, y, rate, kind, splits, random_state)


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
