"""``AnyLossClassifier``: an MLP trained to maximise a confusion-matrix metric directly."""

import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from skloss._docstrings import Substitution, attribute_block, parameter_block
from skloss._targets import BaseLossClassifier
from skloss.losses import get_loss
from skloss.losses.metric import METRICS, AnyLoss

__all__ = ["AnyLossClassifier"]

_BATCH_SIZE_DOC = """    batch_size : int or "auto", default=512
        Minibatch size (at most ``n_samples``); "auto" is ``min(200, n_samples)``.
        The loss is a metric of each batch: a batch needs enough positives for
        its F1 or recall to mean something, so prefer a few hundred samples at
        least, more for rarer positives."""


_CLASSES_DOC = """    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted; ``classes_[1]`` is the positive class of a binary
        problem."""
_LOSS_CURVE_DOC = """    loss_curve_ : list of float
        Mean training loss (``1 - metric``, averaged over batches) of each epoch."""
_LOSS_FUNCTION_DOC = """    loss_function_ : skloss.losses.metric.AnyLoss
        The loss trained with."""


@Substitution(
    common_parameters=parameter_block(batch_size=_BATCH_SIZE_DOC),
    common_attributes=attribute_block(
        classes_=_CLASSES_DOC, loss_curve_=_LOSS_CURVE_DOC, loss_function_=_LOSS_FUNCTION_DOC
    ),
)
class AnyLossClassifier(BaseLossClassifier):  # numpydoc ignore=PR01,PR02,PR04,PR07
    """A neural-network classifier trained to maximise F1, G-mean, MCC, ... directly.

    AnyLoss (Han, Moniz and Chawla, KDD 2024) turns the confusion matrix into a
    differentiable function of the predicted probabilities, so the training loss
    is ``1 - metric`` of each batch: the F1 score, F-beta, balanced accuracy,
    G-mean, MCC, accuracy or any metric of (TP, FN, FP, TN). On imbalanced data
    this replaces training on cross-entropy and then tuning a decision threshold.

    Predictions threshold ``p`` at 0.5, the point the loss was trained around;
    ``predict_proba`` returns ``p``. Interface and defaults otherwise follow
    :class:`sklearn.neural_network.MLPClassifier`.

    Parameters
    ----------
    metric : {"f1", "fbeta", "balanced_accuracy", "gmean", "mcc", "accuracy"} or \
callable, default="f1"
        The metric to maximise (see :func:`skloss.losses.metric.confusion_metric`),
        or a callable ``metric(tp, fn, fp, tn) -> torch.Tensor`` of element-wise
        torch operations.
    beta : float, default=1.0
        Weight of recall against precision for ``metric="fbeta"``.
    amplification : float, default=73.0
        ``L`` in the approximated prediction ``A(p) = 1 / (1 + exp(-L (p - 0.5)))``.
        With 73 (the paper's value) only samples with ``p`` roughly in
        ``(0.4, 0.6)`` carry gradient, which is why the network starts at
        ``p = 0.5`` (see Notes).
    average : {"macro", "micro"}, default="macro"
        For more than two classes: average of the metric over one-vs-rest
        confusion matrices (``"macro"``), or the metric of their sum
        (``"micro"``).
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    skloss.RobustLossClassifier : The same network with a per-sample loss;
        ``loss="anyloss_f1"`` trains it with this loss too (but keeps its own
        initialisation and batch size).
    sklearn.model_selection.TunedThresholdClassifierCV : The alternative of
        tuning the decision threshold of a cross-entropy model.

    Notes
    -----
    Two classes use one output logit ``z`` and ``p = sigmoid(z)``; more classes use
    a softmax and one-vs-rest confusion matrices.

    **Initialisation.** When ``module`` is None, the last layer of the default
    MLP starts at zero, so every sample starts at ``p = 0.5``, inside the band
    where the loss has gradient. A ``module`` you pass is used as built.

    **Sample weights** weight the soft counts (``TP = sum(w y yhat)``...), so an
    integer weight is a repeated sample.

    **Collapse.** The loss is flat wherever every ``p`` is far from 0.5: once the
    network predicts one class for every sample with confidence, it stays
    there. Starting at ``p = 0.5`` with batches of a few hundred prevents this
    for F1, G-mean and balanced accuracy in the imbalanced benchmarks (the
    AnyLoss user guide counts the collapses per metric); the accuracy metric on
    imbalanced data collapses to the majority class anyway (that is its optimum
    under soft counts). Starting from a cross-entropy
    model is *not* a cure: on imbalanced data it leaves the minority class at
    ``p`` well below 0.4, where the loss has no gradient. ``fit`` warns
    (``ConvergenceWarning``) when it ends predicting a single class on its
    training data.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.metrics import f1_score
    >>> from skloss.anyloss import AnyLossClassifier
    >>> X, y = make_classification(n_samples=600, weights=[0.9], random_state=0)
    >>> clf = AnyLossClassifier(metric="f1", max_iter=30, tol=1e-2, n_iter_no_change=2,
    ...                         random_state=0).fit(X, y)
    >>> f1_score(y, clf.predict(X)) > 0.7
    True
    """

    _parameter_constraints = {
        **BaseLossClassifier._parameter_constraints,
        "metric": [StrOptions(set(METRICS)), callable],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "amplification": [Interval(Real, 0, None, closed="neither")],
        "average": [StrOptions({"macro", "micro"})],
    }

    def __init__(
        self,
        metric="f1",
        *,
        beta=1.0,
        amplification=73.0,
        average="macro",
        hidden_layer_sizes=(100,),
        activation="relu",
        alpha=1e-4,
        batch_size=512,
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
        self.metric = metric
        self.beta = beta
        self.amplification = amplification
        self.average = average
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
            AnyLoss(
                metric=self.metric,
                beta=self.beta,
                amplification=self.amplification,
                average=self.average,
            )
        )

    def fit(self, X, y, sample_weight=None):
        """Train the network to maximise the metric on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features.
        y : array-like of shape (n_samples,)
            Labels of any hashable type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the soft confusion-matrix counts.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        super().fit(X, y, sample_weight=sample_weight)
        predicted = np.unique(self.predict(X))
        if len(predicted) == 1:
            # The metric's gradient vanishes once every p is far from 0.5, so more
            # epochs would not leave this state: say so rather than fail silently.
            warnings.warn(
                f"{type(self).__name__}: training collapsed to predicting the single class "
                f"{predicted[0]!r} for every training sample (metric={self.metric!r}); the "
                "loss has no gradient there. Use a metric that rewards the minority class "
                "(f1, balanced_accuracy, gmean, mcc), a larger batch_size or a lower "
                "learning_rate_init.",
                ConvergenceWarning,
            )
        return self

    def _build_module(self, n_features, n_outputs, seed):
        module = super()._build_module(n_features, n_outputs, seed)
        if self.module is None:
            # p = 0.5 for every sample at the start: A(p) is steep only near 0.5,
            # and a random last layer would put many samples where the loss is flat.
            with torch.no_grad():
                module.head.weight.zero_()
                module.head.bias.zero_()
        return module
