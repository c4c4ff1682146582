"""Bag-level responses: what both kinds of target do with ``fit(..., bags=...)``.

With a loss of aggregate responses (:mod:`skloss.losses.aggregate`, which
``requires`` ``"bags"``), ``y`` holds each bag's one response repeated on its
rows: a mean for the regressor, the share of ``classes_[1]`` for a classifier.
This module checks that ``y`` is constant within each bag, keeps whole bags on
each side of the ``early_stopping`` split, encodes label proportions, and
scores at the bag level (the only level aggregate data can be scored at).

The bag ids of the call in progress are held on the estimator from
:meth:`BagResponses._fit` to its end (``_call_bags``): the core's hooks that
need them (``_encode_targets``, ``_validation_split``) receive the targets,
not the call's extras.
"""

import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupShuffleSplit

from skloss._core.fit_mode import FitMode, Targets

__all__ = ["BagResponses", "bag_codes", "bag_means", "check_constant_within_bags"]


def bag_codes(bags, name="bags"):
    """Bag ids of any hashable kind as codes ``0 .. n_bags - 1`` (sorted ids), or None.

    Parameters
    ----------
    bags : array-like of shape (n_samples,) or None
        A bag id per row (integers, strings, ...).
    name : str, default="bags"
        The argument's name, for the messages.

    Returns
    -------
    labels, codes : ndarray, ndarray of int64, or None
        The sorted distinct ids and each row's position among them.
    """
    if bags is None:
        return None
    array = np.asarray(bags)
    if array.ndim != 1:
        raise ValueError(f"{name} must hold one bag id per row (1-D); got shape {array.shape}.")
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise ValueError(f"{name} must not contain NaN or infinite ids; give every row a bag.")
    try:
        labels, codes = np.unique(array, return_inverse=True)
    except TypeError as error:
        raise ValueError(
            f"{name} must hold ids of one comparable type (all numbers or all strings): {error}"
        ) from None
    return labels, codes.reshape(-1).astype(np.int64)


def check_constant_within_bags(y, codes, labels):
    """Refuse ``y`` that differs within a bag, naming the first such bag (in row order).

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The responses, float.
    codes : ndarray of int of shape (n_samples,)
        Each row's bag code.
    labels : ndarray
        The bag ids, ``labels[code]``.
    """
    rows = y.reshape(len(y), -1)
    _, first = np.unique(codes, return_index=True)
    reference = rows[first][codes]
    # Equal up to float32 rounding: the network trains in float32.
    differs = ~np.isclose(rows, reference, rtol=1e-6, atol=0.0).all(axis=1)
    if differs.any():
        row = int(np.argmax(differs))
        code = codes[row]
        other = int(first[code])
        raise ValueError(
            f"y must hold each bag's aggregate response, equal on all its rows; bag "
            f"{labels[code].item()!r} has y = {rows[other].tolist()} on row {other} but "
            f"{rows[row].tolist()} on row {row}. Repeat each bag's response on its rows "
            "(e.g. df.groupby(bags)[column].transform('mean'))."
        )


def bag_means(values, codes, sample_weight=None):
    """Weighted per-bag means of per-row ``values`` and the bags' total weights.

    Parameters
    ----------
    values : ndarray of shape (n_samples,) or (n_samples, n_columns)
        One value (or row of values) per row.
    codes : ndarray of int of shape (n_samples,)
        Bag codes ``0 .. n_bags - 1``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights; None counts each row once.

    Returns
    -------
    means : ndarray of shape (n_bags,) or (n_bags, n_columns)
        The weighted means (0 for a bag of zero weight).
    sizes : ndarray of shape (n_bags,)
        The bags' total weights.
    """
    if len(values) != len(codes):
        raise ValueError(
            f"bags must have one entry per row: {len(values)} rows, {len(codes)} bag ids."
        )
    weight = np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight, float)
    sizes = np.bincount(codes, weights=weight)
    rows = np.asarray(values, dtype=np.float64).reshape(len(codes), -1)
    sums = np.stack([np.bincount(codes, weights=weight * c) for c in rows.T], axis=1)
    means = sums / np.where(sizes > 0, sizes, 1.0)[:, None]
    return (means[:, 0] if np.ndim(values) == 1 else means), sizes


class BagResponses:
    """Mixin of the kinds of target: ``fit(..., bags=...)`` for losses of bag responses."""

    def _fit(self, X, y, sample_weight=None, classes=None, incremental=False, extras=None):
        extras = dict(extras or {})
        encoded = bag_codes(extras.get("bags"))
        if encoded is not None:
            extras["bags"] = encoded[1]
        self._call_bags = encoded
        try:
            return super()._fit(X, y, sample_weight, classes, incremental, extras)
        finally:
            self.__dict__.pop("_call_bags", None)

    def _check_bag_targets(self, y):
        """Refuse ``y`` that is not constant within the call's bags (if any)."""
        if getattr(self, "_call_bags", None) is not None:
            labels, codes = self._call_bags
            check_constant_within_bags(y, codes, labels)

    def _bag_split(self, seed):
        """``(train_rows, valid_rows)`` holding whole bags, or None without bags."""
        if getattr(self, "_call_bags", None) is None:
            return None
        labels, codes = self._call_bags
        if len(labels) < 2:
            raise ValueError(
                f"early_stopping holds out whole bags, and bags has {len(labels)} bag: "
                "give at least 2 bags or set early_stopping=False."
            )
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=self.validation_fraction, random_state=seed
        )
        train, valid = next(splitter.split(codes, groups=codes))
        return np.sort(train), np.sort(valid)

    def _encode_proportions(self, y, mode, classes):
        """Label proportions as targets: each row's bag share of ``classes_[1]``."""
        y = np.asarray(y)
        if y.dtype.kind not in "iufb":
            raise ValueError(
                "with bags, y must hold each bag's share of the positive class, a number in "
                f"[0, 1], repeated on the bag's rows; got dtype {y.dtype}."
            )
        y = y.astype(np.float64)
        if y.size and not (np.isfinite(y).all() and y.min() >= 0 and y.max() <= 1):
            raise ValueError(
                "with bags, y must hold each bag's share of the positive class (classes_[1] "
                f"= 1), in [0, 1]; got values from {y.min()} to {y.max()}. Learning from "
                "label proportions is binary only: for more classes, fit one classifier per "
                "class on its share."
            )
        self._check_bag_targets(y)
        if self.class_weight is not None:
            raise ValueError(
                "class_weight weighs rows by their label, which label proportions do not "
                "give; set class_weight=None and weight bags through sample_weight."
            )
        binary = np.array([0, 1])
        if classes is not None and not np.array_equal(np.unique(classes), binary):
            raise ValueError(
                f"with bags, y is the share of class 1 and classes_ is [0, 1]; got "
                f"classes={np.asarray(classes).tolist()}. Pass classes=[0, 1] or None."
            )
        if mode is not FitMode.FRESH and not np.array_equal(self.classes_, binary):
            raise ValueError(
                f"this classifier was fitted on classes {self.classes_.tolist()}; label "
                "proportions train classes [0, 1]. Set warm_start=False to start afresh."
            )
        return Targets(y.astype(np.float32), 2, {"classes_": binary})


def bag_r2(y, predicted, codes, sample_weight=None):
    """R^2 of the bags' mean predictions against their responses, bags weighted by size.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Each row's bag response.
    predicted : ndarray of the shape of ``y``
        Each row's prediction.
    codes : ndarray of int of shape (n_samples,)
        Bag codes ``0 .. n_bags - 1``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        The score, higher is better.
    """
    responses, sizes = bag_means(y, codes, sample_weight)
    means, _ = bag_means(predicted, codes, sample_weight)
    return float(r2_score(responses, means, sample_weight=sizes))


def bag_proportion_accuracy(y, predicted, codes, sample_weight=None):
    """``1 - |predicted share - true share|`` per bag, averaged over rows (bags by size).

    For bags of one row with shares 0 or 1 it is the accuracy.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Each row's bag response.
    predicted : ndarray of the shape of ``y``
        Each row's prediction.
    codes : ndarray of int of shape (n_samples,)
        Bag codes ``0 .. n_bags - 1``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        The score, higher is better.
    """
    shares, sizes = bag_means(y, codes, sample_weight)
    predicted_shares, _ = bag_means(predicted, codes, sample_weight)
    return float(1.0 - np.average(np.abs(shares - predicted_shares), weights=sizes))
