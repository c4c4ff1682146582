"""Losses for skloss estimators: classification and regression.

A loss is a small value object (:class:`Loss`) mapping logits and class indices
to per-sample values (or, for a batch-level loss, to one value per batch).
:data:`LOSSES` maps registry names to loss classes and presets, and
:func:`get_loss` turns a name, a loss object or a torch loss into a validated,
independent loss instance.
"""

import torch

from ._base import KNOWN_REQUIREMENTS, SUPERVISION_BEYOND_Y, Loss, ProbabilityLoss, reduce_loss
from ._fused_form import STATISTICS, StatisticsForm
from .adversarial import TRADES, AdvCompSum, PGDAdversarialTraining
from .aggregate import BagBCE, BagLoss, BagSquaredError
from .auc import MWAUC
from .compsum import GCE, MAE, CompSum, CrossEntropy, SumExp
from .correction import BackwardCorrection, ForwardCorrection
from .dco import DCO
from .dice import Dice
from .distillation import KD, PLD
from .ensemble import EnsLoss
from .focal import Focal
from .histogram import HLGauss
from .ldr import ALDRKL, LDRKL
from .metric import PRESETS as _ANYLOSS_PRESETS
from .metric import AnyLoss
from .regression import AbsoluteError, Huber, Poisson, Quantile, RegressionLoss, SquaredError
from .symmetric import NCERCE, SCE
from .tgce import TGCE
from .torch_loss import TorchLoss
from .zloss import ZLoss

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
    "EnsLoss",
    "LDRKL",
    "ALDRKL",
    "TGCE",
    "Dice",
    "ZLoss",
    "DCO",
    "MWAUC",
    "ForwardCorrection",
    "BackwardCorrection",
    "PLD",
    "KD",
    "AdvCompSum",
    "TRADES",
    "PGDAdversarialTraining",
    "TorchLoss",
    "RegressionLoss",
    "SquaredError",
    "AbsoluteError",
    "Huber",
    "Quantile",
    "Poisson",
    "HLGauss",
    "BagLoss",
    "BagSquaredError",
    "BagBCE",
    "StatisticsForm",
    "STATISTICS",
    "KNOWN_REQUIREMENTS",
    "SUPERVISION_BEYOND_Y",
    "LOSSES",
    "Preset",
    "get_loss",
    "list_losses",
]


class Preset:
    """A registry entry that is a loss class with some parameters fixed.

    ``LOSSES["anyloss_f1"]`` is ``Preset("anyloss_f1", AnyLoss, {"metric": "f1"})``;
    calling it builds ``AnyLoss(metric="f1", **params)``, so that a fixed-metric
    loss needs no class of its own.

    Parameters
    ----------
    name : str
        The registry name.
    cls : type
        The :class:`Loss` subclass.
    fixed : dict
        The parameters the preset fixes.

    Examples
    --------
    >>> from skloss.losses import LOSSES
    >>> LOSSES["anyloss_f1"](amplification=20.0)
    AnyLoss(amplification=20.0, average='macro', beta=1.0, metric='f1')
    """

    def __init__(self, name, cls, fixed):
        self.name = name
        self.cls = cls
        self.fixed = dict(fixed)

    @property
    def binary_only(self):
        return self.cls.binary_only

    def _get_param_names(self):
        """The parameters left free, those ``get_loss(name, **params)`` accepts."""
        return [name for name in self.cls._get_param_names() if name not in self.fixed]

    def __call__(self, **params):
        fixed = sorted(set(params) & set(self.fixed))
        if fixed:
            raise ValueError(
                f"Loss {self.name!r} fixes {fixed}; use get_loss({self.cls.name!r}, "
                f"{fixed[0]}=...) to choose {'it' if len(fixed) == 1 else 'them'}."
            )
        return self.cls(**self.fixed, **params)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"Preset({self.name!r}: {self.cls.__name__}({args}))"


def _registry(classes, presets):
    registry = {}
    entries = list(classes) + [Preset(name, cls, fixed) for name, (cls, fixed) in presets.items()]
    for entry in entries:
        # Two entries with one name would make get_loss silently pick one.
        if entry.name in registry:
            raise RuntimeError(f"Loss name {entry.name!r} is registered twice.")
        registry[entry.name] = entry
    return registry


#: Registry name -> loss class, or :class:`Preset` (a class with fixed
#: parameters, e.g. ``"anyloss_f1"``). The one place that lists the built-in
#: losses; ``LOSSES[name]()`` builds its default instance.
LOSSES = _registry(
    [
        CrossEntropy,
        CompSum,
        GCE,
        MAE,
        SumExp,
        SCE,
        NCERCE,
        Focal,
        AnyLoss,
        EnsLoss,
        LDRKL,
        ALDRKL,
        TGCE,
        Dice,
        ZLoss,
        DCO,
        MWAUC,
        ForwardCorrection,
        BackwardCorrection,
        PLD,
        KD,
        AdvCompSum,
        TRADES,
        PGDAdversarialTraining,
        SquaredError,
        AbsoluteError,
        Huber,
        Quantile,
        Poisson,
        HLGauss,
        BagSquaredError,
        BagBCE,
    ],
    _ANYLOSS_PRESETS,
)


def list_losses(kind=None):
    """Return the registry names of the available losses.

    Parameters
    ----------
    kind : {"classification", "regression"} or None, default=None
        Only the losses of this kind of target; None for all.

    Returns
    -------
    list of str
        Sorted names, each accepted by :func:`get_loss`.

    Examples
    --------
    >>> list_losses(kind="regression")  # doctest: +NORMALIZE_WHITESPACE
    ['absolute_error', 'bag_squared_error', 'hl_gauss', 'huber', 'poisson', 'quantile',
     'squared_error']
    """
    if kind not in (None, "classification", "regression"):
        raise ValueError(f"kind must be 'classification', 'regression' or None, got {kind!r}.")
    return sorted(
        name
        for name, entry in LOSSES.items()
        if kind is None or _entry_class(entry).target_kind == kind
    )


def _entry_class(entry):
    return entry.cls if isinstance(entry, Preset) else entry


def _check_param_names(entry, params):
    valid = entry._get_param_names()
    cls = entry.cls if isinstance(entry, Preset) else entry
    for key in params:
        if key not in valid:
            fixed = isinstance(entry, Preset) and key in entry.fixed
            hint = (
                f" {entry.name!r} fixes {key!r}; use get_loss({cls.name!r}, {key}=...)."
                if fixed
                else ""
            )
            raise ValueError(
                f"Invalid parameter {key!r} for loss {entry.name!r} ({cls.__name__}). "
                f"Valid parameters are: {valid}." + hint
            )


def _is_torch_loss(loss):
    if isinstance(loss, type):
        return issubclass(loss, torch.nn.Module) and not issubclass(loss, Loss)
    return isinstance(loss, torch.nn.Module) or (callable(loss) and not isinstance(loss, Loss))


def get_loss(loss, **params):
    """Return a validated loss instance from a name, a loss object or a torch loss.

    Parameters
    ----------
    loss : str, Loss, torch.nn.Module, torch.nn.Module subclass or callable
        - a registry name (see :func:`list_losses`);
        - a loss instance, which is copied as ``type(loss)(**loss.get_params())``
          so that the caller's object is never modified;
        - a torch loss: a module such as
          ``torch.nn.CrossEntropyLoss(label_smoothing=0.1)``, its class
          (instantiated with its defaults) or a function
          ``f(logits, target) -> per-sample tensor``, wrapped in
          :class:`TorchLoss`.
    **params
        Hyperparameters to set on the new instance (none for a torch loss).

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
        If ``loss`` is none of the above (a skloss loss class, say, instead of
        an instance).

    Examples
    --------
    >>> import torch
    >>> get_loss("gce", q=0.5)
    GCE(q=0.5)
    >>> get_loss("anyloss_f1").metric
    'f1'
    >>> get_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.1))
    TorchLoss(criterion=CrossEntropyLoss())
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"Unknown loss {loss!r}. Valid names are: {list_losses()}.")
        entry = LOSSES[loss]
        _check_param_names(entry, params)
        result = entry(**params)
    elif isinstance(loss, Loss):
        _check_param_names(type(loss), params)
        result = type(loss)(**loss.get_params())
        result.set_params(**params)
    elif _is_torch_loss(loss):
        if params:
            raise ValueError(
                f"get_loss got parameters {sorted(params)} for the torch loss {loss!r}; set "
                "them on the torch object itself (e.g. CrossEntropyLoss(label_smoothing=0.1))."
            )
        result = TorchLoss(loss)
    else:
        hint = ""
        if isinstance(loss, type) and issubclass(loss, Loss):
            hint = f" Got the class itself; pass an instance, {loss.__name__}(), or its name."
        raise TypeError(
            "loss must be the name of a loss (one of "
            f"{list_losses()}), a skloss Loss instance, a torch loss module or class, or a "
            f"function f(logits, target) -> per-sample tensor; got {type(loss).__name__}." + hint
        )
    result.validate()
    return result
