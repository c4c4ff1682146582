"""Loss correction (Patrini et al., 2017): the forward and backward losses against numpy,
the meta-estimator that estimates T inside fit, and cleanlab's CleanLearning around a
skloss classifier (skipped without cleanlab)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split

from skloss import RobustLossClassifier
from skloss.losses import BackwardCorrection, ForwardCorrection, get_loss
from skloss.noise import LossCorrectionClassifier, make_noisy_labels, transition_matrix

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

T3 = np.array([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.3, 0.1, 0.6]])


def _logits(n=7, k=3, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(n, k, generator=generator, dtype=dtype), torch.arange(n) % k


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- reference values -----------------------------------------------------------------


def test_forward_by_hand():
    # p = (0.5, 0.5); q = T^T p = (0.6, 0.4); the loss of label 1 is -log 0.4.
    T = [[0.8, 0.2], [0.4, 0.6]]
    value = ForwardCorrection(T)(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    assert value.item() == pytest.approx(-np.log(0.4), rel=1e-6)


def test_backward_by_hand():
    # T^-1 = [[4/3, -1/3], [-1/3, 4/3]]; p = softmax(log 3, 0) = (3/4, 1/4):
    # label 0 -> -(4/3 log 3/4 - 1/3 log 1/4) = 4/3 log 4/3 - 1/3 log 4.
    T = [[0.8, 0.2], [0.2, 0.8]]
    logits = torch.tensor([[np.log(3.0), 0.0]], dtype=torch.float64)
    value = BackwardCorrection(T)(logits, torch.tensor([0]))
    assert value.item() == pytest.approx(4 / 3 * np.log(4 / 3) - 1 / 3 * np.log(4), rel=1e-12)


def test_forward_matches_numpy():
    logits, target = _logits()
    p = _softmax(logits.numpy())
    expected = -np.log((p @ T3)[np.arange(7), target.numpy()])
    got = ForwardCorrection(T3)(logits, target, reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_backward_matches_numpy():
    logits, target = _logits()
    log_p = np.log(_softmax(logits.numpy()))
    expected = -(np.linalg.inv(T3)[target.numpy()] * log_p).sum(axis=1)
    got = BackwardCorrection(T3)(logits, target, reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_backward_is_unbiased_for_the_clean_cross_entropy():
    # E over the noisy label j ~ T[y] of the corrected loss = CE against y, whatever z.
    logits, _ = _logits(n=3)
    loss = BackwardCorrection(T3)
    ce = -np.log(_softmax(logits.numpy()))  # ce[n, y]
    for y in range(3):
        expected = sum(
            T3[y, j] * loss(logits, torch.full((3,), j), reduction="none").numpy() for j in range(3)
        )
        np.testing.assert_allclose(expected, ce[:, y], rtol=1e-10)


def test_forward_minimum_is_the_clean_posterior():
    # The forward loss's expectation over noisy labels drawn from T^T p* is the
    # cross-entropy of T^T p against T^T p*, minimal at p = p*.
    p_star = np.array([0.6, 0.3, 0.1])
    noisy = p_star @ T3
    z = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [z], max_iter=500, tolerance_grad=1e-14, tolerance_change=0, line_search_fn="strong_wolfe"
    )
    loss = ForwardCorrection(T3)

    def closure():
        optimiser.zero_grad()
        value = sum(noisy[j] * loss(z, torch.tensor([j]), reduction="sum") for j in range(3))
        value.backward()
        return value

    optimiser.step(closure)
    np.testing.assert_allclose(torch.softmax(z, 1).detach().numpy()[0], p_star, atol=1e-5)


def test_identity_and_none_are_cross_entropy():
    logits, target = _logits(dtype=torch.float32)
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    for cls in (ForwardCorrection, BackwardCorrection):
        torch.testing.assert_close(cls()(logits, target, reduction="none"), ce)
        torch.testing.assert_close(cls(np.eye(3))(logits, target, reduction="none"), ce)


@pytest.mark.parametrize("cls", [ForwardCorrection, BackwardCorrection])
def test_gradient_matches_finite_differences(cls):
    logits, target = _logits()
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: cls(T3)(z, target, reduction="none"), (logits,), eps=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("shift", [200.0, -200.0, 1e3])
def test_forward_stays_finite_far_out_and_where_t_has_zeros(shift):
    # T3[1, 0] = 0: a sample labelled 0 gets nothing from class 1's probability.
    logits, target = _logits(dtype=torch.float32)
    logits = (logits * shift if shift == 1e3 else logits + shift).requires_grad_(True)
    values = ForwardCorrection(T3)(logits, target, reduction="none")
    (grad,) = torch.autograd.grad(values.sum(), logits)
    assert torch.isfinite(values).all() and torch.isfinite(grad).all()


def test_registered_and_cloned_with_their_matrix():
    loss = get_loss("forward", transition=T3)
    assert isinstance(loss, ForwardCorrection)
    np.testing.assert_array_equal(loss.transition, T3)
    clf = RobustLossClassifier(loss=loss)
    copy = clone(clf)
    np.testing.assert_array_equal(copy.loss.transition, T3)
    assert copy.loss == loss


# ---- training ---------------------------------------------------------------------------


def _pairflip_problem(rate=0.4, seed=0):
    X, y = make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=8,
        n_redundant=0,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    y_noisy, _ = make_noisy_labels(y_train, rate, kind="pairflip", random_state=seed)
    return X_train, y_noisy, X_test, y_test


def _net(**params):
    params = {"hidden_layer_sizes": (64,), "max_iter": 60, "batch_size": 64, **params}
    return RobustLossClassifier(random_state=0, **params)


def test_forward_correction_with_the_true_matrix_beats_cross_entropy():
    # Measured with these seeds: CE 0.69, forward with the true T 0.98 on clean test labels.
    X_train, y_noisy, X_test, y_test = _pairflip_problem()
    T = transition_matrix(4, 0.4, kind="pairflip")
    ce = _net().fit(X_train, y_noisy).score(X_test, y_test)
    forward = _net(loss=ForwardCorrection(T)).fit(X_train, y_noisy).score(X_test, y_test)
    assert forward > ce + 0.1


def test_meta_estimator_estimates_t_and_trains_the_corrected_loss():
    X_train, y_noisy, X_test, y_test = _pairflip_problem()
    clf = LossCorrectionClassifier(_net(), random_state=0).fit(X_train, y_noisy)
    assert isinstance(clf.estimator_.loss, ForwardCorrection)
    np.testing.assert_array_equal(clf.estimator_.loss.transition, clf.transition_)
    # Pair-flip pattern recovered: the largest off-diagonal entry of each row is the
    # next class.
    off = clf.transition_ - np.diag(np.diag(clf.transition_))
    np.testing.assert_array_equal(off.argmax(axis=1), (np.arange(4) + 1) % 4)
    np.testing.assert_allclose(clf.noise_rate_, 1 - np.diag(clf.transition_))
    # Measured: 0.96 on clean test labels (CE alone: 0.69); the estimated noise
    # rates run high, 0.44-0.54 for 0.4.
    ce = _net().fit(X_train, y_noisy).score(X_test, y_test)
    assert clf.score(X_test, y_test) > ce + 0.1
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_test), proba.argmax(axis=1))


def test_meta_estimator_with_a_given_matrix_skips_the_estimate(monkeypatch):
    import skloss.noise.correction as module

    def fail(*args, **kwargs):
        raise AssertionError("estimate_transition called although T was given")

    monkeypatch.setattr(module, "estimate_transition", fail)
    X_train, y_noisy, _, _ = _pairflip_problem()
    T = transition_matrix(4, 0.4, kind="pairflip")
    clf = LossCorrectionClassifier(_net(max_iter=2), correction="backward", transition=T)
    clf.fit(X_train, y_noisy)
    assert isinstance(clf.estimator_.loss, BackwardCorrection)
    np.testing.assert_array_equal(clf.transition_, T)


def test_meta_estimator_in_a_grid_search_and_string_labels():
    X_train, y_noisy, X_test, _ = _pairflip_problem()
    labels = np.array(["a", "b", "c", "d"])
    search = GridSearchCV(
        LossCorrectionClassifier(_net(max_iter=3), cv=3, random_state=0),
        {"correction": ["forward", "backward"]},
        cv=2,
        error_score="raise",
    ).fit(X_train, labels[y_noisy])
    assert set(search.predict(X_test)) <= set(labels)


# ---- scikit-learn's common checks ---------------------------------------------------------


# scikit-learn's common checks of LossCorrectionClassifier: tests/test_common.py.


# ---- cleanlab's CleanLearning around a skloss classifier --------------------------------


def test_clean_learning_wraps_robust_loss_classifier():
    classification = pytest.importorskip("cleanlab.classification")
    X_train, y_noisy, X_test, y_test = _pairflip_problem(rate=0.2)
    flipped = y_noisy != _pairflip_problem(rate=0.0)[1]
    wrapped = classification.CleanLearning(
        _net(loss="gce", early_stopping=True), seed=0, cv_n_folds=3
    )
    wrapped.fit(X_train, y_noisy)
    issues = wrapped.label_issues_df["is_label_issue"].to_numpy()
    # Measured: 323 issues flagged for 300 flips, 89% of them real flips, 96% recall,
    # and 0.91 clean test accuracy.
    assert flipped[issues].mean() > 0.7 and issues[flipped].mean() > 0.8
    assert isinstance(wrapped.clf, RobustLossClassifier)
    assert wrapped.score(X_test, y_test) > 0.8
    proba = wrapped.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
