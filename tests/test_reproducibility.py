"""A fit owns its randomness: fits in concurrent threads equal sequential ones.

Eight threads, threaded joblib, Optuna's ``n_jobs`` and a threaded Dask cluster
give bit-identical predictions to the same fits run one after another, a user's
module class is seeded per fit, and the process-wide torch RNG is left untouched.
Bit-identical fits of one estimator are in tests/test_estimator.py.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skloss import AnyLossClassifier, RobustLossClassifier

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
