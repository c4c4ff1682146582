"""How EnsLossClassifier's defaults were chosen: a few training recipes side by side.

Each recipe is an ``EnsLossClassifier`` configuration fitted with the estimator's
own stopping rule (no fixed epoch budget) on six binary tasks of
``ensloss_tabular.py`` (70/30 stratified split, standardised, 3 trials):
MLPClassifier's recipe (Adam, lr 1e-3) at batch sizes 32, 128 and 512, with and
without a cosine schedule, and the paper's (SGD with momentum, cosine schedule,
batch normalisation).

Run (serialised with the other benchmarks)::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 \\
        python benchmarks/ensloss_defaults.py

It writes docs/benchmarks/ensloss_defaults.{json,md}.
"""

import json
import pathlib
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ensloss_tabular import load_task, subsample  # noqa: E402

from skloss import EnsLossClassifier  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
TASKS = ["breast_cancer", "sonar", "ionosphere", "spambase", "phoneme", "heart"]
RECIPES = {
    "adam, batch 128": {},
    "adam, batch 32": {"batch_size": 32},
    "adam, batch 512": {"batch_size": 512},
    "adam, batch 128, cosine": {"lr_schedule": "cosine", "max_iter": 100},
    "sgd 0.01, cosine, batchnorm": {
        "optimizer": "sgd",
        "learning_rate_init": 0.01,
        "lr_schedule": "cosine",
        "batch_norm": True,
        "max_iter": 100,
    },
    "sgd 0.1, cosine, batchnorm": {
        "optimizer": "sgd",
        "learning_rate_init": 0.1,
        "lr_schedule": "cosine",
        "batch_norm": True,
        "max_iter": 100,
    },
}


def main():
    torch.set_num_threads(1)
    started = time.perf_counter()
    results = {}
    for task in TASKS:
        X, y = subsample(*load_task(task), 2000)
        results[task] = {name: [] for name in RECIPES}
        for trial in range(3):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=trial
            )
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
            for name, params in RECIPES.items():
                params = {
                    "hidden_layer_sizes": (100, 100),
                    "random_state": trial,
                    "device": "cpu",
                    **params,
                }
                if params.get("batch_norm") and len(y_train) % params.get("batch_size", 128) == 1:
                    params["batch_size"] = 127  # a one-row batch cannot be normalised
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = EnsLossClassifier(**params).fit(X_train, y_train)
                results[task][name].append(
                    {
                        "test": float(clf.score(X_test, y_test)),
                        "epochs": int(clf.n_iter_),
                        "fit_s": time.perf_counter() - start,
                    }
                )
        print(f"{task} done ({time.perf_counter() - started:.0f} s)", flush=True)
    lines = [
        "Test accuracy of EnsLossClassifier recipes (mean over 3 trials; MLP (100, 100), "
        "the estimator's stopping rule: at most 200 epochs, or 100 with the cosine "
        "schedule; epochs run in brackets).",
        "",
        "| recipe | " + " | ".join(TASKS) + " | mean | fit s |",
        "|---|" + "---|" * (len(TASKS) + 2),
    ]
    for name in RECIPES:
        cells, means = [], []
        for task in TASKS:
            runs = results[task][name]
            mean = np.mean([r["test"] for r in runs])
            means.append(mean)
            cells.append(f"{mean:.4f} ({np.mean([r['epochs'] for r in runs]):.0f})")
        seconds = np.mean([r["fit_s"] for t in TASKS for r in results[t][name]])
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {np.mean(means):.4f} | {seconds:.1f} |"
        )
    lines += ["", f"Runtime {(time.perf_counter() - started) / 60:.1f} min on one core."]
    markdown = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ensloss_defaults.json").write_text(json.dumps(results, indent=1))
    (OUT / "ensloss_defaults.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
