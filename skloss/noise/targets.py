"""Gross errors in regression targets: the regression twin of :func:`make_noisy_labels`.

Corrupt the training targets only and score on clean test targets to measure
how much a loss resists the errors, as for labels.
"""

import numbers

import numpy as np

from skloss.noise.injection import _check_seed

__all__ = ["make_noisy_targets", "TARGET_NOISE_KINDS"]

#: The protocols of :func:`make_noisy_targets`.
TARGET_NOISE_KINDS = ("outliers", "shuffle")


def make_noisy_targets(y, rate, kind="outliers", *, scale=5.0, random_state=None):
    """Return a copy of ``y`` with a share of the targets replaced by gross errors.

    Exactly ``round(rate * n_samples)`` rows (halves up) are corrupted, chosen
    at random; with several target columns a corrupted row has every column
    corrupted. ``y`` itself is left unchanged.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Finite real targets.
    rate : float
        Share of rows to corrupt, in [0, 1).
    kind : {"outliers", "shuffle"}, default="outliers"
        - ``"outliers"``: heavy-tailed errors, ``y + scale * std(y) * t`` with
          ``t`` drawn from Student's t distribution with 2 degrees of freedom
          (finite mean, infinite variance: most errors are a few standard
          deviations, a few are huge). Targets that are all non-negative
          (counts, prices) stay non-negative: an error below zero is reflected
          at zero.
        - ``"shuffle"``: the corrupted rows swap targets among themselves (a
          random permutation): each target is a real value of the data set,
          but of another row.
    scale : float, default=5.0
        The errors' scale in standard deviations of each target column
        (``"outliers"`` only).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows and the errors.

    Returns
    -------
    y_noisy : ndarray
        The corrupted targets, float64, with the shape of ``y``.
    corrupted : ndarray of shape (n_samples,), dtype=bool
        True for the rows chosen for corruption.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or 2-D, holds non-finite values, ``rate``, ``kind``
        or ``scale`` is out of range, or ``random_state`` cannot seed a
        generator.

    See Also
    --------
    make_noisy_labels : The same for class labels.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.arange(10.0)
    >>> y_noisy, corrupted = make_noisy_targets(y, 0.3, kind="shuffle", random_state=0)
    >>> int(corrupted.sum()), sorted(y_noisy[corrupted]) == sorted(y[corrupted])
    (3, True)
    >>> bool(np.all(y_noisy[~corrupted] == y[~corrupted]))
    True
    """
    values = np.array(y, dtype=np.float64)  # a copy: y is never modified
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ValueError(f"y must be 1-D or 2-D with at least one row, got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError("y holds NaN or infinite values; make_noisy_targets needs finite targets.")
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"rate must be a number in [0, 1), got {rate!r}.")
    if kind not in TARGET_NOISE_KINDS:
        raise ValueError(f"kind must be one of {list(TARGET_NOISE_KINDS)}, got {kind!r}.")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}.")
    rng = _check_seed(random_state)
    n = values.shape[0]
    n_corrupt = int(np.floor(rate * n + 0.5))
    rows = rng.choice(n, size=n_corrupt, replace=False)
    corrupted = np.zeros(n, dtype=bool)
    corrupted[rows] = True
    if kind == "shuffle":
        values[rows] = values[rng.permutation(rows)]
        return values, corrupted
    column_shape = values.shape[1:]
    std = values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    errors = scale * std * rng.standard_t(2, size=(n_corrupt, *column_shape))
    non_negative = (values >= 0).all(axis=0)
    noisy = values[rows] + errors
    values[rows] = np.where(non_negative, np.abs(noisy), noisy)
    return values, corrupted
