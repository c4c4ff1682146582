"""Truncated generalized cross-entropy (Zhang and Sabuncu, 2018)."""

import math
import numbers
import warnings

import torch
import torch.nn.functional as F

from ..exceptions import NoGradientWarning
from ._base import ProbabilityLoss, weighted_batch_mean
from ._state import PerSampleState, is_training_step, read_rows, write_rows
from ._validation import real_parameter
from .compsum import GCE

__all__ = ["TGCE"]


class TGCE(PerSampleState, ProbabilityLoss):
    """Truncated GCE ``min(L_q(p_y), L_q(k))`` with ``L_q(p) = (1 - p^q) / q``.

    A sample whose labelled class has probability below ``k`` contributes the
    constant ``L_q(k)`` and no gradient: confidently contradicted labels, likely
    noise, stop pulling the model. By default the truncation follows the
    paper's pruning schedule: plain GCE for 40 epochs, then samples with
    ``p_y < k`` pruned, the choice refreshed every 10 epochs.

    Parameters
    ----------
    q : float, default=0.7
        In ``(0, 1]``, as in :class:`GCE`.
    k : float, default=0.5
        The truncation threshold on ``p_y``, in ``(0, 1)``.
    prune_start : int or None, default=40
        An epoch ``>= 0``: the paper's pruning schedule. Every sample is kept
        (plain ``L_q``) until that epoch; then at epoch ``prune_start`` and every
        ``prune_every`` epochs after it, each sample's 0/1 weight ``w_i`` is
        refreshed to ``[p_y >= k]`` when its batch is seen, and between refreshes
        the loss is ``w_i L_q(p_y) + (1 - w_i) L_q(k)`` with ``w_i`` frozen.
        This needs the sample indices and the epoch (``requires``). ``None``:
        the stateless form above, truncated at every step from the first.
    prune_every : int, default=10
        Epochs between refreshes of the pruning weights, ``>= 1``.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_samples,)
        With pruning, the current 0/1 weight of every training sample (created on
        the first training step, kept by pickling, ``warm_start`` and
        ``partial_fit``, as :class:`ALDRKL`'s ``lam_``).

    Notes
    -----
    **The defaults** are the paper's (``q = 0.7``, ``k = 0.5``, pruning from
    epoch 40 of its 120, every 10 epochs). The stateless form
    (``prune_start=None``) gives no gradient to a sample with ``p_y < k``, so it
    cannot train from a uniform start where ``1/K < k`` (three classes or more at
    ``k = 0.5``): every sample is truncated, and a fit from scratch warns
    (:class:`skloss.exceptions.NoGradientWarning`) before training. Use it to
    fine-tune a fitted model (``warm_start``) or with ``k < 1/K``. The default
    was chosen by measurement against the stateless form (with ``k`` tied to
    the number of classes, too) and earlier pruning (the robust-losses user
    guide has the table): pruning earlier also prunes clean samples not yet
    fitted, and the stateless form truncates hard clean samples early and
    for good. A fit that stops before ``prune_start`` (``max_iter``, the
    stopping rule) is plain GCE.

    Computed from ``nll = -log p_y``: ``L_q(p_y) = -expm1(-q nll) / q`` and the
    truncation is ``nll > -log k``. The paper refreshes the weights with a pass
    over the whole training set at the start of a refresh epoch; here each
    sample's weight is refreshed when its batch comes up in that epoch, with the
    model of that moment, which needs no extra pass. The stateless form has the
    fused form of every loss of ``p_y``; the pruned form has none.

    References
    ----------
    .. [1] Z. Zhang and M. R. Sabuncu, "Generalized Cross Entropy Loss for
       Training Deep Neural Networks with Noisy Labels", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    >>> TGCE(prune_start=None)(z, torch.tensor([0, 2]), reduction="none")
    tensor([0.3546, 0.5492])
    >>> # The default schedule is GCE until epoch 40, so it needs the row positions
    >>> # and the epoch (the estimators pass them):
    >>> TGCE()(z, torch.tensor([0, 2]), reduction="none", index=torch.tensor([0, 1]),
    ...        n_samples=2, epoch=0)
    tensor([0.3546, 1.1637])
    """

    name = "tgce"
    _state_attributes = ("weights_",)
    search_space = {
        "q": ("float", 0.1, 1.0),
        "k": ("float", 0.1, 0.9),
    }

    def __init__(self, q=0.7, k=0.5, prune_start=40, prune_every=10):
        self.q = q
        self.k = k
        self.prune_start = prune_start
        self.prune_every = prune_every

    @property
    def requires(self):
        """The context the training step passes.

        Returns
        -------
        tuple of str
            ``("index", "epoch")`` with pruning, else empty.
        """
        return () if self.prune_start is None else ("index", "epoch")

    def validate(self):
        """Check ``q`` in ``(0, 1]``, ``k`` in ``(0, 1)`` and the pruning schedule."""
        q = real_parameter(self, "q")
        if not 0.0 < q <= 1.0:
            raise ValueError(f"TGCE parameter 'q' must be in (0, 1], got {self.q!r}.")
        k = real_parameter(self, "k")
        if not 0.0 < k < 1.0:
            raise ValueError(f"TGCE parameter 'k' must be in (0, 1), got {self.k!r}.")
        for name, low in (("prune_start", 0), ("prune_every", 1)):
            value = getattr(self, name)
            if name == "prune_start" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(
                    f"TGCE parameter {name!r} must be an integer >= {low}"
                    + (" or None (no pruning)" if name == "prune_start" else "")
                    + f", got {value!r}."
                )

    def check_n_classes(self, n_classes, from_scratch=True):
        """Warn when the stateless form cannot start training on ``n_classes``.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.
        from_scratch : bool, default=True
            Whether training starts from a new network. Fine-tuning a fitted one
            (False) does not warn: its predictions are no longer uniform.

        Warns
        -----
        skloss.exceptions.NoGradientWarning
            Without ``prune_start``, when ``1 / n_classes < k``: at a uniform start
            every sample is truncated and the model gets no gradient.
        """
        super().check_n_classes(n_classes, from_scratch)
        if from_scratch and self.prune_start is None and 1.0 / n_classes < float(self.k):
            warnings.warn(
                f"TGCE(k={self.k}) without prune_start truncates every sample at a uniform "
                f"start with {n_classes} classes (p_y = 1/{n_classes} < k), so training from "
                "scratch gets no gradient and the model will not learn. Set prune_start "
                "(e.g. 40, the default: plain GCE until then, the paper's schedule), a k "
                f"below 1/{n_classes}, or fine-tune a fitted model with warm_start=True.",
                NoGradientWarning,
                stacklevel=2,
            )

    def _gce(self, nll):
        """``L_q(p_y)`` of ``nll = -log p_y``: the GCE this loss truncates."""
        return GCE(q=self.q).from_nll(nll)

    def _truncation(self):
        """``(-log k, L_q(k))``: where the truncation starts and the value it holds."""
        limit = -math.log(float(self.k))
        return limit, float(self._gce(torch.tensor(limit, dtype=torch.float64)))

    def from_nll(self, nll):
        """The stateless truncated loss of ``nll = -log p_y``.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            Per-sample cross-entropy, ``-log p_y``.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        _, floor = self._truncation()
        return torch.clamp(self._gce(nll), max=floor)

    def _refreshing(self, epoch):
        start = self.prune_start
        return epoch >= start and (epoch - start) % self.prune_every == 0

    def _values_and_weights(self, logits, target, index, epoch):
        nll = F.cross_entropy(logits, target, reduction="none")
        if self.prune_start is None:
            return self.from_nll(nll), None
        gce = self._gce(nll)
        limit, floor = self._truncation()
        if epoch < self.prune_start:
            return gce, None
        if self._refreshing(epoch):
            keep = (nll.detach() <= limit).to(gce.dtype)
        else:
            keep = read_rows(getattr(self, "weights_", None), index, 1.0, gce)
        return keep * gce + (1.0 - keep) * floor, keep

    def per_sample(self, logits, target, *, index=None, n_samples=None, epoch=None, **context):
        """Per-sample truncated GCE; with pruning, ``weights_`` is read, not changed.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        index : torch.Tensor of shape (n_samples,), default=None
            Rows of the batch in the training data (pruning only).
        n_samples : int, default=None
            Rows in the training data (pruning only).
        epoch : int, default=None
            The 0-based epoch (pruning only).
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        return self._values_and_weights(logits, target, index, epoch)[0]

    def batch_loss(self, logits, target, sample_weight=None, **context):
        """``mean(w * l)``; with pruning, stores the batch's weights on a refresh epoch.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights; None weighs every sample equally.
        **context
            ``index``, ``n_samples`` and ``epoch`` with pruning.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        index, epoch = context.get("index"), context.get("epoch")
        values, keep = self._values_and_weights(logits, target, index, epoch)
        if keep is not None and self._refreshing(epoch) and is_training_step(logits):
            self.weights_ = write_rows(
                getattr(self, "weights_", None), index, context["n_samples"], keep, 1.0
            )
        return weighted_batch_mean(values, sample_weight)

    def fused_form(self, n_classes):
        """The stateless form's ``from_nll(lse - z_y)``; none with pruning.

        Parameters
        ----------
        n_classes : int
            Number of classes (logit columns).

        Returns
        -------
        StatisticsForm
            The statistics the loss reads and its loss of a row.

        Raises
        ------
        TypeError
            With pruning (``prune_start`` set): the loss needs per-sample state.
        """
        if self.prune_start is not None:
            raise TypeError(
                f"{self!r} has no fused form: with pruning it keeps per-sample weights, "
                "which a fused head cannot pass. Use prune_start=None or backend='naive'."
            )
        return super().fused_form(n_classes)
