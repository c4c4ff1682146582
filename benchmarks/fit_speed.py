"""Fit time of RobustLossClassifier against MLPClassifier, default skorch and bare torch loops.

Two workloads, each fitted by every contender in one warm process (after one
untimed warm-up fit each, so torch's one-off import of its compiler stack on the
first optimiser is excluded and reported separately), ``--repeats`` times, the
best time kept:

- ``small``: 50,000 x 20 features, 3 classes, hidden (64, 64), batch 256, 10 epochs;
- ``wide``: 100,000 x 50 features, 5 classes, hidden (256, 256), batch 256, 3 epochs.

Contenders, all Adam lr 1e-3 and ``MLPClassifier``'s weight penalty (alpha 1e-4:
``alpha / (2 * batch) * ||W||^2``, biases free), so that every one does the same
arithmetic:

- skloss ``RobustLossClassifier`` with ``precision="32"`` and ``"bf16-mixed"``;
- scikit-learn ``MLPClassifier``;
- skorch ``NeuralNetClassifier`` with its default data path (per-sample
  ``Dataset`` + ``DataLoader``);
- bare torch loops in float32 and under bfloat16 autocast: a hand-written epoch
  loop over pre-shuffled slices with torch's fused Adam and the same penalty (one
  ``foreach`` add) — the floor.

bfloat16 is fast only where the hardware computes it natively (``avx512_bf16``,
AMX or a CUDA GPU). Where it is not (the machine is named in the output), skloss
trains in float32 and says so (``PrecisionWarning``), while the bare bf16 loop
shows what emulated bfloat16 costs.

``--accuracy`` adds the bf16 accuracy check of issue 25: ``RobustLossClassifier``
(256, 256) trained on the noise benchmark's clean digits and letter splits in
float32 and in bf16-mixed (bfloat16 forced, emulated where not native: the
numbers are bfloat16's, the time is not), test accuracy of each.

Run::

    flock /tmp/skloss-bench.lock python benchmarks/fit_speed.py --repeats 3 --threads 2 --accuracy

It prints the tables and writes ``docs/benchmarks/fit_speed.{json,md}``.
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
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from skloss import RobustLossClassifier
from skloss._training import precision as precision_module
from skloss.exceptions import PrecisionWarning

WORKLOADS = {
    "small": {"n": 50_000, "features": 20, "classes": 3, "hidden": (64, 64), "epochs": 10},
    "wide": {"n": 100_000, "features": 50, "classes": 5, "hidden": (256, 256), "epochs": 3},
}
BATCH = 256
LR = 1e-3
ALPHA = 1e-4


def make_data(workload, seed=0):
    X, y = make_classification(
        n_samples=workload["n"] + 10_000,
        n_features=workload["features"],
        n_informative=min(12, workload["features"]),
        n_classes=workload["classes"],
        n_clusters_per_class=2,
        random_state=seed,
    )
    X = X.astype(np.float32)
    return train_test_split(X, y, train_size=workload["n"], random_state=seed)


def bare_loop(X, y, X_test, workload, bf16, seed=0):
    """The floor: pre-shuffled slices, fused Adam, the L2 penalty in one foreach add."""
    torch.manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    layers, width = [], X.shape[1]
    for h in workload["hidden"]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, workload["classes"]))
    weights = [p for p in net.parameters() if p.ndim == 2]
    opt = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    for _ in range(workload["epochs"]):
        order = torch.randperm(len(Xt))
        Xp, yp = Xt.index_select(0, order), yt.index_select(0, order)
        for start in range(0, len(Xp), BATCH):
            for p in net.parameters():
                p.grad = None
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = net(Xp[start : start + BATCH])
            loss = torch.nn.functional.cross_entropy(out.float(), yp[start : start + BATCH])
            loss.backward()
            with torch.no_grad():
                torch._foreach_add_([w.grad for w in weights], weights, alpha=ALPHA / BATCH)
            opt.step()
    with torch.no_grad():
        return net(torch.from_numpy(X_test)).argmax(1).numpy()


def default_skorch(X, y, X_test, workload, seed=0):
    from skorch import NeuralNetClassifier

    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layers, width = [], X.shape[1]
            for h in workload["hidden"]:
                layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
                width = h
            self.body = torch.nn.Sequential(*layers, torch.nn.Linear(width, workload["classes"]))

        def forward(self, x):
            return self.body(x)

    net = NeuralNetClassifier(
        Net,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=workload["epochs"],
        batch_size=BATCH,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )
    net.fit(X, y.astype(np.int64))
    return net.predict(X_test)


def contenders(X, y, X_test, workload):
    common = {
        "hidden_layer_sizes": workload["hidden"],
        "batch_size": BATCH,
        "max_iter": workload["epochs"],
        "learning_rate_init": LR,
        "alpha": ALPHA,
        "random_state": 0,
        "n_iter_no_change": workload["epochs"],
    }

    def skloss(precision):
        clf = RobustLossClassifier(precision=precision, **common)
        return lambda: clf.fit(X, y).predict(X_test)

    return {
        "skloss fp32": skloss("32"),
        "skloss bf16-mixed": skloss("bf16-mixed"),
        "sklearn MLPClassifier": lambda: MLPClassifier(**common).fit(X, y).predict(X_test),
        "skorch NeuralNetClassifier (defaults)": lambda: default_skorch(X, y, X_test, workload),
        "bare torch loop fp32": lambda: bare_loop(X, y, X_test, workload, bf16=False),
        "bare torch loop bf16": lambda: bare_loop(X, y, X_test, workload, bf16=True),
    }


def time_workload(name, repeats):
    workload = WORKLOADS[name]
    X, X_test, y, y_test = make_data(workload)
    fits = contenders(X, y, X_test, workload)
    for fit in fits.values():  # warm-up, untimed
        fit()
    # Round-robin: repeat r of every contender runs before repeat r + 1 of any, so
    # a slow spell of a shared machine falls on all of them rather than on one.
    times = {contender: [] for contender in fits}
    predicted = {}
    for _ in range(repeats):
        for contender, fit in fits.items():
            start = time.perf_counter()
            predicted[contender] = fit()
            times[contender].append(time.perf_counter() - start)
    results = {
        contender: {
            "seconds": min(times[contender]),
            "all_seconds": times[contender],
            "accuracy": float(np.mean(predicted[contender] == y_test)),
        }
        for contender in fits
    }
    reference = results["sklearn MLPClassifier"]["seconds"]
    for row in results.values():
        row["ratio_to_mlp"] = row["seconds"] / reference
    return results


def accuracy_check(epochs):
    """Clean digits and letter: skloss (256, 256) in float32 and bf16-mixed (bf16 forced)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _datasets import available, load
    from sklearn.preprocessing import StandardScaler

    rows = {}
    for name in [d for d in ("digits", "letter") if d in available()]:
        X, y = load(name)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=0
        )
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        rows[name] = {}
        for precision in ("32", "bf16-mixed"):
            clf = RobustLossClassifier(
                hidden_layer_sizes=(256, 256),
                max_iter=epochs[name],
                precision=precision,
                random_state=0,
                n_iter_no_change=epochs[name],
            )
            start = time.perf_counter()
            clf.fit(X_train, y_train)
            rows[name][precision] = {
                "accuracy": float(clf.score(X_test, y_test)),
                "seconds": time.perf_counter() - start,
            }
    return rows


def markdown(report):
    setting = report["setting"]
    lines = [
        f"Produced by `{report['command']}` (torch {setting['torch']}, {setting['cpus']} "
        f"CPUs, {setting['threads']} threads, best of {setting['repeats']} taken in turns; CPU "
        f"capability {setting['cpu_capability']}, native bfloat16: "
        f"{'yes' if setting['native_bf16'] else 'no'}).",
        "",
    ]
    for name, results in report["workloads"].items():
        w = WORKLOADS[name]
        lines += [
            f"**{name}**: {w['n']:,} x {w['features']} features, {w['classes']} classes, "
            f"hidden {w['hidden']}, batch {BATCH}, {w['epochs']} epochs, Adam 1e-3, "
            f"alpha {ALPHA}.",
            "",
            "| contender | fit time (s) | ratio to MLPClassifier | test accuracy |",
            "|---|---:|---:|---:|",
        ]
        for contender, row in results.items():
            lines.append(
                f"| {contender} | {row['seconds']:.2f} | {row['ratio_to_mlp']:.2f} | "
                f"{row['accuracy']:.4f} |"
            )
        seconds = {contender: row["seconds"] for contender, row in results.items()}
        fp32_floor = seconds["skloss fp32"] / seconds["bare torch loop fp32"]
        bf16_floor = seconds["skloss bf16-mixed"] / seconds["bare torch loop bf16"]
        over_skorch = seconds["skorch NeuralNetClassifier (defaults)"] / seconds["skloss fp32"]
        lines += [
            "",
            f"skloss fp32 / bare fp32 loop: {fp32_floor:.2f}x; skloss bf16-mixed / bare bf16 "
            f"loop: {bf16_floor:.2f}x; speed-up over default skorch: {over_skorch:.2f}x.",
            "",
        ]
    lines.append(
        f"First optimiser built in a process (one-off, excluded above): "
        f"{report['first_optimizer_seconds']:.2f} s."
    )
    if report.get("accuracy"):
        lines += [
            "",
            "Clean test accuracy, RobustLossClassifier (256, 256), float32 against bf16-mixed "
            "(bfloat16 forced, emulated where not native):",
            "",
            "| data | epochs | float32 | bf16-mixed | difference (points) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, rows in report["accuracy"].items():
            fp32, bf16 = rows["32"]["accuracy"], rows["bf16-mixed"]["accuracy"]
            lines.append(
                f"| {name} | {report['accuracy_epochs'][name]} | {fp32:.4f} | {bf16:.4f} | "
                f"{100 * (bf16 - fp32):+.2f} |"
            )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workloads", default="small,wide")
    parser.add_argument("--accuracy", action="store_true", help="also the bf16 accuracy check")
    parser.add_argument(
        "--output",
        default=str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "fit_speed.json"),
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", PrecisionWarning)
    warnings.filterwarnings("ignore", message=".*max_iter.*")
    command = "python benchmarks/fit_speed.py " + " ".join(sys.argv[1:])
    start = time.perf_counter()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    first_optimizer = time.perf_counter() - start
    report = {
        "command": command,
        "setting": {
            "threads": args.threads,
            "repeats": args.repeats,
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": precision_module.fast_bf16("cpu"),
        },
        "first_optimizer_seconds": first_optimizer,
        "workloads": {},
    }
    with threadpool_limits(args.threads):
        for name in args.workloads.split(","):
            report["workloads"][name] = time_workload(name, args.repeats)
            print(name, json.dumps(report["workloads"][name], indent=1))
        if args.accuracy:
            epochs = {"digits": 40, "letter": 40}
            native = precision_module.fast_bf16
            precision_module.fast_bf16 = lambda device: True  # bfloat16's numbers, forced
            try:
                report["accuracy"] = accuracy_check(epochs)
            finally:
                precision_module.fast_bf16 = native
            report["accuracy_epochs"] = epochs
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    text = markdown(report)
    output.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
