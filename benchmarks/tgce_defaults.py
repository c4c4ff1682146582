"""Which defaults let the truncated GCE (``"tgce"``) train from scratch?

The stateless truncated GCE ``min(L_q(p_y), L_q(k))`` gives no gradient to a
sample with ``p_y < k``; at a uniform start ``p_y = 1/K``, so with ``k = 0.5`` and
three classes or more nothing trains. The candidates measured here:

- ``stateless k=0.5``: the old default (the reference for "does not train");
- ``k=1/(2K)``: the stateless form with ``k`` tied to the number of classes, so
  that a uniform start is kept and only samples the model has pushed below half
  the uniform probability are truncated;
- ``prune_start=10`` and ``prune_start=40``: the paper's pruning schedule (plain
  GCE until then, then the 0/1 weights ``[p_y >= k]`` refreshed every 10 epochs;
  Zhang and Sabuncu pruned from epoch 40 of 120, every 10 epochs, ``k = 0.5``);
- ``gce`` (``q = 0.7``, what every TGCE is before it truncates) and ``ce`` as
  references.

Protocol, per dataset and seed: the stratified 70/30 split of
``benchmarks/noise_robustness.py`` (training part subsampled to ``--max-train``
rows), ``StandardScaler`` on the training rows, noise on the training labels only
(none, 40% symmetric, 30% pair-flip), and ``RobustLossClassifier`` with its
defaults otherwise (``hidden_layer_sizes=(100,)``, Adam 1e-3, automatic batch
size, ``max_iter=200`` with the stopping rule on the training loss): what a user
who writes ``loss="tgce"`` gets. Reported: clean test accuracy, accuracy on the
clean training labels (how much of the training set the model fits) and the
epochs the stopping rule ran. Nothing is selected on test labels: the table is
read for "does it train" and "what does it cost or gain against ``gce``".

Run (about 20 minutes on one core)::

    python benchmarks/tgce_defaults.py

It prints the table and writes ``docs/benchmarks/tgce_defaults.{json,md}``.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import load  # noqa: E402
from noise_robustness import noisy_split, split_indices  # noqa: E402

from skloss import RobustLossClassifier  # noqa: E402
from skloss.exceptions import NoGradientWarning  # noqa: E402
from skloss.losses import GCE, TGCE, CrossEntropy  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "tgce_defaults"

#: label -> function of the number of classes returning the loss.
CANDIDATES = {
    "tgce stateless k=0.5": lambda n_classes: TGCE(k=0.5),
    "tgce k=1/(2K)": lambda n_classes: TGCE(k=0.5 / n_classes),
    "tgce prune_start=10": lambda n_classes: TGCE(k=0.5, prune_start=10, prune_every=10),
    "tgce prune_start=40": lambda n_classes: TGCE(k=0.5, prune_start=40, prune_every=10),
    "gce (q=0.7)": lambda n_classes: GCE(q=0.7),
    "ce": lambda n_classes: CrossEntropy(),
}

NOISE = {"clean": ("symmetric", 0.0), "sym40": ("symmetric", 0.4), "pair30": ("pairflip", 0.3)}


def fit_one(label, split, y_noisy, n_classes, seed):
    X_tr, X_te, y_tr, y_te = split
    clf = RobustLossClassifier(loss=CANDIDATES[label](n_classes), random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The old default warns that it cannot train; it is measured to show it.
        warnings.simplefilter("ignore", NoGradientWarning)
        clf.fit(X_tr, y_noisy)
    return {
        "test_accuracy": float(clf.score(X_te, y_te)),
        "train_clean_accuracy": float(clf.score(X_tr, y_tr)),
        "epochs": int(clf.n_iter_),
        "fit_seconds": round(time.perf_counter() - start, 2),
    }


def report(records, settings, command):
    lines = [
        f"Command: `{command}`",
        "",
        "`RobustLossClassifier(loss=...)` with its defaults otherwise ((100,) MLP, Adam "
        "1e-3, automatic batch size, `max_iter=200` and the stopping rule), "
        f"{settings['seeds']} seeds, training part capped at {settings['max_train']} rows. "
        "Cells: clean test accuracy % / clean training accuracy % (mean over seeds), "
        "and the mean number of epochs run.",
        "",
    ]
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    for dataset in datasets:
        n_classes = next(r["n_classes"] for r in records if r["dataset"] == dataset)
        lines += [f"**{dataset}** ({n_classes} classes)", ""]
        noises = list(dict.fromkeys(r["noise"] for r in records if r["dataset"] == dataset))
        lines.append("| loss | " + " | ".join(noises) + " |")
        lines.append("|---" * (len(noises) + 1) + "|")
        for label in CANDIDATES:
            cells = []
            for noise in noises:
                rows = [
                    r
                    for r in records
                    if (r["dataset"], r["noise"], r["label"]) == (dataset, noise, label)
                ]
                if not rows:
                    cells.append("-")
                    continue
                test = 100 * np.mean([r["test_accuracy"] for r in rows])
                train = 100 * np.mean([r["train_clean_accuracy"] for r in rows])
                epochs = np.mean([r["epochs"] for r in rows])
                cells.append(f"{test:.1f} / {train:.1f} ({epochs:.0f} ep.)")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "satimage", "letter"])
    parser.add_argument("--noise", nargs="+", default=list(NOISE), choices=list(NOISE))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-train", type=int, default=4000)
    parser.add_argument("--output", default=str(OUTPUT), help="path without extension")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/tgce_defaults.py " + shlex.join(argv or sys.argv[1:])
    settings = {
        "datasets": args.datasets,
        "noise": args.noise,
        "seeds": args.seeds,
        "max_train": args.max_train,
        "candidates": list(CANDIDATES),
    }
    records = []
    for dataset in args.datasets:
        X, y = load(dataset)
        n_classes = int(y.max()) + 1
        for seed in range(args.seeds):
            indices = split_indices(y, seed, {"max_train": args.max_train})
            for noise in args.noise:
                kind, rate = NOISE[noise]
                split, y_noisy, _ = noisy_split(X, y, seed, indices, kind, rate)
                for label in CANDIDATES:
                    record = fit_one(label, split, y_noisy, n_classes, seed)
                    record.update(
                        dataset=dataset, n_classes=n_classes, seed=seed, noise=noise, label=label
                    )
                    records.append(record)
                    print(json.dumps(record), flush=True)
    table = report(records, settings, command.strip())
    print(table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(
        json.dumps({"command": command.strip(), "settings": settings, "records": records}, indent=1)
    )
    output.with_suffix(".md").write_text(table)


if __name__ == "__main__":
    main()
