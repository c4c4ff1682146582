"""Learning from aggregate responses: bag-level, instance-level and interpolating losses.

The claim under test (Javanmard et al., "Learning from Aggregate Responses:
Instance Level versus Bag Level Loss Functions", ICLR 2024): the interpolating
estimator, ``k (ybar - fbar)^2 + rho * sum_i (f_i - fbar)^2`` with ``rho``
chosen by cross-validation, predicts individual responses better than both the
bag-level loss (``rho = 0``) and the instance-level loss (``rho = 1``).

Protocol, per data set and seed: at most ``--max-rows`` rows (a random subset),
a random 75/25 train/test split, ``StandardScaler`` fitted on the training
features. The training rows are cut into random bags of ``k`` rows and each
row's target is replaced by its bag's mean (the only supervision); the test
rows keep their own targets, and every number is the **instance-level test
RMSE**. ``RobustLossRegressor(loss=BagSquaredError(rho))`` with its defaults
(``(100,)`` MLP, Adam 1e-3, automatic batch size of whole bags) but
``max_iter`` set so that each fit makes about ``--row-passes`` row passes
(between 30 and 300 epochs: small sets get more epochs), for every ``rho`` of
``--rhos``:

- ``bag-level`` is ``rho = 0``, ``instance-level`` is ``rho = 1``;
- ``interpolating (CV)`` takes the ``rho`` with the best mean **bag-level R^2**
  over ``GroupKFold(--folds)`` of the training bags (``score(X, y, bags=...)``:
  the held-out bags' mean predictions against their responses); no test label
  is looked at;
- ``rho by row-level CV`` takes it by the rows' R^2 against the repeated bag
  responses instead (the default ``score``), shown because that criterion
  rewards the instance-level loss's shrinkage toward the bag mean;
- peers: ``HGB on bag means`` (``HistGradientBoostingRegressor`` on the
  repeated responses: an instance-level learner), ``linear on bag means``
  (least squares of the bag responses on the bags' mean features, bags
  weighted by size: the unbiased bag-level linear model), ``instance labels``
  (the same MLP trained on the true per-row targets: what aggregation costs)
  and ``mean`` (predicting the training mean).

Run under the shared lock (195 seconds on one core with the defaults: 4 data
sets x 3 bag sizes x 2 seeds x (4 rhos + 3 folds x 4 rhos) fits, most of them
stopping on the training loss's tolerance well before ``max_iter``)::

    flock /tmp/skloss-bench.lock python benchmarks/aggregate_responses.py

It prints one line per fit group and writes
``docs/benchmarks/aggregate_responses.{json,md,png}``.
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
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.model_selection import GroupKFold, train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _regression_data import load_regression  # noqa: E402

from skloss import RobustLossRegressor  # noqa: E402
from skloss.losses import BagSquaredError  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "aggregate_responses"
METHODS = (
    "bag-level",
    "instance-level",
    "interpolating (CV)",
    "rho by row-level CV",
    "HGB on bag means",
    "linear on bag means",
    "instance labels",
    "mean",
)


def rmse(y, predicted):
    return float(np.sqrt(np.mean((y - predicted) ** 2)))


def random_bags(n_rows, size, rng):
    """Random bags of ``size`` rows (one smaller bag at most)."""
    return rng.permutation(n_rows) // size


def bag_responses(y, bags):
    """Each row's bag mean: the aggregate response repeated on the bag's rows."""
    return (np.bincount(bags, y) / np.bincount(bags))[bags]


def network(rho, epochs, seed):
    return RobustLossRegressor(loss=BagSquaredError(rho=rho), max_iter=epochs, random_state=seed)


def choose_rho(X, ybar, bags, rhos, folds, epochs, seed):
    """``rho`` by bag-level and by row-level R^2 over GroupKFold of the training bags."""
    bag_scores = {rho: [] for rho in rhos}
    row_scores = {rho: [] for rho in rhos}
    for train, valid in GroupKFold(folds).split(X, ybar, groups=bags):
        for rho in rhos:
            model = network(rho, epochs, seed).fit(X[train], ybar[train], bags=bags[train])
            bag_scores[rho].append(model.score(X[valid], ybar[valid], bags=bags[valid]))
            row_scores[rho].append(model.score(X[valid], ybar[valid]))
    by_bags = max(rhos, key=lambda rho: np.mean(bag_scores[rho]))
    by_rows = max(rhos, key=lambda rho: np.mean(row_scores[rho]))
    return by_bags, by_rows, bag_scores


def linear_on_bag_means(X, ybar, bags):
    sizes = np.bincount(bags)
    mean_features = np.stack([np.bincount(bags, column) for column in X.T], axis=1)
    mean_features /= sizes[:, None]
    responses = np.bincount(bags, ybar) / sizes
    keep = sizes > 0
    return LinearRegression().fit(mean_features[keep], responses[keep], sample_weight=sizes[keep])


def epochs_for(n_train, row_passes):
    """Epochs giving about ``row_passes`` row passes, between 30 and 300."""
    return int(np.clip(round(row_passes / n_train), 30, 300))


def run_one(name, seed, sizes, rhos, folds, row_passes, max_rows):
    """Every method's test RMSE for one data set and seed, all bag sizes."""
    X, y = load_regression(name)
    rng = np.random.default_rng(seed)
    if len(y) > max_rows:
        keep = rng.choice(len(y), max_rows, replace=False)
        X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    epochs = epochs_for(len(y_train), row_passes)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    common = {
        "instance labels": rmse(
            y_test,
            RobustLossRegressor(max_iter=epochs, random_state=seed)
            .fit(X_train, y_train)
            .predict(X_test),
        ),
        "mean": rmse(y_test, np.full_like(y_test, y_train.mean())),
    }
    records = []
    for size in sizes:
        started = time.perf_counter()
        bags = random_bags(len(y_train), size, rng)
        ybar = bag_responses(y_train, bags)
        curve = {
            rho: rmse(
                y_test, network(rho, epochs, seed).fit(X_train, ybar, bags=bags).predict(X_test)
            )
            for rho in rhos
        }
        by_bags, by_rows, cv_scores = choose_rho(X_train, ybar, bags, rhos, folds, epochs, seed)
        hgb = HistGradientBoostingRegressor(random_state=seed).fit(X_train, ybar)
        result = {
            "bag-level": curve[0.0],
            "instance-level": curve[1.0],
            "interpolating (CV)": curve[by_bags],
            "rho by row-level CV": curve[by_rows],
            "HGB on bag means": rmse(y_test, hgb.predict(X_test)),
            "linear on bag means": rmse(
                y_test, linear_on_bag_means(X_train, ybar, bags).predict(X_test)
            ),
            **common,
        }
        records.append(
            {
                "dataset": name,
                "seed": seed,
                "bag_size": size,
                "n_train": len(y_train),
                "epochs": epochs,
                "n_bags": int(bags.max()) + 1,
                "rmse": result,
                "rmse_by_rho": {str(rho): value for rho, value in curve.items()},
                "rho_by_bag_cv": by_bags,
                "rho_by_row_cv": by_rows,
                "bag_cv_r2": {str(rho): float(np.mean(s)) for rho, s in cv_scores.items()},
                "seconds": time.perf_counter() - started,
            }
        )
        print(json.dumps(records[-1]), flush=True)
    return records


def report(records, settings, command):
    """The Markdown table: mean test RMSE (std over seeds) per data set and bag size."""
    lines = [
        f"Command: `{command}`",
        "",
        f"Instance-level test RMSE (mean ± std over {settings['seeds']} seeds; lower is "
        "better) of `RobustLossRegressor(loss=BagSquaredError(rho))` trained on bag means "
        f"of random bags of k rows; about {settings['row_passes']} row passes per fit, rho grid "
        f"{settings['rhos']}, chosen by {settings['folds']}-fold GroupKFold on the training "
        "bags. **Bold**: the best of the three bag losses. `rho` columns: the values the "
        "cross-validations chose, per seed.",
        "",
    ]
    for name in settings["datasets"]:
        rows = [r for r in records if r["dataset"] == name]
        if not rows:
            continue
        first = rows[0]
        lines += [
            f"**{name}** ({first['n_train']} training rows, {first['epochs']} epochs)",
            "",
            "| k | " + " | ".join(METHODS) + " | rho (bag CV) | rho (row CV) |",
            "|---" * (len(METHODS) + 3) + "|",
        ]
        for size in settings["sizes"]:
            group = [r for r in rows if r["bag_size"] == size]
            if not group:
                continue
            means = {m: np.mean([r["rmse"][m] for r in group]) for m in METHODS}
            best = min(means[m] for m in METHODS[:3])
            cells = []
            for method in METHODS:
                values = [r["rmse"][method] for r in group]
                cell = f"{np.mean(values):.4g} ± {np.std(values):.2g}"
                if method in METHODS[:3] and means[method] == best:
                    cell = f"**{cell}**"
                cells.append(cell)
            chosen = ", ".join(f"{r['rho_by_bag_cv']:g}" for r in group)
            chosen_rows = ", ".join(f"{r['rho_by_row_cv']:g}" for r in group)
            lines.append(f"| {size} | " + " | ".join(cells) + f" | {chosen} | {chosen_rows} |")
        lines.append("")
    lines += summary(records, settings)
    return "\n".join(lines) + "\n"


def summary(records, settings):
    """How often the CV-chosen interpolation beat each endpoint (per data set, k, seed)."""
    wins = {"bag-level": 0, "instance-level": 0}
    for record in records:
        for rival in wins:
            wins[rival] += record["rmse"]["interpolating (CV)"] < record["rmse"][rival]
    ties_or_losses = len(records)
    return [
        f"Over {ties_or_losses} (data set, k, seed) cases, the CV-chosen interpolation had a "
        f"lower test RMSE than the bag-level loss in {wins['bag-level']} and than the "
        f"instance-level loss in {wins['instance-level']} (an endpoint chosen by CV ties it).",
    ]


def plot(records, settings, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in settings["datasets"] if any(r["dataset"] == n for r in records)]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        for size in settings["sizes"]:
            group = [r for r in records if r["dataset"] == name and r["bag_size"] == size]
            if not group:
                continue
            rhos = settings["rhos"]
            curve = [np.mean([r["rmse_by_rho"][str(rho)] for r in group]) for rho in rhos]
            axis.plot(rhos, curve, marker="o", label=f"k = {size}")
        reference = np.mean([r["rmse"]["instance labels"] for r in records if r["dataset"] == name])
        axis.axhline(reference, color="grey", linestyle=":", label="instance labels")
        axis.set_title(name)
        axis.set_xlabel("rho (0: bag-level, 1: instance-level)")
        axis.set_ylabel("test RMSE")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["diabetes", "wage", "california", "bikeshare"]
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[2, 8, 32])
    parser.add_argument("--rhos", nargs="+", type=float, default=[0.0, 0.1, 0.3, 1.0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--row-passes", type=int, default=100_000)
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if 0.0 not in args.rhos or 1.0 not in args.rhos:
        parser.error("--rhos must include 0 and 1 (the bag-level and instance-level losses)")
    command = "python benchmarks/aggregate_responses.py " + shlex.join(argv or sys.argv[1:])
    settings = {
        "datasets": args.datasets,
        "sizes": args.sizes,
        "rhos": sorted(args.rhos),
        "seeds": args.seeds,
        "folds": args.folds,
        "row_passes": args.row_passes,
        "max_rows": args.max_rows,
        "torch_threads": torch.get_num_threads(),
    }
    records = []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in args.datasets:
            for seed in range(args.seeds):
                records += run_one(
                    name,
                    seed,
                    args.sizes,
                    settings["rhos"],
                    args.folds,
                    args.row_passes,
                    args.max_rows,
                )
            # Written after every data set, so that a long run leaves its finished part.
            settings["seconds"] = time.perf_counter() - started
            table = write(records, settings, command.strip(), args.output)
    print(table)


def write(records, settings, command, output):
    table = report(records, settings, command)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(
        json.dumps({"command": command, "settings": settings, "records": records}, indent=1)
    )
    output.with_suffix(".md").write_text(table)
    plot(records, settings, output.with_suffix(".png"))
    return table


if __name__ == "__main__":
    main()
