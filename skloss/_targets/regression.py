"""Regression: what the regressors add to the core (target scaling, predictions, quantiles).

The targets are scaled inside, with (weighted) statistics of the training
targets of a fresh fit: standardised per column (``(y - target_offset_) /
target_scale_`` with the median and ``IQR / 1.349``, robust statistics that equal
the mean and standard deviation for normal targets and ignore gross errors) or,
for a loss with a log link, divided by the column's mean. The loss sees
scaled targets, its ``predict`` gives scaled predictions, and the estimator
returns them in the user's units. R^2 does not change under either scaling
(per column), so the validation score of ``early_stopping`` is computed on the
scaled values.
"""

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from skloss._core.estimator import BaseLossEstimator
from skloss._core.fit_mode import FitMode, Targets
from skloss._targets.bags import BagResponses, bag_codes, bag_r2

__all__ = ["BaseLossRegressor", "RealValues"]


class _R2:
    """The validation R^2 of one pass (mean over target columns), in float64."""

    def __init__(self, device):
        self.device = device
        self.sums = None
        self.n_rows = 0

    def update(self, outputs, y, loss):
        predicted = loss.predict(outputs).double()
        y = y.reshape(predicted.shape).double()
        sums = torch.stack([((y - predicted) ** 2).sum(0), y.sum(0), (y**2).sum(0)])
        self.sums = sums if self.sums is None else self.sums + sums
        self.n_rows += y.shape[0]

    def result(self):
        sse, total, squares = self.sums.cpu().numpy()
        sst = squares - total**2 / self.n_rows
        # scikit-learn's r2_score on a constant column: 1 if predicted exactly, else 0.
        scores = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), (sse == 0) * 1.0)
        return float(np.mean(scores))


class RealValues:
    """What the net knows of regression targets: scaled values, R^2 as the score."""

    score_name = "valid_r2"

    def new_score(self, device):
        return _R2(device)

    def check_encoded(self, y, n_targets):
        if y.dtype.kind not in "fiu" or y.shape[1:] not in ((), (n_targets,)):
            raise ValueError(
                f"y must hold scaled targets, real numbers of shape (n_samples, {n_targets}); "
                f"got dtype {y.dtype} and shape {y.shape}. Use the estimator's partial_fit "
                "for targets in your units."
            )
        return y.reshape(len(y), -1).astype(np.float32)

    def net_predict(self, net, X):
        outputs = torch.as_tensor(net.forward(X))
        return net.criterion_.loss.predict(outputs).numpy()


class BaseLossRegressor(BagResponses, RegressorMixin, BaseLossEstimator):
    """The regression part of the skloss estimators; not for direct use."""

    _target_kind = "regression"
    _target_codec = RealValues()

    def fit(self, X, y, sample_weight=None, bags=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numpy, pandas, scipy sparse; float or int).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Real-valued targets; with ``bags``, each bag's aggregate response
            (its mean) repeated on its rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row (any hashable ids), for a loss of bag-level
            responses (``loss="bag_squared_error"``); ``y`` must then be
            constant within each bag, and ``early_stopping`` holds out whole
            bags. Metadata: inside a ``Pipeline`` or a search, request it
            with ``set_fit_request(bags=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, extras={"bags": bags})

    def partial_fit(self, X, y, sample_weight=None, bags=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        The target scaling (and HL-Gauss's bins) are fitted on the first call's
        targets and kept for the stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features of this chunk.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets of this chunk.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row of this chunk, for a loss of bag-level responses
            (see :meth:`fit`); a chunk holds whole bags.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, extras={"bags": bags})

    def score(self, X, y, sample_weight=None, bags=None):
        """Return the coefficient of determination R^2 of the predictions.

        As :meth:`sklearn.base.RegressorMixin.score`: ``1 - SS_res / SS_tot``,
        averaged uniformly over target columns; 1 is a perfect fit, and a model
        that predicts the mean of ``y`` scores 0.

        With ``bags`` it compares each bag's (weighted) mean prediction with
        its response, bags weighted by their size: the score aggregate data can
        give, and the one to choose ``rho`` of a bag loss by cross-validation
        (``set_score_request(bags=True)``, ``GroupKFold``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True values; with ``bags``, each bag's response on its rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row.

        Returns
        -------
        float
            R^2 of ``self.predict(X)`` against ``y``, or of the bags' mean
            predictions against their responses.
        """
        if bags is None:
            return super().score(X, y, sample_weight=sample_weight)
        _, codes = bag_codes(bags)
        return bag_r2(y, self.predict(X), codes, sample_weight)

    # ---- the kind of target -----------------------------------------------------------
    def _target_validation(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, mode, incremental, classes, loss, sample_weight):
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(y), -1)
        loss.check_targets(y)
        self._check_bag_targets(y)
        if mode is FitMode.FRESH:
            offset, scale = _scaling(y, loss.target_scaling, sample_weight)
            fitted = {
                "target_offset_": offset,
                "target_scale_": scale,
                "_target_scaling": loss.target_scaling,
            }
        else:
            if y.shape[1] != len(self.target_scale_):
                raise ValueError(
                    f"y has {y.shape[1]} target column(s), but {type(self).__name__} was "
                    f"fitted on {len(self.target_scale_)}; set warm_start=False to start "
                    "afresh."
                )
            if loss.target_scaling != self._target_scaling:
                raise ValueError(
                    f"loss {loss!r} scales targets by {loss.target_scaling!r}, the fitted "
                    f"network by {self._target_scaling!r}; set warm_start=False to train "
                    "afresh with it."
                )
            offset, scale = self.target_offset_, self.target_scale_
            fitted = {}
        values = ((y - offset) / scale).astype(np.float32)
        return Targets(values, y.shape[1], fitted)

    def _validation_split(self, targets, seed):
        split = self._bag_split(seed)
        return super()._validation_split(targets, seed) if split is None else split

    def _prepare_loss(self, loss, targets, mode):
        if mode is FitMode.FRESH or loss is not self.loss_function_:
            loss.fit_targets(targets.values)

    def _check_targets(self, targets, loss, n_samples, mode):
        if n_samples is not None and n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to train, got "
                f"n_samples = {n_samples}."
            )

    # ---- prediction -------------------------------------------------------------------
    def _scaled(self, X, read):
        """``read(outputs)`` block by block, in scaled units, shape (n, n_targets, ...)."""
        return self._outputs(X, lambda outputs: read(outputs)).numpy()

    def _unscaled(self, values):
        # values: (n, n_targets, ...) in scaled units -> the user's units.
        shape = (1, -1) + (1,) * (values.ndim - 2)
        return values * self.target_scale_.reshape(shape) + self.target_offset_.reshape(shape)

    def predict(self, X):
        """Predictions in the units of ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            One column per target column; ``(n_samples,)`` for one target (as
            ``MLPRegressor`` returns it).
        """
        check_is_fitted(self)
        values = self._unscaled(self._scaled(X, self.loss_function_.predict))
        return values[:, 0] if values.shape[1] == 1 else values

    def predict_quantiles(self, X, q):
        """Predicted quantiles of the target at levels ``q``.

        Available for losses that predict a distribution: ``hl_gauss`` (every
        level, from the predicted histogram) and ``quantile`` (the levels it was
        trained for, interpolated linearly between them).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to predict.
        q : float or array-like of float
            Levels in (0, 1).

        Returns
        -------
        ndarray
            Shape ``(n_samples,)`` for one level and one target column,
            ``(n_samples, len(q))`` for several levels of one target column,
            ``(n_samples, n_targets, len(q))`` for several target columns (and
            ``(n_samples, n_targets)`` for one level); in the units of ``y``,
            non-decreasing in ``q``.
        """
        check_is_fitted(self)
        quantiles = getattr(self.loss_function_, "quantiles", None)
        if quantiles is None:
            raise AttributeError(
                f"loss {self.loss_function_!r} predicts a value, not a distribution: "
                "predict_quantiles needs loss='hl_gauss' or loss=Quantile(alpha=[...])."
            )
        from skloss.losses.regression import check_levels

        scalar = np.ndim(q) == 0
        levels = np.atleast_1d(np.asarray(q, dtype=float))
        order = np.argsort(levels)
        check_levels(levels, name="q")
        sorted_levels = levels[order]
        values = self._unscaled(self._scaled(X, lambda out: quantiles(out, sorted_levels)))
        values = values[..., np.argsort(order)]
        if values.shape[1] == 1:
            values = values[:, 0]
        return values[..., 0] if scalar else values

    def predict_interval(self, X, coverage=0.9):
        """A central interval: the quantiles ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to predict.
        coverage : float, default=0.9
            The nominal share of targets inside the interval, in (0, 1).

        Returns
        -------
        ndarray of shape (n_samples, 2) or (n_samples, n_targets, 2)
            Lower and upper bounds, in the units of ``y``.
        """
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}.")
        return self.predict_quantiles(X, [(1 - coverage) / 2, (1 + coverage) / 2])

    @property
    def out_activation_(self):
        """str: the output function (``"identity"``; ``"exp"`` for Poisson; ``"softmax"``
        for HL-Gauss's bins)."""
        if "net_" not in self.__dict__:
            raise AttributeError("the estimator is not fitted yet.")
        return self.loss_function_.out_activation

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


#: The interquartile range of a normal distribution in standard deviations,
#: 2 * Phi^-1(0.75): IQR / this equals the standard deviation of normal targets.
_NORMAL_IQR = 1.3489795003921634


def _scaling(y, how, sample_weight=None):
    """Per-column ``(offset, scale)`` of the targets.

    ``"standardize"``: the median and ``IQR / 1.349`` (the mean and standard
    deviation for normally distributed targets), robust statistics, so that a
    share of gross errors among the targets neither shifts nor inflates the
    scale; the standard deviation where the quartiles coincide, 1 for a constant
    column. ``"scale"``: offset 0 and the mean (1 where it is 0). Weighted like
    the loss (an integer weight counts as repeated rows).
    """
    weight = None if sample_weight is None or not sample_weight.sum() > 0 else sample_weight
    if how == "scale":
        mean = np.average(y, axis=0, weights=weight)
        return np.zeros(y.shape[1]), np.where(mean > 0, mean, 1.0)
    low, median, high = np.quantile(
        y, [0.25, 0.5, 0.75], axis=0, weights=weight, method="inverted_cdf"
    )
    spread = (high - low) / _NORMAL_IQR
    mean = np.average(y, axis=0, weights=weight)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=weight))
    scale = np.where(spread > 0, spread, np.where(std > 0, std, 1.0))
    return median, scale
