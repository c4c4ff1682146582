"""The comp-sum family: losses of the labelled class's probability ``p_y``.

Every member is a function of ``nll = -log p_y`` only, so each one is a
:class:`~skloss.losses.ProbabilityLoss` written as ``from_nll``. Probabilities
are never formed first and logged afterwards: ``p_y = exp(-nll)`` and
``1 - p_y = -expm1(-nll)`` stay accurate where ``p_y`` underflows or rounds to 1.

Mao, Mohri and Zhong (2023) put these losses on one axis, ``tau``: with
``u = 1 / p_y - 1 = sum_{k != y} exp(z_k - z_y)``,

- ``tau = 0``: sum-exponential loss ``u`` (:class:`SumExp`);
- ``tau = 1``: cross-entropy ``log(1 + u)`` (:class:`CrossEntropy`);
- ``1 < tau < 2``: generalized cross-entropy with ``q = tau - 1`` (:class:`GCE`);
- ``tau = 2``: mean absolute error ``1 - p_y`` (:class:`MAE`).
"""

import torch
import torch.nn.functional as F

from ._base import (
    ProbabilityLoss,
    inherits_unchanged,
    log_softmax_and_nll,
    softmax_minus_target,
    weighted_batch_mean,
)
from ._fused_form import StatisticsForm, nll_of
from ._validation import real_parameter

__all__ = ["CrossEntropy", "CompSum", "GCE", "MAE", "SumExp"]


class CrossEntropy(ProbabilityLoss):
    """Cross-entropy ``-log p_y``, with optional label smoothing.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        In ``[0, 1]``. With ``eps > 0`` the target is the mixture
        ``(1 - eps) * one_hot(y) + eps / n_classes``, the torch convention of
        :func:`torch.nn.functional.cross_entropy`, which computes the loss.

    Notes
    -----
    The class is a :class:`ProbabilityLoss` because without smoothing it is the
    canonical one (``from_nll`` is the identity) and fused heads should accept
    it. With ``label_smoothing > 0`` the loss also depends on the probabilities
    of the other classes, so it is no longer a function of ``p_y``:
    :meth:`per_sample` stays correct, but :meth:`from_nll` raises rather than
    silently dropping the smoothing term. Its fused form
    (:meth:`fused_form`) covers the smoothing through the mean logit.
    """

    name = "ce"
    search_space = {"label_smoothing": ("float", 0.0, 0.3)}

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = label_smoothing

    def validate(self):
        """Check that ``label_smoothing`` lies in ``[0, 1]``."""
        label_smoothing = real_parameter(self, "label_smoothing")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                "CrossEntropy parameter 'label_smoothing' must be in [0, 1], "
                f"got {self.label_smoothing!r}."
            )

    def per_sample(self, logits, target, **context):
        """Per-sample cross-entropy, smoothed as torch does.

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
        return F.cross_entropy(
            logits,
            target,
            reduction="none",
            label_smoothing=float(self.label_smoothing),
        )

    def from_nll(self, nll):
        """Return ``nll`` itself; only defined without label smoothing.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            ``nll`` itself.

        Raises
        ------
        ValueError
            If ``label_smoothing != 0``: the smoothed loss is not a function of
            ``p_y`` alone.
        """
        if self.label_smoothing != 0:
            raise ValueError(
                "CrossEntropy with label_smoothing="
                f"{self.label_smoothing!r} depends on every class probability, not "
                "on p_y alone, so it has no from_nll form; use per_sample instead."
            )
        return nll

    def batch_loss_and_gradient(self, logits, target, sample_weight=None):
        """``mean(w * l)`` and its gradient ``w / n * (softmax(z) - q)``, without autograd.

        ``q`` is the smoothed target ``(1 - eps) * one_hot(y) + eps / n_classes``
        (the one-hot label without smoothing): the gradient of the cross-entropy
        against any target distribution is the softmax minus that distribution.

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

        Examples
        --------
        >>> import torch
        >>> loss, grad = CrossEntropy().batch_loss_and_gradient(
        ...     torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
        >>> round(loss.item(), 4), grad.tolist()  # log 2; (1/2, 1/2) - (0, 1)
        (0.6931, [[0.5, -0.5]])
        """
        if not inherits_unchanged(type(self), CrossEntropy, ("per_sample", "batch_loss")):
            return None
        eps = float(self.label_smoothing)
        n_samples, n_classes = logits.shape
        log_p, values = log_softmax_and_nll(logits, target)
        if eps:
            # torch's smoothed cross-entropy: (1 - eps) nll - eps / K sum_k log p_k.
            values = (1.0 - eps) * values - (eps / n_classes) * log_p.sum(dim=1)
        loss = weighted_batch_mean(values, sample_weight)
        grad = softmax_minus_target(log_p, target, smoothing=eps)
        if sample_weight is None:
            return loss, grad.div_(n_samples)
        return loss, grad.mul_((sample_weight / n_samples)[:, None])

    def fused_form(self, n_classes):
        """``lse - z_y``, or with smoothing ``eps`` also ``eps (lse - mean_k z_k)``.

        Parameters
        ----------
        n_classes : int
            Logit columns (unused: the form holds for any number).

        Returns
        -------
        StatisticsForm
            Reads ``lse`` and ``target``, and ``mean`` with label smoothing.

        Examples
        --------
        >>> CrossEntropy(label_smoothing=0.1).fused_form(n_classes=10).statistics
        ('lse', 'target', 'mean')
        """
        eps = float(self.label_smoothing)
        if eps == 0.0:
            return StatisticsForm(
                ("lse", "target"), lambda stats, target: nll_of(stats), description=repr(self)
            )

        def smoothed(stats, target):
            # -(1/K) sum_k log p_k = lse - mean_k z_k: torch's smoothing term.
            return (1.0 - eps) * nll_of(stats) + eps * (stats["lse"] - stats["mean"])

        return StatisticsForm(("lse", "target", "mean"), smoothed, description=repr(self))


class CompSum(ProbabilityLoss):
    """Comp-sum loss ``Phi^tau(u)`` of Mao, Mohri and Zhong (2023).

    With ``u = 1 / p_y - 1``, the loss is
    ``Phi^tau(u) = ((1 + u)^(1 - tau) - 1) / (1 - tau)`` and
    ``Phi^1(u) = log(1 + u)``.

    Parameters
    ----------
    tau : float, default=1.5
        Non-negative. ``0`` gives the sum-exponential loss, ``1`` the
        cross-entropy, ``tau`` in ``(1, 2)`` the generalized cross-entropy with
        ``q = tau - 1`` and ``2`` the mean absolute error ``1 - p_y``.

    Notes
    -----
    Since ``1 + u = 1 / p_y = exp(nll)``, the loss is computed as
    ``expm1((1 - tau) * nll) / (1 - tau)``, which is accurate for ``tau`` close
    to 1 and never forms ``p_y``. For ``tau < 1`` the loss grows like
    ``exp((1 - tau) * nll)``: a confidently wrong prediction can exceed the
    floating-point range and give ``inf`` (from ``(1 - tau) * nll > 88`` in
    float32, ``> 709`` in float64). For ``tau > 1`` it is bounded by
    ``1 / (tau - 1)``.

    References
    ----------
    .. [1] A. Mao, M. Mohri and Y. Zhong, "Cross-Entropy Loss Functions:
       Theoretical Analysis and Applications", ICML 2023.
    """

    name = "comp_sum"
    search_space = {"tau": ("float", 0.0, 2.0)}

    def __init__(self, tau=1.5):
        self.tau = tau

    def validate(self):
        """Check that ``tau`` is a finite number ``>= 0``."""
        tau = real_parameter(self, "tau")
        if tau < 0:
            raise ValueError(f"CompSum parameter 'tau' must be >= 0, got {self.tau!r}.")

    def from_nll(self, nll):
        """Comp-sum loss as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.
        """
        tau = float(self.tau)
        if tau == 1.0:
            return nll
        return torch.expm1((1.0 - tau) * nll) / (1.0 - tau)

    def nll_derivative(self, nll):
        """``exp((1 - tau) * nll)``, the derivative of :meth:`from_nll` (1 at ``tau = 1``).

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The derivative at each sample's ``nll``.
        """
        tau = float(self.tau)
        if tau == 1.0:
            return torch.ones_like(nll)
        return torch.exp((1.0 - tau) * nll)


class GCE(ProbabilityLoss):
    """Generalized cross-entropy ``(1 - p_y^q) / q`` of Zhang and Sabuncu (2018).

    Parameters
    ----------
    q : float, default=0.7
        In ``(0, 1]``. The loss tends to the cross-entropy as ``q -> 0`` and is
        the mean absolute error ``1 - p_y`` at ``q = 1``; larger ``q`` is more
        robust to label noise but slower to fit.

    Notes
    -----
    Computed as ``-expm1(-q * nll) / q`` since ``p_y^q = exp(-q * nll)``. This
    is :class:`CompSum` with ``tau = 1 + q``. The truncated variant of the paper
    (``L_trunc``) is not included.

    References
    ----------
    .. [1] Z. Zhang and M. R. Sabuncu, "Generalized Cross Entropy Loss for
       Training Deep Neural Networks with Noisy Labels", NeurIPS 2018.
    """

    name = "gce"
    search_space = {"q": ("float", 0.1, 1.0)}

    def __init__(self, q=0.7):
        self.q = q

    def validate(self):
        """Check that ``q`` lies in ``(0, 1]``."""
        q = real_parameter(self, "q")
        if not 0.0 < q <= 1.0:
            raise ValueError(f"GCE parameter 'q' must be in (0, 1], got {self.q!r}.")

    def from_nll(self, nll):
        """Generalized cross-entropy as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.
        """
        q = float(self.q)
        return -torch.expm1(-q * nll) / q

    def nll_derivative(self, nll):
        """``exp(-q * nll) = p_y^q``, the derivative of :meth:`from_nll`.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The derivative at each sample's ``nll``.
        """
        return torch.exp(-float(self.q) * nll)


class MAE(ProbabilityLoss):
    """Mean absolute error ``1 - p_y``.

    Notes
    -----
    Ghosh, Kumar and Sastry (2017) define MAE as the L1 distance between the
    one-hot target and the probabilities, ``2 * (1 - p_y)``; this is half of
    it, the scale of :class:`CompSum` at ``tau = 2`` and of :class:`GCE` at
    ``q = 1``. The factor only rescales the learning rate.

    References
    ----------
    .. [1] A. Ghosh, H. Kumar and P. S. Sastry, "Robust Loss Functions under
       Label Noise for Deep Neural Networks", AAAI 2017.
    """

    name = "mae"

    def from_nll(self, nll):
        """``1 - p_y`` as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.
        """
        return -torch.expm1(-nll)

    def nll_derivative(self, nll):
        """``exp(-nll) = p_y``, the derivative of :meth:`from_nll`.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The derivative at each sample's ``nll``.
        """
        return torch.exp(-nll)


class SumExp(ProbabilityLoss):
    """Sum-exponential loss ``u = sum_{k != y} exp(z_k - z_y) = 1 / p_y - 1``.

    Notes
    -----
    Computed as ``expm1(nll)``. The loss is exponential in the margin, so a
    confidently wrong prediction overflows to ``inf`` (``nll > 88`` in float32,
    ``> 709`` in float64) and its gradient is then not finite either; it is
    :class:`CompSum` at ``tau = 0``.

    References
    ----------
    .. [1] A. Mao, M. Mohri and Y. Zhong, "Cross-Entropy Loss Functions:
       Theoretical Analysis and Applications", ICML 2023.
    """

    name = "sum_exp"

    def from_nll(self, nll):
        """``1 / p_y - 1`` as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.
        """
        return torch.expm1(nll)

    def nll_derivative(self, nll):
        """``exp(nll) = 1 / p_y``, the derivative of :meth:`from_nll`.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The derivative at each sample's ``nll``.
        """
        return torch.exp(nll)
