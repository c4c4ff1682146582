"""The confidence-limiting loss (DCO), the cross-entropy of pass@n.

From "Rethinking Fine-Tuning when Scaling Test-Time Compute": pass@n is the chance
that at least one of ``n`` draws from the model is the label.
"""

import math

import torch

from ._base import ProbabilityLoss
from ._validation import real_parameter

__all__ = ["DCO", "log1mexp"]

_LOG2 = math.log(2.0)

#: Above this ``-log p_y`` (``p_y < 4e-18``), DCO is ``ce - log n`` to within
#: ``n p_y / 2``, far below float64 rounding; below it ``p_y`` is a normal float32.
_ASYMPTOTIC_NLL = 40.0


def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x >= 0``, accurate everywhere (Maechler, 2012).

    ``log(-expm1(-x))`` for ``x <= log 2`` and ``log1p(-exp(-x))`` above; each
    branch is evaluated on inputs clamped to its own side, so that the branch not
    taken cannot put NaN into the gradient.

    Parameters
    ----------
    x : torch.Tensor
        Non-negative values.

    Returns
    -------
    torch.Tensor
        ``-inf`` at ``x = 0``, ``0`` at ``x = inf``.

    Examples
    --------
    >>> import torch
    >>> log1mexp(torch.tensor([1e-20, 50.0], dtype=torch.float64))
    tensor([-4.6052e+01, -1.9287e-22], dtype=torch.float64)
    """
    small = x <= _LOG2
    near = torch.log(-torch.expm1(-torch.where(small, x, _LOG2)))
    far = torch.log1p(-torch.exp(-torch.where(small, _LOG2, x)))
    return torch.where(small, near, far)


class DCO(ProbabilityLoss):
    """Confidence-limiting loss ``-log(1 - (1 - p_y)^n)``.

    Parameters
    ----------
    n : float, default=4
        ``>= 1``, the number of draws ``n`` of pass@n. ``n = 1`` is the
        cross-entropy; larger ``n`` stops rewarding confidence once ``p_y`` is
        large enough for one of ``n`` draws to hit (the gradient fades like
        ``(1 - p_y)^n``), which keeps the rest of the probability spread over the
        other classes: pair it with top-k scoring (``skloss compare`` reports
        ``top_k_accuracy``).

    Notes
    -----
    Computed from ``ce = -log p_y`` as ``-log1mexp(-n log1mexp(ce))`` with
    :func:`log1mexp` ``(x) = log(1 - exp(-x))``: ``log(1 - p_y) = log1mexp(ce)``,
    so nothing is formed that could round to 0 or 1. For a confidently wrong
    prediction (``ce > 40``) the loss is ``ce - log n`` to within ``n p_y / 2``,
    and computed so (a naive formula returns ``inf``); for a
    confident right one it is ``(1 - p_y)^n``. ``ce`` is clamped at the smallest
    positive normal number, which only changes rows with ``p_y`` within rounding
    of 1 (their loss is 0 either way) and gives them the true zero gradient.

    References
    ----------
    .. [1] R. Chen, Y. Liu, et al., "Rethinking Fine-Tuning when Scaling
       Test-Time Compute: Limiting Confidence Improves Mathematical Reasoning",
       2025.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0, 40.0, 40.0]])
    >>> round(DCO(n=8)(z, torch.tensor([0])).item(), 4)  # ce - log 8
    38.6137
    """

    name = "dco"
    search_space = {"n": ("int", 1, 32)}

    def __init__(self, n=4):
        self.n = n

    def validate(self):
        """Check ``n >= 1``."""
        if real_parameter(self, "n") < 1:
            raise ValueError(f"DCO parameter 'n' must be >= 1, got {self.n!r}.")

    def from_nll(self, nll):
        """The loss as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            Per-sample cross-entropy, ``-log p_y``.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        n = float(self.n)
        if n == 1.0:
            return nll
        far = nll > _ASYMPTOTIC_NLL
        near_nll = torch.where(far, _ASYMPTOTIC_NLL, nll).clamp_min(torch.finfo(nll.dtype).tiny)
        log_rest = log1mexp(near_nll)  # log(1 - p_y)
        near = -log1mexp(-n * log_rest)
        # Beyond it, (1 - p_y)^n = 1 - n p_y up to O(p_y^2) and the loss is -log(n p_y);
        # computing it directly would round 1 - p_y to 1 once p_y underflows.
        return torch.where(far, nll - math.log(n), near)
