"""Self-adjusting Dice loss (Li et al., ACL 2020), the multi-class path of its reference."""

import torch

from ._base import Loss
from ._validation import real_parameter

__all__ = ["Dice"]


class Dice(Loss):
    """Self-adjusting Dice loss.

    With ``p~_k = (1 - p_k)^alpha p_k`` per class and ``t_k = [k == y]``, the loss
    of an example is

        ``sum_k [1 - (2 p~_k t_k + smooth) / (p~_k^2 + t_k + smooth)]``,

    the reference's multi-class path with squared denominators.

    Parameters
    ----------
    alpha : float, default=0.01
        ``>= 0``. The self-adjusting factor ``(1 - p)^alpha`` down-weights easy
        examples, as focal loss does (``alpha = 0`` is the plain soft Dice).
    smooth : float, default=1.0
        ``> 0``, added to numerator and denominator.

    Notes
    -----
    Dice is meant for imbalanced data where accuracy is not the metric (F1 on a
    rare class): each class term is a smoothed F1-like ratio, so a rare class
    counts as much as a common one. With ``alpha > 0`` the loss is not
    minimised by a perfect prediction: ``p~_y = (1 - p_y)^alpha p_y`` is 0 at
    ``p_y = 1``, so the loss stops pulling confident examples further (by design).

    ``p_k`` and ``1 - p_k`` come from ``log_softmax`` (``1 - p_k = -expm1(log p_k)``);
    the base of ``(1 - p)^alpha`` is clamped at the smallest positive normal
    number, which gives a zero gradient where ``1 - p`` is 0 or denormal instead
    of ``inf * 0 = NaN``. There is no fused form: the loss sums a non-linear
    function of every class probability.

    References
    ----------
    .. [1] X. Li, X. Sun, Y. Meng, J. Liang, F. Wu and J. Li, "Dice Loss for
       Data-imbalanced NLP Tasks", ACL 2020.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0]])
    >>> round(Dice()(z, torch.tensor([0])).item(), 6)
    0.112309
    """

    name = "dice"
    search_space = {
        "alpha": ("float", 0.0, 1.0),
        "smooth": ("float", 0.01, 10.0, "log"),
    }

    def __init__(self, alpha=0.01, smooth=1.0):
        self.alpha = alpha
        self.smooth = smooth

    def validate(self):
        """Check ``alpha >= 0`` and ``smooth > 0``."""
        if real_parameter(self, "alpha") < 0:
            raise ValueError(f"Dice parameter 'alpha' must be >= 0, got {self.alpha!r}.")
        if real_parameter(self, "smooth") <= 0:
            raise ValueError(f"Dice parameter 'smooth' must be > 0, got {self.smooth!r}.")

    def per_sample(self, logits, target, **context):
        """Per-sample self-adjusting Dice loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        alpha, smooth = float(self.alpha), float(self.smooth)
        log_p = torch.log_softmax(logits, dim=1)
        p = log_p.exp()
        if alpha == 0.0:
            adjusted = p
        else:
            rest = (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)
            adjusted = rest**alpha * p
        onehot = torch.zeros_like(p).scatter_(1, target[:, None], 1.0)
        ratio = (2.0 * adjusted * onehot + smooth) / (adjusted**2 + onehot + smooth)
        return (1.0 - ratio).sum(dim=1)
