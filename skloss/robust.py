"""``RobustLossClassifier``: an MLP classifier trained with any registered loss."""

from skloss._docstrings import Substitution, attribute_block, parameter_block
from skloss._targets import BaseLossClassifier
from skloss.losses import Loss, get_loss

__all__ = ["RobustLossClassifier"]


@Substitution(common_parameters=parameter_block(), common_attributes=attribute_block())
class RobustLossClassifier(BaseLossClassifier):  # numpydoc ignore=PR01,PR02,PR04,PR07
    """A neural-network classifier trained with a pluggable loss.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    (same parameter names and defaults) whose loss is a choice: the comp-sum
    family (CE, GCE, MAE, sum-exp), symmetric losses (SCE, NCE+RCE), focal,
    label-distributionally robust LDR-KL and adaptive ALDR-KL, truncated GCE,
    self-adjusting Dice, Z-loss, the confidence-limiting DCO, the pairwise AUC loss
    (binary), or any :class:`skloss.losses.Loss`. Bounded losses (``gce``, ``mae``, ``comp_sum``
    with ``tau > 1``) resist label noise. Trains through skorch: the fitted net is
    ``net_``.

    Learning from label proportions (each bag of rows knows only its share of
    positives): ``fit(X, shares, bags=...)`` with ``loss="bag_bce"`` (DLLP
    and its interpolation toward the instance level; binary).

    Parameters
    ----------
    loss : str, skloss.losses.Loss, torch loss module or class, or callable, default="ce"
        A registry name (see ``skloss.losses.LOSSES``) or a loss object, whose
        hyperparameters can be searched as ``loss__<name>``; or a torch loss:
        a module such as ``torch.nn.CrossEntropyLoss(label_smoothing=0.1)``,
        its class, or a function ``f(logits, target) -> per-sample tensor``
        (see :class:`skloss.losses.TorchLoss`). The default, cross-entropy, is
        ``MLPClassifier``'s loss; why no bounded loss replaced it is in the
        robust-losses user guide ("Why the default is ce"). Under label noise,
        choose the loss and ``early_stopping`` by cross-validation (see that
        guide).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The estimator whose interface this follows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import RobustLossClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = RobustLossClassifier(loss="gce", learning_rate_init=0.05, batch_size=32,
    ...                            random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints = {
        **BaseLossClassifier._parameter_constraints,
        "loss": [str, Loss, callable],  # callable: a torch loss module, class or function
    }

    def __init__(
        self,
        loss="ce",
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
        class_weight=None,
        callbacks=None,
        fused="auto",
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
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.fused = fused
        self.precision = precision
        self.inference_precision = inference_precision

    def _make_loss(self):
        return get_loss(self.loss)
