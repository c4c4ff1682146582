"""Label-distributionally robust losses: LDR-KL and its adaptive form ALDR-KL.

Zhu, Ying and Yang (2023) write a multi-class loss as the worst case over label
distributions ``p`` near the uniform one,

    ``L(z, y) = max_p sum_k p_k a_k - lam KL(p || 1/K)``,  ``a_k = c [k != y] + f_k - f_y``,

whose closed form is ``lam * log((1/K) sum_k exp(a_k / lam))``. ``lam -> 0`` gives
the Crammer-Singer hinge ``max_k a_k`` and ``lam -> inf`` the mean margin
``mean_k a_k``; at ``c = 0``, ``lam = 1`` on raw logits it is ``CE - log K``.
ALDR-KL keeps one ``lam_i`` per training sample and moves it in closed form:
confidently fitted samples keep a large ``lam_i`` (a soft, MAE-like loss), so
mislabelled ones that the model keeps rejecting weigh less.
"""

import math

import torch

from ._base import Loss, weighted_batch_mean
from ._fused_form import StatisticsForm
from ._state import PerSampleState, is_training_step, read_rows, write_rows
from ._validation import real_parameter

__all__ = ["LDRKL", "ALDRKL"]

_TRANSFORMS = ("softplus", None)

# Added to the adaptive distribution before renormalising, as the reference code does,
# so that its KL to the uniform distribution stays finite and below log K.
_P_HAT_FLOOR = 1e-5


def _margins(f, target, margin):
    """``a_k = margin [k != y] + f_k - f_y``, shape ``(n, K)``."""
    f_y = f.gather(1, target[:, None])
    a = f - f_y + margin
    # The labelled class has no margin: a_y = 0 exactly.
    return a.scatter(1, target[:, None], torch.zeros_like(f_y))


def _tempered_mean(a, lam):
    """``lam * log((1/K) sum_k exp(a_k / lam))`` per row; ``lam`` scalar or per row."""
    if isinstance(lam, torch.Tensor):
        lam = lam[:, None]
        return lam[:, 0] * (torch.logsumexp(a / lam, dim=1) - math.log(a.shape[1]))
    return lam * (torch.logsumexp(a / lam, dim=1) - math.log(a.shape[1]))


def _log_softplus(z):
    """``log(softplus(z))``, finite for every finite ``z`` and with finite gradients.

    ``softplus(z)`` underflows to 0 below ``z ~ -104`` in float32 (``-745`` in
    float64), and its logarithm with it. For ``z <= 0`` write
    ``softplus(z) = t r(t)`` with ``t = e^z`` and ``r(t) = log1p(t) / t`` in
    ``[log 2, 1]``: ``log softplus(z) = z + log r(t)``. Once ``t`` is below the
    square root of the machine epsilon, ``log r(t) = -t/2`` to rounding (the next
    term is ``5 t^2 / 24``), which stays finite as ``t`` underflows; above it the
    quotient is taken directly, on normal numbers. For ``z > 0``,
    ``softplus(z) = z + log1p(e^{-z}) >= log 2`` and its logarithm is direct
    (written out: torch's ``softplus`` returns ``z`` itself above 20, a relative
    error of ``e^{-20} / 20 ~ 1e-10`` that float64 resolves).
    """
    positive_part = z.clamp(min=0.0)
    positive = torch.log(positive_part + torch.log1p(torch.exp(-positive_part)))
    nonpositive = z.clamp(max=0.0)
    t = torch.exp(nonpositive)
    small = t < math.sqrt(torch.finfo(z.dtype).eps)
    # The branch that is not taken still gets a gradient of 0 times its own
    # derivative: t = 1 there keeps that derivative finite.
    safe_t = torch.where(small, torch.ones_like(t), t)
    log_r = torch.where(small, -0.5 * t, torch.log(torch.log1p(safe_t) / safe_t))
    return torch.where(z > 0, positive, nonpositive + log_r)


def _normalised_softplus(z):
    """``softplus(z_k) / mean_j softplus(z_j)`` per row, computed in log space.

    The quotient of the direct form is ``0 / 0`` once every logit of a row is far
    below zero (each ``softplus`` underflows), where the true value is
    ``K softmax(z)_k``. As ``exp(log softplus(z_k) - logmeanexp_j log softplus(z_j))``
    it is finite, with finite gradients, for any finite logits, and agrees with
    the direct form to a few units of rounding where that one holds.
    """
    log_soft = _log_softplus(z)
    log_mean = torch.logsumexp(log_soft, dim=1, keepdim=True) - math.log(z.shape[1])
    return torch.exp(log_soft - log_mean)


def _check_transform(loss):
    if loss.transform not in _TRANSFORMS:
        raise ValueError(
            f"{type(loss).__name__} parameter 'transform' must be 'softplus' or None, got "
            f"{loss.transform!r}."
        )


class LDRKL(Loss):
    """LDR-KL loss ``lam * log((1/K) sum_k exp((margin [k != y] + f_k - f_y) / lam))``.

    Parameters
    ----------
    lam : float, default=10.0
        The KL regularisation strength, ``> 0``. Small ``lam`` approaches the
        Crammer-Singer hinge ``max_k a_k`` (fast, noise-sensitive), large ``lam``
        the mean margin ``mean_k a_k`` (bounded, noise-tolerant, slower to fit).
    margin : float, default=0.1
        The margin ``c >= 0`` asked of the labelled class over every other.
    transform : {"softplus", None}, default="softplus"
        ``"softplus"``: the reference code's ``f = softplus(z) / mean_k softplus(z)``,
        which makes the loss invariant to the logits' scale and bounds ``f_k``
        in ``[0, K]`` (hence the loss in ``[-K, K + margin]``). ``None``: ``f = z``.

    Notes
    -----
    Computed as a ``logsumexp`` of the margins, finite for any finite logits.
    With ``transform=None``, ``margin=0`` and ``lam=1`` it equals ``CE - log K``.

    The softplus transform is computed in log space,
    ``f_k = exp(log softplus(z_k) - log mean_j softplus(z_j))``: the direct
    quotient is ``0 / 0`` in float32 once every logit of a row is below about
    -100 (non-finite gradients from about -90), where ``f`` tends to
    ``K softmax(z)``. The loss and its gradient are finite for any finite logits.
    The transform is not shift-invariant: for the same logit differences the
    scores spread more when every logit is very negative (``K softmax(z)``
    against ``softplus(z) / mean softplus(z)``), so the loss is lower there
    (``z = [2, 1, 0]``, label 0: -0.470; shifted by -20: -0.905): for a row the
    model already classifies correctly, lowering every logit together lowers
    the loss, so training can drift there.

    The fused form (``transform=None`` only) uses
    ``sum_k exp((z_k + c [k != y]) / lam) = e^{c/lam} S - (e^{c/lam} - 1) e^{z_y / lam}``
    with ``S = exp(lse_t)`` at temperature ``lam``, so a fused head needs the
    ``lse_t`` and ``target`` statistics. With the softplus transform there is
    none: ``sum_k exp(softplus(z_k) / (lam mean_j softplus(z_j)))`` is not a function
    of a fixed set of per-row statistics of ``z`` (the temperature itself depends
    on the row).

    References
    ----------
    .. [1] D. Zhu, Y. Ying and T. Yang, "Label Distributionally Robust Losses for
       Multi-class Classification: Consistency, Robustness and Adaptivity",
       ICML 2023.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    >>> LDRKL()(z, torch.tensor([0, 2]), reduction="none")
    tensor([-0.4697,  0.5744])
    """

    name = "ldr_kl"
    search_space = {
        "lam": ("float", 0.1, 100.0, "log"),
        "margin": ("float", 0.0, 1.0),
    }

    def __init__(self, lam=10.0, margin=0.1, transform="softplus"):
        self.lam = lam
        self.margin = margin
        self.transform = transform

    def validate(self):
        """Check ``lam > 0``, ``margin >= 0`` and the transform."""
        if real_parameter(self, "lam") <= 0:
            raise ValueError(f"LDRKL parameter 'lam' must be > 0, got {self.lam!r}.")
        if real_parameter(self, "margin") < 0:
            raise ValueError(f"LDRKL parameter 'margin' must be >= 0, got {self.margin!r}.")
        _check_transform(self)

    def scores(self, logits):
        """The ``f`` the margins are taken on (the transform of the logits).

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_outputs)
            The transformed scores.
        """
        if self.transform is None:
            return logits
        return _normalised_softplus(logits)

    def per_sample(self, logits, target, **context):
        """Per-sample LDR-KL loss.

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
        a = _margins(self.scores(logits), target, float(self.margin))
        return _tempered_mean(a, float(self.lam))

    def fused_form(self, n_classes):
        """``lse_t`` and ``target`` at temperature ``lam``; only with ``transform=None``.

        Parameters
        ----------
        n_classes : int
            Logit columns (enters through ``log K``).

        Returns
        -------
        StatisticsForm
            The statistics the loss reads and its loss of a row.

        Raises
        ------
        TypeError
            With the softplus transform (see the class notes).

        Examples
        --------
        >>> LDRKL(transform=None).fused_form(n_classes=10).statistics
        ('target', 'lse_t')
        """
        self.validate()
        if self.transform is not None:
            raise TypeError(
                f"{self!r} has no fused form: with transform='softplus' the margins are "
                "taken on softplus(z) / mean(softplus(z)), which no fixed per-row logit "
                "statistics determine. Use transform=None for a fused head, or "
                "backend='naive'."
            )
        lam, c, log_k = float(self.lam), float(self.margin), math.log(n_classes)
        shrink = -math.expm1(-c / lam)  # 1 - e^{-c/lam}, accurate for small c / lam

        def row_loss(stats, target):
            # log sum_k exp((z_k + c [k != y]) / lam)
            #   = lse_t + c/lam + log(1 - (1 - e^{-c/lam}) softmax(z / lam)_y)
            share = torch.exp(stats["target"] / lam - stats["lse_t"])
            log_sum = stats["lse_t"] + c / lam + torch.log1p(-shrink * share)
            return lam * (log_sum - log_k) - stats["target"]

        return StatisticsForm(
            ("lse_t", "target"), row_loss, temperature=lam, description=repr(self)
        )


class ALDRKL(PerSampleState, Loss):
    """Adaptive LDR-KL: LDR-KL with a per-sample ``lam_i`` moved in closed form.

    At every training step, for the samples of the batch,

    1. ``p_hat_i = softmax(f_i / lam_i)`` (plus ``1e-5``, renormalised), with the
       ``lam_i`` stored for that sample (``lam0`` at first);
    2. ``lam_i <- lam0 - lam0 KL(p_hat_i || uniform) / (alpha log K)``, which stays
       in ``[lam0 (1 - 1/alpha), lam0]``;
    3. the loss is ``lam_i log((1/K) sum_k exp(a_ik / lam_i))
       - (alpha log K / (2 lam0)) (lam_i - lam0)^2`` with
       ``a_ik = margin [k != y_i] + f_ik - f_iy``.

    ``lam_i`` is a variable of the optimisation, not a function the gradient
    flows through: it is held constant in the gradient, as in the reference.

    Parameters
    ----------
    lam0 : float, default=10.0
        The largest ``lam_i``, ``> 0``; every sample starts there.
    alpha : float, default=2.0
        ``> 1``: how far ``lam_i`` may fall, to ``lam0 (1 - 1/alpha)``.
    margin : float, default=0.1
        The margin ``c >= 0``.
    transform : {"softplus", None}, default="softplus"
        ``f = g(z) / (sum_k |g(z_k)| / K)`` with ``g = softplus`` or the
        identity: the reference normalises the scores by their L1 norm on this
        path, which bounds the margins whatever the logits' scale.

    Attributes
    ----------
    lam_ : torch.Tensor of shape (n_samples,)
        The current ``lam_i`` of every training sample, created on the first
        training step. It is part of the fitted estimator (``clf.loss_function_.lam_``):
        it is pickled with it, and ``warm_start`` and ``partial_fit`` continue
        from it. Indices are row positions in the data of each call to ``fit``
        (with ``early_stopping``, of its training part); a call on more rows
        extends it with ``lam0``.

    Notes
    -----
    The loss needs ``requires = ("index",)``: the training step passes each
    batch's row positions ``index`` and the number of training rows
    ``n_samples``. Calling the loss (``loss(...)``, :meth:`per_sample`) reads
    ``lam_`` and never changes it; :meth:`batch_loss`, the training step's
    entry, stores the updated ``lam_i`` of the batch when its logits carry a
    gradient (a training step, not an evaluation under ``torch.no_grad``).

    There is no fused form: the loss needs per-sample state.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]], requires_grad=True)
    >>> loss = ALDRKL(transform=None)
    >>> value = loss.batch_loss(z, torch.tensor([0, 2]), index=torch.tensor([0, 1]),
    ...                         n_samples=2)
    >>> round(value.item(), 6)  # the mean of -0.903275 and 1.103380
    0.100053
    >>> loss.lam_
    tensor([9.9849, 9.9849])
    """

    name = "aldr_kl"
    _state_attributes = ("lam_",)
    requires = ("index",)
    search_space = {
        "lam0": ("float", 0.1, 100.0, "log"),
        "alpha": ("float", 1.1, 10.0, "log"),
        "margin": ("float", 0.0, 1.0),
    }

    def __init__(self, lam0=10.0, alpha=2.0, margin=0.1, transform="softplus"):
        self.lam0 = lam0
        self.alpha = alpha
        self.margin = margin
        self.transform = transform

    def validate(self):
        """Check ``lam0 > 0``, ``alpha > 1``, ``margin >= 0`` and the transform."""
        if real_parameter(self, "lam0") <= 0:
            raise ValueError(f"ALDRKL parameter 'lam0' must be > 0, got {self.lam0!r}.")
        if real_parameter(self, "alpha") <= 1:
            raise ValueError(
                f"ALDRKL parameter 'alpha' must be > 1 (lam_i stays above "
                f"lam0 (1 - 1/alpha) > 0), got {self.alpha!r}."
            )
        if real_parameter(self, "margin") < 0:
            raise ValueError(f"ALDRKL parameter 'margin' must be >= 0, got {self.margin!r}.")
        _check_transform(self)

    def scores(self, logits):
        """``g(z) / (sum_k |g(z_k)| / K)``, ``g`` the transform.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_outputs)
            The normalised scores.
        """
        if self.transform is not None:
            # softplus is positive: its L1 normalisation is LDR-KL's transform.
            return _normalised_softplus(logits)
        scale = logits.abs().mean(dim=1, keepdim=True)
        # An all-zero row has no scale: its scores stay 0 (a uniform prediction).
        return logits / scale.clamp_min(torch.finfo(logits.dtype).tiny)

    def _values_and_lam(self, logits, target, index, n_samples):
        f = self.scores(logits)
        n_classes = logits.shape[1]
        lam0, alpha = float(self.lam0), float(self.alpha)
        log_k = math.log(n_classes)
        with torch.no_grad():
            lam_old = read_rows(getattr(self, "lam_", None), index, lam0, f)
            p_hat = torch.softmax(f / lam_old[:, None], dim=1) + _P_HAT_FLOOR
            p_hat = p_hat / p_hat.sum(dim=1, keepdim=True)
            kl = (p_hat * torch.log(p_hat * n_classes)).sum(dim=1)
            lam = lam0 - lam0 * kl / (alpha * log_k)
            penalty = alpha * log_k / (2.0 * lam0) * (lam - lam0) ** 2
        a = _margins(f, target, float(self.margin))
        return _tempered_mean(a, lam) - penalty, lam

    def per_sample(self, logits, target, *, index, n_samples, **context):
        """Per-sample ALDR-KL loss at the updated ``lam_i``; ``lam_`` is not changed.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        index : torch.Tensor of shape (n_samples,)
            Row positions of the batch in the training data.
        n_samples : int
            Rows in the training data.
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        return self._values_and_lam(logits, target, index, n_samples)[0]

    def batch_loss(self, logits, target, sample_weight=None, *, index, n_samples, **context):
        """``mean(w * l)`` of the batch; stores the batch's new ``lam_i`` when training.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights; None weighs every sample equally.
        index : torch.Tensor of shape (n_samples,)
            Rows of the batch in the training data.
        n_samples : int
            Rows in the training data.
        **context
            Unused.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        values, lam = self._values_and_lam(logits, target, index, n_samples)
        if is_training_step(logits):
            self.lam_ = write_rows(
                getattr(self, "lam_", None), index, n_samples, lam, float(self.lam0)
            )
        return weighted_batch_mean(values, sample_weight)
