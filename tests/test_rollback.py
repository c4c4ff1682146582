"""An interrupted or refused fit leaves the estimator usable and consistent.

A ``KeyboardInterrupt`` raised inside a fit (what Ctrl-C raises) rolls the
estimator back to its last completed epoch; bad input to a fitted estimator's
``fit`` leaves it as it was. A real SIGINT sent from outside is in
tests/test_interrupts.py; a loss that turns non-finite during a call is in
tests/test_failed_calls.py.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from skloss import RobustLossClassifier
from skloss.exceptions import TrainingInterruptedWarning

# Short fits on purpose: not converging is expected here.
pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def small(**params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 4, "random_state": 0, **params}
    return RobustLossClassifier(**params)


class InterruptAt(Callback):
    """Raises KeyboardInterrupt (what Ctrl-C raises) at a given epoch and place."""

    def __init__(self, epoch, where):
        self.epoch = epoch
        self.where = where

    def on_batch_end(self, net, training=False, **kwargs):
        if self.where == "batch" and training and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if self.where == "epoch_end" and len(net.history) == self.epoch:
            raise KeyboardInterrupt


def weights(clf):
    return {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}


@pytest.mark.parametrize("where", ["batch", "epoch_end"])
def test_interrupt_leaves_a_consistent_fit(digits, where):
    X, y = digits
    reference = small(max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)  # two whole epochs, uninterrupted
    # Interrupted in epoch 3 (mid-epoch: rolled back to epoch 2) or at the end of
    # epoch 2 (that epoch is complete and kept): either way the state of epoch 2.
    epoch = 3 if where == "batch" else 2
    clf = small(max_iter=10, callbacks=[InterruptAt(epoch, where)])
    with pytest.warns(TrainingInterruptedWarning, match="last completed epoch"):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert clf.n_iter_ == 2 == len(clf.loss_curve_) == len(clf.net_.history)
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-6)
    for name, tensor in weights(reference).items():
        torch.testing.assert_close(clf.net_.module_.state_dict()[name], tensor)
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X))


def test_interrupt_in_the_first_epoch_leaves_the_initial_weights(digits):
    X, y = digits
    clf = small(callbacks=[InterruptAt(1, "batch")])
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert clf.n_iter_ == 0 and clf.loss_curve_ == [] and len(clf.net_.history) == 0
    assert clf.predict_proba(X[:3]).shape == (3, 10)


def test_interrupted_partial_fit_counts_no_epoch(digits):
    X, y = digits
    clf = small()
    clf.partial_fit(X, y, classes=np.arange(10))
    before = weights(clf)
    clf.net_.callbacks_.append(("stop", InterruptAt(2, "batch")))
    clf.net_._batch_listeners = True
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    for name, tensor in before.items():
        torch.testing.assert_close(clf.net_.module_.state_dict()[name], tensor)


def test_bad_input_leaves_a_fitted_estimator_as_it_was(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small().fit(X, y)
    before = (
        clf.n_features_in_,
        clf.classes_.copy(),
        clf.n_iter_,
        weights(clf),
        clf.predict_proba(X),
    )
    narrow = X[:, :10]
    for bad in (
        lambda: clf.set_params(class_weight={0: -1.0}).fit(narrow, y),
        lambda: clf.set_params(class_weight=None, module=lambda n_features_in, n_outputs: 3).fit(
            narrow, y
        ),
    ):
        with pytest.raises((ValueError, TypeError)):
            bad()
    clf.set_params(module=None)
    assert clf.n_features_in_ == before[0] and clf.n_iter_ == before[2]
    np.testing.assert_array_equal(clf.classes_, before[1])
    for name, tensor in before[3].items():
        torch.testing.assert_close(clf.net_.module_.state_dict()[name], tensor)
    np.testing.assert_array_equal(clf.predict_proba(X), before[4])
