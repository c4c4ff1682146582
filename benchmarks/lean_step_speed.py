"""Fit time with and without the lean-step changes, side by side in one process.

The changes: the default MLP's backward pass written out
(``skloss._training.mlp_step``), the fused Adam step called directly
(``skloss._training.optim.FusedAdamStep``), and the loss's gradient in closed
form (``Loss.batch_loss_and_gradient``: cross-entropy, the comp-sum family, SCE
and focal) in place of autograd on the loss. The first two compute exactly what
they replace, the third the same up to float rounding (tests/test_lean_step.py),
so switching them off is a timing question only: this script fits
``fit_speed.py``'s small workload (50,000 x 20 features, 3 classes, hidden
(64, 64), batch 256, 10 epochs, Adam 1e-3) with each of ``--losses`` (default
``ce``, ``gce`` and ``focal``), with all on ("on"), all on but the closed-form gradient
("autograd loss"), and all off ("off"), ``--rounds`` times each, in a shuffled
order per round (a slow spell of a shared machine then falls on any), and reports
the medians and their ratios to "off".

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
from skloss.losses import get_loss

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "lean_step_speed"


def fit_seconds(X, y, loss):
    start = time.perf_counter()
    RobustLossClassifier(
        loss=loss,
        hidden_layer_sizes=(64, 64),
        batch_size=256,
        max_iter=10,
        random_state=0,
        tol=0.0,
        n_iter_no_change=10,
    ).fit(X, y)
    return time.perf_counter() - start


def switched(setting, loss_class, closed):
    """Set the changes on or off (hooks the training step consults)."""
    on = setting != "off"
    net_module.lean_layers = ORIGINAL_LEAN if on else (lambda module: None)
    FusedAdamStep.applies = staticmethod(ORIGINAL_APPLIES if on else (lambda optimizer: False))
    loss_class.batch_loss_and_gradient = (
        closed if setting == "on" else (lambda self, *args, **kwargs: None)
    )


ORIGINAL_LEAN = net_module.lean_layers
ORIGINAL_APPLIES = FusedAdamStep.applies
SETTINGS = ("on", "autograd loss", "off")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--losses", default="ce,gce,focal", help="comma-separated registry names")
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
    losses = [name.strip() for name in args.losses.split(",") if name.strip()]
    fit_seconds(X, y, losses[0])  # warm-up: the first optimiser built in a process pays once
    times, medians, ratios = {}, {}, {}
    order = random.Random(0)
    for loss in losses:
        loss_class = type(get_loss(loss))
        closed = loss_class.batch_loss_and_gradient
        times[loss] = {setting: [] for setting in SETTINGS}
        for _ in range(args.rounds):
            settings = list(SETTINGS)
            order.shuffle(settings)
            for setting in settings:
                switched(setting, loss_class, closed)
                times[loss][setting].append(fit_seconds(X, y, loss))
        switched("on", loss_class, closed)
        medians[loss] = {name: statistics.median(values) for name, values in times[loss].items()}
        ratios[loss] = {name: medians[loss][name] / medians[loss]["off"] for name in SETTINGS}
    report = {
        "command": " ".join(
            ["python benchmarks/lean_step_speed.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "rounds": args.rounds,
        "threads": args.threads,
        "torch": torch.__version__,
        "seconds": times,
        "median_seconds": medians,
        "ratio_to_off": ratios,
    }
    lines = [
        f"Produced by `{report['command']}` (torch {report['torch']}, {args.threads} threads, "
        f"{args.rounds} rounds, shuffled order per round).",
        "",
        "| loss | lean step | median fit time (s) | fastest (s) | slowest (s) | median / off |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for loss in losses:
        for name, values in times[loss].items():
            lines.append(
                f"| {loss} | {name} | {medians[loss][name]:.3f} | {min(values):.3f} "
                f"| {max(values):.3f} | {ratios[loss][name]:.2f}x |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    OUTPUT.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    OUTPUT.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
