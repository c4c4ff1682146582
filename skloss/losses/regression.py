"""Losses of real-valued targets: squared, absolute, Huber, quantile (pinball) and Poisson.

A regression loss sees the network's outputs and the targets **as the estimator
scales them**: standardised per column (``(y - mean) / std``, fitted on the
training targets, like ``TransformedTargetRegressor`` with a
``StandardScaler``), or, for a loss with a log link (Poisson), divided by the
column's mean so that they stay non-negative (``target_scaling``). Its
``predict`` maps outputs to predictions in the same scaled units; the estimator
maps them back to the user's.

Targets are ``(n_samples, n_targets)``; a loss's value per sample is the mean
over the target columns. Histogram losses (HL-Gauss) live in
:mod:`skloss.losses.histogram`.
"""

import numbers

import numpy as np
import torch

from ._base import Loss, inherits_unchanged, weighted_batch_mean
from ._validation import real_parameter

__all__ = [
    "RegressionLoss",
    "SquaredError",
    "AbsoluteError",
    "Huber",
    "Quantile",
    "Poisson",
    "check_levels",
]


class RegressionLoss(Loss):
    """Base class of losses of real-valued targets.

    Subclasses implement :meth:`elementwise` (a loss per sample and target
    column); they may change the number of outputs per target column
    (:meth:`n_outputs`), how outputs become predictions (:meth:`predict`),
    which targets they accept (:meth:`check_targets`) and what they fit from
    the training targets before training (:meth:`fit_targets`).

    Attributes
    ----------
    target_scaling : {"standardize", "scale"}
        How the estimator scales the targets: ``"standardize"`` subtracts the
        mean and divides by the standard deviation of each column;
        ``"scale"`` only divides by the column's mean (losses with a log link,
        whose targets must stay non-negative).
    out_activation : str
        The output function, as ``MLPRegressor``'s ``out_activation_`` names it.
    """

    target_kind = "regression"
    target_scaling = "standardize"
    out_activation = "identity"

    def n_outputs(self, n_targets):
        """Count the network outputs for ``n_targets`` target columns (one each here).

        Parameters
        ----------
        n_targets : int
            Number of target columns.

        Returns
        -------
        int
            Number of network outputs.
        """
        return n_targets

    def predict(self, outputs):
        """Turn raw outputs into predictions in scaled units.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets)
            Predictions in scaled target units.
        """
        return outputs

    def check_targets(self, y):
        """Refuse, before training, targets this loss cannot train on.

        Parameters
        ----------
        y : numpy.ndarray of shape (n_samples, n_targets)
            The targets in the user's units.
        """

    def fit_targets(self, y):
        """Fit what the loss needs from the scaled training targets (nothing here).

        Parameters
        ----------
        y : numpy.ndarray of shape (n_samples, n_targets)
            The scaled training targets.
        """

    def elementwise(self, outputs, target):
        """Compute the loss of every sample and target column.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples, n_targets)
            Scaled targets.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets)
            The loss of each sample and target column.
        """
        raise NotImplementedError

    def per_sample(self, outputs, target, **context):
        """Average :meth:`elementwise` over the target columns.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples, n_targets) or (n_samples,)
            Scaled targets.
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss of each sample.
        """
        target = target.reshape(outputs.shape[0], -1).to(outputs.dtype)
        return self.elementwise(outputs, target).mean(dim=1)

    def link(self, outputs):
        """Refuse: a regression loss gives no class probabilities.

        Parameters
        ----------
        outputs : torch.Tensor
            Raw model outputs (unused).

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(f"{type(self).__name__} is a regression loss: it has no probabilities.")

    def check_n_classes(self, n_classes, from_scratch=True):
        """Accept any classes: the estimator checks the kind of target first.

        Parameters
        ----------
        n_classes : int
            Unused: a regression loss trains no classes.
        from_scratch : bool, default=True
            Unused.
        """

    def _check_inputs(self, outputs, target):
        if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
            raise ValueError(
                "outputs must be a 2-D tensor of shape (n_samples, n_outputs); got "
                f"{type(outputs).__name__} with shape {tuple(getattr(outputs, 'shape', ()))}."
            )
        if not outputs.dtype.is_floating_point:
            raise TypeError(f"outputs must be a floating-point tensor, got {outputs.dtype}.")
        if not isinstance(target, torch.Tensor) or target.ndim not in (1, 2):
            raise ValueError(
                "target must be a tensor of shape (n_samples,) or (n_samples, n_targets); got "
                f"{type(target).__name__} with shape {tuple(getattr(target, 'shape', ()))}."
            )
        if target.shape[0] != outputs.shape[0]:
            raise ValueError(
                f"outputs has {outputs.shape[0]} rows but target has {target.shape[0]}; "
                "they must describe the same samples."
            )
        if not target.dtype.is_floating_point:
            raise TypeError(
                f"target must hold real values (a floating-point tensor), got {target.dtype}; "
                "use target.float()."
            )
        n_targets = 1 if target.ndim == 1 else target.shape[1]
        if outputs.shape[1] != self.n_outputs(n_targets):
            raise ValueError(
                f"{type(self).__name__} needs {self.n_outputs(n_targets)} output(s) for "
                f"{n_targets} target column(s); got {outputs.shape[1]}."
            )


class SquaredError(RegressionLoss):
    """Half the squared error ``(f - y)^2 / 2`` (``MLPRegressor``'s loss).

    Examples
    --------
    >>> import torch
    >>> SquaredError()(torch.tensor([[1.0], [0.0]]), torch.tensor([0.0, 2.0]))
    tensor(1.2500)
    """

    name = "squared_error"

    def elementwise(self, outputs, target):
        return 0.5 * (outputs - target) ** 2

    def batch_loss_and_gradient(self, outputs, target, sample_weight=None):
        """``mean(w * l)`` and its gradient ``w / (n * n_targets) * (f - y)``, without autograd.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_targets)
            The batch's outputs.
        target : torch.Tensor of shape (n_samples, n_targets) or (n_samples,)
            Scaled targets.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights, as :meth:`batch_loss` gets them.

        Returns
        -------
        tuple of (torch.Tensor, torch.Tensor) or None
            The batch loss and its gradient with respect to ``outputs``; None for
            a subclass that computes another loss (autograd differentiates it).
        """
        if not inherits_unchanged(
            type(self), SquaredError, ("elementwise", "per_sample", "batch_loss")
        ):
            return None
        target = target.reshape(outputs.shape[0], -1).to(outputs.dtype)
        loss = weighted_batch_mean(self.per_sample(outputs, target), sample_weight)
        grad = (outputs - target).div_(outputs.numel())
        if sample_weight is not None:
            grad.mul_(sample_weight[:, None])
        return loss, grad


class AbsoluteError(RegressionLoss):
    """The absolute error ``|f - y|``: its minimiser is the conditional median.

    Examples
    --------
    >>> import torch
    >>> AbsoluteError()(torch.tensor([[1.0], [0.0]]), torch.tensor([0.0, 2.0]))
    tensor(1.5000)
    """

    name = "absolute_error"

    def elementwise(self, outputs, target):
        return (outputs - target).abs()


class Huber(RegressionLoss):
    """Huber's loss: ``r^2 / 2`` for ``|r| <= delta``, else ``delta (|r| - delta / 2)``.

    Quadratic near zero, linear beyond ``delta``: gross errors in the targets pull
    the fit by at most ``delta`` each.

    Parameters
    ----------
    delta : float, default=1.0
        The threshold, in **standardised target units** (standard deviations of
        the training targets): 1.0 treats residuals beyond one standard
        deviation as outliers.

    Examples
    --------
    >>> import torch
    >>> Huber(delta=1.0)(torch.tensor([[0.5], [3.0]]), torch.tensor([0.0, 0.0]))
    tensor(1.3125)
    """

    name = "huber"
    search_space = {"delta": ("float", 0.1, 3.0, "log")}

    def __init__(self, delta=1.0):
        self.delta = delta

    def validate(self):
        """Check that ``delta`` is positive."""
        if real_parameter(self, "delta") <= 0:
            raise ValueError(f"Huber parameter 'delta' must be > 0, got {self.delta!r}.")

    def elementwise(self, outputs, target):
        return torch.nn.functional.huber_loss(
            outputs, target, reduction="none", delta=float(self.delta)
        )


def check_levels(levels, name="alpha"):
    """Quantile levels as a sorted float array in (0, 1), or a ``ValueError`` naming them.

    Parameters
    ----------
    levels : float or sequence of float
        One level or several.
    name : str, default="alpha"
        The parameter's name, for the message.

    Returns
    -------
    numpy.ndarray of float
        The levels, sorted.
    """
    values = np.atleast_1d(np.asarray(levels, dtype=object))
    if (
        values.ndim != 1
        or values.size == 0
        or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v < 1 for v in values
        )
    ):
        raise ValueError(
            f"{name} must be a number in (0, 1) or a non-empty sequence of them, got {levels!r}."
        )
    values = np.sort(values.astype(float))
    if np.unique(values).size != values.size:
        raise ValueError(f"{name} must not repeat a level, got {levels!r}.")
    return values


class Quantile(RegressionLoss):
    """The pinball loss of one or several quantile levels.

    With residual ``r = y - f`` the loss of level ``a`` is ``max(a r, (a - 1) r)``;
    its minimiser is the conditional ``a``-quantile. With several levels the
    network has one output per level and target column (column-major: the
    levels of the first target, then of the next), trained jointly, so that
    ``predict_quantiles`` and ``predict_interval`` of the estimator read them
    off (crossing levels are sorted, a monotone rearrangement).

    Parameters
    ----------
    alpha : float or sequence of float, default=0.5
        The level(s) in (0, 1). ``predict`` returns the level closest to 0.5.

    Examples
    --------
    >>> import torch
    >>> Quantile(alpha=0.9)(torch.tensor([[0.0], [0.0]]), torch.tensor([1.0, -1.0]))
    tensor(0.5000)
    """

    name = "quantile"
    search_space = {"alpha": ("float", 0.05, 0.95)}

    def __init__(self, alpha=0.5):
        self.alpha = alpha

    def validate(self):
        """Check that every level lies in (0, 1)."""
        check_levels(self.alpha)

    @property
    def levels(self):
        """The quantile levels, sorted.

        Returns
        -------
        numpy.ndarray
            The levels of ``alpha`` in increasing order.
        """
        return check_levels(self.alpha)

    def n_outputs(self, n_targets):
        """Count the outputs: one per level and target column.

        Parameters
        ----------
        n_targets : int
            Number of target columns.

        Returns
        -------
        int
            Number of network outputs.
        """
        return n_targets * len(self.levels)

    def _by_level(self, outputs):
        # (n, m * L) -> (n, m, L), levels sorted along the last axis.
        n_levels = len(self.levels)
        return outputs.reshape(outputs.shape[0], -1, n_levels)

    def elementwise(self, outputs, target):
        levels = torch.as_tensor(self.levels, dtype=outputs.dtype, device=outputs.device)
        residual = target.unsqueeze(-1) - self._by_level(outputs)
        pinball = torch.maximum(levels * residual, (levels - 1) * residual)
        return pinball.mean(dim=-1)

    def quantiles(self, outputs, q):
        """Predict the quantiles at levels ``q``, in scaled units.

        Levels between two trained levels are interpolated linearly; levels
        outside the trained range are refused.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        q : numpy.ndarray of float
            Levels in (0, 1).

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets, len(q))
            The quantiles, in scaled target units.
        """
        levels = self.levels
        q = np.asarray(q, dtype=float)
        if q.min() < levels[0] - 1e-12 or q.max() > levels[-1] + 1e-12:
            raise ValueError(
                f"this model was trained for the quantile levels {levels.tolist()}; levels "
                f"{q.tolist()} are outside them. Train with loss=Quantile(alpha=[...]) "
                "covering the levels you need (or use loss='hl_gauss', which predicts every "
                "quantile)."
            )
        trained = torch.sort(self._by_level(outputs), dim=-1).values  # no crossing
        if len(levels) == 1:
            return trained.expand(*trained.shape[:2], len(q))
        out = []
        for position in np.interp(q, levels, np.arange(len(levels))):
            low = int(np.floor(position))
            high = min(low + 1, len(levels) - 1)
            share = position - low
            out.append(trained[..., low] * (1 - share) + trained[..., high] * share)
        return torch.stack(out, dim=-1)

    def predict(self, outputs):
        """Predict the quantile at the level closest to 0.5 (the median when trained).

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets)
            Predictions in scaled target units.
        """
        closest = float(self.levels[np.argmin(np.abs(self.levels - 0.5))])
        return self.quantiles(outputs, np.array([closest]))[..., 0]


class Poisson(RegressionLoss):
    """The Poisson deviance with a log link, for counts and other non-negative targets.

    The output is ``log`` of the prediction; up to terms free of the output, the
    loss is ``exp(f) - y f`` (scikit-learn's half Poisson deviance). Targets are
    divided by their mean (``target_scaling = "scale"``), so they stay
    non-negative; targets below zero are refused before training.

    Examples
    --------
    >>> import torch
    >>> round(Poisson()(torch.tensor([[0.0]]), torch.tensor([2.0])).item(), 4)
    1.0
    """

    name = "poisson"
    target_scaling = "scale"
    out_activation = "exp"

    def check_targets(self, y):
        """Refuse negative targets, naming the first rows that hold one.

        Parameters
        ----------
        y : numpy.ndarray of shape (n_samples, n_targets)
            The targets in the user's units.
        """
        rows = np.flatnonzero((np.asarray(y) < 0).any(axis=1))
        if rows.size:
            raise ValueError(
                f"loss 'poisson' needs non-negative targets (counts, amounts); y is negative "
                f"in {rows.size} row(s), the first at positions {rows[:5].tolist()}. Use "
                "another loss (e.g. 'squared_error') or shift the targets."
            )

    def elementwise(self, outputs, target):
        return torch.exp(outputs) - target * outputs

    def predict(self, outputs):
        return torch.exp(outputs)
