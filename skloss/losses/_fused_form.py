"""The fused form of a loss: its value as a function of per-row logit statistics.

A fused head (:mod:`skloss.fused`) never holds the ``(n_samples, n_classes)``
logits ``z = h W^T + b``. It streams over blocks of classes and keeps a few
numbers per row, the *statistics* of :data:`STATISTICS`; a loss then only has
to say which statistics it needs and how its per-row value follows from them,
which is a :class:`StatisticsForm`. Each loss returns its own from
:meth:`Loss.fused_form <skloss.losses.Loss.fused_form>`, so the fused heads
never need to know a loss class.

The form is defined here, beside the losses, and :mod:`skloss.fused` imports it:
the losses stay importable without the fused package.
"""

import math
import numbers
from dataclasses import dataclass
from typing import Callable

__all__ = ["STATISTICS", "StatisticsForm", "nll_of"]

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
    >>> stats = {"lse": torch.logsumexp(logits, dim=1), "target": logits[:, 0]}
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
                isinstance(t, bool)
                or not isinstance(t, numbers.Real)
                or not math.isfinite(t)
                or t <= 0
            ):
                raise ValueError(
                    "StatisticsForm with the 'lse_t' statistic needs a finite temperature "
                    f"> 0, got temperature={t!r}."
                )
            object.__setattr__(self, "temperature", float(t))
        if not callable(self.row_loss):
            raise TypeError(f"StatisticsForm row_loss must be callable, got {self.row_loss!r}.")


def nll_of(stats):
    """``-log p_y = lse - z_y`` from the ``lse`` and ``target`` statistics.

    Parameters
    ----------
    stats : dict of str to torch.Tensor
        Holds at least ``"lse"`` and ``"target"``.

    Returns
    -------
    torch.Tensor of shape (n_samples,)
    """
    # lse >= z_y holds in floating point too (lse is max + log(sum) with sum >= 1),
    # so the difference is a valid non-negative -log p_y.
    return stats["lse"] - stats["target"]
