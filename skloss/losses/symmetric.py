"""Symmetric and normalized losses for learning with noisy labels.

Both losses add the reverse cross-entropy (RCE) ``-sum_k p_k log q_k``, the
cross-entropy with prediction and label swapped. The one-hot label ``q`` has
zeros whose log is ``-inf``, so it is clipped at ``exp(A)``; with
``log q_y = 0`` and ``log q_k = A`` for ``k != y`` the RCE reduces to
``-A * (1 - p_y)``, a scaled mean absolute error.
"""

import math

import torch
import torch.nn.functional as F

from ._base import Loss, ProbabilityLoss
from ._validation import real_parameter

__all__ = ["SCE", "NCERCE"]

#: ``log`` of the clipping value 1e-4 the authors' code applies to one-hot labels.
_RCE_LOG_CLIP = math.log(1e-4)


def _check_weights(loss):
    """Check that ``loss.alpha`` and ``loss.beta`` are ``>= 0``, not both zero."""
    alpha = real_parameter(loss, "alpha")
    beta = real_parameter(loss, "beta")
    owner = type(loss).__name__
    if alpha < 0:
        raise ValueError(f"{owner} parameter 'alpha' must be >= 0, got {loss.alpha!r}.")
    if beta < 0:
        raise ValueError(f"{owner} parameter 'beta' must be >= 0, got {loss.beta!r}.")
    if alpha == 0 and beta == 0:
        # A loss that is identically zero trains nothing; this is always a mistake.
        raise ValueError(f"{owner} parameters 'alpha' and 'beta' cannot both be 0.")


class SCE(ProbabilityLoss):
    """Symmetric cross-entropy ``alpha * CE + beta * RCE`` of Wang et al. (2019).

    ``RCE = -A * (1 - p_y)``: the reverse cross-entropy with the one-hot label
    clipped at ``exp(A)``.

    Parameters
    ----------
    alpha : float, default=0.1
        Weight of the cross-entropy, ``>= 0``.
    beta : float, default=1.0
        Weight of the reverse cross-entropy, ``>= 0``.
    A : float, default=-4.0
        Log of the value the one-hot label's zeros are clipped to; ``< 0``.

    Notes
    -----
    The paper uses ``A = -4``, the default here, but the authors' code clips
    the label at ``1e-4``, i.e. ``A = log(1e-4) ~= -9.21``, which makes the RCE
    term about 2.3 times larger. Pass ``A=math.log(1e-4)`` to reproduce the
    code. The paper's CIFAR-10 setting is ``alpha=0.1, beta=1.0``.

    References
    ----------
    .. [1] Y. Wang, X. Ma, Z. Chen, Y. Luo, J. Yi and J. Bailey, "Symmetric
       Cross Entropy for Robust Learning with Noisy Labels", ICCV 2019.
    """

    name = "sce"
    search_space = {"alpha": ("float", 0.01, 1.0, "log"), "beta": ("float", 0.1, 1.0)}

    def __init__(self, alpha=0.1, beta=1.0, A=-4.0):
        self.alpha = alpha
        self.beta = beta
        self.A = A

    def validate(self):
        """Check ``alpha, beta >= 0`` (not both zero) and ``A < 0``."""
        _check_weights(self)
        if real_parameter(self, "A") >= 0:
            raise ValueError(f"SCE parameter 'A' must be < 0, got {self.A!r}.")

    def from_nll(self, nll):
        """Symmetric cross-entropy as a function of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``nll``.
        """
        reverse_ce = -float(self.A) * -torch.expm1(-nll)
        return float(self.alpha) * nll + float(self.beta) * reverse_ce

    def nll_derivative(self, nll):
        """``alpha - beta * A * exp(-nll)``, the derivative of :meth:`from_nll`.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The derivative at each sample's ``nll``.
        """
        return float(self.alpha) - float(self.beta) * float(self.A) * torch.exp(-nll)


class NCERCE(Loss):
    """Normalized cross-entropy plus reverse cross-entropy (Ma et al., 2020).

    ``alpha * NCE + beta * RCE`` with
    ``NCE = -log p_y / sum_k (-log p_k)`` and
    ``RCE = -log(1e-4) * (1 - p_y)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the normalized cross-entropy, ``>= 0``.
    beta : float, default=1.0
        Weight of the reverse cross-entropy, ``>= 0``.

    Notes
    -----
    The normalization needs the log-probability of every class, so this is a
    plain :class:`Loss`, not a :class:`ProbabilityLoss`. The denominator is at
    least ``n_classes * log(n_classes)`` (reached by uniform probabilities), so
    it never vanishes for two or more classes. The RCE term clips the one-hot
    label at ``1e-4`` as the authors' code does (``SCE`` with
    ``A = log(1e-4)``).

    References
    ----------
    .. [1] X. Ma, H. Huang, Y. Wang, S. Romano, S. Erfani and J. Bailey,
       "Normalized Loss Functions for Deep Learning with Noisy Labels",
       ICML 2020.
    """

    name = "nce_rce"
    search_space = {"alpha": ("float", 0.1, 10.0, "log"), "beta": ("float", 0.1, 10.0, "log")}

    def __init__(self, alpha=1.0, beta=1.0):
        self.alpha = alpha
        self.beta = beta

    def validate(self):
        """Check ``alpha, beta >= 0``, not both zero."""
        _check_weights(self)

    def per_sample(self, logits, target, **context):
        """Per-sample ``alpha * NCE + beta * RCE``.

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
        log_probs = F.log_softmax(logits, dim=1)
        log_p_y = log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
        # Both sums are of non-positive terms, so the signs cancel.
        normalized_ce = log_p_y / log_probs.sum(dim=1)
        reverse_ce = -_RCE_LOG_CLIP * -torch.expm1(log_p_y)
        return float(self.alpha) * normalized_ce + float(self.beta) * reverse_ce
