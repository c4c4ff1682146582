"""``RobustLossRegressor``: an MLP regressor trained with a pluggable regression loss."""

from skloss._docstrings import Substitution, attribute_block, parameter_block
from skloss._targets.regression import BaseLossRegressor
from skloss.losses import Loss, get_loss

__all__ = ["RobustLossRegressor"]

_PARAMETERS = {
    "early_stopping": """    early_stopping : bool, default=False
        Hold out a random ``validation_fraction`` of the training data, stop when
        its R^2 has not improved by ``tol`` for more than ``n_iter_no_change``
        epochs, and restore the best epoch's weights (``MLPRegressor``'s rule).""",
    "tol": """    tol : float, default=1e-4
        Improvement threshold of the stopping rule (validation R^2 with
        ``early_stopping``, training loss without).""",
}

_ATTRIBUTES = {
    "validation_scores_": """    validation_scores_ : list of float or None
        Validation R^2 of each epoch with ``early_stopping`` (across
        ``warm_start`` calls that all validated); None otherwise.""",
    "n_outputs_": """    n_outputs_ : int
        Number of outputs of the network: one per target column (per level
        and column for ``quantile`` with several levels, per bin and column for
        ``hl_gauss``).""",
    "out_activation_": """    out_activation_ : str
        ``"identity"``; ``"exp"`` for ``poisson``; ``"softmax"`` over each
        target column's bins for ``hl_gauss``.""",
    "loss_function_": """    loss_function_ : skloss.losses.RegressionLoss
        The loss trained with (a copy of ``loss``), with what it fitted from the
        training targets (HL-Gauss's bin ``edges_``).""",
}

_TARGET_SCALING = """    target_offset_ : ndarray of shape (n_targets,)
        Subtracted from each target column before training (its mean; 0 for
        ``poisson``).
    target_scale_ : ndarray of shape (n_targets,)
        Then divided by (its standard deviation; its mean for ``poisson``)."""


@Substitution(
    common_parameters=parameter_block(exclude=("class_weight", "fused"), **_PARAMETERS),
    common_attributes=attribute_block(exclude=("classes_",), **_ATTRIBUTES),
    target_scaling=_TARGET_SCALING,
)
class RobustLossRegressor(BaseLossRegressor):  # numpydoc ignore=PR01,PR02,PR04,PR07
    """A neural-network regressor trained with a pluggable loss.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor` (same
    parameter names and defaults) whose loss is a choice: squared error (the
    default, ``MLPRegressor``'s), absolute error, Huber, quantile (pinball, one
    or several levels), Poisson (log link, for counts), or HL-Gauss, regression
    by classification on a Gaussian-smoothed histogram of the target ("Stop
    Regressing", Farebrother et al. 2024). Robust losses (absolute error,
    Huber) resist gross errors in the training targets; HL-Gauss and quantile
    fits also predict quantiles and intervals.

    The targets are scaled inside (standardised per column, fitted on the
    training targets, like ``TransformedTargetRegressor`` with a
    ``StandardScaler``; divided by their mean for ``poisson``), and every
    prediction comes back in the units of ``y``.

    When only each bag of rows has a response (its mean: aggregated or
    private data), ``fit(X, y, bags=...)`` with ``loss="bag_squared_error"``
    learns per-row predictions from bag means, from the bag-level loss
    (``rho=0``) to the instance-level loss (``rho=1``); see the user guide's
    "Aggregate responses" page.

    Parameters
    ----------
    loss : str or skloss.losses.RegressionLoss, default="squared_error"
        A registry name (``skloss.losses.list_losses(kind="regression")``:
        ``"squared_error"``, ``"absolute_error"``, ``"huber"``, ``"quantile"``,
        ``"poisson"``, ``"hl_gauss"``; ``"bag_squared_error"`` with ``bags``)
        or a loss object, whose hyperparameters
        can be searched as ``loss__<name>`` (``loss__delta``,
        ``loss__sigma_ratio``, ...). Every loss takes targets of shape
        ``(n_samples, n_targets)`` (several columns at once). Huber's ``delta``
        is in standardised target units. A classification loss is refused.
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s
    %(target_scaling)s

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The estimator whose interface this follows.
    sklearn.ensemble.HistGradientBoostingRegressor : Gradient boosting, with
        squared, absolute, Poisson, gamma and quantile losses.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import RobustLossRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = RobustLossRegressor(loss="huber", learning_rate_init=0.01, max_iter=30, tol=1e-2,
    ...                           n_iter_no_change=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.4
    True
    """

    _parameter_constraints = {
        **BaseLossRegressor._parameter_constraints,
        "loss": [str, Loss],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        optimizer="adam",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=False,
        warm_start=False,
        module=None,
        device="auto",
        callbacks=None,
        precision="32",
        inference_precision="32",
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.module = module
        self.device = device
        self.callbacks = callbacks
        self.precision = precision
        self.inference_precision = inference_precision

    def _make_loss(self):
        return get_loss(self.loss)
