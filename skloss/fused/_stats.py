"""Per-row statistics of the logits, and losses written as functions of them.

A fused head never holds the ``(n_samples, n_classes)`` logits ``z = h W^T + b``.
It streams over blocks of classes and keeps a few numbers per row, the
*statistics* of :data:`STATISTICS`; a loss then only has to say which
statistics it needs and how its per-row value follows from them. That is the
whole per-loss interface, :class:`StatisticsForm`:

- ``statistics``: the names it reads;
- ``row_loss(stats, target)``: the per-row loss from those statistics, written
  in plain torch on ``(n_samples,)`` tensors.

Autograd differentiates ``row_loss`` on those tiny tensors, which gives one
coefficient ``c_s = dL/ds`` per row and statistic. Every statistic ``s`` has a
known derivative ``ds/dz_k`` (see :data:`STATISTICS`), so a kernel's backward
pass rebuilds the logit gradient block by block as
``dL/dz_k = sum_s c_s * ds/dz_k`` without knowing which loss it serves. A new
loss therefore plugs in without a new kernel, and a new *statistic* is the only
thing that needs kernel work.
"""

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import torch

from skloss.losses import CrossEntropy, Focal, ProbabilityLoss, get_loss

__all__ = ["STATISTICS", "StatisticsForm", "fused_form", "logit_statistics", "supports"]

#: The statistics a fused kernel can compute, with their derivative in ``z_k``
#: (``p = softmax(z)``, ``K`` the number of classes, ``t`` the form's temperature):
#:
#: ========== ===================================== =====================================
#: name       value per row                         derivative ``ds/dz_k``
#: ========== ===================================== =====================================
#: ``lse``    ``log sum_k exp(z_k)``                ``p_k``
#: ``target`` ``z_y``                               ``[k == y]``
#: ``mean``   ``(1/K) sum_k z_k``                   ``1/K``
#: ``var``    ``(1/K) sum_k (z_k - mean)^2``        ``2 (z_k - mean) / K``
#: ``lse_t``  ``log sum_k exp(z_k / t)``            ``softmax(z / t)_k / t``
#: ========== ===================================== =====================================
STATISTICS = ("lse", "target", "mean", "var", "lse_t")


@dataclass(frozen=True)
class StatisticsForm:
    """A loss written as a function of per-row logit statistics.

    Parameters
    ----------
    statistics : tuple of str
        The statistics ``row_loss`` reads, a subset of :data:`STATISTICS`.
    row_loss : callable
        ``row_loss(stats, target)`` where ``stats`` maps each name in
        ``statistics`` to a ``(n_samples,)`` tensor and ``target`` holds the class
        indices; returns the ``(n_samples,)`` per-sample loss. It must be
        differentiable by autograd and treat rows independently.
    temperature : float, default=None
        The ``t`` of the ``lse_t`` statistic; required when it is used.
    description : str, default=""
        What the form computes, shown in error messages and reprs.

    Examples
    --------
    Cross-entropy is ``lse - z_y``:

    >>> import torch
    >>> form = StatisticsForm(("lse", "target"), lambda s, y: s["lse"] - s["target"])
    >>> logits, target = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([0])
    >>> stats = logit_statistics(logits, target, form.statistics)
    >>> round(form.row_loss(stats, target).item(), 4)
    0.4076
    """

    statistics: tuple
    row_loss: Callable
    temperature: float | None = None
    description: str = ""

    def __post_init__(self):
        statistics = tuple(self.statistics)
        unknown = [name for name in statistics if name not in STATISTICS]
        if unknown or not statistics:
            raise ValueError(
                f"StatisticsForm statistics must be a non-empty subset of {STATISTICS}, "
                f"got {self.statistics!r}."
            )
        if "var" in statistics:
            # The variance's derivative needs the mean: kernels keep both.
            statistics = statistics + ("mean",)
        # A canonical order lets kernels lay the statistics out by index.
        object.__setattr__(self, "statistics", tuple(s for s in STATISTICS if s in statistics))
        if "lse_t" in statistics:
            t = self.temperature
            if (
                isinstance(t, bool) or not isinstance(t, numbers.Real)
                or not math.isfinite(t) or t <= 0
            ):
                raise ValueError(
                    "StatisticsForm with the 'lse_t' statistic needs a finite temperature "
                    f"> 0, got temperature={t!r}."
                )
            object.__setattr__(self, "temperature", float(t))
        if not callable(self.row_loss):
            raise TypeError(f"StatisticsForm row_loss must be callable, got {self.row_loss!r}.")


def logit_statistics(logits, target, statistics, temperature=None):
    """Compute statistics from materialised logits (the reference definition).

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        The logits ``z``.
    target : torch.Tensor of shape (n_samples,)
        Class indices.
    statistics : iterable of str
        Names from :data:`STATISTICS`.
    temperature : float, default=None
        The ``t`` of ``lse_t``.

    Returns
    -------
    dict of str to torch.Tensor
        One ``(n_samples,)`` tensor per requested statistic, differentiable.

    Examples
    --------
    >>> import torch
    >>> stats = logit_statistics(torch.tensor([[1.0, 3.0]]), torch.tensor([1]),
    ...                          ["target", "mean", "var"])
    >>> [round(stats[k].item(), 3) for k in ("target", "mean", "var")]
    [3.0, 2.0, 1.0]
    """
    result = {}
    for name in statistics:
        if name == "lse":
            result[name] = torch.logsumexp(logits, dim=1)
        elif name == "target":
            result[name] = logits.gather(1, target.unsqueeze(1)).squeeze(1)
        elif name == "mean":
            result[name] = logits.mean(dim=1)
        elif name == "var":
            result[name] = logits.var(dim=1, correction=0)
        elif name == "lse_t":
            if temperature is None:
                raise ValueError("The 'lse_t' statistic needs a temperature.")
            result[name] = torch.logsumexp(logits / temperature, dim=1)
        else:
            raise ValueError(f"Unknown statistic {name!r}; known: {STATISTICS}.")
    return result


def _nll(stats):
    # lse >= z_y holds in floating point too (lse is max + log(sum) with sum >= 1),
    # so the difference is a valid non-negative -log p_y.
    return stats["lse"] - stats["target"]


def fused_form(loss, n_classes):
    """Return the :class:`StatisticsForm` of a loss, or raise if it has none.

    Parameters
    ----------
    loss : str or Loss
        A registry name or a loss instance.
    n_classes : int
        Number of classes (logit columns); per-class hyperparameters such as
        ``Focal(alpha=[...])`` are checked against it.

    Returns
    -------
    StatisticsForm

    Raises
    ------
    TypeError
        If the loss depends on the logits through more than the statistics
        (e.g. ``nce_rce``, which needs every ``log p_k``).

    Notes
    -----
    The form is found in this order:

    1. a loss that defines ``fused_statistics`` (a tuple of names) and
       ``from_statistics(stats, target)`` is used as it says (with its
       ``fused_temperature`` for ``lse_t``): this is how new losses plug in
       without editing this module;
    2. :class:`~skloss.losses.CrossEntropy` with label smoothing ``eps``:
       ``(1 - eps) (lse - z_y) + eps (lse - mean)``;
    3. :class:`~skloss.losses.Focal` with class weights: ``alpha_y`` times
       the unweighted focal loss;
    4. any other :class:`~skloss.losses.ProbabilityLoss`:
       ``from_nll(lse - z_y)``.

    Examples
    --------
    >>> fused_form("gce", n_classes=10).statistics
    ('lse', 'target')
    >>> fused_form("ce", n_classes=10).statistics
    ('lse', 'target')
    """
    loss = get_loss(loss)
    if hasattr(loss, "from_statistics"):
        statistics = getattr(loss, "fused_statistics", None)
        if statistics is None:
            raise TypeError(
                f"{type(loss).__name__} defines from_statistics but not fused_statistics, "
                "the tuple of statistic names it reads."
            )
        return StatisticsForm(
            tuple(statistics),
            loss.from_statistics,
            temperature=getattr(loss, "fused_temperature", None),
            description=repr(loss),
        )
    if isinstance(loss, CrossEntropy):
        eps = float(loss.label_smoothing)
        if eps == 0.0:
            return StatisticsForm(("lse", "target"), lambda s, y: _nll(s), description=repr(loss))

        def smoothed(stats, target):
            # -(1/K) sum_k log p_k = lse - mean_k z_k: torch's smoothing term.
            return (1.0 - eps) * _nll(stats) + eps * (stats["lse"] - stats["mean"])

        return StatisticsForm(("lse", "target", "mean"), smoothed, description=repr(loss))
    if isinstance(loss, Focal) and loss.alpha is not None:
        # Checks the number and values of the weights against n_classes now,
        # before any kernel runs.
        weights = loss._class_weights(n_classes, torch.empty(0, dtype=torch.float64))

        def weighted_focal(stats, target):
            alpha = weights.to(dtype=stats["lse"].dtype, device=target.device)
            return alpha[target] * loss._focal_term(_nll(stats))

        return StatisticsForm(("lse", "target"), weighted_focal, description=repr(loss))
    if isinstance(loss, ProbabilityLoss):
        # from_nll raises for a ProbabilityLoss that is not a function of p_y
        # in its current configuration; probe it now so the error comes
        # before any kernel runs, and with the loss's own message.
        loss.from_nll(torch.zeros(1))
        return StatisticsForm(
            ("lse", "target"), lambda s, y: loss.from_nll(_nll(s)), description=repr(loss)
        )
    raise TypeError(
        f"{loss!r} has no fused form: it is not a ProbabilityLoss (a function of p_y) and "
        "does not define fused_statistics / from_statistics. Use backend='naive', or give "
        "the loss those two attributes (see skloss.fused.STATISTICS)."
    )


def supports(loss, n_classes=2):
    """Whether ``loss`` can be computed by a fused head.

    Parameters
    ----------
    loss : str or Loss
        A registry name or a loss instance.
    n_classes : int, default=2
        Number of classes, for losses with per-class hyperparameters.

    Returns
    -------
    bool

    Examples
    --------
    >>> supports("sce"), supports("nce_rce")
    (True, False)
    """
    try:
        fused_form(loss, n_classes)
    except (TypeError, ValueError):
        return False
    return True
