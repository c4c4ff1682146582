"""What an AnalyticIncrementalClassifier holds: pickle sizes, and the cost of all-or-nothing calls.

Two measurements, at the default ``buffer_size=2048`` (``random_state=0``):

1. **Pickle size** on wine (178 rows, 13 features, 3 classes) and digits (1,797 rows,
   64 features, 10 classes): ``len(pickle.dumps(clf))`` after ``fit``, after a
   stream of ``partial_fit`` calls (one class per call), and after
   ``drop_learning_state()``; with the bytes of each fitted tensor, and the
   time of a dump and a load (best of ``--repeats``).
2. **The copy behind all-or-nothing calls**: a ``partial_fit`` call of several
   batches learns on a copy of ``R`` (``d x d`` float64). On digits, 1, 256 (one
   batch), 257, 512 and 1,024 rows learned by a fitted estimator as one call and
   as one-batch calls (the same arithmetic without the copy), interleaved in one
   warm process (median of ``--repeats``), and ``R.clone()`` alone. Run on the
   code before the copy, the two columns measure the same thing: a control.

Run it against the code to measure (``PYTHONPATH``); where ``drop_learning_state``
does not exist (the code before it), its rows are left empty.

Run:  OMP_NUM_THREADS=1 python benchmarks/analytic_state.py
"""

import argparse
import json
import os
import pickle
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits, load_wine

from skloss import __version__
from skloss.analytic import AnalyticIncrementalClassifier

BUFFER = 2048
BATCH = 256  # batch_size="auto" at buffer_size=2048
CALL_ROWS = (1, 256, 257, 512, 1024)
MIB = 2**20


def best_time(function, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def tensor_bytes(clf):
    sizes = {}
    for name in ("inverse_autocorrelation_", "buffer_weight_", "weight_"):
        tensor = getattr(clf, name, None)
        sizes[name] = None if tensor is None else tensor.numel() * tensor.element_size()
    return sizes


def pickle_row(data, state, clf, X, repeats):
    blob = pickle.dumps(clf)
    restored = pickle.loads(blob)
    identical = bool(np.array_equal(restored.decision_function(X), clf.decision_function(X)))
    return {
        "data": data,
        "state": state,
        "pickle_bytes": len(blob),
        "tensor_bytes": tensor_bytes(clf),
        "dump_s": best_time(lambda: pickle.dumps(clf), repeats),
        "load_s": best_time(lambda: pickle.loads(blob), repeats),
        "predictions_identical_after_load": identical,
    }


def pickle_sizes(repeats):
    rows = []
    for data, loader in (("wine", load_wine), ("digits", load_digits)):
        X, y = loader(return_X_y=True)
        fitted = AnalyticIncrementalClassifier(random_state=0).fit(X, y)
        rows.append(pickle_row(data, "fit", fitted, X, repeats))
        stream = AnalyticIncrementalClassifier(random_state=0)
        for label in np.unique(y):
            stream.partial_fit(X[y == label], y[y == label])
        rows.append(pickle_row(data, "partial_fit stream", stream, X, repeats))
        if hasattr(fitted, "drop_learning_state"):
            fitted.drop_learning_state()
            rows.append(pickle_row(data, "fit, then drop_learning_state()", fitted, X, repeats))
    return rows


def call_costs(repeats):
    """Median seconds of the same rows learned as one call and as one-batch calls, interleaved.

    Both learn the same batches with the same arithmetic; only the one call of
    several batches copies R first. Each trial starts from its own unpickled copy
    of the fitted estimator.
    """
    X, y = load_digits(return_X_y=True)
    clf = AnalyticIncrementalClassifier(random_state=0).fit(X, y)
    blob = pickle.dumps(clf)
    rows = []
    for n_rows in CALL_ROWS:
        index = np.arange(n_rows) % len(y)
        chunks = [index[start : start + BATCH] for start in range(0, n_rows, BATCH)]
        one_call, one_batch_calls = [], []
        for _ in range(repeats):
            trial = pickle.loads(blob)
            start = time.perf_counter()
            trial.partial_fit(X[index], y[index])
            one_call.append(time.perf_counter() - start)
            trial = pickle.loads(blob)
            start = time.perf_counter()
            for chunk in chunks:
                trial.partial_fit(X[chunk], y[chunk])
            one_batch_calls.append(time.perf_counter() - start)
        rows.append(
            {
                "rows": n_rows,
                "batches": len(chunks),
                "one_call_s": float(np.median(one_call)),
                "one_batch_calls_s": float(np.median(one_batch_calls)),
            }
        )
    inverse = clf.inverse_autocorrelation_
    clones = []
    for _ in range(repeats):
        start = time.perf_counter()
        inverse.clone()
        clones.append(time.perf_counter() - start)
    return rows, {"median_s": float(np.median(clones)), "max_s": float(np.max(clones))}


def markdown(report):
    lines = [
        f"Produced by `{report['command']}` (skloss {report['skloss']}, torch {report['torch']}, "
        f"{report['cpus']} CPUs shared with other jobs, {report['threads']} torch thread; "
        f"pickle protocol {report['pickle_protocol']}).",
        "",
        f"Pickle size, buffer_size={BUFFER}, random_state=0 (dump and load: best of "
        f"{report['repeats']}):",
        "",
        "| data | state | pickle (MiB) | R (MiB) | W_B (MiB) | W (MiB) | dump (s) | load (s) "
        "| predictions identical after load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["pickle"]:
        sizes = row["tensor_bytes"]
        cells = [
            "dropped" if sizes[name] is None else f"{sizes[name] / MIB:.3f}"
            for name in ("inverse_autocorrelation_", "buffer_weight_", "weight_")
        ]
        lines.append(
            f"| {row['data']} | {row['state']} | {row['pickle_bytes'] / MIB:.3f} | "
            + " | ".join(cells)
            + f" | {row['dump_s']:.3f} | {row['load_s']:.3f} | "
            f"{row['predictions_identical_after_load']} |"
        )
    clone = report["clone"]
    lines += [
        "",
        f"partial_fit on a fitted estimator (digits, buffer_size={BUFFER}, batch_size {BATCH}): "
        "the same rows as one call (of several batches: R is copied first) and as one-batch "
        f"calls (no copy), interleaved, median of {report['repeats']}. R.clone() alone: "
        f"median {clone['median_s'] * 1e3:.1f} ms, at most {clone['max_s'] * 1e3:.1f} ms.",
        "",
        "| rows | batches | one call (ms) | one-batch calls (ms) | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in report["calls"]:
        lines.append(
            f"| {row['rows']} | {row['batches']} | {row['one_call_s'] * 1e3:.1f} | "
            f"{row['one_batch_calls_s'] * 1e3:.1f} | "
            f"{row['one_call_s'] / row['one_batch_calls_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    default = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "analytic_state.json"
    parser.add_argument("--output", default=str(default))
    parser.add_argument(
        "--command", default="OMP_NUM_THREADS=1 python benchmarks/analytic_state.py"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    calls, clone = call_costs(args.repeats)
    report = {
        "command": args.command,
        "skloss": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "pickle_protocol": pickle.DEFAULT_PROTOCOL,
        "buffer_size": BUFFER,
        "pickle": pickle_sizes(args.repeats),
        "calls": calls,
        "clone": clone,
    }
    text = markdown(report)
    print(text)
    output = Path(args.output)
    output.write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(text)
    print(f"wrote {output} and {output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
