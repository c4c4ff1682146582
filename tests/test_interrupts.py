"""Ctrl-C belongs to the caller: a real SIGINT stops a search, a study or a loop at once.

Each test sends SIGINT to the main thread from a timer thread while a fit trains
(the operating system's way, as a terminal's Ctrl-C does), then checks that the
``KeyboardInterrupt`` reached the caller within one epoch, that nothing ran after
it, and that the interrupted estimator is fitted as of its last completed epoch.
"""

import signal
import threading
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from skorch.callbacks import Callback

from skloss import RobustLossClassifier
from skloss.exceptions import TrainingInterruptedWarning

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::skloss.exceptions.TrainingInterruptedWarning"),
]


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT reaches the main thread only; this test runs in another one")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


class _Record:
    """What every copy of one Recorder shares: fits, epochs and the signal."""

    def __init__(self, fire_at, mid_epoch):
        self.fire_at = fire_at
        self.mid_epoch = mid_epoch
        self.fits = 0
        self.batches = 0
        self.epoch_ends = []  # (fit, epoch, time)
        self.signal_time = None
        self.lock = threading.Lock()


_RECORDS = {}


class Recorder(Callback):
    """Counts fits and epochs, and fires SIGINT once; its copies (clone, the estimators'
    deep copies) share one record, looked up by key.

    ``fire_at = (fit, epoch)``: when the ``fit``-th fit (1-based) ends its
    ``epoch``-th epoch (or, with ``mid_epoch``, ends the second training batch of
    that epoch), a timer thread sends SIGINT to the main thread.
    """

    def __init__(self, key):
        self.key = key

    @classmethod
    def new(cls, fire_at, mid_epoch=False):
        key = f"record-{len(_RECORDS)}"
        _RECORDS[key] = _Record(fire_at, mid_epoch)
        return cls(key)

    @property
    def record(self):
        return _RECORDS[self.key]

    def on_train_begin(self, net, **kwargs):
        with self.record.lock:
            self.record.fits += 1

    def on_epoch_begin(self, net, **kwargs):
        self.record.batches = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if self.record.mid_epoch and training:
            self.record.batches += 1
            if self.record.batches == 2:
                self._fire_if_due(len(net.history))

    def on_epoch_end(self, net, **kwargs):
        record = self.record
        with record.lock:
            record.epoch_ends.append((record.fits, len(net.history), time.monotonic()))
        if not record.mid_epoch:
            self._fire_if_due(len(net.history))

    def _fire_if_due(self, epoch):
        record = self.record
        with record.lock:
            if (record.fits, epoch) == tuple(record.fire_at) and record.signal_time is None:
                record.signal_time = time.monotonic()
                main = threading.main_thread().ident
                threading.Timer(0.0, signal.pthread_kill, (main, signal.SIGINT)).start()

    def epochs_after_signal(self):
        record = self.record
        return sum(1 for *_, t in record.epoch_ends if t > record.signal_time)


def estimator(recorder, **params):
    params = {"hidden_layer_sizes": (32,), "max_iter": 40, "random_state": 0, **params}
    return RobustLossClassifier(callbacks=[recorder], **params)


def test_sigint_stops_grid_search_within_one_epoch(digits):
    X, y = digits
    recorder = Recorder.new(fire_at=(2, 3))
    search = GridSearchCV(estimator(recorder), {"loss": ["ce", "gce", "sce"]}, cv=3)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert recorder.record.signal_time is not None
    assert recorder.record.fits == 2  # none started after the interrupted one (9 + refit)
    assert recorder.epochs_after_signal() <= 1
    assert not hasattr(search, "best_params_")


def test_sigint_stops_cross_val_score_within_one_epoch(digits):
    X, y = digits
    recorder = Recorder.new(fire_at=(1, 2))
    with pytest.raises(KeyboardInterrupt):
        cross_val_score(estimator(recorder), X, y, cv=5)
    assert recorder.record.fits == 1
    assert recorder.epochs_after_signal() <= 1


def test_sigint_stops_an_optuna_study_and_no_truncated_trial_is_complete(digits):
    optuna = pytest.importorskip("optuna")
    X, y = digits
    recorder = Recorder.new(fire_at=(3, 2))
    max_iter = 6

    def objective(trial):
        clf = estimator(recorder, max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter)
        clf.set_params(learning_rate_init=trial.suggest_float("lr", 1e-4, 1e-2, log=True))
        clf.fit(X[:600], y[:600])
        trial.set_user_attr("n_iter", clf.n_iter_)
        return clf.score(X[600:], y[600:])

    study = optuna.create_study(direction="maximize")
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=6)
    states = [trial.state for trial in study.trials]
    assert len(study.trials) == 3  # the study stopped at the interrupted trial
    assert states[2] != optuna.trial.TrialState.COMPLETE
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert [t.user_attrs["n_iter"] for t in complete] == [max_iter, max_iter]


def test_caught_sigint_leaves_the_model_of_the_last_completed_epoch(digits):
    X, y = digits
    recorder = Recorder.new(fire_at=(1, 3))
    clf = estimator(recorder, max_iter=50)
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    n_done = clf.n_iter_
    assert 3 <= n_done <= 4  # epoch 3 completed; epoch 4 only if the signal came at its end
    assert n_done == len(clf.loss_curve_) == len(clf.net_.history)
    reference = RobustLossClassifier(hidden_layer_sizes=(32,), max_iter=n_done, random_state=0)
    reference.fit(X, y)
    for name, tensor in reference.net_.module_.state_dict().items():
        torch.testing.assert_close(clf.net_.module_.state_dict()[name], tensor, rtol=0, atol=0)
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X))
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=0, atol=0)


def test_sigint_in_partial_fit_and_warm_start_reaches_the_caller(digits):
    X, y = digits
    recorder = Recorder.new(fire_at=(2, 2), mid_epoch=True)  # 2nd call, 2nd history row
    clf = estimator(recorder, warm_start=True, max_iter=3)
    clf.partial_fit(X, y, classes=np.arange(10))
    before = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 == len(clf.loss_curve_)  # the interrupted epoch is not counted
    for name, tensor in before.items():
        assert torch.equal(clf.net_.module_.state_dict()[name], tensor)
    recorder.record.fire_at, recorder.record.signal_time = (3, 3), None  # warm start, epoch 2
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 == len(clf.loss_curve_)
    assert clf.predict(X[:5]).shape == (5,)
    assert any(not torch.equal(before[k], v) for k, v in clf.net_.module_.state_dict().items())
