"""``EnsLossClassifier``: an MLP trained on a new random convex, calibrated loss per batch."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples
from skorch.callbacks import LRScheduler

from skloss._docstrings import Substitution, attribute_block, parameter_block
from skloss._targets import BaseLossClassifier
from skloss._training.build import default_mlp, hidden_sizes
from skloss.losses import get_loss
from skloss.losses.ensemble import EnsLoss

__all__ = ["EnsLossClassifier"]

_OVERRIDES = {
    "max_iter": """    max_iter : int, default=100
        Maximum number of epochs. Without ``early_stopping`` training also stops
        when the training binary cross-entropy (what is recorded, see Notes) has
        not fallen by ``tol`` for more than ``n_iter_no_change`` epochs; with
        ``lr_schedule="cosine"`` the schedule spans ``max_iter`` epochs.""",
    "batch_size": """    batch_size : int or "auto", default=128
        Minibatch size (at most ``n_samples``), the paper's; "auto" is
        ``min(200, n_samples)``. Each sample's derivative depends on its rank in
        its batch (see Notes). With ``batch_norm``, a batch size that would leave
        a last batch of one row (which cannot be normalised) is raised by as
        little as needed.""",
    "learning_rate_init": """    learning_rate_init : float, default=0.01
        Learning rate of the optimiser (at the start of the cosine schedule).""",
    "optimizer": """    optimizer : {"adam", "adamw", "sgd"} or callable, default="sgd"
        "sgd" uses Nesterov momentum 0.9 (the paper: momentum 0.9); "adam" and
        "adamw" use betas (0.9, 0.999), eps 1e-8. A torch optimiser class (or any
        callable ``f(param_groups, lr=...)`` returning a torch optimiser) is used
        as is.""",
}


_ATTRIBUTES = {
    "loss_": """    loss_ : float
        The training binary cross-entropy of the last epoch (not the objective,
        see Notes).""",
    "loss_curve_": """    loss_curve_ : list of float
        Mean training binary cross-entropy of each epoch (not the objective;
        summed over the one-vs-rest columns for more than two classes).""",
    "best_loss_": """    best_loss_ : float or None
        Lowest training binary cross-entropy; None when the last call validated
        (``early_stopping``).""",
    "loss_function_": """    loss_function_ : skloss.losses.EnsLoss
        The loss trained with.""",
    "classes_": """    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted; with two classes ``classes_[1]`` is the positive
        class.""",
    "out_activation_": """    out_activation_ : str
        ``"logistic"``: one sigmoid per output (one-vs-rest columns for more
        than two classes, normalised by ``predict_proba``).""",
}


@Substitution(
    common_parameters=parameter_block(**_OVERRIDES),
    common_attributes=attribute_block(**_ATTRIBUTES),
)
class EnsLossClassifier(BaseLossClassifier):  # numpydoc ignore=PR01,PR02,PR04,PR07
    """A neural-network classifier trained on random losses, against overfitting.

    EnsLoss (Dai, ICML 2025) ensembles losses within one training run, as
    Dropout ensembles networks: every batch draws random loss *derivatives*
    that are negative, non-decreasing in the margin and scaled down past margin
    1, the conditions for a convex, classification-calibrated loss with a
    vanishing tail, so that no
    single surrogate loss (logistic, hinge, exponential) is trusted. See
    :class:`skloss.losses.EnsLoss` for the draw and the user guide
    (``docs/user_guide/ensloss.rst``) for measurements.

    Two classes train one logit, as in the paper; more classes train one
    one-vs-rest logit per class in the same network, each column on the
    binary EnsLoss of its class against the rest (see Notes).

    Parameters
    ----------
    boxcox_lambda : float, default=0.0
        ``lambda`` in ``[-1, 1]`` of the inverse Box-Cox transform that shapes
        the derivative distribution; 0 (the paper's default) draws
        ``-exp(N(0, 1))`` clipped at -1.
    lambda_resample_every : int or None, default=None
        None keeps ``boxcox_lambda``; ``n`` re-draws ``lambda ~ U(-1, 1)`` from
        the fit's generator every ``n`` epochs (the paper's ablation).
    batch_norm : bool, default=True
        Batch normalisation after every hidden linear layer of the default MLP
        (the paper's networks); ``predict`` uses its running statistics.
        Ignored when ``module`` is given. A batch of one row cannot be
        normalised, so ``partial_fit`` then needs chunks of two rows or more.
    lr_schedule : {"constant", "cosine"}, default="cosine"
        "cosine" anneals the learning rate from ``learning_rate_init`` to 0 over
        ``max_iter`` epochs (a skorch ``LRScheduler`` with
        ``CosineAnnealingLR``, the paper's recipe); "constant" keeps it.
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    skloss.losses.EnsLoss : The loss, usable in any torch loop.
    skloss.RobustLossClassifier : With ``loss="ensloss"``, trains the same loss with
        that estimator's defaults.
    sklearn.calibration.CalibratedClassifierCV : Post-hoc calibration of
        ``predict_proba``.
    sklearn.multiclass.OneVsRestClassifier : One separate binary model per class,
        where this estimator trains one-vs-rest heads in one network.

    Notes
    -----
    **What is recorded.** The batch objective ``mean(w * g.detach() * z)`` is a
    vehicle for its gradient, not a loss value; the history's ``train_loss``
    (and ``valid_loss`` with ``early_stopping``), the ``verbose`` log, the stopping
    rule and ``loss_curve_`` record the batch's binary cross-entropy instead.

    **Scores and probabilities.** For two classes ``decision_function`` is the
    logit ``f(x)``; ``predict`` is ``f(x) > 0``. ``predict_proba`` returns
    ``sigmoid(f(x))``, which is *not* a calibrated probability: the random
    losses are calibrated for classification (their minimiser has the sign of
    ``2 P(y=1|x) - 1``) but not proper scoring rules, so their minimiser is not
    ``logit P(y=1|x)``.
    Wrap the estimator in
    ``sklearn.calibration.CalibratedClassifierCV(..., method="sigmoid")`` (Platt
    scaling on held-out folds) when probabilities matter.

    **batch_size.** A sample's derivative depends on its rank among the margins
    of its batch. Small batches make every step's loss noisier; large batches
    make the drawn derivatives follow their distribution closely, so each step's
    loss is nearly one fixed convex loss (less ensembling). The paper uses 128,
    the default here.

    **Sample weights** multiply each sample's term: the gradient of sample ``i``
    is ``w_i g_i y_i / B``; a weight is not a repetition (a copy takes a rank).

    **More than two classes** train one-vs-rest heads in one network: ``K``
    logits, column ``k`` the binary EnsLoss of class ``k`` against the rest
    (margins ``y_ik f_k(x_i)``, ``y_ik = +1`` for class ``k``, -1 otherwise).
    Every batch, each column draws its own derivatives, ranked among its own
    margins (ties shared within the column) and scaled past margin 1, so each
    keeps the three conditions for its binary problem; the columns' objectives
    are summed, so head ``k`` gets the gradient ``w_i g_ik y_ik / B`` a binary
    model of class ``k`` would get, and a row's weight multiplies all its
    columns. ``decision_function`` returns the ``K`` logits,
    ``(n_samples, n_classes)``; ``predict`` their argmax; ``predict_proba`` the
    column sigmoids divided by their sum (as ``OneVsRestClassifier``), rows
    summing to 1, argmax that of ``predict``, and not calibrated. The argmax is
    Bayes-consistent only where some class has ``P(y = k | x) > 1/2``: a
    classification-calibrated (not proper) loss recovers the sign of
    ``P(y = k | x) - 1/2``, not the probability. How the heads compare with
    one-vs-rest models, BCE heads and softmax cross-entropy, and why to keep
    batch normalisation with Adam: the EnsLoss user guide.

    **Defaults** are the paper's recipe (SGD with momentum 0.9, cosine schedule,
    batch normalisation, batch 128) at learning rate 0.01 and 100 epochs at
    most, on one hidden layer of 100 (``MLPClassifier``'s); the EnsLoss user
    guide has the measurements behind them.

    References
    ----------
    .. [1] B. Dai, "EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing
       Overfitting in Classification", ICML 2025, arXiv:2409.00908.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import EnsLossClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     EnsLossClassifier(random_state=0)).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseLossClassifier._parameter_constraints,
        "boxcox_lambda": [Interval(Real, -1, 1, closed="both")],
        "lambda_resample_every": [None, Interval(Integral, 1, None, closed="left")],
        "batch_norm": ["boolean"],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
    }

    def __init__(
        self,
        boxcox_lambda=0.0,
        *,
        lambda_resample_every=None,
        batch_norm=True,
        lr_schedule="cosine",
        hidden_layer_sizes=(100,),
        activation="relu",
        alpha=1e-4,
        batch_size=128,
        learning_rate_init=0.01,
        max_iter=100,
        optimizer="sgd",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=False,
        warm_start=False,
        module=None,
        device="auto",
        class_weight=None,
        callbacks=None,
        fused="auto",
        precision="32",
        inference_precision="32",
    ):
        self.boxcox_lambda = boxcox_lambda
        self.lambda_resample_every = lambda_resample_every
        self.batch_norm = batch_norm
        self.lr_schedule = lr_schedule
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
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.fused = fused
        self.precision = precision
        self.inference_precision = inference_precision

    def _make_loss(self):
        return get_loss(
            EnsLoss(
                boxcox_lambda=self.boxcox_lambda,
                lambda_resample_every=self.lambda_resample_every,
            )
        )

    def _uses_batch_norm(self):
        return bool(self.batch_norm) and self.module is None

    def _resolved_batch_size(self, n_samples):
        size = super()._resolved_batch_size(n_samples)
        if not self._uses_batch_norm():
            return size
        if n_samples < 2:
            raise ValueError(
                f"batch_norm=True cannot train on {n_samples} row(s): batch normalisation "
                "needs batches of at least 2 rows. Pass partial_fit chunks of 2 rows or "
                "more, or set batch_norm=False."
            )
        if size < 2:
            raise ValueError(
                "batch_size=1 with batch_norm=True: batch normalisation needs batches of at "
                "least 2 rows. Set batch_size >= 2 or batch_norm=False."
            )
        # A last batch of one row cannot be normalised: grow the batch until none is
        # left over (size = n_samples always works).
        while n_samples % size == 1:
            size += 1
        return size

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features of this chunk; with ``batch_norm``, at least 2 rows.
        y : array-like of shape (n_samples,)
            Labels of this chunk.
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        if self._uses_batch_norm() and _num_samples(X) < 2:
            self._resolved_batch_size(_num_samples(X))  # raises, naming the fix
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    @property
    def out_activation_(self):
        """The output activation, as in :class:`~sklearn.neural_network.MLPClassifier`.

        Returns
        -------
        str
            ``"logistic"``: one sigmoid per (one-vs-rest) output.
        """
        if "net_" not in self.__dict__:
            raise AttributeError("the estimator is not fitted yet.")
        return "logistic"

    def _default_module(self, n_features, n_outputs, seed):
        if not self.batch_norm:
            return super()._default_module(n_features, n_outputs, seed)
        hidden = hidden_sizes(self.hidden_layer_sizes)
        return default_mlp(n_features, n_outputs, hidden, self.activation, seed, batch_norm=True)

    def _extra_callbacks(self):
        if self.lr_schedule != "cosine":
            return []
        return [("lr_schedule", LRScheduler(policy="CosineAnnealingLR", T_max=self.max_iter))]
