"""Tests of the AnyLoss metric losses (``skloss.losses.metric``) and ``AnyLossClassifier``.

Expected values come from scikit-learn's metrics on hard predictions or from a
float64 numpy re-implementation of the soft confusion matrix written out here,
never from the code under test.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    matthews_corrcoef,
    multilabel_confusion_matrix,
    recall_score,
)
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skloss import RobustLossClassifier
from skloss._training.batches import Batch
from skloss.anyloss import AnyLossClassifier
from skloss.losses import get_loss
from skloss.losses.metric import (
    METRICS,
    AnyLoss,
    amplified_prediction,
    soft_confusion_matrix,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("single_torch_thread"),
]

L = 73.0


# ---- independent references ------------------------------------------------------------------


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_soft_counts(z, y, amplification=L, weight=None):
    """(tp, fn, fp, tn) per one-vs-rest class, written from the paper's formulas.

    ``z`` has one column (binary: ``p = sigmoid(z)``, ``yhat = A(p)``) or one per
    class (``p = softmax(z)``, ``yhat_k = sigmoid(L/2 (p_k - max_{j != k} p_j))``).
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    if z.shape[1] == 1:
        p = np_sigmoid(z[:, 0])
        yhat = np_sigmoid(amplification * (p - 0.5))[:, None]
        truth = (y == 1).astype(float)[:, None]
    else:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        rival = np.array([[np.delete(row, k).max() for k in range(len(row))] for row in p])
        yhat = np_sigmoid(amplification / 2 * (p - rival))
        truth = np.eye(z.shape[1])[y]
    w = w[:, None]
    tp = (w * truth * yhat).sum(axis=0)
    fp = (w * (1 - truth) * yhat).sum(axis=0)
    fn = (w * truth).sum(axis=0) - tp
    tn = w.sum() - (w * truth).sum(axis=0) - (w * yhat).sum(axis=0) + tp
    return tp, fn, fp, tn


def np_metric(name, tp, fn, fp, tn, beta=1.0):
    if name == "accuracy":
        return (tp + tn) / (tp + fn + fp + tn)
    if name in ("f1", "fbeta"):
        b2 = 1.0 if name == "f1" else beta**2
        return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)
    tpr, tnr = tp / (tp + fn), tn / (tn + fp)
    if name == "gmean":
        return np.sqrt(tpr * tnr)
    if name == "balanced_accuracy":
        return (tpr + tnr) / 2
    if name == "mcc":
        return (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    raise AssertionError(name)


def sk_binary_metric(name, y, pred, weight=None, beta=2.0):
    """scikit-learn's value of a binary metric of hard predictions."""
    kw = {"sample_weight": weight}
    if name == "accuracy":
        return accuracy_score(y, pred, **kw)
    if name == "f1":
        return f1_score(y, pred, zero_division=0, **kw)
    if name == "fbeta":
        return fbeta_score(y, pred, beta=beta, zero_division=0, **kw)
    if name == "gmean":
        tpr = recall_score(y, pred, pos_label=1, zero_division=0, **kw)
        tnr = recall_score(y, pred, pos_label=0, zero_division=0, **kw)
        return np.sqrt(tpr * tnr)
    if name == "balanced_accuracy":
        tpr = recall_score(y, pred, pos_label=1, zero_division=0, **kw)
        tnr = recall_score(y, pred, pos_label=0, zero_division=0, **kw)
        return (tpr + tnr) / 2
    if name == "mcc":
        return matthews_corrcoef(y, pred, **kw)
    raise AssertionError(name)


def hard_logits(pred, n_classes):
    """Logits whose probabilities are 0/1 in float64 (|z| = 200)."""
    if n_classes == 2:
        return torch.tensor(np.where(pred == 1, 200.0, -200.0)[:, None], dtype=torch.float64)
    z = np.full((len(pred), n_classes), -200.0)
    z[np.arange(len(pred)), pred] = 200.0
    return torch.tensor(z, dtype=torch.float64)


def random_labels(n, n_classes, seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)  # every class present
    return y


# ---- the soft confusion matrix ---------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_soft_confusion_matrix_equals_hard_one_for_0_1_probabilities_binary(weighted):
    y = random_labels(40, 2, 0)
    pred = random_labels(40, 2, 1)
    weight = np.random.RandomState(2).uniform(0.1, 3, 40) if weighted else None
    counts = soft_confusion_matrix(
        torch.tensor(pred, dtype=torch.float64),
        torch.tensor(y),
        sample_weight=None if weight is None else torch.tensor(weight),
    )
    tn, fp, fn, tp = confusion_matrix(y, pred, sample_weight=weight).ravel()
    np.testing.assert_allclose([float(c) for c in counts], [tp, fn, fp, tn], atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_soft_confusion_matrix_equals_hard_one_for_one_hot_probabilities(weighted):
    y = random_labels(50, 4, 0)
    pred = random_labels(50, 4, 1)
    weight = np.random.RandomState(2).uniform(0.1, 3, 50) if weighted else None
    tp, fn, fp, tn = soft_confusion_matrix(
        torch.tensor(np.eye(4)[pred]),
        torch.tensor(y),
        sample_weight=None if weight is None else torch.tensor(weight),
    )
    # multilabel_confusion_matrix gives [[tn, fp], [fn, tp]] for each class.
    expected = multilabel_confusion_matrix(y, pred, sample_weight=weight)
    np.testing.assert_allclose(tp.numpy(), expected[:, 1, 1], atol=1e-12)
    np.testing.assert_allclose(fn.numpy(), expected[:, 1, 0], atol=1e-12)
    np.testing.assert_allclose(fp.numpy(), expected[:, 0, 1], atol=1e-12)
    np.testing.assert_allclose(tn.numpy(), expected[:, 0, 0], atol=1e-12)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_soft_confusion_matrix_matches_numpy(n_outputs):
    generator = torch.Generator().manual_seed(0)
    z = 0.3 * torch.randn(30, n_outputs, generator=generator, dtype=torch.float64)
    y = torch.tensor(random_labels(30, max(n_outputs, 2), 3))
    weight = torch.rand(30, generator=generator, dtype=torch.float64)
    probabilities = torch.sigmoid(z[:, 0]) if n_outputs == 1 else torch.softmax(z, dim=1)
    counts = soft_confusion_matrix(probabilities, y, sample_weight=weight)
    expected = np_soft_counts(z.numpy(), y.numpy(), weight=weight.numpy())
    for got, want in zip(counts, expected, strict=True):
        np.testing.assert_allclose(np.atleast_1d(got.numpy()), want, rtol=1e-12, atol=1e-12)


def test_amplified_prediction_is_computed_in_float64():
    # In float32, A(1) = sigmoid(36.5) rounds to exactly 1; in float64 it stays below.
    one = torch.ones(1, dtype=torch.float32)
    assert amplified_prediction(one).dtype == torch.float64
    assert float(amplified_prediction(one)) < 1.0
    assert float(torch.sigmoid(torch.tensor(36.5, dtype=torch.float32))) == 1.0
    assert float(amplified_prediction(one, amplification=74.0)) == 1.0  # why 73 is the limit


def test_two_class_softmax_reduces_to_the_binary_approximation():
    generator = torch.Generator().manual_seed(0)
    z = 0.2 * torch.randn(20, 2, generator=generator, dtype=torch.float64)
    p = torch.softmax(z, dim=1)
    torch.testing.assert_close(amplified_prediction(p)[:, 1], amplified_prediction(p[:, 1]))


# ---- each metric loss against scikit-learn on hard predictions ------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_loss_is_one_minus_sklearn_metric_on_hard_predictions(metric, weighted):
    y = random_labels(60, 2, 0)
    pred = random_labels(60, 2, 1)
    weight = np.random.RandomState(2).randint(1, 4, 60).astype(float) if weighted else None
    loss = AnyLoss(metric=metric, beta=2.0)
    value = loss(
        hard_logits(pred, 2),
        torch.tensor(y),
        sample_weight=None if weight is None else torch.tensor(weight),
    )
    expected = 1.0 - sk_binary_metric(metric, y, pred, weight, beta=2.0)
    np.testing.assert_allclose(float(value), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("metric", METRICS)
def test_macro_loss_is_one_minus_mean_of_one_vs_rest_sklearn_metrics(metric):
    y = random_labels(90, 3, 0)
    pred = random_labels(90, 3, 1)
    value = AnyLoss(metric=metric, beta=2.0)(hard_logits(pred, 3), torch.tensor(y))
    per_class = [
        sk_binary_metric(metric, (y == k).astype(int), (pred == k).astype(int), beta=2.0)
        for k in range(3)
    ]
    np.testing.assert_allclose(float(value), 1.0 - np.mean(per_class), rtol=1e-6, atol=1e-6)


def test_macro_and_micro_f1_match_sklearn_averages():
    y = random_labels(90, 4, 0)
    pred = random_labels(90, 4, 1)
    logits, target = hard_logits(pred, 4), torch.tensor(y)
    macro = AnyLoss(metric="f1", average="macro")(logits, target)
    micro = AnyLoss(metric="f1", average="micro")(logits, target)
    np.testing.assert_allclose(float(macro), 1 - f1_score(y, pred, average="macro"), atol=1e-6)
    np.testing.assert_allclose(float(micro), 1 - f1_score(y, pred, average="micro"), atol=1e-6)
    # micro-F1 of single-label predictions is the accuracy
    np.testing.assert_allclose(float(micro), 1 - accuracy_score(y, pred), atol=1e-6)


def test_macro_accuracy_is_affine_in_accuracy_and_balanced_accuracy_is_documented_variant():
    y = random_labels(90, 3, 0)
    pred = random_labels(90, 3, 1)
    logits, target = hard_logits(pred, 3), torch.tensor(y)
    accuracy = 1 - float(AnyLoss(metric="accuracy")(logits, target))
    np.testing.assert_allclose(accuracy, 1 - 2 * (1 - accuracy_score(y, pred)) / 3, atol=1e-6)
    balanced = 1 - float(AnyLoss(metric="balanced_accuracy")(logits, target))
    recalls = recall_score(y, pred, average=None)
    specificities = [recall_score(y != k, pred != k) for k in range(3)]
    np.testing.assert_allclose(balanced, (recalls.mean() + np.mean(specificities)) / 2, atol=1e-6)
    assert not np.isclose(balanced, balanced_accuracy_score(y, pred))


# ---- soft values and gradients ---------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n_outputs, average", [(1, "macro"), (3, "macro"), (3, "micro")])
def test_soft_loss_matches_numpy(metric, n_outputs, average):
    generator = torch.Generator().manual_seed(4)
    z = 0.3 * torch.randn(40, n_outputs, generator=generator, dtype=torch.float64)
    y = random_labels(40, max(n_outputs, 2), 5)
    weight = torch.rand(40, generator=generator, dtype=torch.float64) + 0.5
    value = AnyLoss(metric=metric, beta=0.5, average=average)(
        z, torch.tensor(y), sample_weight=weight
    )
    counts = np_soft_counts(z.numpy(), y, weight=weight.numpy())
    if average == "micro":
        counts = [c.sum() for c in counts]
    expected = 1 - np.mean(np_metric(metric, *counts, beta=0.5))
    np.testing.assert_allclose(float(value), expected, rtol=1e-6)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_gradient_matches_finite_differences(metric, n_outputs):
    generator = torch.Generator().manual_seed(6)
    # Small logits keep the probabilities inside the band where A(p) has gradient.
    logits = 0.2 * torch.randn(12, n_outputs, generator=generator, dtype=torch.float64)
    logits.requires_grad_(True)
    target = torch.tensor(random_labels(12, max(n_outputs, 2), 7))
    weight = torch.rand(12, generator=generator, dtype=torch.float64) + 0.5
    loss = AnyLoss(metric=metric, beta=2.0)

    assert torch.autograd.gradcheck(
        lambda z: loss(z, target, sample_weight=weight),
        (logits,),
        eps=1e-6,
        atol=1e-6,
        rtol=1e-5,
    )
    loss(logits, target).backward()
    assert logits.grad.abs().max() > 1e-3  # the check above is not vacuous


def test_batch_level_loss_has_no_per_sample_values_and_reductions_agree():
    generator = torch.Generator().manual_seed(8)
    z = 0.3 * torch.randn(10, 1, generator=generator, dtype=torch.float64)
    y = torch.tensor(random_labels(10, 2, 9))
    loss = get_loss("anyloss_f1")
    mean = loss(z, y)
    # rtol: the loss adds EPSILON = 1e-7 to its denominators, the numpy formula not.
    np.testing.assert_allclose(
        mean.item(), 1 - np_metric("f1", *np_soft_counts(z.numpy(), y))[0], rtol=1e-6
    )
    assert torch.equal(loss.batch_loss(z, y), mean)
    torch.testing.assert_close(loss(z, y, reduction="sum"), 10 * mean)
    with pytest.raises(ValueError, match="batch-level"):
        loss(z, y, reduction="none")
    with pytest.raises(TypeError, match="batch_loss"):
        loss.per_sample(z, y)


def test_batch_loss_weights_the_counts():
    # The training step calls batch_loss(logits, y, sample_weight=w): w enters the soft
    # counts, and the loss is 1 - metric of those counts (the metrics are ratios, so a
    # constant rescaling of w changes nothing).
    generator = torch.Generator().manual_seed(15)
    z = 0.2 * torch.randn(40, 1, generator=generator, dtype=torch.float64)
    y = torch.tensor(random_labels(40, 2, 16))
    w = torch.rand(40, generator=generator, dtype=torch.float64) + 0.5
    loss = AnyLoss(metric="f1")
    counts = np_soft_counts(z.numpy(), y.numpy(), weight=w.numpy())
    expected = 1 - np_metric("f1", *counts)[0]
    np.testing.assert_allclose(loss.batch_loss(z, y, sample_weight=w).item(), expected, rtol=1e-6)
    torch.testing.assert_close(
        loss.batch_loss(z, y, sample_weight=3 * w), loss.batch_loss(z, y, sample_weight=w)
    )
    torch.testing.assert_close(loss(z, y, sample_weight=w), loss.batch_loss(z, y, w))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repeated_samples_binary(reduction):
    generator = torch.Generator().manual_seed(10)
    z = 0.3 * torch.randn(6, 1, generator=generator, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    counts = torch.tensor([0, 1, 2, 3, 1, 2])
    for metric in METRICS:
        loss = AnyLoss(metric=metric)
        weighted = loss(z, y, reduction=reduction, sample_weight=counts)
        repeated = loss(
            z.repeat_interleave(counts, dim=0), y.repeat_interleave(counts), reduction=reduction
        )
        torch.testing.assert_close(weighted, repeated, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_without_positives_is_finite(metric, dtype):
    y = np.zeros(8, dtype=int)
    pred = np.array([0, 0, 0, 1, 0, 0, 0, 0])
    logits = (hard_logits(pred, 2) / 50).to(dtype).requires_grad_(True)  # |z| = 4
    value = AnyLoss(metric=metric)(logits, torch.tensor(y))
    assert value.dtype == dtype and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(logits.grad).all()
    # On hard predictions the undefined ratios count as 0 (sklearn's zero_division=0).
    hard = AnyLoss(metric=metric)(hard_logits(pred, 2), torch.tensor(y))
    expected = {
        "accuracy": 1 - 7 / 8,
        "f1": 1.0,
        "fbeta": 1.0,
        "gmean": 1.0,  # sqrt(TPR * TNR) with TPR = 0
        "balanced_accuracy": 1 - (0 + 7 / 8) / 2,
        "mcc": 1.0 - matthews_corrcoef(y, pred),
    }[metric]
    np.testing.assert_allclose(float(hard), expected, atol=1e-6)


def test_confident_predictions_give_finite_values_and_zero_gradients():
    logits = torch.tensor([[1e4], [-1e4], [60.0], [-60.0]], requires_grad=True)
    value = get_loss("anyloss_mcc")(logits, torch.tensor([1, 0, 0, 1]))
    value.backward()
    assert torch.isfinite(value)
    assert torch.all(logits.grad.abs() < 1e-30)  # A(p) is flat this far from 0.5


# ---- parameters, registry classes, callables -------------------------------------------------


PRESETS = [
    ("anyloss_accuracy", "accuracy"),
    ("anyloss_f1", "f1"),
    ("anyloss_gmean", "gmean"),
    ("anyloss_balanced_accuracy", "balanced_accuracy"),
    ("anyloss_mcc", "mcc"),
]


@pytest.mark.parametrize("name, metric", PRESETS)
def test_registry_presets_fix_the_metric(name, metric):
    generator = torch.Generator().manual_seed(11)
    z = 0.3 * torch.randn(20, 3, generator=generator, dtype=torch.float64)
    y = torch.tensor(random_labels(20, 3, 12))
    preset = get_loss(name, amplification=20.0)
    assert preset == AnyLoss(metric=metric, amplification=20.0)
    # One-vs-rest macro average of the numpy soft counts, independently.
    counts = np_soft_counts(z.numpy(), y.numpy(), amplification=20.0)
    expected = 1 - np.mean(np_metric(metric, *counts))
    np.testing.assert_allclose(preset(z, y).item(), expected, rtol=1e-6)
    assert clone(get_loss(name, average="micro")) == AnyLoss(metric=metric, average="micro")


def test_fbeta_preset_has_beta():
    z = torch.tensor([[0.1], [-0.05], [0.02], [0.3]], dtype=torch.float64)
    y = torch.tensor([1, 1, 0, 0])
    assert get_loss("anyloss_fbeta", beta=2.0).get_params()["beta"] == 2.0
    torch.testing.assert_close(
        get_loss("anyloss_fbeta", beta=2.0)(z, y), AnyLoss(metric="fbeta", beta=2.0)(z, y)
    )
    torch.testing.assert_close(get_loss("anyloss_fbeta")(z, y), get_loss("anyloss_f1")(z, y))


def test_anyloss_accuracy_is_refused_from_five_classes():
    # The soft one-vs-rest accuracy of a row is A_y - sum_{k != y} A_k up to a
    # constant: 1 - K/2 for an uncertain row (every A_k = 1/2), -1 for a confidently
    # wrong one, so from K = 5 a wrong answer beats an uncertain one.
    for n_classes in (2, 3, 4, 5, 10):
        uncertain, wrong = 1 - n_classes / 2, -1
        reason = get_loss("anyloss_accuracy").why_cannot_train(n_classes)
        assert (reason is not None) == (wrong > uncertain), n_classes
    assert get_loss("anyloss_f1").why_cannot_train(10) is None


def torch_f1(tp, fn, fp, tn):
    return 2 * tp / (2 * tp + fp + fn + 1e-7)


def test_callable_metric_equals_builtin():
    generator = torch.Generator().manual_seed(13)
    for n_outputs in (1, 4):
        z = 0.3 * torch.randn(30, n_outputs, generator=generator, dtype=torch.float64)
        y = torch.tensor(random_labels(30, max(n_outputs, 2), 14))
        torch.testing.assert_close(AnyLoss(metric=torch_f1)(z, y), AnyLoss(metric="f1")(z, y))


@pytest.mark.parametrize(
    "params, culprit",
    [
        ({"metric": "auc"}, "metric"),
        ({"metric": 3}, "metric"),
        ({"metric": lambda tp, fn, fp, tn: 0.5}, "metric"),
        ({"metric": lambda tp, fn, fp, tn: torch.zeros(3)}, "metric"),
        ({"beta": 0.0}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"amplification": -1.0}, "amplification"),
        ({"amplification": True}, "amplification"),
        ({"average": "weighted"}, "average"),
    ],
)
def test_validate_names_the_bad_parameter(params, culprit):
    loss = AnyLoss(**params)  # construction stores, never checks
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss(torch.zeros(2, 1), torch.tensor([0, 1]))


def test_wrong_weight_shape_is_named():
    with pytest.raises(ValueError, match="sample_weight"):
        AnyLoss()(torch.zeros(4, 1), torch.tensor([0, 1, 0, 1]), sample_weight=torch.ones(3))


def test_inputs_are_not_modified():
    z = torch.tensor([[0.1], [-0.2], [0.3]])
    y = torch.tensor([1, 0, 1])
    w = torch.tensor([1.0, 2.0, 3.0])
    before = (z.clone(), y.clone(), w.clone())
    AnyLoss()(z, y, sample_weight=w)
    for a, b in zip((z, y, w), before, strict=True):
        assert torch.equal(a, b)


# ---- the estimator ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        n_samples=1200, n_features=8, weights=[0.9], flip_y=0.02, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def small(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0, learning_rate_init=0.01)
    return AnyLossClassifier(**{**defaults, **params})


class RecordInitialProbabilities(Callback):
    def on_train_begin(self, net, X=None, **kwargs):
        train, _ = X
        with torch.no_grad():
            self.p_ = torch.sigmoid(net.module_(train.X.float())).numpy()


def test_network_starts_at_one_half_and_learns_f1(imbalanced):
    X, y = imbalanced
    recorder = RecordInitialProbabilities()
    clf = small(callbacks=[("record", recorder)]).fit(X[:900], y[:900])
    assert clf.net_.module_.head.out_features == 1
    assert not hasattr(recorder, "p_")  # the estimator trained a copy of the callback
    fitted = dict(clf.net_.callbacks_)["record"]
    np.testing.assert_allclose(fitted.p_, 0.5)
    assert f1_score(y[900:], clf.predict(X[900:])) > 0.6


def test_binary_outputs_threshold_at_one_half(imbalanced):
    X, y = imbalanced
    labels = np.array(["no", "yes"])[y]
    clf = small(max_iter=5).fit(X, labels)
    scores = clf.decision_function(X)
    proba = clf.predict_proba(X)
    assert scores.shape == (len(y),) and proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), np.where(proba[:, 1] > 0.5, "yes", "no"))


def test_multiclass_macro_f1_on_iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = small(max_iter=60, batch_size=150).fit(X, y)
    assert clf.decision_function(X).shape == (150, 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)
    assert f1_score(y, clf.predict(X), average="macro") > 0.9


def test_callable_metric_and_pickle(imbalanced):
    X, y = imbalanced
    clf = small(metric=torch_f1, max_iter=5).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    assert clone(clf).metric is torch_f1


def test_bad_callable_metric_fails_before_training(imbalanced):
    X, y = imbalanced
    clf = small(metric=lambda tp, fn, fp, tn: float(tp))
    with pytest.raises(ValueError, match="'metric'"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize(
    "params", [{"metric": "auc"}, {"beta": 0}, {"amplification": -2.0}, {"average": "x"}]
)
def test_estimator_parameter_errors_name_the_parameter(params, imbalanced):
    X, y = imbalanced
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        small(**params).fit(X, y)


def test_collapse_to_one_class_warns():
    X, y = make_classification(n_samples=1000, weights=[0.95], flip_y=0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="collapsed"):
        AnyLossClassifier("accuracy", hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(
            X, y
        )


def test_no_collapse_warning_when_both_classes_are_predicted(imbalanced):
    X, y = imbalanced
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*max_iter", category=ConvergenceWarning)
        small().fit(X, y)


def test_registry_loss_trains_robust_loss_classifier(imbalanced):
    X, y = imbalanced
    clf = RobustLossClassifier(
        loss="anyloss_f1",
        hidden_layer_sizes=(16,),
        max_iter=20,
        learning_rate_init=0.01,
        batch_size=512,
        random_state=0,
    ).fit(X, y)
    assert clf.net_.module_.head.out_features == 1
    assert f1_score(y, clf.predict(X)) > 0.5


def test_fit_does_not_modify_inputs(imbalanced):
    X, y = imbalanced
    X_copy, y_copy = X.copy(), y.copy()
    weight = np.linspace(0.5, 2.0, len(y))
    weight_copy = weight.copy()
    small(max_iter=2).fit(X, y, sample_weight=weight)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(weight, weight_copy)


def test_estimator_weights_enter_the_soft_counts(imbalanced):
    X, y = imbalanced
    clf = small(max_iter=1).fit(X, y, sample_weight=np.ones(len(y)))
    generator = torch.Generator().manual_seed(0)
    logits = 0.2 * torch.randn(50, 1, generator=generator)
    target = torch.tensor(y[:50])
    weight = torch.rand(50, generator=generator) + 0.5
    value = clf.net_.get_loss(logits, target, X=Batch(None, target, weight, torch.arange(50)))
    counts = np_soft_counts(logits.double().numpy(), y[:50], weight=weight.double().numpy())
    # The weights enter the counts only (the net calls loss.batch_loss).
    expected = 1 - np_metric("f1", *counts)[0]
    np.testing.assert_allclose(float(value), expected, rtol=1e-5)
