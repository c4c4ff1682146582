"""Fit time of RobustLossClassifier against MLPClassifier, default skorch and a plain torch loop.

Setting (issue 2): 50,000 x 20 features, 3 classes, hidden (64, 64), batch 256,
10 epochs, Adam lr 1e-3, 2 torch/BLAS threads. Every contender is timed in the
same warm process (after one warm-up fit, so torch's one-off optimiser import
cost is excluded and reported separately), `--repeats` times, best time kept.
Ratios are printed side by side and written to docs/benchmarks/fit_speed.json.

Run:  python benchmarks/fit_speed.py
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from skloss import RobustLossClassifier

HIDDEN = (64, 64)
BATCH = 256
EPOCHS = 10
LR = 1e-3


def make_data(seed=0):
    X, y = make_classification(
        n_samples=60_000,
        n_features=20,
        n_informative=12,
        n_classes=3,
        n_clusters_per_class=2,
        random_state=seed,
    )
    X = X.astype(np.float32)
    return train_test_split(X, y, train_size=50_000, random_state=seed)


def plain_torch_loop(X, y, X_test, seed=0):
    """The floor: a hand-written loop with sliced batches and torch's fused Adam."""
    torch.manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    layers, width = [], X.shape[1]
    for h in HIDDEN:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 3))
    opt = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(Xt))
        Xp, yp = Xt[perm], yt[perm]
        for start in range(0, len(Xp), BATCH):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(
                net(Xp[start : start + BATCH]), yp[start : start + BATCH]
            )
            loss.backward()
            opt.step()
    with torch.no_grad():
        return net(torch.from_numpy(X_test)).argmax(1).numpy()


def default_skorch(X, y, X_test, seed=0):
    from skorch import NeuralNetClassifier

    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layers, width = [], X.shape[1]
            for h in HIDDEN:
                layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
                width = h
            self.body = torch.nn.Sequential(*layers, torch.nn.Linear(width, 3))

        def forward(self, x):
            return self.body(x)

    net = NeuralNetClassifier(
        Net,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=EPOCHS,
        batch_size=BATCH,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )
    net.fit(X, y.astype(np.int64))
    return net.predict(X_test)


def run(repeats):
    X, X_test, y, y_test = make_data()
    contenders = {
        "skloss RobustLossClassifier": lambda: (
            RobustLossClassifier(
                hidden_layer_sizes=HIDDEN,
                batch_size=BATCH,
                max_iter=EPOCHS,
                learning_rate_init=LR,
                random_state=0,
                n_iter_no_change=EPOCHS,
            )
            .fit(X, y)
            .predict(X_test)
        ),
        "sklearn MLPClassifier": lambda: (
            MLPClassifier(
                hidden_layer_sizes=HIDDEN,
                batch_size=BATCH,
                max_iter=EPOCHS,
                learning_rate_init=LR,
                random_state=0,
                n_iter_no_change=EPOCHS,
            )
            .fit(X, y)
            .predict(X_test)
        ),
        "skorch NeuralNetClassifier (defaults)": lambda: default_skorch(X, y, X_test),
        "plain torch loop": lambda: plain_torch_loop(X, y, X_test),
    }
    # The first optimiser built in a process imports torch's compiler stack (~1 s once).
    start = time.perf_counter()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    first_optimizer_s = time.perf_counter() - start
    for fit in contenders.values():  # warm-up, untimed
        fit()
    results = {}
    for name, fit in contenders.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            predicted = fit()
            times.append(time.perf_counter() - start)
        results[name] = {"seconds": min(times), "accuracy": float(np.mean(predicted == y_test))}
    reference = results["sklearn MLPClassifier"]["seconds"]
    skorch_time = results["skorch NeuralNetClassifier (defaults)"]["seconds"]
    lines = [
        "| contender | fit time (s) | ratio to MLPClassifier | test accuracy |",
        "|---|---:|---:|---:|",
    ]
    for name, row in results.items():
        row["ratio_to_mlp"] = row["seconds"] / reference
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {row['ratio_to_mlp']:.2f} | {row['accuracy']:.4f} |"
        )
    skloss_time = results["skloss RobustLossClassifier"]["seconds"]
    lines += [
        "",
        f"skloss speed-up over default skorch: {skorch_time / skloss_time:.2f}x; "
        f"skloss / plain torch loop: {skloss_time / results['plain torch loop']['seconds']:.2f}x",
        f"first optimiser built in a process (one-off, excluded above): {first_optimizer_s:.2f} s",
    ]
    print("\n".join(lines))
    return lines, {
        "setting": {
            "n_train": len(X),
            "n_features": X.shape[1],
            "n_classes": 3,
            "hidden": HIDDEN,
            "batch_size": BATCH,
            "epochs": EPOCHS,
            "threads": torch.get_num_threads(),
            "repeats": repeats,
            "torch": torch.__version__,
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "results": results,
        "speedup_over_default_skorch": skorch_time / skloss_time,
        "first_optimizer_seconds": first_optimizer_s,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--output",
        default=str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "fit_speed.json"),
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        lines, report = run(args.repeats)
    command = f"python benchmarks/fit_speed.py --repeats {args.repeats} --threads {args.threads}"
    report["command"] = command
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    setting = report["setting"]
    header = (
        f"Produced by `{command}` (torch {setting['torch']}, {setting['cpus']} CPUs, "
        f"{setting['threads']} threads, best of {setting['repeats']}).\n"
        f"{setting['n_train']:,} x {setting['n_features']} features, {setting['n_classes']} "
        f"classes, hidden {tuple(setting['hidden'])}, batch {setting['batch_size']}, "
        f"{setting['epochs']} epochs, Adam 1e-3.\n\n"
    )
    output.with_suffix(".md").write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {output} and {output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
