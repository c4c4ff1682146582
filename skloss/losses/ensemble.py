"""EnsLoss: a new random convex, calibrated loss for every batch (Dai, ICML 2025).

A margin-based binary loss ``phi(z)`` of the margin ``z = y f(x)`` (``y`` in
{-1, +1}, one logit ``f``) is convex and classification-calibrated when its
derivative is non-decreasing and ``phi'(0) < 0`` (Bartlett, Jordan and McAuliffe,
2006). Gradient descent only ever uses ``phi'`` at the batch's margins, so EnsLoss
draws those derivatives directly: every batch gets a fresh vector of ``B``
random derivatives that satisfies the two conditions (and a third that makes
the derivative vanish for large margins), which is the same as training on a new random convex,
calibrated loss at every step, an ensemble of losses as Dropout is an ensemble
of networks.

The draw (the paper's Algorithm 1 and its reference code):

1. ``eps_1 .. eps_B ~ N(0, 1)`` from the fit's own generator;
2. inverse Box-Cox with ``lambda``: ``exp(eps)`` for ``lambda = 0``, else
   ``max(1 + lambda eps, 0) ** (1 / lambda)``; negate;
3. sort ascending and clip at -1, so that ``g`` lies in ``[-1, 0]``;
4. the ``k``-th smallest margin gets the ``k``-th smallest derivative: ``g`` is
   non-decreasing in ``z`` (convexity); margins that tie share the mean of
   the derivatives of their ranks, so that a tie gets one derivative and the
   result does not depend on the order of the rows;
5. where ``z > 1``, ``g <- g / z``: the derivative decays at least like
   ``1 / z`` (the paper's "bounded below" step: the loss falls at most like
   ``-log z``), and stays non-decreasing;
6. ``g <- g - 1e-6``: strictly negative, so ``phi'(0) < 0`` (calibration).

The batch objective is ``mean(w * g.detach() * z)``, whose gradient in
``f(x_i)`` is ``w_i g_i y_i / B``. Its value is not a loss (it is negative and
has no meaning across batches), so :meth:`EnsLoss.reported_loss` gives the
training step the batch's binary cross-entropy to record instead.

More than two classes are one-vs-rest heads in one network: ``K`` logits, column
``k`` a binary problem of its own with the margin ``z_ik = y_ik f_k(x_i)``
(``y_ik = +1`` for class ``k``, -1 otherwise). Every column draws its own
derivatives as above (its own normals, ranks among its own ``B`` margins), so
each keeps the three conditions for its binary problem; the objective sums the
columns, ``mean_i(w_i sum_k g_ik z_ik)``, so that head ``k`` gets the gradient a
binary EnsLoss model of class ``k`` against the rest would get from the batch.
"""

import numbers

import torch
import torch.nn.functional as F

from ._base import Loss, OneLogitBinary
from ._validation import real_parameter

__all__ = ["EnsLoss", "draw_derivatives", "inverse_box_cox", "CALIBRATION_MARGIN"]

#: Subtracted from every derivative so that all are strictly negative (phi'(0) < 0).
CALIBRATION_MARGIN = 1e-6


def inverse_box_cox(eps, boxcox_lambda):
    """The inverse Box-Cox transform of ``eps``: ``exp(eps)`` or ``max(1 + l eps, 0)^(1/l)``.

    Parameters
    ----------
    eps : torch.Tensor
        Values to transform (standard normal draws in EnsLoss).
    boxcox_lambda : float
        The Box-Cox ``lambda``; ``0`` gives ``exp``. For ``lambda < 0`` a
        non-positive base gives ``inf`` (EnsLoss clips it to a derivative of -1).

    Returns
    -------
    torch.Tensor
        Non-negative values of the shape of ``eps``.

    Examples
    --------
    >>> import torch
    >>> inverse_box_cox(torch.tensor([0.0, 1.0, -3.0]), 0.5).tolist()
    [1.0, 2.25, 0.0]
    """
    if boxcox_lambda == 0:
        return torch.exp(eps)
    return torch.clamp(1.0 + boxcox_lambda * eps, min=0.0) ** (1.0 / boxcox_lambda)


def draw_derivatives(margins, generator=None, boxcox_lambda=0.0):
    """One EnsLoss draw: a random derivative for each margin of the batch.

    Parameters
    ----------
    margins : torch.Tensor of shape (n_samples,) or (n_samples, n_columns)
        The margins ``z_i = y_i f(x_i)`` (no gradient is taken through them).
        With several columns (one-vs-rest heads) each column is a binary
        problem of its own: it gets its own normal draws, and ranks, ties and
        the tail scaling are taken among that column's margins only.
    generator : torch.Generator, default=None
        The source of the normal draws, on the margins' device; None uses the
        global torch RNG. Column ``k`` takes the ``k``-th block of
        ``n_samples`` consecutive draws.
    boxcox_lambda : float, default=0.0
        The inverse Box-Cox ``lambda`` of the derivative distribution.

    Returns
    -------
    torch.Tensor of the shape of ``margins``
        Derivatives ``g`` in ``[-1 - 1e-6, -1e-6]``, non-decreasing in the margin
        within each column (equal for equal margins), divided by ``z`` where
        ``z > 1``.

    Raises
    ------
    ValueError
        If ``margins`` is not 1-D or 2-D.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([2.0, -1.0, 0.5, 0.5])
    >>> g = draw_derivatives(z, torch.Generator().manual_seed(0))
    >>> bool((g < 0).all()), bool(g[1] <= g[2] == g[3])
    (True, True)
    >>> heads = torch.tensor([[2.0, -1.0], [-1.0, 3.0], [0.5, 0.5]])
    >>> draw_derivatives(heads, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 2])
    """
    margins = margins.detach()
    if margins.ndim not in (1, 2):
        raise ValueError(
            "margins must have shape (n_samples,) or (n_samples, n_columns), got shape "
            f"{tuple(margins.shape)}."
        )
    # One row per binary problem: (1, n_samples) for one logit, (n_columns,
    # n_samples) for one-vs-rest heads; every step below works along the rows.
    columns = margins.reshape(1, -1) if margins.ndim == 1 else margins.T
    n_columns, n_samples = columns.shape
    eps = torch.randn(
        n_columns, n_samples, generator=generator, device=margins.device, dtype=margins.dtype
    )
    drawn = torch.clamp(-inverse_box_cox(eps, boxcox_lambda), min=-1.0)
    drawn, _ = torch.sort(drawn, dim=1)
    # Tied margins share the mean of the derivatives of their ranks, so the result
    # does not depend on the order of the rows. Computed for every batch, without a
    # data-dependent branch (no device sync): without ties each group is one rank
    # and the mean is that rank's draw, exactly. Every column opens a new group, so
    # one count over the flattened columns never joins two columns' ties.
    sorted_margins, order = torch.sort(columns, dim=1)
    starts = torch.ones(n_columns, n_samples, dtype=torch.bool, device=margins.device)
    starts[:, 1:] = sorted_margins[:, 1:] != sorted_margins[:, :-1]
    group = torch.cumsum(starts.reshape(-1), dim=0) - 1
    flat = drawn.reshape(-1)
    sums = torch.zeros_like(flat).index_add_(0, group, flat)
    counts = torch.zeros_like(flat).index_add_(0, group, torch.ones_like(flat))
    drawn = (sums[group] / counts[group]).reshape(n_columns, n_samples)
    derivatives = torch.empty_like(drawn).scatter_(1, order, drawn)
    tail = columns > 1.0
    derivatives = torch.where(tail, derivatives / torch.where(tail, columns, 1.0), derivatives)
    derivatives = derivatives - CALIBRATION_MARGIN
    return derivatives.reshape(margins.shape) if margins.ndim == 1 else derivatives.T


class EnsLoss(OneLogitBinary, Loss):
    """Ensemble of random convex, calibrated losses, drawn per batch (Dai, 2025).

    For two classes, a binary loss with one logit ``f``: ``p = sigmoid(f)`` is
    the probability of class 1. Each training batch draws one derivative per
    sample (see :func:`draw_derivatives`) that is negative, non-decreasing in
    the margin and bounded, and the objective's gradient is that derivative
    times ``y_i / B``. For ``K > 2`` classes, ``K`` one-vs-rest logits, each
    trained so (see Notes).

    Parameters
    ----------
    boxcox_lambda : float, default=0.0
        ``lambda`` of the inverse Box-Cox transform that shapes the derivative
        distribution, in ``[-1, 1]``. ``0`` (the paper's default) draws
        ``-exp(eps)`` clipped at -1: half the derivatives are -1 (the smallest
        margins get a hinge-like slope) and the rest spread over ``(-1, 0)``.
        Larger values concentrate the draws near -1 (``lambda = 1`` gives
        ``-max(1 + eps, 0)``, clipped: many exactly -1 and some exactly 0 before
        the calibration margin); negative values put more mass near 0.
    lambda_resample_every : int or None, default=None
        None keeps ``boxcox_lambda``. An integer ``n`` re-draws ``lambda`` from
        ``U(-1, 1)`` (with the fit's generator) every ``n`` epochs, the
        reference code's ablation; ``boxcox_lambda`` is then ignored.

    Notes
    -----
    **A batch-level loss.** The derivative a sample gets depends on its rank in
    the batch, so the loss has no per-sample values: :meth:`per_sample` raises
    and the training step calls :meth:`batch_loss`. ``batch_size`` matters: a
    batch of ``B`` draws ``B`` derivatives, so with small batches each step's
    loss is noisier (``B = 1`` gives one random slope in ``[-1, 0)``), with
    large ones the empirical distribution of the draws settles and the loss of
    each step is closer to one fixed convex loss (less ensembling).

    **Sample weights** multiply each sample's term, ``mean(w * g * z)``: the
    gradient of sample ``i`` is ``w_i g_i y_i / B``. The ranks (and so the
    derivatives) do not depend on the weights, so a weight of 2 is not the same
    as two copies of a sample, which would take two ranks.

    **Reproducibility.** The normal draws come from the ``generator`` the
    training step passes (``requires`` holds ``"generator"``), a generator on
    the model's device owned by the fit; nothing touches the global RNG.

    **What is recorded.** :meth:`reported_loss` is the batch's (weighted) binary
    cross-entropy, which the training history, the progress bar, the stopping
    rule and ``loss_curve_`` show instead of the objective's value.

    **More than two classes: one-vs-rest heads.** With ``K > 2`` classes the
    network has ``K`` logits and column ``k`` is the binary problem "class
    ``k`` against the rest", with margins ``z_ik = y_ik f_k(x_i)``, ``y_ik = +1``
    if sample ``i`` is of class ``k``, else -1. Per batch, column ``k`` draws
    its own ``B`` normals (the ``k``-th block of ``B`` draws of the generator),
    ranks them against its own ``B`` margins (ties shared within the column)
    and scales its own tail, so each column keeps the three conditions for its
    binary problem. One Box-Cox ``lambda`` serves every column. The objective
    sums the columns, ``mean_i(w_i sum_k g_ik z_ik)`` (the sum over outputs of
    ``MLPClassifier``'s multi-label loss): the gradient in ``f_k(x_i)`` is
    ``w_i g_ik y_ik / B``, what a binary model of class ``k`` would get from the
    batch, and a sample's weight multiplies all its columns. :meth:`link` is
    ``sigmoid(f_k)`` divided by the row's sum, as
    ``sklearn.multiclass.OneVsRestClassifier`` normalises; its argmax is that
    of the logits. :meth:`reported_loss` sums the columns' binary
    cross-entropies. Two classes keep one logit (two one-vs-rest columns would
    be two models of one problem).

    References
    ----------
    .. [1] B. Dai, "EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing
       Overfitting in Classification", ICML 2025, arXiv:2409.00908.

    Examples
    --------
    >>> import torch
    >>> loss = EnsLoss()
    >>> logits = torch.tensor([[2.0], [-1.0], [0.5]], requires_grad=True)
    >>> target = torch.tensor([1, 1, 0])
    >>> objective = loss(logits, target, generator=torch.Generator().manual_seed(0))
    >>> objective.backward()
    >>> # class 1 is pushed up, class 0 down: the gradient descends along -y
    >>> bool(logits.grad[0, 0] < 0), bool(logits.grad[1, 0] < 0), bool(logits.grad[2, 0] > 0)
    (True, True, True)
    >>> # three classes: one column per class, each pushes its class up, the rest down
    >>> heads = torch.tensor([[2.0, -1.0, 0.0], [0.0, 1.0, -3.0]], requires_grad=True)
    >>> loss(heads, torch.tensor([0, 1]), generator=torch.Generator().manual_seed(0)).backward()
    >>> (heads.grad < 0).tolist()
    [[True, False, False], [False, True, False]]
    """

    name = "ensloss"
    batch_level = True
    search_space = {
        "boxcox_lambda": ("float", -1.0, 1.0),
    }

    def __init__(self, boxcox_lambda=0.0, lambda_resample_every=None):
        self.boxcox_lambda = boxcox_lambda
        self.lambda_resample_every = lambda_resample_every

    @property
    def requires(self):
        """The context the training step passes: the fit's generator, and the epoch.

        Returns
        -------
        tuple of str
            ``("generator",)``, plus ``"epoch"`` when ``lambda_resample_every`` is set.
        """
        return ("generator",) if self.lambda_resample_every is None else ("generator", "epoch")

    def validate(self):
        """Check ``boxcox_lambda`` in [-1, 1] and ``lambda_resample_every``."""
        value = real_parameter(self, "boxcox_lambda")
        if not -1.0 <= value <= 1.0:
            raise ValueError(
                f"EnsLoss parameter 'boxcox_lambda' must be in [-1, 1], got "
                f"{self.boxcox_lambda!r}; 0 (the paper's default) draws -exp(N(0, 1))."
            )
        every = self.lambda_resample_every
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1
        ):
            raise ValueError(
                "EnsLoss parameter 'lambda_resample_every' must be None (keep boxcox_lambda) "
                f"or a positive number of epochs, got {every!r}."
            )

    def link(self, logits):
        """Probabilities: ``sigmoid(f)`` for one logit, else the normalised column sigmoids.

        Not calibrated probabilities (see ``EnsLossClassifier``). With ``K``
        one-vs-rest columns, ``sigmoid(f_k) / sum_j sigmoid(f_j)``, computed as
        the softmax of ``log sigmoid(f)`` so that no row underflows to ``0 / 0``.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            One logit, or one per class.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_outputs)
            The probability of class 1, or one column per class with rows
            summing to 1.

        Examples
        --------
        >>> import torch
        >>> EnsLoss().link(torch.tensor([[0.0, 0.0, 0.0]])).tolist()
        [[0.3333333432674408, 0.3333333432674408, 0.3333333432674408]]
        """
        if logits.shape[1] == 1:
            return super().link(logits)
        return torch.softmax(F.logsigmoid(logits), dim=1)

    def current_lambda(self, epoch=0, generator=None):
        """The Box-Cox ``lambda`` used in ``epoch``.

        ``boxcox_lambda`` unless ``lambda_resample_every`` is set; then a
        ``U(-1, 1)`` draw from ``generator`` at the first batch of every block
        of ``lambda_resample_every`` epochs, kept for the block.

        Parameters
        ----------
        epoch : int, default=0
            The 0-based epoch count.
        generator : torch.Generator, default=None
            Source of the draw.

        Returns
        -------
        float
            The Box-Cox ``lambda`` of that epoch.
        """
        every = self.lambda_resample_every
        if every is None:
            return float(self.boxcox_lambda)
        block = int(epoch) // int(every)
        if getattr(self, "_lambda_block", None) != block:
            device = generator.device if generator is not None else "cpu"
            draw = torch.rand((), generator=generator, device=device, dtype=torch.float64)
            self._lambda = float(2.0 * draw - 1.0)
            self._lambda_block = block
        return self._lambda

    def __call__(self, logits, target, *, reduction="mean", sample_weight=None, **context):
        """The checked objective; see :meth:`Loss.__call__` and :meth:`batch_loss`.

        Raises
        ------
        ValueError
            Also when ``logits`` has two columns: two classes take the single
            logit of class 1 (``n_outputs(2) == 1``), more classes one column each.
        """
        if isinstance(logits, torch.Tensor) and logits.ndim == 2 and logits.shape[1] == 2:
            raise ValueError(
                "EnsLoss takes one logit per sample for two classes (shape (n_samples, 1), "
                "the score of class 1), or one one-vs-rest logit per class for three or "
                f"more; got logits of shape {tuple(logits.shape)}. For two softmax logits "
                "pass logits[:, 1:] - logits[:, :1]."
            )
        return super().__call__(
            logits, target, reduction=reduction, sample_weight=sample_weight, **context
        )

    def margins(self, logits, target):
        """``z = y f``: ``y = 2 target - 1`` for one logit, ``y_ik = +-1`` per column else.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            One logit per sample, or one per class.
        target : torch.Tensor of shape (n_samples,)
            Class indices (0/1 for one logit).

        Returns
        -------
        torch.Tensor of shape (n_samples,) or (n_samples, n_outputs)
            The margins: one per sample for one logit; else ``z_ik = y_ik f_k``
            with ``y_ik = +1`` where ``target_i == k`` and -1 elsewhere.
        """
        if logits.shape[1] == 1:
            sign = 2.0 * target.to(logits.dtype) - 1.0
            return logits[:, 0] * sign
        positive = F.one_hot(target, logits.shape[1]).to(torch.bool)
        return torch.where(positive, logits, -logits)

    def batch_loss(self, logits, target, sample_weight=None, generator=None, epoch=0, **context):
        """The batch objective ``mean(w * g * z)``, with ``g`` drawn for this batch.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs: one logit, or one one-vs-rest logit per class.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Multiplies each sample's term (all its columns).
        generator : torch.Generator, default=None
            Source of the draws (the training step passes the fit's own).
        epoch : int, default=0
            0-based epoch, for ``lambda_resample_every``.
        **context
            Ignored.

        Returns
        -------
        torch.Tensor
            A scalar whose gradient in ``logits[i, k]`` is ``w_i g_ik y_ik / B``
            (``mean_i(w_i sum_k g_ik z_ik)``); its value is not a loss (see
            :meth:`reported_loss`).
        """
        margins = self.margins(logits, target)
        derivatives = draw_derivatives(margins, generator, self.current_lambda(epoch, generator))
        terms = derivatives * margins
        if terms.ndim == 2:
            terms = terms.sum(dim=1)
        if sample_weight is not None:
            if tuple(sample_weight.shape) != tuple(terms.shape):
                raise ValueError(
                    "sample_weight must have one value per sample: expected shape "
                    f"{tuple(terms.shape)}, got {tuple(sample_weight.shape)}."
                )
            terms = terms * sample_weight
        return terms.mean()

    def reported_loss(self, logits, target, sample_weight=None):
        """The batch's binary cross-entropy ``mean(w * log(1 + exp(-z)))``, to record.

        With one-vs-rest columns, each sample's cross-entropies are summed over
        its columns, as the objective sums them.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights; None weighs every sample equally.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        values = F.softplus(-self.margins(logits, target))
        if values.ndim == 2:
            values = values.sum(dim=1)
        if sample_weight is not None:
            values = values * sample_weight
        return values.mean()

    def per_sample(self, logits, target, **context):
        """Refused: the derivative a sample gets depends on the rest of its batch.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        **context
            Ignored.

        Raises
        ------
        TypeError
            Always; call the loss or :meth:`batch_loss` instead.
        """
        raise TypeError(
            "EnsLoss is a batch-level loss (each sample's derivative depends on its rank "
            "in the batch), so it has no per-sample values; call loss(logits, target, "
            "generator=...) or loss.batch_loss(...) instead."
        )
