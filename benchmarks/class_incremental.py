"""Class-incremental learning: analytic learning against gradient learners that forget.

Protocol (DATASETS.md): per seed, a stratified 75/25 train/test split and a random
class order; the first half of the classes is the base phase, then one new class
per phase (digits 5 + 5x1, letter 13 + 13x1, penbased 5 + 5x1). After every phase
each learner is scored on the test rows of the classes seen so far. Reported:

- average incremental accuracy: the mean of those scores over all phases, base included;
- last-phase accuracy: the score after the last phase (all classes);
- forgetting of the base classes: accuracy on the base classes' test rows after
  the base phase minus after the last phase, in points;
- time per phase: wall time of learning the phase (partial_fit, or the refit for
  the joint learner), and the time per training row of the incremental phases.

Learners (each phase's rows are given once, as one batch, never stored by the
incremental learners):

- ``analytic (base-phase scaler)``: AnalyticIncrementalClassifier whose backbone is
  a StandardScaler fitted on the base phase's training rows, then frozen (what is
  known at phase 0; never fitted on test rows or later phases);
- ``analytic (raw, no scaling)``: the estimator's defaults (``backbone=None``, the
  raw features as given);
- ``analytic (MLP backbone)``: the same on the hidden layer of a skloss MLP
  trained on the base classes only (training time counted in the base phase);
- ``SGDClassifier.partial_fit`` and ``MLPClassifier.partial_fit``: 5 passes
  over each phase's rows, every class announced up front (scikit-learn's rule);
- ``SGDClassifier.partial_fit (raw, 1 pass)``: the naive baseline of the issue's
  anchor, one pass per phase on the raw features;
- ``joint MLPClassifier``: retrained from scratch on every row seen so far at
  each phase (stores all data: the usual upper bound of gradient learners).

The other baselines get features standardised with the base phase's statistics
(what is known at phase 0). Each analytic learner's incremental weights are also
compared with one joint ``fit``, with the same parameters, on all its training rows
(the exact-equivalence claim).

Run:  python benchmarks/class_incremental.py        (about 7 minutes on 1 thread)
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
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import load  # noqa: E402

from skloss import RobustLossClassifier  # noqa: E402
from skloss.analytic import AnalyticIncrementalClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("digits", "letter", "penbased")
BUFFER_SIZE = 2048
GAMMA = 0.1
EPOCHS = 5  # passes over each phase for the partial_fit baselines
HIDDEN = (256,)  # MLP baselines and the backbone
BACKBONE_EPOCHS = 60
JOINT_EPOCHS = 60
METHODS = (
    "analytic (base-phase scaler)",
    "analytic (raw, no scaling)",
    "analytic (MLP backbone)",
    "SGDClassifier.partial_fit (raw, 1 pass)",
    "SGDClassifier.partial_fit",
    "MLPClassifier.partial_fit",
    "joint MLPClassifier (upper bound)",
)
RAW_INPUT = (
    "analytic (base-phase scaler)",
    "analytic (raw, no scaling)",
    "SGDClassifier.partial_fit (raw, 1 pass)",
)
ANALYTIC = tuple(method for method in METHODS if method.startswith("analytic"))


# ---- learners: learn(X, y) once per phase, predict(X) --------------------------------------
class Analytic:
    """The estimator's defaults: the raw features, no scaling."""

    def __init__(self, seed):
        self.model = AnalyticIncrementalClassifier(
            buffer_size=BUFFER_SIZE, gamma=GAMMA, random_state=seed
        )

    def learn(self, X, y):
        self.model.partial_fit(X, y)

    def predict(self, X):
        return self.model.predict(X)


class AnalyticOnBaseScaler(Analytic):
    """A StandardScaler fitted on the first phase (the base classes), then frozen."""

    def __init__(self, seed):
        self.seed = seed
        self.model = None

    def learn(self, X, y):
        # float64 in, so that the scaled features are not rounded to the data's float32.
        X = np.asarray(X, dtype=np.float64)
        if self.model is None:
            scaler = FrozenEstimator(StandardScaler().fit(X))
            self.model = AnalyticIncrementalClassifier(
                backbone=scaler,
                buffer_size=BUFFER_SIZE,
                gamma=GAMMA,
                random_state=self.seed,
            )
        self.model.partial_fit(X, y)

    def predict(self, X):
        return self.model.predict(np.asarray(X, dtype=np.float64))


class AnalyticOnMLP(Analytic):
    """The hidden layer of a skloss MLP trained on the base classes, then frozen."""

    def __init__(self, seed):
        self.seed = seed
        self.model = None

    def learn(self, X, y):
        if self.model is None:
            mlp = RobustLossClassifier(
                hidden_layer_sizes=HIDDEN,
                max_iter=BACKBONE_EPOCHS,
                early_stopping=True,
                random_state=self.seed,
                device="cpu",
            ).fit(X, y)
            self.model = AnalyticIncrementalClassifier(
                backbone=mlp,
                buffer_size=BUFFER_SIZE,
                gamma=GAMMA,
                random_state=self.seed,
            )
        self.model.partial_fit(X, y)


class GradientPartialFit:
    def __init__(self, model, classes, seed, epochs=EPOCHS):
        self.model, self.classes, self.first, self.epochs = model, classes, True, epochs
        self.rng = np.random.RandomState(seed)

    def learn(self, X, y):
        for _ in range(self.epochs):
            order = self.rng.permutation(len(y))
            if self.first:
                self.model.partial_fit(X[order], y[order], classes=self.classes)
                self.first = False
            else:
                self.model.partial_fit(X[order], y[order])

    def predict(self, X):
        return self.model.predict(X)


class JointMLP:
    def __init__(self, seed):
        self.seed, self.X, self.y = seed, [], []

    def learn(self, X, y):
        self.X.append(X)
        self.y.append(y)
        self.model = MLPClassifier(
            hidden_layer_sizes=HIDDEN,
            max_iter=JOINT_EPOCHS,
            random_state=self.seed,
        ).fit(np.vstack(self.X), np.concatenate(self.y))

    def predict(self, X):
        return self.model.predict(X)


def make_learner(method, classes, seed):
    if method == "analytic (base-phase scaler)":
        return AnalyticOnBaseScaler(seed)
    if method == "analytic (raw, no scaling)":
        return Analytic(seed)
    if method == "analytic (MLP backbone)":
        return AnalyticOnMLP(seed)
    if method == "SGDClassifier.partial_fit (raw, 1 pass)":
        return GradientPartialFit(SGDClassifier(random_state=seed), classes, seed, epochs=1)
    if method == "SGDClassifier.partial_fit":
        return GradientPartialFit(SGDClassifier(random_state=seed), classes, seed)
    if method == "MLPClassifier.partial_fit":
        return GradientPartialFit(
            MLPClassifier(hidden_layer_sizes=HIDDEN, random_state=seed), classes, seed
        )
    return JointMLP(seed)


# ---- one stream ------------------------------------------------------------------------------
def class_phases(classes, seed):
    order = np.random.RandomState(seed).permutation(classes)
    n_base = len(classes) // 2
    return [order[:n_base]] + [order[i : i + 1] for i in range(n_base, len(order))]


def run_stream(method, data, phases, seed):
    X_raw, X_scaled, y_train, X_test_raw, X_test_scaled, y_test = data
    raw = method in RAW_INPUT
    X_train, X_test = (X_raw, X_test_raw) if raw else (X_scaled, X_test_scaled)
    learner = make_learner(method, np.unique(y_train), seed)
    base = np.isin(y_test, phases[0])
    seen, accuracy, base_accuracy, seconds, rows = [], [], [], [], []
    for phase in phases:
        index = np.flatnonzero(np.isin(y_train, phase))
        start = time.perf_counter()
        learner.learn(X_train[index], y_train[index])
        seconds.append(time.perf_counter() - start)
        rows.append(len(index))
        seen.extend(phase.tolist())
        test = np.isin(y_test, seen)
        predicted = learner.predict(X_test[test])
        accuracy.append(float(np.mean(predicted == y_test[test])))
        base_accuracy.append(float(np.mean(predicted[base[test]] == y_test[test][base[test]])))
    return learner, {
        "accuracy": accuracy,
        "base_accuracy": base_accuracy,
        "seconds": seconds,
        "rows": rows,
    }


def joint_equivalence(learner, X_train, y_train, phases):
    """Relative weight difference between the incremental and one joint fit.

    The joint fit has the incremental learner's parameters (so its frozen
    backbone and seed) and gets all the rows it saw, in one call.
    """
    model = learner.model
    order = np.concatenate([np.flatnonzero(np.isin(y_train, phase)) for phase in phases])
    X_train = np.asarray(X_train, dtype=np.float64)
    joint = AnalyticIncrementalClassifier(**model.get_params(deep=False)).fit(
        X_train[order], y_train[order]
    )
    columns = [int(np.flatnonzero(joint.classes_ == label)[0]) for label in model.classes_]
    incremental = model.weight_.cpu().numpy()
    reference = joint.weight_.cpu().numpy()[:, columns]
    return float(np.linalg.norm(incremental - reference) / np.linalg.norm(reference))


# ---- summary ---------------------------------------------------------------------------------
def summarise(runs):
    """Per-method statistics over seeds."""

    def mean_std(values):
        return float(np.mean(values)), float(np.std(values))

    out = {}
    for method, per_seed in runs.items():
        average = [100 * np.mean(r["accuracy"]) for r in per_seed]
        last = [100 * r["accuracy"][-1] for r in per_seed]
        forgetting = [100 * (r["base_accuracy"][0] - r["base_accuracy"][-1]) for r in per_seed]
        base_s = [r["seconds"][0] for r in per_seed]
        increment_s = [np.mean(r["seconds"][1:]) for r in per_seed]
        # Time per row of the first and last thirds of the incremental phases: flat
        # if a phase costs what its own rows cost, rising if it pays for the past.
        third = max(1, (len(per_seed[0]["rows"]) - 1) // 3)
        early = [
            1e3 * sum(r["seconds"][1 : 1 + third]) / sum(r["rows"][1 : 1 + third]) for r in per_seed
        ]
        late = [1e3 * sum(r["seconds"][-third:]) / sum(r["rows"][-third:]) for r in per_seed]
        out[method] = {
            "average_incremental_accuracy": mean_std(average),
            "last_accuracy": mean_std(last),
            "base_forgetting_points": mean_std(forgetting),
            "base_phase_seconds": mean_std(base_s),
            "incremental_phase_seconds": mean_std(increment_s),
            "ms_per_row_early_phases": mean_std(early),
            "ms_per_row_late_phases": mean_std(late),
            "accuracy_per_phase_mean": np.mean([r["accuracy"] for r in per_seed], 0).tolist(),
            "accuracy_per_phase_std": np.std([r["accuracy"] for r in per_seed], 0).tolist(),
        }
    return out


def table(name, info, summary, equivalence):
    lines = [
        f"### {name} ({info['n_train']:,} train / {info['n_test']:,} test rows, "
        f"{info['n_features']} features, {info['n_base']} + {info['n_phases']} x 1 classes)",
        "",
        "| method | avg incremental acc (%) | last acc (%) | base forgetting (points) "
        "| base phase (s) | incremental phase (s) | ms/row, first third | ms/row, last third |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method, row in summary.items():

        def fmt(key, digits=1, row=row):
            mean, std = row[key]
            return f"{mean:.{digits}f} ± {std:.{digits}f}"

        lines.append(
            f"| {method} | {fmt('average_incremental_accuracy')} | {fmt('last_accuracy')} | "
            f"{fmt('base_forgetting_points')} | {fmt('base_phase_seconds', 2)} | "
            f"{fmt('incremental_phase_seconds', 3)} | {fmt('ms_per_row_early_phases', 3)} | "
            f"{fmt('ms_per_row_late_phases', 3)} |"
        )
    lines += [
        "",
        "Analytic incremental weights vs one joint fit on all training rows: relative "
        "difference at most "
        + ", ".join(f"{max(values):.1e} ({method})" for method, values in equivalence.items())
        + " over the seeds.",
        "",
    ]
    return lines


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.6), squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items(), strict=True):
        for method, row in result["summary"].items():
            mean = 100 * np.asarray(row["accuracy_per_phase_mean"])
            std = 100 * np.asarray(row["accuracy_per_phase_std"])
            phase = np.arange(len(mean))
            ax.plot(phase, mean, marker="o", markersize=3, label=method)
            ax.fill_between(phase, mean - std, mean + std, alpha=0.15)
        ax.set_title(f"{name}: {result['info']['n_base']} base classes + 1 per phase")
        ax.set_xlabel("phase (0 = base)")
        ax.set_ylabel("test accuracy on classes seen (%)")
        ax.set_ylim(0, 101)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- main ------------------------------------------------------------------------------------
def run_dataset(name, seeds):
    X, y = load(name)
    classes = np.unique(y)
    runs = {method: [] for method in METHODS}
    equivalence = {method: [] for method in ANALYTIC}
    info = None
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        phases = class_phases(classes, seed)
        scaler = StandardScaler().fit(X_train[np.isin(y_train, phases[0])])
        data = (
            X_train,
            scaler.transform(X_train),
            y_train,
            X_test,
            scaler.transform(X_test),
            y_test,
        )
        info = {
            "n_train": len(y_train),
            "n_test": len(y_test),
            "n_features": X.shape[1],
            "n_base": len(phases[0]),
            "n_phases": len(phases) - 1,
        }
        for method in METHODS:
            learner, run = run_stream(method, data, phases, seed)
            run["class_order"] = np.concatenate(phases).tolist()
            runs[method].append(run)
            if method in ANALYTIC:
                seen_X = data[0] if method in RAW_INPUT else data[1]
                equivalence[method].append(joint_equivalence(learner, seen_X, y_train, phases))
            print(
                f"  {name} seed {seed} {method:34s} avg {100 * np.mean(run['accuracy']):5.1f}"
                f"  last {100 * run['accuracy'][-1]:5.1f}  ({sum(run['seconds']):.1f} s)",
                flush=True,
            )
    return {
        "info": info,
        "runs": runs,
        "summary": summarise(runs),
        "joint_equivalence_relative_difference": equivalence,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--output", default=str(ROOT / "docs" / "benchmarks" / "class_incremental.json")
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results = {}
    with threadpool_limits(args.threads):
        # The first optimiser built in a process imports torch's compiler stack
        # (~1 s once); pay it before timing anything.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        for name in args.datasets:
            results[name] = run_dataset(name, range(args.seeds))
    wall = time.perf_counter() - started

    command = "python benchmarks/class_incremental.py"
    if args.datasets != list(DATASETS) or args.seeds != 5 or args.threads != 1:
        command += (
            f" --datasets {' '.join(args.datasets)} --seeds {args.seeds} --threads {args.threads}"
        )
    settings = {
        "buffer_size": BUFFER_SIZE,
        "gamma": GAMMA,
        "init": "uniform",
        "activation": "relu",
        "partial_fit_epochs_per_phase": EPOCHS,
        "hidden_layer_sizes": HIDDEN,
        "backbone_max_iter": BACKBONE_EPOCHS,
        "joint_max_iter": JOINT_EPOCHS,
        "test_size": 0.25,
        "seeds": args.seeds,
        "threads": args.threads,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "wall_seconds": wall,
    }
    lines = [
        f"Produced by `{command}` (torch {settings['torch']}, scikit-learn "
        f"{settings['sklearn']}, {settings['cpus']} CPUs shared, {args.threads} thread(s), "
        f"{wall / 60:.1f} min wall). Mean ± std over {args.seeds} seeds (split and class "
        f"order). Analytic: buffer {BUFFER_SIZE}, gamma {GAMMA}, uniform init, relu. "
        f"partial_fit baselines: {EPOCHS} passes per phase; MLPs: hidden {HIDDEN}.",
        "",
    ]
    for name, result in results.items():
        lines += table(
            name, result["info"], result["summary"], result["joint_equivalence_relative_difference"]
        )
    text = "\n".join(lines)
    print(text)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps({"command": command, "settings": settings, "results": results}, indent=1)
    )
    output.with_suffix(".md").write_text(text)
    plot(results, output.with_suffix(".png"))
    print(f"wrote {output}, {output.with_suffix('.md')} and {output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
