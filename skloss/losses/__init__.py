"""Losses for skloss classifiers.

A loss is a small value object (:class:`Loss`) mapping logits and class indices
to per-sample values. :data:`LOSSES` maps registry names to loss classes and
:func:`get_loss` turns a name or a loss object into a validated, independent
loss instance.
"""

from ._base import Loss, ProbabilityLoss, reduce_loss
from .compsum import GCE, MAE, CompSum, CrossEntropy, SumExp
from .focal import Focal
from .metric import (
    AnyLoss,
    AnyLossAccuracy,
    AnyLossBalancedAccuracy,
    AnyLossF1,
    AnyLossFBeta,
    AnyLossGMean,
    AnyLossMCC,
)
from .symmetric import NCERCE, SCE

__all__ = [
    "Loss",
    "ProbabilityLoss",
    "reduce_loss",
    "CrossEntropy",
    "CompSum",
    "GCE",
    "MAE",
    "SumExp",
    "SCE",
    "NCERCE",
    "Focal",
    "AnyLoss",
    "AnyLossAccuracy",
    "AnyLossF1",
    "AnyLossFBeta",
    "AnyLossGMean",
    "AnyLossBalancedAccuracy",
    "AnyLossMCC",
    "LOSSES",
    "get_loss",
    "list_losses",
]


def _registry(classes):
    registry = {}
    for cls in classes:
        # Two classes with one name would make get_loss silently pick one.
        if cls.name in registry:
            raise RuntimeError(
                f"Loss name {cls.name!r} is used by both {registry[cls.name].__name__} "
                f"and {cls.__name__}."
            )
        registry[cls.name] = cls
    return registry


#: Registry name -> loss class. The one place that lists the built-in losses.
LOSSES = _registry([
    CrossEntropy, CompSum, GCE, MAE, SumExp, SCE, NCERCE, Focal,
    AnyLoss, AnyLossAccuracy, AnyLossF1, AnyLossFBeta, AnyLossGMean,
    AnyLossBalancedAccuracy, AnyLossMCC,
])


def list_losses():
    """Return the registry names of the available losses.

    Returns
    -------
    list of str
        Sorted names, each accepted by :func:`get_loss`.
    """
    return sorted(LOSSES)


def _check_param_names(cls, params):
    valid = cls._get_param_names()
    for key in params:
        if key not in valid:
            raise ValueError(
                f"Invalid parameter {key!r} for loss {cls.name!r} ({cls.__name__}). "
                f"Valid parameters are: {valid}."
            )


def get_loss(loss, **params):
    """Return a validated loss instance from a name or a loss object.

    Parameters
    ----------
    loss : str or Loss
        A registry name (see :func:`list_losses`), or a loss instance, which is
        copied as ``type(loss)(**loss.get_params())`` so that the caller's
        object is never modified.
    **params
        Hyperparameters to set on the new instance.

    Returns
    -------
    Loss
        A new instance whose hyperparameters have passed ``validate()``.

    Raises
    ------
    ValueError
        For an unknown name, an unknown parameter or an out-of-range
        hyperparameter; the message names the culprit.
    TypeError
        If ``loss`` is neither a string nor a :class:`Loss` instance.
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"Unknown loss {loss!r}. Valid names are: {list_losses()}.")
        cls = LOSSES[loss]
        _check_param_names(cls, params)
        result = cls(**params)
    elif isinstance(loss, Loss):
        _check_param_names(type(loss), params)
        result = type(loss)(**loss.get_params())
        result.set_params(**params)
    else:
        hint = ""
        if isinstance(loss, type) and issubclass(loss, Loss):
            hint = f" Got the class itself; pass an instance, {loss.__name__}(), or its name."
        raise TypeError(
            "loss must be the name of a loss (one of "
            f"{list_losses()}) or a skloss Loss instance, got {type(loss).__name__}." + hint
        )
    result.validate()
    return result
