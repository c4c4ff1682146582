"""Search and tuning at scale: parallel grid search, shared studies, tuned vs default.

Three measurements, side by side in one run (ratios, not absolute speeds):

1. **GridSearchCV wall time**: a 4-candidate x 3-fold grid (RobustLossClassifier,
   GCE ``q`` x learning rate, digits) sequentially, with joblib's loky backend
   (``n_jobs=2``) and on a Dask ``LocalCluster`` of 2 worker processes (one thread
   each). "cold" is the first search after the workers start (they import torch),
   "warm" the second. ``cv_results_`` scores are compared with the sequential run.
2. **Shared study throughput**: trials per minute of one Optuna study optimised by 1
   or 2 worker processes, through a journal file and through PostgreSQL
   (``--postgres-url``; skipped without). Each worker is a fresh interpreter, so
   its start-up (imports) is part of the time, as it is for a real worker.
3. **Tuned vs default**: ``RobustLossClassifier()`` with its defaults against the
   configuration :func:`skloss.tuning.suggest_params` + TPE picks in ``--trials``
   trials, by 3-fold CV on the training labels (noisy ones on the noisy tasks),
   scored once on the clean test labels. Three noisy tasks (accuracy) and two
   imbalanced ones (balanced accuracy, which is also the tuning objective).

Run: ``flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 python
benchmarks/search_scaling.py``. Writes ``docs/benchmarks/search_scaling.{json,md,png}``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"


def _quiet():
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


# ---- 1. grid search ---------------------------------------------------------------------
def _grid(n_jobs, max_iter):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from skloss import RobustLossClassifier

    clf = RobustLossClassifier(
        loss="gce", hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0
    )
    return GridSearchCV(
        clf,
        {"loss__q": [0.3, 0.7], "learning_rate_init": [1e-3, 1e-2]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )


def _timed_fit(search, X, y):
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_["mean_test_score"]


def grid_search_timings(max_iter):
    from distributed import Client, LocalCluster
    from joblib import parallel_config
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rows = {}
    # A first fit in this process pays torch's one-off start-up (see DESIGN.md): not timed.
    _grid(1, 1).fit(X[:200], y[:200])
    rows["sequential"], reference = _timed_fit(_grid(1, max_iter), X, y)
    same = {}
    for label in ("cold", "warm"):
        with parallel_config(backend="loky"):
            rows[f"loky n_jobs=2 ({label})"], scores = _timed_fit(_grid(2, max_iter), X, y)
        same[f"loky ({label})"] = bool(np.array_equal(scores, reference))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        for label in ("cold", "warm"):
            with parallel_config(backend="dask"):
                rows[f"dask 2 workers ({label})"], scores = _timed_fit(_grid(-1, max_iter), X, y)
            same[f"dask ({label})"] = bool(np.array_equal(scores, reference))
    return {
        "seconds": rows,
        "identical_scores": same,
        "n_fits": 4 * 3 + 1,
        "max_iter": max_iter,
        "data": "digits (1797 x 64)",
    }


# ---- 2. shared study --------------------------------------------------------------------
_WORKER = textwrap.dedent("""
    import sys, warnings
    warnings.filterwarnings("ignore")
    import numpy as np, optuna
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from skloss import RobustLossClassifier
    from skloss.tuning import suggest_params
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec, name, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if spec.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(spec[8:]))
    else:
        storage = spec
    study = optuna.load_study(study_name=name, storage=storage)
    X, y = load_digits(return_X_y=True)
    X = (X[:600] / 16.0).astype(np.float32); y = y[:600]
    def objective(trial):
        params = suggest_params(trial, RobustLossClassifier(), losses=["ce", "gce"],
                                space={"early_stopping": None, "hidden_layer_sizes": None})
        clf = RobustLossClassifier(hidden_layer_sizes=(32,), max_iter=10, random_state=0)
        return cross_val_score(clf.set_params(**params), X, y, cv=3).mean()
    study.optimize(objective, n_trials=n_trials)
""")


def _shared_study(spec, storage, n_workers, n_trials, script):
    import optuna

    name = f"bench-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), spec, name, str(n_trials // n_workers)], env=env
        )
        for _ in range(n_workers)
    ]
    codes = [worker.wait() for worker in workers]
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name=name, storage=storage)
    numbers = sorted(t.number for t in study.trials)
    ok = all(code == 0 for code in codes) and numbers == list(range(n_trials))
    if not spec.startswith("journal:"):
        optuna.delete_study(study_name=name, storage=storage)
    return {
        "seconds": seconds,
        "trials_per_minute": 60 * n_trials / seconds,
        "every_trial_once": ok,
    }


def shared_study_throughput(postgres_url, n_trials):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "worker.py"
        script.write_text(_WORKER)
        backends = {"journal": None}
        if postgres_url:
            backends["postgresql"] = postgres_url
        for backend, url in backends.items():
            for n_workers in (1, 2):
                if url is None:
                    path = str(Path(folder) / f"journal-{n_workers}.log")
                    spec, storage = f"journal:{path}", JournalStorage(JournalFileBackend(path))
                else:
                    spec, storage = url, optuna.storages.RDBStorage(url)
                results[f"{backend}, {n_workers} worker(s)"] = _shared_study(
                    spec, storage, n_workers, n_trials, script
                )
    return {
        "runs": results,
        "n_trials": n_trials,
        "objective": "3-fold CV, 10 epochs, digits[:600], one process per worker",
    }


# ---- 3. tuned vs default ----------------------------------------------------------------
def _tasks():
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    def noisy(name, X, y, rate, kind):
        return {"name": name, "X": X, "y": y, "noise": (rate, kind), "metric": "accuracy"}

    digits = load_digits(return_X_y=True)
    wine = load_wine(return_X_y=True)
    cancer = load_breast_cancer(return_X_y=True)
    rng = np.random.RandomState(0)
    # imbalanced: digit 0 vs rest (10%); breast cancer with 40 of 212 malignant (10%)
    X_d, y_d = digits
    malignant = np.flatnonzero(cancer[1] == 0)
    keep = np.concatenate(
        [rng.choice(malignant, 40, replace=False), np.flatnonzero(cancer[1] == 1)]
    )
    return [
        noisy("digits, 40% symmetric", *digits, 0.4, "symmetric"),
        noisy("wine, 30% symmetric", *wine, 0.3, "symmetric"),
        noisy("breast cancer, 20% pairflip", *cancer, 0.2, "pairflip"),
        {
            "name": "digits 0 vs rest (10%)",
            "X": X_d,
            "y": (y_d == 0).astype(int),
            "noise": None,
            "metric": "balanced_accuracy",
        },
        {
            "name": "breast cancer, 10% malignant",
            "X": cancer[0][keep],
            "y": (cancer[1][keep] == 0).astype(int),
            "noise": None,
            "metric": "balanced_accuracy",
        },
    ]


def tuned_vs_default(n_trials, max_iter):
    import optuna
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossClassifier
    from skloss.noise import make_noisy_labels
    from skloss.tuning import params_from_trial, suggest_params

    rows = []
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    for task in _tasks():
        X_train, X_test, y_train, y_test = train_test_split(
            task["X"], task["y"], test_size=0.3, stratify=task["y"], random_state=0
        )
        if task["noise"] is not None:
            y_train, _ = make_noisy_labels(y_train, *task["noise"], random_state=0)
        scorer = get_scorer(task["metric"])
        n_classes = len(np.unique(task["y"]))

        def model(params=None):
            clf = RobustLossClassifier(max_iter=max_iter, random_state=0)
            return make_pipeline(StandardScaler(), clf.set_params(**(params or {})))

        def objective(trial, y_fit=y_train, X_fit=X_train, k=n_classes, scoring=scorer):
            params = suggest_params(
                trial,
                RobustLossClassifier(),
                losses=["ce", "gce", "sce", "focal", "comp_sum"],
                n_classes=k,
            )
            return cross_val_score(model(params), X_fit, y_fit, cv=cv, scoring=scoring).mean()

        start = time.perf_counter()
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=0)
        )
        study.optimize(objective, n_trials=n_trials)
        best = params_from_trial(study.best_trial)
        tuned = model(best).fit(X_train, y_train)
        default = model().fit(X_train, y_train)
        rows.append(
            {
                "task": task["name"],
                "metric": task["metric"],
                "default": float(scorer(default, X_test, y_test)),
                "tuned": float(scorer(tuned, X_test, y_test)),
                "tuned_loss": best["loss"],
                "cv_of_best": float(study.best_value),
                "seconds": time.perf_counter() - start,
            }
        )
        print(
            f"  {task['name']}: default {rows[-1]['default']:.3f}, tuned "
            f"{rows[-1]['tuned']:.3f} ({best['loss']})",
            flush=True,
        )
    return {"rows": rows, "n_trials": n_trials, "max_iter": max_iter}


# ---- report -----------------------------------------------------------------------------
def _markdown(results, command):
    lines = [
        "# Search and tuning at scale",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {results['machine']}; total {results['total_seconds']:.0f} s.",
        "",
    ]
    grid = results["grid_search"]
    base = grid["seconds"]["sequential"]
    lines += [
        "## GridSearchCV wall time",
        "",
        f"{grid['n_fits']} fits ({grid['data']}, {grid['max_iter']} epochs each).",
        "",
        "| run | seconds | vs sequential | scores identical |",
        "|---|---:|---:|---|",
    ]
    for label, seconds in grid["seconds"].items():
        key = label.split(" ")[0] + (f" ({label.split('(')[1]}" if "(" in label else "")
        same = grid["identical_scores"].get(key, "reference")
        lines.append(f"| {label} | {seconds:.2f} | {base / seconds:.2f}x | {same} |")
    study = results["shared_study"]
    lines += [
        "",
        "## Shared study throughput",
        "",
        f"{study['n_trials']} trials in all ({study['objective']}).",
        "",
        "| storage, workers | seconds | trials / minute | every trial once |",
        "|---|---:|---:|---|",
    ]
    for label, row in study["runs"].items():
        lines.append(
            f"| {label} | {row['seconds']:.1f} | {row['trials_per_minute']:.1f} | "
            f"{row['every_trial_once']} |"
        )
    if not any(label.startswith("postgresql") for label in study["runs"]):
        lines += ["", "(PostgreSQL: no server given, not measured.)"]
    tuned = results["tuned_vs_default"]
    lines += [
        "",
        "## Tuned vs default",
        "",
        f"{tuned['n_trials']} TPE trials, {tuned['max_iter']} epochs per fit, 3-fold "
        "CV on the training labels; test labels clean.",
        "",
        "| task | metric | default | tuned | tuned loss | seconds |",
        "|---|---|---:|---:|---|---:|",
    ]
    for row in tuned["rows"]:
        lines.append(
            f"| {row['task']} | {row['metric']} | {row['default']:.3f} | "
            f"{row['tuned']:.3f} | {row['tuned_loss']} | {row['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    grid = results["grid_search"]["seconds"]
    axes[0].barh(list(grid), list(grid.values()), color="tab:blue")
    axes[0].invert_yaxis()
    axes[0].set_xlabel("GridSearchCV wall time (s)")
    rows = results["tuned_vs_default"]["rows"]
    positions = np.arange(len(rows))
    axes[1].barh(positions - 0.2, [r["default"] for r in rows], 0.4, label="default")
    axes[1].barh(positions + 0.2, [r["tuned"] for r in rows], 0.4, label="tuned")
    axes[1].set_yticks(positions, [r["task"] for r in rows])
    axes[1].invert_yaxis()
    axes[1].set_xlabel("test score (accuracy / balanced accuracy)")
    axes[1].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SKLOSS_TEST_POSTGRES_URL"),
        help="PostgreSQL URL for the shared-study part (default: "
        "$SKLOSS_TEST_POSTGRES_URL; without one it is skipped)",
    )
    parser.add_argument("--trials", type=int, default=12, help="tuning trials per task")
    parser.add_argument(
        "--study-trials", type=int, default=8, help="trials of each shared-study run"
    )
    parser.add_argument("--max-iter", type=int, default=20, help="epochs per fit")
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    _quiet()
    started = time.perf_counter()
    print("1. GridSearchCV: sequential, loky, dask", flush=True)
    grid = grid_search_timings(args.max_iter)
    print(json.dumps(grid, indent=1), flush=True)
    print("2. shared study", flush=True)
    study = shared_study_throughput(args.postgres_url, args.study_trials)
    print(json.dumps(study, indent=1), flush=True)
    print("3. tuned vs default", flush=True)
    tuned = tuned_vs_default(args.trials, args.max_iter)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
        "grid_search": grid,
        "shared_study": study,
        "tuned_vs_default": tuned,
        "total_seconds": time.perf_counter() - started,
    }
    command = (
        "flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 python "
        "benchmarks/search_scaling.py" + (" --postgres-url URL" if args.postgres_url else "")
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "search_scaling.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.output / "search_scaling.md").write_text(_markdown(results, command))
    _plot(results, args.output / "search_scaling.png")
    print(_markdown(results, command))


if __name__ == "__main__":
    main()
