"""Checks shared by the losses: hyperparameters, targets and sample weights.

Each check raises a ``ValueError`` that names the argument and says what it
must be, so that every loss reports bad input the same way.
"""

import math
import numbers

import torch

__all__ = ["real_parameter", "check_target_range", "check_sample_weight"]


def real_parameter(loss, name):
    """Return the hyperparameter ``name`` of ``loss`` as a float.

    Parameters
    ----------
    loss : Loss
        The loss holding the hyperparameter.
    name : str
        The hyperparameter's name, used in the error message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the value is not a finite real number. Booleans are refused even
        though Python counts them as integers: ``q=True`` is a mistake, not 1.
    """
    value = getattr(loss, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(
            f"{type(loss).__name__} parameter {name!r} must be a finite real number, got {value!r}."
        )
    return float(value)


def check_target_range(target, n_outputs):
    """Check that ``target`` holds class indices valid for ``n_outputs`` logit columns.

    Parameters
    ----------
    target : torch.Tensor of shape (n_samples,)
        Class indices, integer dtype.
    n_outputs : int
        Columns of the logits. One column is a binary problem (classes 0 and
        1); otherwise there is one column per class.

    Raises
    ------
    ValueError
        If an index lies outside ``[0, n_classes)``.
    """
    if target.numel() == 0:
        return
    n_classes = 2 if n_outputs == 1 else n_outputs
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        columns = (
            "one logit column (a binary problem, classes 0 and 1)"
            if n_outputs == 1
            else f"{n_outputs} logit columns"
        )
        raise ValueError(
            f"target holds class index {bad}, outside the valid range [0, {n_classes}) for "
            f"logits with {columns}; encode the labels as 0 .. n_classes - 1 (e.g. with "
            "sklearn.preprocessing.LabelEncoder) and give the model one output per class."
        )


def check_sample_weight(sample_weight, shape, reduction, dtype, device):
    """Return ``sample_weight`` as a tensor after checking its shape and values.

    Parameters
    ----------
    sample_weight : array-like of shape ``shape`` or None
        Non-negative, finite per-sample weights.
    shape : tuple of int
        The shape of the per-sample values, usually ``(n_samples,)``.
    reduction : str
        ``"mean"`` also refuses weights that are all zero (their mean is 0/0).
    dtype, device
        Of the returned tensor.

    Returns
    -------
    torch.Tensor or None

    Raises
    ------
    ValueError
        For a wrong shape, a negative or non-finite weight, or all-zero weights
        with ``reduction="mean"``.
    """
    if sample_weight is None:
        return None
    weight = torch.as_tensor(sample_weight, dtype=dtype, device=device)
    shape = tuple(shape)
    if tuple(weight.shape) != shape:
        raise ValueError(
            "sample_weight must have one value per sample: expected shape "
            f"{shape}, got {tuple(weight.shape)}."
        )
    if weight.numel() and not bool((torch.isfinite(weight) & (weight >= 0)).all()):
        raise ValueError(
            "sample_weight must hold finite, non-negative values; got "
            f"min {float(weight.min())!r} (NaN and inf are refused too)."
        )
    if reduction == "mean" and weight.numel() and not bool(weight.any()):
        raise ValueError(
            "sample_weight is zero for every sample, so the weighted mean is 0/0; give at "
            "least one sample a positive weight, or use reduction='sum'."
        )
    return weight
