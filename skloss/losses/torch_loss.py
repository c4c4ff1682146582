"""Any torch loss as a skloss loss: a ``torch.nn`` loss module, its class, or a function.

A skorch user passes a ``criterion`` such as ``torch.nn.CrossEntropyLoss(label_smoothing=0.1)``.
:class:`TorchLoss` wraps it so that it trains a skloss estimator like any other
loss: per-sample values, so that ``sample_weight`` and ``class_weight`` weight
each sample, and a value object that ``clone``, ``get_params`` and pickle handle.
:func:`skloss.losses.get_loss` wraps these objects itself, so
``RobustLossClassifier(loss=torch.nn.CrossEntropyLoss(label_smoothing=0.1))`` works.
"""

import copy

import torch

from ._base import Loss

__all__ = ["TorchLoss"]

#: torch losses whose target is a float tensor the shape of the input (one-hot
#: or probabilities) or which regress: they do not take the class indices a
#: skloss classifier trains on.
_FLOAT_TARGET_LOSSES = tuple(
    getattr(torch.nn, name)
    for name in (
        "BCELoss",
        "BCEWithLogitsLoss",
        "MSELoss",
        "L1Loss",
        "SmoothL1Loss",
        "HuberLoss",
        "KLDivLoss",
        "MultiLabelSoftMarginLoss",
        "MultiLabelMarginLoss",
        "SoftMarginLoss",
        "PoissonNLLLoss",
        "GaussianNLLLoss",
        "CosineEmbeddingLoss",
        "MarginRankingLoss",
        "TripletMarginLoss",
        "HingeEmbeddingLoss",
        "CTCLoss",
    )
    if hasattr(torch.nn, name)
)

_PROBE_ROWS = 4


class TorchLoss(Loss):
    """A torch loss module, loss class or function as a skloss loss.

    Parameters
    ----------
    criterion : torch.nn.Module, torch.nn.Module subclass or callable, \
default=torch.nn.CrossEntropyLoss
        The torch loss. It receives the raw logits, shape
        ``(n_samples, n_classes)``, and the class indices, shape ``(n_samples,)``
        and dtype ``torch.long``, and must give one loss per sample:

        - a module with a ``reduction`` attribute (every ``torch.nn`` loss) is
          called through a copy with ``reduction="none"``; the object passed
          here is never modified;
        - a module class is instantiated with its defaults;
        - a function ``f(logits, target) -> tensor of shape (n_samples,)`` is
          used as is.

    Notes
    -----
    **Targets are class indices.** Losses that want a float target the shape of
    the logits (``BCEWithLogitsLoss``, ``MSELoss``, ``KLDivLoss``, ...) are
    refused with a ``TypeError``; for a binary problem use
    ``torch.nn.CrossEntropyLoss`` on two logits. ``NLLLoss`` expects
    log-probabilities, not logits: pass ``CrossEntropyLoss`` instead.

    **Per-sample values.** The estimators weight each sample's loss by its
    ``sample_weight`` and ``class_weight``, so a loss that only returns a batch
    mean cannot be used; :meth:`validate` calls the criterion on a tiny probe
    batch and raises a ``ValueError`` when it returns anything but one value
    per sample. (A probe that fails outright, say because the criterion needs a
    given number of classes, is not conclusive; the shape is checked again on
    every call.)

    **Copies and pickling.** ``clone`` deep-copies a module and keeps a function
    as it is. A module and a module-level function pickle; a lambda or a local
    function does not (pickle's own limit): define the function at module level
    to save a fitted estimator.

    The criterion gets no context (``requires`` is empty) and has no fused form.

    Examples
    --------
    >>> import torch
    >>> loss = TorchLoss(torch.nn.CrossEntropyLoss(label_smoothing=0.1))
    >>> logits, target = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([0])
    >>> round(loss(logits, target).item(), 4)
    0.5076
    >>> def hinge(logits, target):
    ...     return torch.nn.functional.multi_margin_loss(logits, target, reduction="none")
    >>> round(TorchLoss(hinge)(logits, target).item(), 4)
    0.0
    """

    name = "torch"

    def __init__(self, criterion=torch.nn.CrossEntropyLoss):
        self.criterion = criterion

    # ---- the wrapped criterion --------------------------------------------------------
    def _check_kind(self):
        criterion = self.criterion
        if isinstance(criterion, type):
            if not issubclass(criterion, torch.nn.Module):
                raise TypeError(
                    "TorchLoss parameter 'criterion' must be a torch loss module, a "
                    "torch.nn.Module subclass or a function f(logits, target), got the class "
                    f"{criterion.__name__}."
                )
            kind = criterion
        elif isinstance(criterion, torch.nn.Module):
            kind = type(criterion)
        elif isinstance(criterion, Loss):
            raise TypeError(
                "TorchLoss parameter 'criterion' got a skloss loss; pass it directly as the "
                "loss instead of wrapping it."
            )
        elif callable(criterion):
            return
        else:
            raise TypeError(
                "TorchLoss parameter 'criterion' must be a torch loss module, a "
                "torch.nn.Module subclass or a function f(logits, target), got "
                f"{type(criterion).__name__}."
            )
        if issubclass(kind, _FLOAT_TARGET_LOSSES):
            raise TypeError(
                f"TorchLoss parameter 'criterion': {kind.__name__} takes float targets the "
                "shape of its input, but skloss classifiers train on class indices "
                "(torch.long, shape (n_samples,)). Use torch.nn.CrossEntropyLoss (two "
                "logits for a binary problem) or a function f(logits, target)."
            )

    def _instance(self):
        """The criterion as a callable: a class is instantiated with its defaults."""
        criterion = self.criterion
        if isinstance(criterion, type):
            try:
                return criterion()
            except TypeError as error:
                raise TypeError(
                    f"TorchLoss parameter 'criterion': {criterion.__name__}() cannot be built "
                    f"with its defaults ({error}); pass an instance instead."
                ) from error
        return criterion

    def _per_sample_criterion(self, like):
        """A private copy with ``reduction="none"``, on ``like``'s device and dtype.

        The copy is cached per device and dtype: building it costs a deep copy.
        """
        key = (like.device, like.dtype)
        cached = getattr(self, "_cached_criterion", None)
        if cached is not None and cached[0] == key and cached[1] is self.criterion:
            return cached[2]
        criterion = self._instance()
        if isinstance(criterion, torch.nn.Module):
            # Never the user's object: a copy gets reduction="none" and is moved.
            criterion = copy.deepcopy(criterion) if criterion is self.criterion else criterion
            if hasattr(criterion, "reduction"):
                criterion.reduction = "none"
            criterion = criterion.to(device=like.device, dtype=like.dtype)
        self._cached_criterion = (key, self.criterion, criterion)
        return criterion

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_cached_criterion", None)  # rebuilt on the first call
        return state

    # ---- the loss ------------------------------------------------------------------------
    def validate(self):
        """Check the criterion's kind, then that it gives one value per sample.

        The probe is a batch of 4 rows of float32 logits (as many columns as
        the criterion's per-class ``weight``, else 3) and ``torch.long``
        targets, under ``torch.no_grad()``.

        Raises
        ------
        TypeError
            For an object that is not a torch loss, a torch loss with float
            targets (``BCEWithLogitsLoss``, ``MSELoss``, ...), or a class that
            cannot be built with its defaults.
        ValueError
            If the probe returns anything but a tensor of shape ``(4,)``.
        """
        self._check_kind()
        probe = torch.zeros(_PROBE_ROWS, self._probe_columns())
        target = torch.arange(_PROBE_ROWS) % probe.shape[1]
        criterion = self._per_sample_criterion(probe)  # a class is built here
        try:
            with torch.no_grad():
                values = criterion(probe, target)
        except Exception:  # noqa: BLE001 - not conclusive: the shape is checked per call
            return
        self._check_values(values, _PROBE_ROWS)

    def _probe_columns(self):
        weight = getattr(self.criterion, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.ndim == 1 and weight.numel() >= 1:
            return int(weight.numel())
        return 3

    def _check_values(self, values, n_samples):
        if not isinstance(values, torch.Tensor) or tuple(values.shape) != (n_samples,):
            got = (
                f"a tensor of shape {tuple(values.shape)}"
                if isinstance(values, torch.Tensor)
                else type(values).__name__
            )
            raise ValueError(
                f"TorchLoss parameter 'criterion' returned {got} for {n_samples} samples; "
                f"skloss needs one loss per sample, shape ({n_samples},), so that "
                "sample_weight and class_weight can weight each sample. Give the module "
                "reduction='none' semantics (a `reduction` attribute) or make the function "
                "return per-sample values."
            )

    def per_sample(self, logits, target, **context):
        """Per-sample values of the criterion.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, ``torch.long``.
        **context
            Unused; the criterion gets logits and target only.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.

        Raises
        ------
        ValueError
            If the criterion does not return one value per sample.
        """
        values = self._per_sample_criterion(logits)(logits, target.long())
        self._check_values(values, target.shape[0])
        return values
