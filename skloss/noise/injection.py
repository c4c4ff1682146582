"""Label-noise injection: corrupt a label vector with a named protocol or a matrix.

:func:`make_noisy_labels` corrupts labels with one of the standard protocols of
the noisy-label literature (symmetric, pair-flip, or an arbitrary class-transition
matrix); :func:`transition_matrix` returns the matrix a named protocol implies;
:func:`check_rate` is the one rule for the noise rate of a named protocol, which
the command line applies to its ``--noise`` option too.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "KINDS",
    "_check_labels",
    "_check_protocol",
    "check_rate",
    "make_noisy_labels",
    "transition_matrix",
]

KINDS = ("symmetric", "pairflip")


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(
            f"kind must be one of {list(KINDS)} or an (n_classes, n_classes) transition "
            f"matrix, got {kind!r}."
        )


def check_rate(rate, kind):
    """Return ``rate`` as a float if it is a valid noise rate for the named ``kind``.

    Parameters
    ----------
    rate : float
        Share of labels to corrupt.
    kind : {"symmetric", "pairflip"}
        The named protocol: a symmetric rate is in [0, 1), a pair-flip rate in
        [0, 0.5).

    Returns
    -------
    float
        The rate.

    Raises
    ------
    ValueError
        If ``kind`` is not a named protocol or ``rate`` is missing, not a finite
        number or out of the kind's range; the message says why.
    """
    _check_kind(kind)
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
    rate = check_rate(rate, kind)
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
        return check_rate(rate, kind), None
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
