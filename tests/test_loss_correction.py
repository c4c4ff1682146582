"""Loss correction (Patrini et al., 2017): the forward and backward losses against numpy,
the meta-estimator that estimates T inside fit, and cleanlab's CleanLearning around a
skloss classifier (skipped without cleanlab)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split

from skloss import RobustLossClassifier
from skloss.losses import BackwardCorrection, ForwardCorrection
from skloss.noise import LossCorrectionClassifier, make_noisy_labels, transition_matrix

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

T3 = np.array([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.3, 0.1, 0.6]])


def _logits(n=7, k=3, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(n, k, generator=generator, dtype=dtype), torch.arange(n) % k


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


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


def _validation_rows(y, random_state=0, fraction=0.1):
    """The rows early stopping holds out: a stratified split drawn with the fit's seed."""
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)
    _, valid = train_test_split(
        np.arange(len(y)), test_size=fraction, random_state=seed, stratify=y
    )
    return np.sort(valid)


def test_forward_early_stopping_keeps_the_epoch_of_lowest_corrected_validation_loss():
    X_train, y_noisy, _, _ = _pairflip_problem()
    T = transition_matrix(4, 0.4, kind="pairflip")
    clf = _net(loss=ForwardCorrection(T), early_stopping=True, n_iter_no_change=3)
    clf.fit(X_train, y_noisy)
    valid = _validation_rows(y_noisy)
    # The kept weights' forward-corrected log-loss on the noisy validation labels, in
    # numpy: -log (softmax(z) T)[y], the model's clean probabilities pushed through T.
    q = clf.predict_proba(X_train[valid]) @ T
    log_loss = -np.mean(np.log(q[np.arange(len(valid)), y_noisy[valid]]))
    assert clf.best_validation_score_ == pytest.approx(-log_loss, abs=1e-5)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    np.testing.assert_allclose(
        clf.validation_scores_, -np.asarray(clf.net_.history[:, "valid_loss"])
    )
    # The accuracy on the noisy validation labels is still recorded, not monitored.
    assert len(clf.net_.history[:, "valid_acc"]) == clf.n_iter_


def test_warm_start_onto_the_forward_loss_restarts_the_validation_record():
    # The accuracy kept by the last call and the corrected loss are not comparable: a
    # warm start that switches to the forward loss records its own scores only, and
    # the next warm start continues them.
    X_train, y_noisy, _, _ = _pairflip_problem()
    T = transition_matrix(4, 0.4, kind="pairflip")
    clf = _net(early_stopping=True, warm_start=True, max_iter=4, n_iter_no_change=10)
    clf.fit(X_train, y_noisy)
    assert all(0 <= score <= 1 for score in clf.validation_scores_)
    clf.set_params(loss=ForwardCorrection(T)).fit(X_train, y_noisy)
    assert len(clf.validation_scores_) == 4
    assert all(score < 0 for score in clf.validation_scores_)
    clf.fit(X_train, y_noisy)
    assert len(clf.validation_scores_) == 8


@pytest.mark.parametrize("loss", [BackwardCorrection(T3), ForwardCorrection()])
def test_backward_and_uncorrected_early_stopping_monitor_the_accuracy(loss):
    # Backward's validation loss is unbounded below (it keeps falling as the network
    # overfits); without T the loss is cross-entropy, which stops as MLPClassifier does.
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=6, n_classes=3, random_state=0
    )
    clf = _net(loss=loss, early_stopping=True, max_iter=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # forward without T warns so
        clf.fit(X, y)
    valid = _validation_rows(y)
    accuracy = np.mean(clf.predict(X[valid]) == y[valid])
    assert clf.best_validation_score_ == pytest.approx(accuracy)


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


def test_meta_estimator_refines_the_estimate_with_its_own_network(record_keyword):
    import skloss.noise.correction as module

    original = module.estimate_transition
    calls = record_keyword(module, "estimate_transition", "refine")
    X_train, y_noisy, _, _ = _pairflip_problem()
    net = _net(max_iter=5)
    clf = LossCorrectionClassifier(net, cv=3, random_state=0, refine_transition=True)
    clf.fit(X_train, y_noisy)
    (refine,) = calls
    assert refine.get_params()["hidden_layer_sizes"] == (64,) and refine.max_iter == 5
    expected = original(X_train, y_noisy, None, 3, random_state=0, refine=net)
    np.testing.assert_allclose(clf.transition_, expected.transition, rtol=1e-6)
    np.testing.assert_array_equal(clf.estimator_.loss.transition, clf.transition_)
    assert net.loss == "ce"  # the caller's network is cloned, not changed
    calls.clear()
    LossCorrectionClassifier(net, cv=3, random_state=0).fit(X_train, y_noisy)
    assert calls == [None]  # off by default


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
