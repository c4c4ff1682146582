"""Losses of aggregate responses: every row of a bag shares the bag's one response.

In aggregate learning the training rows come in bags, and each bag carries a
single response: the mean of its rows' unknown responses (privacy, aggregated
reporting), or for a binary label the share of positives in the bag (learning
from label proportions). The network still predicts one value per row.

Javanmard et al. ("Learning from Aggregate Responses: Instance Level versus Bag
Level Loss Functions", ICLR 2024) compare two losses over a bag ``B`` of ``k``
rows with response ``ybar`` and predictions ``f_i`` (mean ``fbar``):

- the **bag-level** loss ``k (ybar - fbar)^2``: the bag's mean prediction
  against its response (unbiased, but one equation per bag);
- the **instance-level** loss ``sum_i (ybar - f_i)^2``: every row against the
  bag's response, which is the bag-level loss plus ``sum_i (f_i - fbar)^2``, a
  penalty on the spread of the predictions within the bag (biased toward the
  bag's mean, lower variance);

and the **interpolating** estimator between them,
``k (ybar - fbar)^2 + rho * sum_i (f_i - fbar)^2``: ``rho = 0`` is the bag-level
loss, ``rho = 1`` the instance-level one. :class:`BagBCE` makes the same
interpolation for label proportions, between the bag-level cross-entropy of
DLLP (Ardehaly and Culotta, 2017) and the rows' cross-entropy against the
bag's proportion.

A row's ``sample_weight`` counts as repeating it inside its bag: bag means,
bag sizes and the spread are all weighted, so an integer weight equals a
repeated row. A batch's value is the sum of its bags' losses divided by its
total weight (per row, so ``rho = 1`` trains exactly like the row-level loss
and the learning rate keeps its meaning). The losses need the bag of every
row (``requires = ("bags",)``), and the estimators give each training batch
whole bags (``batch_groups = "bags"``).
"""

import torch
import torch.nn.functional as F

from ._base import Loss, OneLogitBinary
from ._validation import real_parameter
from .regression import RegressionLoss

__all__ = ["BagLoss", "BagSquaredError", "BagBCE"]


class _Bags:
    """The bags of one batch: each row's bag position and the weighted bag sizes.

    Parameters
    ----------
    bags : array-like of shape (n_samples,)
        A bag id per row.
    sample_weight : torch.Tensor of shape (n_samples,) or None
        Row weights; None counts every row once.
    like : torch.Tensor
        The outputs, whose dtype and device the sums take.
    """

    def __init__(self, bags, sample_weight, like):
        n_rows = like.shape[0]
        bags = torch.as_tensor(bags, device=like.device)
        if bags.shape != (n_rows,):
            raise ValueError(
                f"bags must hold one bag id per row: expected shape ({n_rows},), got "
                f"{tuple(bags.shape)}."
            )
        labels, self.inverse = torch.unique(bags, return_inverse=True)
        self.n_bags = labels.numel()
        self.weight = (
            torch.ones(n_rows, dtype=like.dtype, device=like.device)
            if sample_weight is None
            else sample_weight.to(like.dtype)
        )
        self.sizes = self.sum(self.weight)
        # A bag whose rows all weigh zero has no mean; it contributes nothing.
        self.safe_sizes = self.sizes.clamp_min(torch.finfo(like.dtype).tiny)

    def sum(self, values):
        """Per-bag sums of per-row values.

        Parameters
        ----------
        values : torch.Tensor of shape (n_samples, ...)
            One value (or row of values) per row.

        Returns
        -------
        torch.Tensor of shape (n_bags, ...)
            The sums, bags in the order of their sorted ids.
        """
        out = values.new_zeros((self.n_bags, *values.shape[1:]))
        return out.index_add(0, self.inverse, values)

    def weighted_mean(self, values):
        """Per-bag weighted means of per-row values.

        Parameters
        ----------
        values : torch.Tensor of shape (n_samples, ...)
            One value (or row of values) per row.

        Returns
        -------
        torch.Tensor of shape (n_bags, ...)
            The means (0 for a bag whose rows all weigh zero).
        """
        weight = self.weight.reshape(-1, *([1] * (values.ndim - 1)))
        sizes = self.safe_sizes.reshape(-1, *([1] * (values.ndim - 1)))
        return self.sum(weight * values) / sizes

    def log_weighted_mean(self, log_values):
        """Log of the per-bag weighted mean of ``exp(log_values)``, without overflow.

        Parameters
        ----------
        log_values : torch.Tensor of shape (n_samples,)
            Per-row logarithms (log probabilities).

        Returns
        -------
        torch.Tensor of shape (n_bags,)
            A log-sum-exp per bag, shifted by the bag's largest value.
        """
        peak = torch.full(
            (self.n_bags,), -torch.inf, dtype=log_values.dtype, device=log_values.device
        )
        peak = peak.scatter_reduce(0, self.inverse, log_values.detach(), "amax")
        total = self.sum(self.weight * torch.exp(log_values - peak[self.inverse]))
        tiny = torch.finfo(log_values.dtype).tiny
        return torch.log(total.clamp_min(tiny)) + peak - torch.log(self.safe_sizes)


class BagLoss(Loss):
    """Base class of the losses of bag-level responses.

    Subclasses implement :meth:`_bag_values`, the loss of every bag of a
    batch. This class turns it into the batch objective (the bags' sum over
    the batch's total weight, times :attr:`per_row_scale`) and checks ``rho``.

    Parameters
    ----------
    rho : float, default=0.0
        Interpolation in ``[0, 1]`` from the bag-level loss (0) to the
        instance-level loss (1).
    """

    requires = ("bags",)
    batch_groups = "bags"
    batch_level = True
    search_space = {"rho": ("float", 0.0, 1.0)}
    #: The batch objective is ``per_row_scale * sum_B L_B / sum_i w_i``.
    per_row_scale = 1.0

    def __init__(self, rho=0.0):
        self.rho = rho

    def validate(self):
        """Check that ``rho`` lies in ``[0, 1]``."""
        rho = real_parameter(self, "rho")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(
                f"{type(self).__name__} parameter 'rho' must be in [0, 1] (0: the bag-level "
                f"loss, 1: the instance-level loss), got {self.rho!r}."
            )

    def per_sample(self, outputs, target, **context):
        """Not defined: a bag's loss belongs to the bag, not to its rows.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor
            Each row's bag response.
        **context
            Unused.

        Raises
        ------
        TypeError
            Always: use :meth:`bag_losses` or the batch loss.
        """
        raise TypeError(
            f"{type(self).__name__} is a loss of bags, with one value per bag: use "
            "bag_losses(outputs, target, bags) or the batch loss (reduction='mean')."
        )

    def bag_losses(self, outputs, target, bags, sample_weight=None):
        """The loss ``L_B`` of every bag, in the order of the sorted bag ids.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,) or (n_samples, n_targets)
            Each row's bag response (equal within a bag).
        bags : array-like of shape (n_samples,)
            A bag id per row.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Row weights (an integer weight repeats the row in its bag).

        Returns
        -------
        torch.Tensor of shape (n_bags,)
            ``L_B`` of each bag (the paper's formula, neither halved nor divided
            by the bag's size).
        """
        self.validate()
        self._check_inputs(outputs, target)
        return self._bag_values(outputs, target, _Bags(bags, sample_weight, outputs))

    def batch_loss(self, outputs, target, sample_weight=None, bags=None, **context):
        """The batch objective: ``per_row_scale * sum_B L_B / sum_i w_i``.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor
            Each row's bag response.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Row weights.
        bags : torch.Tensor of shape (n_samples,)
            A bag id per row; a batch holds whole bags.
        **context
            Unused.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        groups = _Bags(bags, sample_weight, outputs)
        total = groups.sizes.sum().clamp_min(torch.finfo(outputs.dtype).tiny)
        return self.per_row_scale * self._bag_values(outputs, target, groups).sum() / total

    def _bag_values(self, outputs, target, groups):
        raise NotImplementedError


class BagSquaredError(BagLoss, RegressionLoss):
    """Squared error of aggregate responses, from the bag level to the instance level.

    For a bag ``B`` of ``k`` rows with response ``ybar`` and predictions
    ``f_i`` (mean ``fbar``)::

        L_B = k (ybar - fbar)^2 + rho * sum_i (f_i - fbar)^2

    ``rho = 0`` is the bag-level loss, ``rho = 1`` the instance-level loss
    ``sum_i (ybar - f_i)^2``, and values in between the interpolating
    estimator of Javanmard et al. (2024). With weights, ``k`` is the bag's
    total weight and the means and the spread are weighted. Trained by
    :class:`skloss.RobustLossRegressor` with ``fit(X, y, bags=...)``.

    The batch objective is ``sum_B L_B / (2 sum_i w_i)``: with ``rho = 1`` it
    is exactly ``squared_error`` (half the squared error, ``MLPRegressor``'s
    loss) on the repeated responses. Several target columns are averaged.

    Parameters
    ----------
    rho : float, default=0.0
        In ``[0, 1]``: 0 the bag-level loss (unbiased on random bags), 1 the
        instance-level loss; choose it by cross-validation over whole bags
        (see the user guide).

    References
    ----------
    .. [1] Javanmard, Chen, Mirrokni, Badanidiyuru and Fu, "Learning from
       Aggregate Responses: Instance Level versus Bag Level Loss Functions",
       ICLR 2024.

    Examples
    --------
    >>> import torch
    >>> loss = BagSquaredError(rho=0.5)
    >>> f, ybar = torch.tensor([[1.5], [2.0]]), torch.tensor([2.0, 2.0])
    >>> loss.bag_losses(f, ybar, bags=torch.tensor([0, 0]))  # 2 * 0.25^2 + 0.5 * 0.125
    tensor([0.1875])
    >>> loss(f, ybar, bags=torch.tensor([0, 0]))  # per row, halved
    tensor(0.0469)
    """

    name = "bag_squared_error"
    per_row_scale = 0.5

    def __init__(self, rho=0.0):
        self.rho = rho

    def _bag_values(self, outputs, target, groups):
        target = target.reshape(outputs.shape).to(outputs.dtype)
        mean_output = groups.weighted_mean(outputs)
        response = groups.weighted_mean(target)
        between = groups.sizes[:, None] * (response - mean_output) ** 2
        deviation = outputs - mean_output[groups.inverse]
        within = groups.sum(groups.weight[:, None] * deviation**2)
        return (between + float(self.rho) * within).mean(dim=1)


class BagBCE(OneLogitBinary, BagLoss):
    """Cross-entropy of label proportions, from the bag level (DLLP) to the instance level.

    Binary classification where each bag knows only its share ``ybar`` of
    the positive class (``classes_[1]``). With ``p_i`` the predicted
    probabilities of the bag's ``k`` rows and ``pbar`` their mean::

        L_B = (1 - rho) k BCE(ybar, pbar) + rho * sum_i BCE(ybar, p_i)

    where ``BCE(a, p) = -a log p - (1 - a) log(1 - p)``. ``rho = 0`` is DLLP
    (the bag's mean probability against its proportion), ``rho = 1`` every
    row against its bag's proportion (a soft label); as for squared error,
    the instance-level loss is the bag-level loss plus a non-negative term
    (Jensen's gap), and ``rho`` interpolates. With weights, ``k`` is the bag's
    total weight and ``pbar`` the weighted mean. Computed from log
    probabilities (``log pbar`` as a log-sum-exp), so far logits stay finite.

    The batch objective is ``sum_B L_B / sum_i w_i``; for bags of one row with
    proportions 0 or 1 it is the usual logistic loss. Trained by
    :class:`skloss.RobustLossClassifier` with ``fit(X, y, bags=...)``, ``y``
    holding each row's bag proportion; one logit (binary only).

    Parameters
    ----------
    rho : float, default=0.0
        In ``[0, 1]``: 0 the bag-level loss (DLLP), 1 the instance-level loss.

    References
    ----------
    .. [1] Ardehaly and Culotta, "Co-training for Demographic Classification
       Using Deep Learning from Label Proportions", ICDM Workshops 2017 (DLLP).
    .. [2] Javanmard et al., ICLR 2024 (the interpolation).

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.0], [2.0]])  # p = 0.5 and 0.881
    >>> share = torch.tensor([0.5, 0.5])
    >>> round(BagBCE(rho=0.0).bag_losses(logits, share, bags=[7, 7]).item(), 4)
    1.543
    """

    name = "bag_bce"
    binary_only = True

    def __init__(self, rho=0.0):
        self.rho = rho

    def _bag_values(self, logits, target, groups):
        score = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
        log_p, log_q = F.logsigmoid(score), F.logsigmoid(-score)
        share = groups.weighted_mean(target.to(score.dtype))
        bag_level = -(
            share * groups.log_weighted_mean(log_p) + (1 - share) * groups.log_weighted_mean(log_q)
        )
        row_share = share[groups.inverse]
        instance = groups.sum(groups.weight * -(row_share * log_p + (1 - row_share) * log_q))
        rho = float(self.rho)
        return (1 - rho) * groups.sizes * bag_level + rho * instance

    def _check_inputs(self, logits, target):
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[1] > 2:
            raise ValueError(
                "logits must be a tensor of shape (n_samples, 1) (or (n_samples, 2)); got "
                f"{type(logits).__name__} with shape {tuple(getattr(logits, 'shape', ()))}."
            )
        if not logits.dtype.is_floating_point:
            raise TypeError(f"logits must be a floating-point tensor, got {logits.dtype}.")
        if not isinstance(target, torch.Tensor) or target.shape != logits.shape[:1]:
            raise ValueError(
                f"target must hold one proportion per row, shape ({logits.shape[0]},); got "
                f"{type(target).__name__} with shape {tuple(getattr(target, 'shape', ()))}."
            )
        if target.numel() and not bool(((target >= 0) & (target <= 1)).all()):
            raise ValueError(
                "target must hold each bag's share of the positive class, in [0, 1]; got "
                f"values from {target.min().item()} to {target.max().item()}."
            )
