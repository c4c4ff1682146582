"""AnyLoss: a confusion-matrix metric of the batch, made differentiable, as the loss.

Han, Moniz and Chawla (KDD 2024) replace each hard prediction by the amplified
probability ``yhat = A(p) = 1 / (1 + exp(-L (p - 0.5)))``, which is close to 0 or
1 except near the threshold ``p = 0.5``. Summing ``yhat`` against the labels gives a
*soft confusion matrix* (TP, FN, FP, TN) that equals the hard one when every
probability is 0 or 1, and any metric written with these four counts becomes a
differentiable loss ``1 - metric``.

The loss is a property of the **whole batch**, not a sum over samples: it is a
batch-level :class:`~skloss.losses.Loss` (``batch_level = True``) whose training
objective is :meth:`AnyLoss.batch_loss` and which has no per-sample values.
Sample weights enter the counts (``TP = sum(w * y * yhat)``), which makes an
integer weight exactly equivalent to repeating the sample.

Beyond the paper: the Matthews correlation coefficient, any user-supplied
metric, and more than two classes through one-vs-rest confusion matrices with a
macro or micro average.
"""

import torch
import torch.nn.functional as F

from ._base import Loss, OneLogitBinary
from ._validation import real_parameter

__all__ = [
    "AnyLoss",
    "METRICS",
    "PRESETS",
    "amplified_prediction",
    "soft_confusion_matrix",
    "confusion_metric",
]

#: Metric names accepted by :class:`AnyLoss`.
METRICS = ("accuracy", "f1", "fbeta", "gmean", "balanced_accuracy", "mcc")

_AVERAGES = ("macro", "micro")

#: Added to every denominator so that a batch without positives (or without
#: predicted positives) gives a finite value instead of 0/0. Counts are sums of
#: sample weights, so this is 1e-7 of a sample: far below any real count.
EPSILON = 1e-7


# ---- the soft confusion matrix ----------------------------------------------------------


def _wide_dtype(logits):
    # float64 everywhere but on devices without it (Apple's MPS).
    return torch.float32 if logits.device.type == "mps" else torch.float64


def amplified_prediction(probabilities, amplification=73.0):
    """The approximated hard prediction ``A(p) = 1 / (1 + exp(-L (p - 0.5)))``.

    Parameters
    ----------
    probabilities : torch.Tensor of shape (n_samples,) or (n_samples, n_classes)
        Probability ``p`` of the positive class (1-D), or of every class (2-D,
        rows summing to 1).
    amplification : float, default=73.0
        The amplification ``L > 0``. The larger, the closer ``A`` is to a step
        and the narrower the band of ``p`` around the threshold that receives
        gradient.

    Returns
    -------
    torch.Tensor
        ``A`` in float64, same shape as ``probabilities``: the soft version of
        "``p > 0.5``" (1-D), or of "class ``k`` is the argmax" (2-D).

    Notes
    -----
    For several classes, ``A_k = 1 / (1 + exp(-L/2 (p_k - max_{j != k} p_j)))``:
    the soft indicator that class ``k`` wins the argmax, which is the prediction
    the classifier makes. With two classes it is the binary ``A(p)``, since
    ``p_1 - p_0 = 2 (p_1 - 0.5)``. (Thresholding each ``p_k`` at 0.5 instead
    would leave a network that starts at ``p_k = 1 / n_classes`` without any
    gradient, as ``A(1/3)`` is ~5e-6.)

    ``A`` is evaluated in float64: there ``A(1) = 1 - 1.4e-16 < 1`` for
    ``L = 73`` (the paper's choice, the largest integer for which this holds),
    whereas in float32 ``A(1)`` rounds to exactly 1 for every ``L >= 34``.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([0.0, 0.45, 0.5, 0.55, 1.0], dtype=torch.float64)
    >>> amplified_prediction(p).numpy().round(4)
    array([0.    , 0.0253, 0.5   , 0.9747, 1.    ])
    """
    probabilities = probabilities.to(_wide_dtype(probabilities))
    if probabilities.ndim == 1:
        return torch.sigmoid(amplification * (probabilities - 0.5))
    # The strongest rival of each class: the row's maximum, or for the argmax
    # class itself the runner-up.
    top = probabilities.topk(2, dim=1)
    classes = torch.arange(probabilities.shape[1], device=probabilities.device)
    is_top = classes[None, :] == top.indices[:, :1]
    rival = torch.where(is_top, top.values[:, 1:2], top.values[:, :1])
    return torch.sigmoid(0.5 * amplification * (probabilities - rival))


def soft_confusion_matrix(probabilities, target, *, amplification=73.0, sample_weight=None):
    """Soft confusion-matrix counts ``(tp, fn, fp, tn)`` from probabilities.

    With ``yhat = A(p)`` (see :func:`amplified_prediction`) and ``y`` the 0/1
    label, ``tp = sum(w y yhat)``, ``fn = sum(w y (1 - yhat))``,
    ``fp = sum(w (1 - y) yhat)`` and ``tn = sum(w (1 - y) (1 - yhat))``; they add
    up to the batch size (the sum of the weights). When every probability is 0 or
    1 they equal the hard confusion matrix of the predictions ``p > 0.5``
    (1-D) or ``argmax p`` (2-D, one one-vs-rest matrix per class).

    Parameters
    ----------
    probabilities : torch.Tensor of shape (n_samples,) or (n_samples, n_classes)
        Probability of the positive class (1-D), or of every class (2-D, rows
        summing to 1), which gives one one-vs-rest confusion matrix per class
        with the argmax as the prediction.
    target : torch.Tensor of shape (n_samples,)
        Labels: 0/1 for 1-D ``probabilities``, class indices otherwise.
    amplification : float, default=73.0
        The amplification ``L`` of :func:`amplified_prediction`.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Weight of each sample in the counts; None counts every sample once.

    Returns
    -------
    tp, fn, fp, tn : torch.Tensor
        Float64 scalars for 1-D ``probabilities``, else tensors of shape
        ``(n_classes,)``.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])
    >>> y = torch.tensor([1, 1, 0, 0, 0])
    >>> [round(float(c), 6) for c in soft_confusion_matrix(p, y)]
    [1.0, 1.0, 1.0, 2.0]
    """
    predicted = amplified_prediction(probabilities, amplification)
    if predicted.ndim == 1:
        positive = (target == 1).to(torch.float64)
    else:
        positive = F.one_hot(target, predicted.shape[1]).to(torch.float64)
    negative = 1.0 - positive
    if sample_weight is not None:
        weight = torch.as_tensor(sample_weight, dtype=torch.float64, device=predicted.device)
        weight = weight if predicted.ndim == 1 else weight[:, None]
        positive, negative = positive * weight, negative * weight
    # Each count is its own sum rather than, say, tn = n - sum(y) - sum(yhat) + tp:
    # the same quantity without the cancellation, and an exact 0 where a class is
    # absent from the batch (which the metrics' 0/0 guards rely on).
    tp = (positive * predicted).sum(dim=0)
    fn = (positive * (1.0 - predicted)).sum(dim=0)
    fp = (negative * predicted).sum(dim=0)
    tn = (negative * (1.0 - predicted)).sum(dim=0)
    return tp, fn, fp, tn


# ---- metrics of the four counts -----------------------------------------------------------


def _accuracy(tp, fn, fp, tn):
    return (tp + tn) / (tp + fn + fp + tn + EPSILON)


def _f_beta(tp, fn, fp, tn, beta):
    beta2 = beta * beta
    return (1.0 + beta2) * tp / ((1.0 + beta2) * tp + beta2 * fn + fp + EPSILON)


def _f1(tp, fn, fp, tn):
    return _f_beta(tp, fn, fp, tn, 1.0)


def _safe_sqrt(x):
    # sqrt has an infinite derivative at 0, reached when a batch has no positives
    # or nothing predicted positive; below EPSILON**2 the value is frozen (an error
    # of at most EPSILON) and its gradient is 0 instead of inf * 0 = NaN.
    return torch.sqrt(torch.clamp(x, min=EPSILON * EPSILON))


def _gmean(tp, fn, fp, tn):
    recall = tp / (tp + fn + EPSILON)
    specificity = tn / (tn + fp + EPSILON)
    return _safe_sqrt(recall * specificity)


def _balanced_accuracy(tp, fn, fp, tn):
    return 0.5 * (tp / (tp + fn + EPSILON) + tn / (tn + fp + EPSILON))


def _mcc(tp, fn, fp, tn):
    numerator = tp * tn - fp * fn
    denominator = _safe_sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return numerator / denominator


_METRIC_FUNCTIONS = {
    "accuracy": _accuracy,
    "f1": _f1,
    "gmean": _gmean,
    "balanced_accuracy": _balanced_accuracy,
    "mcc": _mcc,
}


def confusion_metric(tp, fn, fp, tn, metric="f1", *, beta=1.0):
    """A classification metric of (soft) confusion-matrix counts.

    Every denominator gets ``EPSILON = 1e-7`` added, so that undefined cases
    (no positives, nothing predicted positive) give 0 where scikit-learn's
    ``zero_division=0`` does, and finite gradients.

    Parameters
    ----------
    tp, fn, fp, tn : torch.Tensor
        Counts of the same shape (scalars, or one per class); float64 advised.
    metric : {"accuracy", "f1", "fbeta", "gmean", "balanced_accuracy", "mcc"}, default="f1"
        - ``"accuracy"``: ``(tp + tn) / n``;
        - ``"f1"``: ``2 tp / (2 tp + fp + fn)``;
        - ``"fbeta"``: ``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)``;
        - ``"gmean"``: ``sqrt(TPR * TNR)`` with ``TPR = tp / (tp + fn)`` and
          ``TNR = tn / (tn + fp)``;
        - ``"balanced_accuracy"``: ``(TPR + TNR) / 2``;
        - ``"mcc"``: Matthews correlation
          ``(tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn))``, in
          ``[-1, 1]``.
    beta : float, default=1.0
        ``b`` of ``"fbeta"``; ignored by the other metrics.

    Returns
    -------
    torch.Tensor
        The metric, element-wise over the counts.

    Examples
    --------
    >>> import torch
    >>> tp, fn, fp, tn = (torch.tensor(v, dtype=torch.float64) for v in (3.0, 1.0, 2.0, 4.0))
    >>> round(float(confusion_metric(tp, fn, fp, tn, "f1")), 6)
    0.666667
    """
    if metric == "fbeta":
        return _f_beta(tp, fn, fp, tn, beta)
    if metric not in _METRIC_FUNCTIONS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")
    return _METRIC_FUNCTIONS[metric](tp, fn, fp, tn)


# ---- the losses ------------------------------------------------------------------------------


class AnyLoss(OneLogitBinary, Loss):
    """``1 - metric`` of the batch's soft confusion matrix (Han et al., 2024).

    Parameters
    ----------
    metric : {"accuracy", "f1", "fbeta", "gmean", "balanced_accuracy", "mcc"} or callable, \
default="f1"
        The metric to maximise; see :func:`confusion_metric` for the formulas. A
        callable ``metric(tp, fn, fp, tn) -> torch.Tensor`` made of element-wise
        torch operations is used as is (it receives float64 scalars, or tensors
        of shape ``(n_classes,)`` for the macro average, and must return a
        tensor of the same shape; keep its denominators away from 0).
    beta : float, default=1.0
        Weight of recall against precision in ``metric="fbeta"``, ``> 0``.
    amplification : float, default=73.0
        ``L`` in ``A(p) = 1 / (1 + exp(-L (p - 0.5)))``, ``> 0``. With
        ``L = 73`` only samples with ``p`` roughly in ``(0.4, 0.6)`` carry
        gradient; a smaller ``L`` widens that band and blurs the step.
    average : {"macro", "micro"}, default="macro"
        For more than two classes: ``"macro"`` applies the metric to each
        one-vs-rest confusion matrix and averages; ``"micro"`` applies it to the
        sum of those matrices. Ignored for two classes, where the metric is that
        of the positive class (the second one).

    Notes
    -----
    **Outputs.** Two classes take one logit ``z``, ``p = sigmoid(z)``
    (:meth:`n_outputs` is 1); more classes take one logit per class and
    ``p = softmax(z)``. Probabilities and counts are computed in float64 and the
    loss is returned in the logits' dtype.

    **A batch-level loss.** The loss is a function of the whole batch, so it
    has no per-sample values: :meth:`per_sample` and ``reduction="none"``
    raise, and the training step calls :meth:`batch_loss`. ``sample_weight``
    weights the soft counts; ``reduction="mean"`` (the default) is the loss of
    the weighted batch and ``"sum"`` the weights' total times it: an integer
    weight is exactly a repeated sample, as for per-sample losses. The value
    depends on the batch size and composition; a batch with no positives
    carries no F1 or recall signal, so train with batches of a few hundred
    samples.

    **Registry presets.** ``get_loss("anyloss_f1")`` (and ``anyloss_accuracy``,
    ``anyloss_fbeta``, ``anyloss_gmean``, ``anyloss_balanced_accuracy``,
    ``anyloss_mcc``) is ``AnyLoss(metric="f1")`` and so on, see :data:`PRESETS`.

    **Several classes.** Each class ``k`` gets a one-vs-rest confusion matrix in
    which the soft prediction is "``k`` wins the argmax" (see
    :func:`amplified_prediction`), so that the hard version is the confusion
    matrix of ``predict``. ``average="macro"`` with ``"f1"`` gives the macro-F1.
    For ``"balanced_accuracy"`` it is the mean of the per-class
    ``(TPR + TNR) / 2``, not :func:`sklearn.metrics.balanced_accuracy_score`
    (the mean TPR alone); for ``"accuracy"`` both averages equal
    ``1 - 2 (1 - accuracy) / n_classes`` on hard predictions, an increasing
    function of the accuracy; its soft form prefers confident wrong predictions
    to uncertain ones from five classes on, so ``metric="accuracy"`` refuses
    them (:meth:`why_cannot_train`). ``average="micro"`` with ``"f1"`` is the
    micro-F1, which equals the accuracy.

    References
    ----------
    .. [1] D. Han, N. Moniz and N. V. Chawla, "AnyLoss: Transforming
       Classification Metrics into Loss Functions", KDD 2024.

    Examples
    --------
    >>> import torch
    >>> loss = AnyLoss(metric="f1")
    >>> logits = torch.tensor([[4.0], [-4.0], [4.0], [-4.0]])  # p near 1, 0, 1, 0
    >>> target = torch.tensor([1, 1, 0, 0])
    >>> round(float(loss(logits, target)), 4)  # 1 - F1 with TP = FN = FP = 1
    0.5
    """

    name = "anyloss"
    search_space = {"amplification": ("float", 5.0, 100.0, "log")}
    batch_level = True

    def __init__(self, metric="f1", beta=1.0, amplification=73.0, average="macro"):
        self.metric = metric
        self.beta = beta
        self.amplification = amplification
        self.average = average

    def validate(self):
        """Check every hyperparameter; the message names the bad one.

        A callable ``metric`` is tried once on a small confusion matrix, so that a
        metric that does not return a tensor fails here, before any training.
        """
        cls = type(self).__name__
        metric = self.metric
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(
                    f"{cls} parameter 'metric' must be one of {METRICS} or a callable "
                    f"metric(tp, fn, fp, tn) -> tensor, got {metric!r}."
                )
        elif callable(metric):
            self._check_metric_output(
                *(torch.tensor(v, dtype=torch.float64) for v in (3.0, 1.0, 2.0, 4.0))
            )
        else:
            raise ValueError(
                f"{cls} parameter 'metric' must be one of {METRICS} or a callable "
                f"metric(tp, fn, fp, tn) -> tensor, got {type(metric).__name__}."
            )
        if not real_parameter(self, "beta") > 0:
            raise ValueError(f"{cls} parameter 'beta' must be > 0, got {self.beta!r}.")
        if not real_parameter(self, "amplification") > 0:
            raise ValueError(
                f"{cls} parameter 'amplification' must be > 0, got {self.amplification!r}; "
                "the paper uses 73."
            )
        if self.average not in _AVERAGES:
            raise ValueError(
                f"{cls} parameter 'average' must be one of {_AVERAGES}, got {self.average!r}."
            )

    def why_cannot_train(self, n_classes):
        """Refuse ``metric="accuracy"`` with five classes or more.

        The accuracy of several classes is the mean of the one-vs-rest
        accuracies, whose soft form rewards lowering every ``A_k`` of a row: a
        row's share is ``A_y - sum_{k != y} A_k`` (up to a constant), which is
        ``1 - K/2`` for an uncertain row (every ``A_k ~ 1/2``, the uniform start)
        and ``-1`` for a confidently wrong one. From ``K = 5`` on the wrong
        answer scores higher, and training collapses onto a few classes.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.

        Returns
        -------
        str or None
            The reason for ``metric="accuracy"`` and ``n_classes >= 5``, else None.
        """
        if isinstance(self.metric, str) and self.metric == "accuracy" and n_classes >= 5:
            return (
                f"loss {self!r} cannot train {n_classes} classes: its accuracy is the mean "
                "of the one-vs-rest accuracies, whose soft form scores a confidently wrong "
                "prediction above an uncertain one from 5 classes on, so training from a "
                "uniform start collapses onto a few classes. Use metric='f1' (macro-F1) or "
                "loss='ce' for a multiclass accuracy."
            )
        return super().why_cannot_train(n_classes)

    def _check_metric_output(self, tp, fn, fp, tn):
        value = self.metric(tp, fn, fp, tn)
        if not isinstance(value, torch.Tensor) or value.shape != tp.shape:
            got = (
                f"shape {tuple(value.shape)}"
                if isinstance(value, torch.Tensor)
                else type(value).__name__
            )
            raise ValueError(
                f"{type(self).__name__} parameter 'metric': the callable must return a torch "
                f"tensor of the counts' shape {tuple(tp.shape)} (use torch operations on tp, "
                f"fn, fp, tn so that it can be differentiated), got {got}."
            )
        return value

    def metric_value(self, tp, fn, fp, tn):
        """The metric of the counts (element-wise), before any averaging.

        Parameters
        ----------
        tp, fn, fp, tn : torch.Tensor
            Soft or hard confusion-matrix counts of the same shape.

        Returns
        -------
        torch.Tensor
            The metric, element-wise, of the counts' shape.
        """
        if callable(self.metric):
            return self._check_metric_output(tp, fn, fp, tn)
        return confusion_metric(tp, fn, fp, tn, self.metric, beta=float(self.beta))

    def batch_metric(self, logits, target, sample_weight=None):
        """The metric of the batch's soft confusion matrix (averaged over classes).

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
            A float64 scalar; the loss is one minus it.
        """
        # float64 keeps A(p) below 1 (see amplified_prediction) and the counts
        # exact to ~1e-16; the cost is that of a few vectors per batch.
        probabilities = self.link(logits.to(_wide_dtype(logits)))
        if probabilities.shape[1] == 1:
            probabilities = probabilities[:, 0]
        counts = soft_confusion_matrix(
            probabilities,
            target,
            amplification=float(self.amplification),
            sample_weight=sample_weight,
        )
        if probabilities.ndim == 2 and self.average == "micro":
            counts = tuple(c.sum() for c in counts)
        return self.metric_value(*counts).mean()

    def batch_loss(self, logits, target, sample_weight=None, **context):
        """The batch loss ``1 - metric`` of the (weighted) soft confusion matrix.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Weights of the samples in the soft counts. The metrics are ratios of
            counts, so rescaling every weight leaves the loss unchanged.
        **context
            Ignored: the loss needs nothing but the logits.

        Returns
        -------
        torch.Tensor
            A scalar in the logits' dtype.

        Examples
        --------
        >>> import torch
        >>> logits = torch.tensor([[4.0], [-4.0], [4.0], [-4.0]])  # p near 1, 0, 1, 0
        >>> target = torch.tensor([1, 1, 0, 0])
        >>> weight = torch.tensor([2.0, 1.0, 1.0, 1.0])  # TP = 2, FN = FP = 1
        >>> round(AnyLoss(metric="f1").batch_loss(logits, target, weight).item(), 4)
        0.3333
        """
        n_samples = target.shape[0]
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight, device=logits.device)
            if tuple(sample_weight.shape) != (n_samples,):
                raise ValueError(
                    "sample_weight must have one value per sample: expected shape "
                    f"({n_samples},), got {tuple(sample_weight.shape)}."
                )
        loss = 1.0 - self.batch_metric(logits, target, sample_weight)
        return loss.to(logits.dtype)

    def per_sample(self, logits, target, **context):
        """Refused: a batch-level loss has no per-sample values.

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
            Always; call the loss (``loss(logits, target)``) or
            :meth:`batch_loss` instead.
        """
        raise TypeError(
            f"{type(self).__name__} is a batch-level loss (a metric of the whole batch's "
            "soft confusion matrix), so it has no per-sample values; call "
            "loss(logits, target, sample_weight=...) or loss.batch_loss(...) instead."
        )


#: Registry presets: name -> (class, fixed parameters). ``get_loss("anyloss_f1")``
#: is ``AnyLoss(metric="f1")``; the other parameters stay free
#: (``get_loss("anyloss_fbeta", beta=2.0)``).
PRESETS = {
    "anyloss_accuracy": (AnyLoss, {"metric": "accuracy"}),
    "anyloss_f1": (AnyLoss, {"metric": "f1"}),
    "anyloss_fbeta": (AnyLoss, {"metric": "fbeta"}),
    "anyloss_gmean": (AnyLoss, {"metric": "gmean"}),
    "anyloss_balanced_accuracy": (AnyLoss, {"metric": "balanced_accuracy"}),
    "anyloss_mcc": (AnyLoss, {"metric": "mcc"}),
}
