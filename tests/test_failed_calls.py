"""A failed call leaves the estimator as it was before the call; every call is checked.

A call that fails after training started (a loss that turns non-finite in a warm
start or a ``partial_fit``) must put back the weights, the optimiser's state, the
loss's state and the history, so that the estimator predicts as before, pickles,
and continues exactly as if the call had never been made.
"""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skloss import AnyLossClassifier, EnsLossClassifier, RobustLossClassifier
from skloss.losses import ALDRKL

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


class BreaksAtEpoch(ALDRKL):
    """ALDR-KL (a loss with per-sample state) that turns NaN from epoch ``at`` on."""

    name = "breaks_at_epoch"
    requires = ("index", "epoch")

    def __init__(self, at=1000, lam0=10.0):
        self.at = at
        super().__init__(lam0=lam0)

    def batch_loss(self, logits, target, sample_weight=None, epoch=0, **context):
        value = super().batch_loss(logits, target, sample_weight=sample_weight, **context)
        return value * float("nan") if epoch >= self.at else value


def fail_from_epoch(clf, at):
    """Make the fitted loss turn NaN from epoch ``at`` on (it continues: same parameters)."""
    clf.set_params(loss=BreaksAtEpoch(at=at))
    clf.loss_function_.at = at


def small(**params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0, **params}
    return RobustLossClassifier(**params)


def snapshot(clf):
    return {
        "weights": {k: v.clone() for k, v in clf.net_.module_.state_dict().items()},
        "optimizer": copy.deepcopy(clf.net_.optimizer_.state_dict()),
        "lam": clf.loss_function_.lam_.clone(),
        "n_iter": clf.n_iter_,
        "curve": list(clf.loss_curve_),
        "history": len(clf.net_.history),
    }


def assert_same(before, clf):
    for name, tensor in before["weights"].items():
        assert torch.equal(clf.net_.module_.state_dict()[name], tensor)
    now, then = clf.net_.optimizer_.state_dict(), before["optimizer"]
    assert now["param_groups"] == then["param_groups"]
    for key, state in then["state"].items():
        for name, value in state.items():
            assert torch.equal(now["state"][key][name], value)
    assert torch.equal(clf.loss_function_.lam_, before["lam"])
    assert clf.n_iter_ == before["n_iter"] and clf.loss_curve_ == before["curve"]
    assert len(clf.net_.history) == before["history"]


@pytest.mark.parametrize("call", ["partial_fit", "warm_start"])
def test_non_finite_loss_leaves_the_estimator_as_before_the_call(digits, call):
    X, y = digits
    clf = small(loss=BreaksAtEpoch(), warm_start=True, verbose=True)
    clf.fit(X, y)
    before, proba = snapshot(clf), clf.predict_proba(X)
    # Epochs 0-2 were the first fit; epoch 4 is the second of a warm start, epoch 3
    # the only one of a partial_fit: each call fails after training started.
    fail_from_epoch(clf, 4 if call == "warm_start" else 3)
    with pytest.raises(FloatingPointError, match="became nan"):
        if call == "warm_start":
            clf.fit(X, y)
        else:
            clf.partial_fit(X, y)
    assert_same(before, clf)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)


def test_after_a_failed_call_training_continues_as_if_it_never_happened(digits):
    X, y = digits
    failed, untouched = small(loss=BreaksAtEpoch()), small(loss=BreaksAtEpoch())
    for clf in (failed, untouched):
        clf.partial_fit(X, y, classes=np.arange(10))
    fail_from_epoch(failed, 1)  # the next epoch turns NaN
    with pytest.raises(FloatingPointError):
        failed.partial_fit(X, y)
    fail_from_epoch(failed, 1000)
    failed.partial_fit(X, y)
    untouched.partial_fit(X, y)
    # Bit-identical: the weights, Adam's moments and ALDR-KL's scales were all put back.
    for name, tensor in untouched.net_.module_.state_dict().items():
        assert torch.equal(failed.net_.module_.state_dict()[name], tensor)
    assert torch.equal(failed.loss_function_.lam_, untouched.loss_function_.lam_)


def test_a_failed_first_fit_leaves_an_unfitted_estimator(digits):
    X, y = digits
    clf = small(loss=BreaksAtEpoch(at=1))
    with pytest.raises(FloatingPointError):
        clf.fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "n_features_in_")
    assert not hasattr(clf, "classes_")


def test_a_failed_refit_keeps_the_previous_model(digits):
    X, y = digits
    clf = small().fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(loss=BreaksAtEpoch(at=1))
    with pytest.raises(FloatingPointError):
        clf.fit(X[:, :32], y)  # a fresh fit on other features that fails in epoch 2
    assert clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_parameters_are_checked_on_every_partial_fit_call(digits):
    X, y = digits
    clf = small()
    clf.partial_fit(X, y, classes=np.arange(10))
    before = snapshot_weights(clf)
    clf.set_params(batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        clf.partial_fit(X, y)
    for name, tensor in before.items():
        assert torch.equal(clf.net_.module_.state_dict()[name], tensor)


def snapshot_weights(clf):
    return {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}


@pytest.mark.parametrize("cls", [RobustLossClassifier, AnyLossClassifier, EnsLossClassifier])
def test_fit_inside_no_grad_trains_and_predicts(cls):
    X, y = load_digits(n_class=2, return_X_y=True)
    X = X / 16.0
    with torch.no_grad():
        clf = cls(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
        proba = clf.predict_proba(X)
    reference = cls(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(proba, reference.predict_proba(X))
