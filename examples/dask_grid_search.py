"""
GridSearchCV on Dask workers
============================

scikit-learn runs the fits of a search through joblib, and joblib can hand them
to a Dask cluster: ``with joblib.parallel_config(backend="dask"):`` around
``search.fit`` is the only change. Here a ``distributed.LocalCluster`` of two
worker processes stands in for a real cluster. The results are the same as a
sequential run's, since each skloss fit owns its random generators.

Notes for real clusters:

- one thread per worker (``threads_per_worker=1``): Dask's nanny sets
  ``OMP_NUM_THREADS=1``, and torch's intra-op threads would otherwise
  oversubscribe the cores;
- one GPU per worker: start each worker with its own ``CUDA_VISIBLE_DEVICES``;
- the ``if __name__ == "__main__":`` guard: worker processes are spawned and
  import this script; without the guard each would start a cluster of its own.

"""

# %%
import os
import time
import warnings

import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skloss import RobustLossClassifier

FAST = False
# sphinx_gallery_start_ignore
# tests/test_examples.py runs a shortened version.
FAST = os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0")
# sphinx_gallery_end_ignore


def make_search(n_jobs):
    clf = RobustLossClassifier(
        loss="gce", hidden_layer_sizes=(32,), max_iter=3 if FAST else 30, random_state=0
    )
    grid = {"loss__q": [0.3, 0.7], "learning_rate_init": [1e-3, 1e-2]}
    return GridSearchCV(clf, grid, cv=3, n_jobs=n_jobs)


def main():
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask.distributed is not installed (pip install 'skloss[dist]'); skipped.")
        return
    warnings.filterwarnings("ignore")  # fixed epoch budgets
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]

    start = time.perf_counter()
    sequential = make_search(n_jobs=1).fit(X, y)
    print(f"sequential: {time.perf_counter() - start:.1f}s")

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=not FAST, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        start = time.perf_counter()
        with parallel_config(backend="dask"):
            on_dask = make_search(n_jobs=-1).fit(X, y)
        print(f"dask, 2 workers: {time.perf_counter() - start:.1f}s (cold workers)")

    same = np.array_equal(
        sequential.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"]
    )
    print("best:", on_dask.best_params_, f"{on_dask.best_score_:.3f}")
    print("identical cv_results_ scores:", same)


if __name__ == "__main__":
    main()
