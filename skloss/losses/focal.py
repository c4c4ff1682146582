"""Focal loss: cross-entropy down-weighted on well-classified samples."""

import numbers

import torch
import torch.nn.functional as F

from ._base import (
    ProbabilityLoss,
    inherits_unchanged,
    log_softmax_and_nll,
    loss_and_gradient_of_nll,
)
from ._fused_form import StatisticsForm, nll_of
from ._validation import real_parameter

__all__ = ["Focal"]


class Focal(ProbabilityLoss):
    """Focal loss ``-alpha_y * (1 - p_y)^gamma * log p_y`` of Lin et al. (2017).

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter, ``>= 0``; ``0`` gives the (class-weighted)
        cross-entropy.
    alpha : None, float or sequence of float, default=None
        Class weights ``alpha_y``:

        - ``None``: no class weighting (``alpha_y = 1``);
        - a float in ``(0, 1)``, for two classes only: ``alpha`` for class 1
          and ``1 - alpha`` for class 0, as in the paper;
        - a sequence of non-negative weights, one per class (its length must
          equal the number of classes).

    Notes
    -----
    The modulating factor ``(1 - p_y)^gamma`` is differentiated, as in the
    paper (it is not detached). It is computed as ``(-expm1(-nll))^gamma``,
    accurate when ``p_y`` is close to 1. For ``gamma < 1`` the derivative of
    ``x^gamma`` is infinite at ``x = 0`` (a perfect prediction), and the chain
    rule would multiply it by a zero gradient of ``nll``, giving NaN; the base
    is therefore clamped to the smallest positive normal number, which only
    affects the samples where it is below that (exact or denormal zeros) and
    gives them a zero gradient, the true limit.

    The class is a :class:`ProbabilityLoss` because, without class weights, it
    is a function of ``p_y``. With ``alpha`` set it also depends on the label,
    so :meth:`from_nll` raises (it has no access to the label) while
    :meth:`per_sample` applies the weights.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollar, "Focal Loss
       for Dense Object Detection", ICCV 2017.
    """

    name = "focal"
    search_space = {"gamma": ("float", 0.0, 5.0)}

    def __init__(self, gamma=2.0, alpha=None):
        self.gamma = gamma
        self.alpha = alpha

    def validate(self):
        """Check ``gamma >= 0`` and the form of ``alpha``.

        The number of classes is unknown here, so the length of a sequence
        ``alpha`` and the two-class restriction of a float ``alpha`` are checked
        when the loss is called.
        """
        if real_parameter(self, "gamma") < 0:
            raise ValueError(f"Focal parameter 'gamma' must be >= 0, got {self.gamma!r}.")
        alpha = self.alpha
        if alpha is None:
            return
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            if not 0.0 < alpha < 1.0:
                raise ValueError(
                    "Focal parameter 'alpha' given as a number is the weight of class 1 "
                    f"in a binary problem and must be in (0, 1), got {alpha!r}."
                )
            return
        self._alpha_as_tensor(torch.float64, None)

    def _alpha_as_tensor(self, dtype, device):
        """Return a sequence ``alpha`` as a 1-D tensor, checking its values."""
        message = (
            "Focal parameter 'alpha' must be None, a number in (0, 1) or a sequence of "
            f"non-negative finite per-class weights, got {self.alpha!r}."
        )
        # A string is a sequence too, but never a list of weights.
        if isinstance(self.alpha, (str, bytes, bool)):
            raise ValueError(message)
        try:
            weights = torch.as_tensor(self.alpha, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(message) from error
        if (
            weights.ndim != 1
            or weights.numel() == 0
            or not bool(torch.isfinite(weights).all())
            or bool((weights < 0).any())
        ):
            raise ValueError(message)
        return weights

    def _class_weights(self, n_classes, like):
        """Per-class weights as a tensor of ``like``'s dtype and device."""
        alpha = self.alpha
        if isinstance(alpha, numbers.Real):
            if n_classes != 2:
                raise ValueError(
                    "Focal parameter 'alpha' given as a number is for binary problems; "
                    f"got {n_classes} classes. Pass one weight per class instead."
                )
            return torch.tensor([1.0 - alpha, alpha], dtype=like.dtype, device=like.device)
        weights = self._alpha_as_tensor(like.dtype, like.device)
        if weights.shape[0] != n_classes:
            raise ValueError(
                f"Focal parameter 'alpha' has {weights.shape[0]} weights but the logits "
                f"have {n_classes} classes; pass one weight per class."
            )
        return weights

    def _focal_term(self, nll):
        """Unweighted ``(1 - p_y)^gamma * nll``."""
        gamma = float(self.gamma)
        if gamma == 0.0:
            # (1 - p_y)^0 = 1; skipping pow avoids 0^0 and its 0 * inf gradient.
            return nll
        one_minus_p = -torch.expm1(-nll)
        if gamma < 1.0:
            one_minus_p = one_minus_p.clamp_min(torch.finfo(nll.dtype).tiny)
        return one_minus_p.pow(gamma) * nll

    def _focal_derivative(self, nll):
        """``d/d nll`` of :meth:`_focal_term`, as autograd differentiates it.

        With ``b = 1 - p_y`` (clamped as there): ``b^gamma + gamma * nll * p_y *
        b^(gamma - 1)``, the second term zero where the clamp holds ``b``.
        """
        gamma = float(self.gamma)
        if gamma == 0.0:
            return torch.ones_like(nll)
        one_minus_p = -torch.expm1(-nll)
        slope = torch.exp(-nll)  # d(1 - p_y) / d nll = p_y
        if gamma < 1.0:
            tiny = torch.finfo(nll.dtype).tiny
            slope = slope * (one_minus_p >= tiny)
            one_minus_p = one_minus_p.clamp_min(tiny)
        return one_minus_p.pow(gamma) + gamma * nll * slope * one_minus_p.pow(gamma - 1.0)

    def from_nll(self, nll):
        """Focal loss as a function of ``nll = -log p_y``; only without ``alpha``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.

        Raises
        ------
        ValueError
            If ``alpha`` is set: the weighted loss depends on the label, not on
            ``p_y`` alone.
        """
        if self.alpha is not None:
            raise ValueError(
                f"Focal with alpha={self.alpha!r} weights each sample by its class, so it "
                "is not a function of p_y alone and has no from_nll form; use "
                "per_sample instead."
            )
        return self._focal_term(nll)

    def fused_form(self, n_classes):
        """``alpha_y`` times the focal term of ``lse - z_y`` (``alpha_y = 1`` without ``alpha``).

        Parameters
        ----------
        n_classes : int
            Logit columns; a sequence ``alpha`` must have one weight per class
            and a number ``alpha`` needs two classes.

        Returns
        -------
        StatisticsForm
            Reads ``lse`` and ``target``.

        Raises
        ------
        ValueError
            If ``alpha`` does not fit ``n_classes``.

        Examples
        --------
        >>> Focal(alpha=[0.2, 0.3, 0.5]).fused_form(n_classes=3).statistics
        ('lse', 'target')
        """
        if self.alpha is None:
            return super().fused_form(n_classes)
        # Checks the number and values of the weights now, before any kernel runs.
        weights = self._class_weights(n_classes, torch.empty(0, dtype=torch.float64))

        def weighted_focal(stats, target):
            alpha = weights.to(dtype=stats["lse"].dtype, device=target.device)
            return alpha[target] * self._focal_term(nll_of(stats))

        return StatisticsForm(("lse", "target"), weighted_focal, description=repr(self))

    def per_sample(self, logits, target, **context):
        """Per-sample focal loss, weighted by ``alpha`` when given.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        **context
            Unused; accepted for the common loss interface.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``logits``.
        """
        values = self._focal_term(F.cross_entropy(logits, target, reduction="none"))
        if self.alpha is None:
            return values
        return values * self._class_weights(logits.shape[1], logits)[target]

    def batch_loss_and_gradient(self, logits, target, sample_weight=None):
        """``mean(w * alpha_y * focal(nll))`` and its gradient, without autograd.

        The gradient is ``w * alpha_y / n * focal'(nll) * (softmax(z) - one_hot(y))``,
        with ``focal'`` as autograd differentiates the clamped term.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            The batch's logits.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights, as :meth:`batch_loss` gets them.

        Returns
        -------
        tuple of (torch.Tensor, torch.Tensor) or None
            The batch loss and its gradient with respect to ``logits``; None for
            a subclass that computes another loss (autograd differentiates it).
        """
        if not inherits_unchanged(type(self), Focal, ("per_sample", "_focal_term", "batch_loss")):
            return None
        log_p, nll = log_softmax_and_nll(logits, target)
        values = self._focal_term(nll)
        scale = self._focal_derivative(nll) / logits.shape[0]
        if self.alpha is not None:
            alpha = self._class_weights(logits.shape[1], logits)[target]
            values, scale = values * alpha, scale * alpha
        return loss_and_gradient_of_nll(log_p, target, values, scale, sample_weight)
