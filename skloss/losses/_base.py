"""The loss base class: a small value object with scikit-learn style parameters.

Every skloss loss maps an ``(n_samples, n_outputs)`` logits tensor and an
``(n_samples,)`` tensor of class indices to one value per sample. Reduction and
sample weights are applied here, once, for every loss.

Losses are pure torch: nothing in this package imports scikit-learn or skorch,
so a loss can be used in any training loop.
"""

import inspect

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Loss", "ProbabilityLoss", "reduce_loss", "KNOWN_REQUIREMENTS"]

#: Context a loss may ask the training step for, through ``Loss.requires``.
#:
#: - ``"index"``: ``index`` (row positions of the batch in the training data) and
#:   ``n_samples`` (rows in the training data), for losses with per-sample state;
#: - ``"epoch"``: ``epoch``, the 0-based epoch count, for scheduled losses;
#: - ``"model"`` and ``"inputs"``: the torch module and the batch's input tensor,
#:   for losses that probe the model (adversarial losses);
#: - ``"stratified"``: not a context value but a promise about batches: every
#:   training batch holds at least one sample of each class (pairwise losses).
KNOWN_REQUIREMENTS = ("index", "epoch", "model", "inputs", "stratified")

_REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(values, reduction="mean", sample_weight=None):
    """Reduce per-sample loss values, optionally weighted.

    Parameters
    ----------
    values : torch.Tensor of shape (n_samples,)
        Per-sample loss values.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``"mean"`` is the weighted mean ``sum(w * l) / sum(w)`` (the plain mean
        without weights), so that an integer weight equals repeating the sample.
        ``"none"`` returns ``w * l``.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Non-negative per-sample weights.

    Returns
    -------
    torch.Tensor
        A scalar, or the weighted values for ``reduction="none"``.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {_REDUCTIONS}, got {reduction!r}."
        )
    if sample_weight is not None:
        sample_weight = torch.as_tensor(
            sample_weight, dtype=values.dtype, device=values.device
        )
        if sample_weight.shape != values.shape:
            raise ValueError(
                "sample_weight must have one value per sample: expected shape "
                f"{tuple(values.shape)}, got {tuple(sample_weight.shape)}."
            )
        values = values * sample_weight
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if sample_weight is None:
        return values.mean()
    return values.sum() / sample_weight.sum()


class Loss:
    """Base class of skloss losses.

    Subclasses store their ``__init__`` arguments unchanged under the same
    names (the scikit-learn rule), which gives ``get_params``, ``set_params``,
    ``sklearn.base.clone`` support and nested grid search (``loss__q``), and
    implement :meth:`per_sample`.

    Attributes
    ----------
    name : str
        The registry name (``get_loss(name)``).
    requires : tuple of str
        Context the training step must pass (see ``KNOWN_REQUIREMENTS``).
    binary_only : bool
        Whether the loss is defined for two classes only.
    batch_level : bool
        Whether the loss is a statistic of the whole batch (a metric of its soft
        confusion matrix, say) rather than a sum over samples. Such a loss takes
        the batch's sample weights as ``count_weight`` in :meth:`per_sample`, so
        they weight what it counts, not only its value.
    """

    name = None
    requires = ()
    binary_only = False
    batch_level = False
    stratified_batches = False

    # ---- scikit-learn style parameters -------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        names = []
        for param in params:
            if param.name == "self":
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"{cls.__name__}.__init__ must list its parameters explicitly "
                    "(no *args or **kwargs) so that get_params and clone work."
                )
            names.append(param.name)
        return sorted(names)

    def get_params(self, deep=True):
        """Return the loss's hyperparameters as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self`` (scikit-learn protocol)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for loss {type(self).__name__}. "
                    f"Valid parameters are: {valid}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        mine, theirs = self.get_params(), other.get_params()
        return all(_same_value(mine[key], theirs[key]) for key in mine)

    def __hash__(self):
        return hash((type(self), tuple(sorted(map(repr, self.get_params().items())))))

    # ---- the loss ----------------------------------------------------------------------
    def validate(self):
        """Check hyperparameters; raise ``ValueError`` naming the bad one.

        Called before training starts and on every call. Subclasses with
        hyperparameters override it.
        """

    def n_outputs(self, n_classes):
        """How many logits the model must output for ``n_classes`` classes."""
        return n_classes

    def link(self, logits):
        """Map logits to class probabilities (rows sum to 1)."""
        return torch.softmax(logits, dim=1)

    def per_sample(self, logits, target, **context):
        """Per-sample loss values, shape ``(n_samples,)``."""
        raise NotImplementedError

    def batch_loss(self, logits, target, sample_weight=None, **context):
        """The training objective of one batch: ``mean(w * l)`` (plain mean without weights)."""
        values = self.per_sample(logits, target, **context)
        if sample_weight is not None:
            values = values * sample_weight
        return values.mean()

    def __call__(self, logits, target, *, reduction="mean", sample_weight=None, **context):
        """Compute the loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices in ``[0, n_classes)``, integer dtype.
        reduction : {"mean", "sum", "none"}, default="mean"
            See :func:`reduce_loss`.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights.
        **context
            What the loss declared in ``requires`` (e.g. ``index``).

        Returns
        -------
        torch.Tensor
        """
        self.validate()
        _check_logits_target(logits, target)
        missing = [key for key in self.requires if key != "stratified" and key not in context]
        if "index" in self.requires and "n_samples" not in context:
            missing.append("n_samples")
        if missing:
            raise TypeError(
                f"{type(self).__name__} requires the context {missing}; pass them as "
                "keyword arguments (the skloss estimators do this for you)."
            )
        values = self.per_sample(logits, target, **context)
        return reduce_loss(values, reduction, sample_weight)


class ProbabilityLoss(Loss):
    """A loss that depends on the logits only through ``p_y``, the probability
    of the labelled class.

    Subclasses implement :meth:`from_nll`, a function of
    ``nll = -log p_y = cross_entropy(logits, target)``. Working from ``nll``
    keeps every member finite where ``p_y`` underflows: ``p_y = exp(-nll)`` and
    ``1 - p_y = -expm1(-nll)``. Fused heads (``skloss.fused``) rely on this form:
    they compute ``nll`` without materialising the logits and differentiate
    ``from_nll`` alone.
    """

    def from_nll(self, nll):
        """Per-sample loss as a function of ``nll = -log p_y``."""
        raise NotImplementedError

    def per_sample(self, logits, target, **context):
        nll = F.cross_entropy(logits, target, reduction="none")
        return self.from_nll(nll)


def _same_value(a, b):
    # Hyperparameters may be arrays or tensors (per-class weights), whose == is
    # element-wise.
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
            and a.shape == b.shape and bool(torch.equal(a, b))
        )
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _check_logits_target(logits, target):
    if isinstance(logits, torch.Tensor) and not logits.dtype.is_floating_point:
        raise TypeError(f"logits must be a floating-point tensor, got {logits.dtype}.")
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError(
            "logits must be a 2-D tensor of shape (n_samples, n_outputs); got "
            f"{type(logits).__name__} with shape {tuple(getattr(logits, 'shape', ()))}."
        )
    if not isinstance(target, torch.Tensor) or target.ndim != 1:
        raise ValueError(
            "target must be a 1-D tensor of class indices; got "
            f"{type(target).__name__} with shape {tuple(getattr(target, 'shape', ()))}."
        )
    if target.shape[0] != logits.shape[0]:
        raise ValueError(
            f"logits has {logits.shape[0]} rows but target has {target.shape[0]}; "
            "they must describe the same samples."
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise TypeError(
            f"target must hold integer class indices (torch.long), got {target.dtype}; "
            "use target.long()."
        )
