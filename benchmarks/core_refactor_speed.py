"""Fit time before and after the estimator core was split by kind of target, side by side.

The same ``RobustLossClassifier`` fit as ``fit_speed.py``'s small workload (50,000 x
20 features, 3 classes, hidden (64, 64), batch 256, 10 epochs, Adam 1e-3), timed
in fresh processes that alternate between two source trees (``--before``, a
checkout of the commit before the change, and ``--after``, this one), each
process warming up once and keeping the best of ``--repeats`` fits. The ratio of
the two medians is the change in fit time.

Run (a checkout of 43a7a5b in /work/base43, say)::

    flock /tmp/skloss-bench.lock python benchmarks/core_refactor_speed.py --before /work/base43

It prints the table and writes ``docs/benchmarks/core_refactor_speed.{json,md}``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "core_refactor_speed"

TIMING = """
import time, warnings
import numpy as np, torch
torch.set_num_threads({threads})
warnings.simplefilter("ignore")
from sklearn.datasets import make_classification
from skloss import RobustLossClassifier
X, y = make_classification(n_samples=50_000, n_features=20, n_informative=12, n_classes=3,
                           n_clusters_per_class=2, random_state=0)
X = X.astype(np.float32)
def fit():
    RobustLossClassifier(hidden_layer_sizes=(64, 64), batch_size=256, max_iter=10,
                         random_state=0, n_iter_no_change=10).fit(X, y)
fit()
best = float("inf")
for _ in range({repeats}):
    start = time.perf_counter(); fit(); best = min(best, time.perf_counter() - start)
print(best)
"""


def time_tree(tree, threads, repeats):
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
    code = TIMING.format(threads=threads, repeats=repeats)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="source tree of the earlier commit")
    parser.add_argument("--after", default=str(ROOT), help="source tree of this commit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    times = {"before": [], "after": []}
    for _ in range(args.rounds):
        for side in ("before", "after"):
            times[side].append(time_tree(Path(getattr(args, side)), args.threads, args.repeats))
            print(side, f"{times[side][-1]:.3f} s", flush=True)
    medians = {side: statistics.median(values) for side, values in times.items()}
    ratio = medians["after"] / medians["before"]
    command = "python benchmarks/core_refactor_speed.py " + " ".join(sys.argv[1:])
    lines = [
        f"`{command}` ({args.rounds} alternating rounds, best of {args.repeats} fits per "
        f"process, {args.threads} threads)",
        "",
        "| tree | fit times (s) | median (s) |",
        "|---|---|---:|",
        *[
            f"| {side} | {', '.join(f'{t:.3f}' for t in values)} | {medians[side]:.3f} |"
            for side, values in times.items()
        ],
        "",
        f"after / before: {ratio:.3f}",
        "",
    ]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text("\n".join(lines))
    output.with_suffix(".json").write_text(
        json.dumps({"command": command, "times": times, "medians": medians, "ratio": ratio})
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
