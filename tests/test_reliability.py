"""Interrupts, thread-parallel reproducibility, nested loss parameters, transform."""

import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from skloss import AnyLossClassifier, RobustLossClassifier
from skloss.exceptions import TrainingInterruptedWarning
from skloss.losses import GCE

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


def _fit_and_score(seed, X, y, loss="ce", **extra):
    # No catch_warnings here: it is not thread-safe; the module's mark filters.
    clf = small(loss=loss, random_state=seed, **extra).fit(X, y)
    return clf.predict_proba(X)


@pytest.mark.parametrize("extra", [{}, {"early_stopping": True}, {"loss": "gce"}])
def test_eight_concurrent_fits_equal_sequential_ones(digits, extra):
    X, y = digits
    seeds = list(range(8))
    sequential = [_fit_and_score(s, X, y, **extra) for s in seeds]
    start = threading.Barrier(8)

    def run(seed):
        start.wait()
        return _fit_and_score(seed, X, y, **extra)

    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(run, seeds))
    for a, b in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(sequential[0], sequential[1])  # seeds matter


def test_threaded_joblib_equals_sequential(digits):
    X, y = digits
    sequential = [_fit_and_score(s, X, y) for s in range(4)]
    with joblib.parallel_config(backend="threading", n_jobs=4):
        threaded = joblib.Parallel()(joblib.delayed(_fit_and_score)(s, X, y) for s in range(4))
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_user_module_class_is_seeded_and_thread_safe(digits):
    X, y = digits

    def module(n_features_in, n_outputs):
        return torch.nn.Sequential(
            torch.nn.Linear(n_features_in, 8), torch.nn.ReLU(), torch.nn.Linear(8, n_outputs)
        )

    sequential = [_fit_and_score(s, X, y, module=module) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda s: _fit_and_score(s, X, y, module=module), range(4)))
    for a, b in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(a, b)


def test_global_torch_rng_is_untouched(digits):
    X, y = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit_and_score(0, X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


@pytest.mark.parametrize(
    "grid",
    [
        {"loss__q": [0.3, 0.9]},
        {"loss": ["gce"], "loss__q": [0.3, 0.9]},
    ],
)
def test_grid_search_nested_loss_params_with_loss_by_name(grid):
    X, y = load_iris(return_X_y=True)
    clf = small(loss="gce", max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(clf, grid, cv=2).fit(X, y)
    assert [p["loss__q"] for p in search.cv_results_["params"]] == [0.3, 0.9]
    assert search.best_estimator_.loss_function_ == GCE(q=search.best_params_["loss__q"])
    assert clf.loss == "gce"  # the user's estimator is left as it was


def test_set_params_on_loss_by_name_matches_loss_object():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_name = small(loss="gce").set_params(loss__q=0.4).fit(X, y)
        by_object = small(loss=GCE(q=0.4)).fit(X, y)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_object.predict_proba(X))


def test_transform_is_the_last_hidden_layer(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small().fit(X, y)
    hidden = clf.transform(X)
    layer = clf.net_.module_.features[0]
    expected = np.maximum(
        X @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy(), 0
    )
    np.testing.assert_allclose(hidden, expected, rtol=1e-5, atol=1e-6)
    head = clf.net_.module_.head
    logits = hidden @ head.weight.detach().double().numpy().T + head.bias.detach().double().numpy()
    np.testing.assert_allclose(logits, clf.decision_function(X), rtol=1e-4, atol=1e-5)


def test_fitted_estimator_pickles_after_callbacks(digits, tmp_path):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small(verbose=False).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_anyloss_is_reproducible_in_threads(digits):
    X, y = digits
    binary = (y == 3).astype(int)

    def run(seed):
        clf = AnyLossClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=seed)
        return clf.fit(X, binary).predict_proba(X)

    sequential = [run(s) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(run, range(4)))
    for a, b in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(a, b)


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


def test_optuna_threaded_trials_equal_sequential_fits(digits):
    optuna = pytest.importorskip("optuna")
    X, y = digits
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        seed = trial.suggest_int("seed", 0, 3)
        lr = trial.suggest_categorical("lr", [1e-3, 3e-3])
        clf = small(random_state=seed, learning_rate_init=lr).fit(X, y)
        return float(clf.predict_proba(X)[:, 0].sum())

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=8, n_jobs=4)
    for trial in study.trials:
        replay = optuna.trial.FixedTrial(trial.params)
        assert objective(replay) == trial.value


def test_dask_threaded_cluster_equals_sequential(digits):
    distributed = pytest.importorskip("distributed")
    X, y = digits
    sequential = [_fit_and_score(s, X, y) for s in range(4)]
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=4, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        threaded = joblib.Parallel()(joblib.delayed(_fit_and_score)(s, X, y) for s in range(4))
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
