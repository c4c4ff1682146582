"""Fit time with and without the two lean-step changes, side by side in one process.

The changes: the default MLP's backward pass written out
(``skloss._training.mlp_step``) and the fused Adam step called directly
(``skloss._training.optim.FusedAdamStep``). Both compute exactly what they
replace (tests/test_lean_step.py), so switching them off is a timing question
only: this script fits ``fit_speed.py``'s small workload (50,000 x 20 features, 3
classes, hidden (64, 64), batch 256, 10 epochs, Adam 1e-3) with both on and both
off, ``--rounds`` times each, in a shuffled order per round (a slow spell of a
shared machine then falls on either), and reports both medians and their ratio.

Run::

    flock /tmp/skloss-bench.lock python benchmarks/lean_step_speed.py

It prints the table and writes ``docs/benchmarks/lean_step_speed.{json,md}``.
"""

import argparse
import json
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification

import skloss._training.net as net_module
from skloss import RobustLossClassifier
from skloss._training.optim import FusedAdamStep

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "lean_step_speed"


def fit_seconds(X, y):
    start = time.perf_counter()
    RobustLossClassifier(
        hidden_layer_sizes=(64, 64),
        batch_size=256,
        max_iter=10,
        random_state=0,
        tol=0.0,
        n_iter_no_change=10,
    ).fit(X, y)
    return time.perf_counter() - start


def switched(on):
    """Set both changes on or off (module-level hooks the training step consults)."""
    net_module.lean_layers = ORIGINAL_LEAN if on else (lambda module: None)
    FusedAdamStep.applies = staticmethod(ORIGINAL_APPLIES if on else (lambda optimizer: False))


ORIGINAL_LEAN = net_module.lean_layers
ORIGINAL_APPLIES = FusedAdamStep.applies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    X, y = make_classification(
        n_samples=50_000,
        n_features=20,
        n_informative=12,
        n_classes=3,
        n_clusters_per_class=2,
        random_state=0,
    )
    X = X.astype(np.float32)
    fit_seconds(X, y)  # warm-up: the first optimiser built in a process pays once
    times = {"on": [], "off": []}
    order = random.Random(0)
    for _ in range(args.rounds):
        names = list(times)
        order.shuffle(names)
        for name in names:
            switched(name == "on")
            times[name].append(fit_seconds(X, y))
    switched(True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    report = {
        "command": " ".join(
            ["python benchmarks/lean_step_speed.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "rounds": args.rounds,
        "threads": args.threads,
        "torch": torch.__version__,
        "seconds": times,
        "median_seconds": medians,
        "ratio_on_to_off": medians["on"] / medians["off"],
    }
    lines = [
        f"Produced by `{report['command']}` (torch {report['torch']}, {args.threads} threads, "
        f"{args.rounds} rounds, shuffled order per round).",
        "",
        "| lean step | median fit time (s) | fastest (s) | slowest (s) |",
        "|---|---:|---:|---:|",
    ]
    for name, values in times.items():
        lines.append(f"| {name} | {medians[name]:.3f} | {min(values):.3f} | {max(values):.3f} |")
    lines += ["", f"on / off, medians: {report['ratio_on_to_off']:.2f}x."]
    text = "\n".join(lines) + "\n"
    print(text)
    OUTPUT.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    OUTPUT.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
