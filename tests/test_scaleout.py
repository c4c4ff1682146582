"""Scale-out: GridSearchCV on Dask workers, one Optuna study shared by worker processes.

The PostgreSQL test needs a server: set SKLOSS_TEST_POSTGRES_URL (``.ci/run`` starts one
and sets it), e.g. ``postgresql+psycopg://postgres@127.0.0.1:54329/postgres``.
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold

import skloss
from skloss import RobustLossClassifier

POSTGRES_ENV = "SKLOSS_TEST_POSTGRES_URL"


def _data():
    X, y = make_classification(
        n_samples=80, n_features=5, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


def _grid_search(n_jobs):
    clf = RobustLossClassifier(loss="gce", hidden_layer_sizes=(8,), max_iter=4, random_state=0)
    return GridSearchCV(
        clf,
        {"loss__q": [0.3, 0.7], "learning_rate_init": [0.003, 0.03]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )


def _same_results(first, second):
    scores = [
        key for key in first if key.startswith(("split", "mean_test", "std_test", "rank_test"))
    ]
    assert scores
    for key in scores:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert list(first["params"]) == list(second["params"])


# Slow: two worker processes start and import torch (about 15 s on two idle cores).
@pytest.mark.slow
def test_grid_search_on_dask_workers_matches_sequential():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sequential = _grid_search(n_jobs=1).fit(X, y).cv_results_
    # Worker processes (a nanny each, OMP_NUM_THREADS=1), no dashboard: a CI machine.
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with parallel_config(backend="dask"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            on_dask = _grid_search(n_jobs=-1).fit(X, y).cv_results_
        # the fits did run on the workers (each worker's process is not this one)
        pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2
    _same_results(sequential, on_dask)


# ---- one study, several worker processes ---------------------------------------------
_WORKER = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import optuna
    from sklearn.datasets import make_classification
    from sklearn.model_selection import cross_val_score
    from skloss import RobustLossClassifier
    from skloss import tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec, name, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if spec.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(spec[len("journal:"):]))
    else:
        storage = spec
    study = optuna.load_study(study_name=name, storage=storage)
    X, y = make_classification(n_samples=60, n_features=5, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)
    numbers = []

    def objective(trial):
        numbers.append(trial.number)
        params = tuning.suggest_params(trial, RobustLossClassifier(), losses=["ce", "gce"],
                                       space={"hidden_layer_sizes": None,
                                              "early_stopping": None})
        clf = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
        clf.set_params(**params)
        return float(np.mean(cross_val_score(clf, X.astype(np.float32), y, cv=2)))

    study.optimize(objective, n_trials=n_trials)
    print(json.dumps(numbers))
""")

N_WORKERS, TRIALS_EACH = 2, 3


def _shared_study(storage, spec, tmp_path):
    import optuna

    name = f"shared-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    # The workers import the skloss under test (this checkout), as the test process does.
    root = str(Path(skloss.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    # The workers start together: they optimise the study at the same time.
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), spec, name, str(TRIALS_EACH)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=os.getcwd(),
        )
        for _ in range(N_WORKERS)
    ]
    outputs = [worker.communicate(timeout=240) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    per_worker = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    numbers = [trial.number for trial in trials]
    # every trial recorded once, each by the worker that ran it
    assert sorted(numbers) == list(range(N_WORKERS * TRIALS_EACH))
    assert sorted(sum(per_worker, [])) == sorted(numbers)
    assert all(len(run) == TRIALS_EACH for run in per_worker)
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
    assert all(0.0 <= trial.value <= 1.0 for trial in trials)
    return name


# Slow (as the PostgreSQL one): each worker process imports torch and optuna.
@pytest.mark.slow
def test_shared_study_on_journal_file(tmp_path):
    optuna = pytest.importorskip("optuna")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = str(tmp_path / "study.log")
    _shared_study(JournalStorage(JournalFileBackend(path)), f"journal:{path}", tmp_path)
    assert optuna is not None


def _postgres_url():
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"no PostgreSQL server: set {POSTGRES_ENV} (e.g. postgresql+psycopg://"
            "postgres@127.0.0.1:54329/postgres); .ci/run starts one."
        )
    pytest.importorskip("psycopg", reason="psycopg 3 is needed (the tune extra)")
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # unreachable server, bad credentials
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV}={url} is not reachable: {error}")
    return url


@pytest.mark.slow
def test_shared_study_on_postgresql(tmp_path):
    optuna = pytest.importorskip("optuna")
    url = _postgres_url()
    storage = optuna.storages.RDBStorage(url)
    name = _shared_study(storage, url, tmp_path)
    optuna.delete_study(study_name=name, storage=storage)
