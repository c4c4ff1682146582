"""
A shared Optuna study on PostgreSQL
===================================

Several processes (here two, on one machine; in practice on several) optimise
one study by giving Optuna the same storage URL and study name. Each process
asks the database for its next trial, so every trial is run and recorded once.
With psycopg 3 (in the ``tune`` extra) the URL reads
``postgresql+psycopg://user:password@host:5432/database``.

Set ``SKLOSS_POSTGRES_URL`` to such a URL to run it; without one the script says
so and stops. On one machine without a server, a journal file
(``optuna.storages.journal.JournalFileBackend``) does the same job; ``skloss
tune --storage URL --study NAME`` is the command-line form.
"""

# %%
import multiprocessing
import os
import sys
import threading
import uuid
import warnings

N_WORKERS = 2
FAST = False
# sphinx_gallery_start_ignore
# tests/test_examples.py runs a shortened version.
FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
# sphinx_gallery_end_ignore


def worker(url, study_name, n_trials):
    """One process: load the study and run trials until its share is done."""
    import optuna
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_val_score

    from skloss import RobustLossClassifier
    from skloss.tuning import suggest_params

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_iris(return_X_y=True)
    study = optuna.load_study(study_name=study_name, storage=url)

    def objective(trial):
        params = suggest_params(trial, RobustLossClassifier(), losses=["ce", "gce"])
        clf = RobustLossClassifier(max_iter=5 if FAST else 50, random_state=0)
        return cross_val_score(clf.set_params(**params), X, y, cv=3).mean()

    study.optimize(objective, n_trials=n_trials)


def main():
    url = os.environ.get("SKLOSS_POSTGRES_URL") or os.environ.get("SKLOSS_TEST_POSTGRES_URL")
    if not url:
        print(
            "No PostgreSQL server given: set SKLOSS_POSTGRES_URL=postgresql+psycopg://"
            "user@host:5432/db to run this example. Skipped."
        )
        return
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(url)
    except Exception as error:  # no driver, no server, bad credentials
        print(f"Cannot reach PostgreSQL at {url}: {error}. Skipped.")
        return
    name = f"skloss-example-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    # "spawn": fresh interpreters, as on other machines; they import this script,
    # hence the __main__ guard below. The fast mode (test suite) uses threads, which
    # skip the interpreters' start-up (each imports torch).
    n_trials = 2 if FAST else 10
    context = multiprocessing.get_context("spawn")
    # sphinx_gallery_start_ignore
    # Run inside the docs build, this script is not the __main__ module that spawned
    # workers import, so they could not find `worker`: fork there instead.
    this_file = globals().get("__file__")
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    if (
        this_file is None
        or main_file is None
        or os.path.abspath(main_file) != os.path.abspath(this_file)
    ):
        context = multiprocessing.get_context("fork")
    # sphinx_gallery_end_ignore
    start = threading.Thread if FAST else context.Process
    processes = [start(target=worker, args=(url, name, n_trials)) for _ in range(N_WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    study = optuna.load_study(study_name=name, storage=storage)
    numbers = sorted(t.number for t in study.trials)
    print(f"{len(numbers)} trials from {N_WORKERS} workers, numbers {numbers}")
    from skloss.tuning import params_from_trial

    print(f"best {study.best_value:.3f} with {params_from_trial(study.best_trial)}")
    optuna.delete_study(study_name=name, storage=storage)


if __name__ == "__main__":
    main()
