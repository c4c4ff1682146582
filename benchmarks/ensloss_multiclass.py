"""EnsLoss on more than two classes: one-vs-rest heads in one network, and its peers.

``EnsLossClassifier`` trains ``K`` one-vs-rest logits in one network when ``y`` has
``K > 2`` classes (each column the binary EnsLoss of its class against the rest).
This script compares it, on the multiclass sets of ``benchmarks/ensloss_tabular.py``
(digits, satimage, penbased; 1,500-row stratified subsamples, 70/30 split,
standardised, the same trials), with

- ``ensloss_margin``: the other candidate, one network trained on EnsLoss of the
  multiclass margin ``z_y - max_{k != y} z_k`` (defined below);
- ``ovr_ensloss``: ``OneVsRestClassifier(EnsLossClassifier())``, the old way, ``K``
  binary networks;
- ``bce_heads``: the same one-vs-rest heads in one network, trained on the summed
  binary cross-entropy (the fixed-loss peer of ``ensloss_heads``);
- ``ovr_bce``: ``OneVsRestClassifier`` of ``K`` binary BCE networks;
- ``softmax_ce``: a softmax cross-entropy network;
- ``ensloss_heads_paper``: ``ensloss_heads`` with ``EnsLossClassifier``'s own recipe
  (SGD with Nesterov momentum 0.9, lr 0.01, cosine schedule, batch normalisation).

Every other model trains with the same MLP, Adam at 1e-3, batch 128 and epoch budget,
no stopping rule, last epoch kept (``ensloss_tabular.py``'s recipe; its last table
measured ``ovr_ensloss``, ``ovr_bce`` and ``softmax_ce`` the same way). Reported: test
accuracy (mean, std, a one-sided paired t-test of ``ensloss_heads`` against each),
train minus test accuracy, the multiclass Brier score of ``predict_proba`` and the fit
time relative to ``softmax_ce``, measured side by side in one warm process.

Run (serialised with the other benchmarks)::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 \\
        python benchmarks/ensloss_multiclass.py

It writes docs/benchmarks/ensloss_multiclass.{json,md,png}.
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
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ensloss_tabular import (  # noqa: E402
    ADAM_RECIPE,
    BCE,
    MULTICLASS_TASKS,
    load_multiclass,
    subsample,
    verdict,
)

from skloss import EnsLossClassifier, RobustLossClassifier  # noqa: E402
from skloss.losses import CrossEntropy, EnsLoss, Loss  # noqa: E402
from skloss.losses.ensemble import draw_derivatives  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"


# ---- the two losses only this comparison needs ---------------------------------------------
class EnsLossMargin(Loss):
    """EnsLoss of the multiclass margin ``m = z_y - max_{k != y} z_k``, one draw per row.

    ``phi(m)`` is convex in the logits (a convex non-increasing function of a concave
    margin), but such max-margin losses are not classification-calibrated for more
    than two classes in general (Zhang, 2004; Tewari and Bartlett, 2007).
    """

    name = "ensloss_margin"
    batch_level = True
    requires = ("generator",)

    def margins(self, logits, target):
        labelled = F.one_hot(target, logits.shape[1]).to(torch.bool)
        own = logits[labelled]
        rival = logits.masked_fill(labelled, float("-inf")).amax(dim=1)
        return own - rival

    def batch_loss(self, logits, target, sample_weight=None, generator=None, **context):
        margin = self.margins(logits, target)
        terms = draw_derivatives(margin, generator) * margin
        if sample_weight is not None:
            terms = terms * sample_weight
        return terms.mean()

    def reported_loss(self, logits, target, sample_weight=None):
        values = F.softplus(-self.margins(logits, target))
        if sample_weight is not None:
            values = values * sample_weight
        return values.mean()


class BCEHeads(Loss):
    """One-vs-rest binary cross-entropy of every column, summed per row."""

    name = "bce_heads"

    def per_sample(self, logits, target, **context):
        signs = 2.0 * F.one_hot(target, logits.shape[1]).to(logits.dtype) - 1.0
        return F.softplus(-signs * logits).sum(dim=1)

    def link(self, logits):
        return EnsLoss().link(logits)


def _with_loss(loss_factory, name):
    """``EnsLossClassifier`` (its recipe parameters: optimiser, schedule, batch norm)
    training another loss."""
    return type(name, (EnsLossClassifier,), {"_make_loss": lambda self: loss_factory()})


#: The loss of each model trained through EnsLossClassifier's recipe parameters.
RECIPE_CLASSES = {
    "ensloss_heads": EnsLossClassifier,
    "ensloss_margin": _with_loss(EnsLossMargin, "MarginEnsLossClassifier"),
    "bce_heads": _with_loss(BCEHeads, "BCEHeadsClassifier"),
    "softmax_ce": _with_loss(CrossEntropy, "SoftmaxCEClassifier"),
    "binary_bce": _with_loss(BCE, "BinaryBCEClassifier"),
}

#: Models trained with each recipe; the first is the reference of the t-tests. The
#: one-vs-rest wrappers (K networks each) are left out of "adam_bn" to save time.
NAMES = ("ensloss_heads", "ensloss_margin", "ovr_ensloss", "bce_heads", "ovr_bce", "softmax_ce")
MODELS = {
    "adam": NAMES,
    "paper": NAMES,
    "adam_bn": ("ensloss_heads", "ensloss_margin", "bce_heads", "softmax_ce"),
}
RECIPE_PARAMS = {
    "paper": {},  # EnsLossClassifier's defaults
    "adam_bn": {"optimizer": "adam", "lr_schedule": "constant", "batch_norm": True},
}
TIME_BASE = ("adam", "softmax_ce")


def build(recipe, name, args, seed):
    common = dict(
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        learning_rate_init=args.lr,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs,
        tol=0.0,
        random_state=seed,
        device="cpu",
    )
    if recipe != "adam":
        if recipe == "paper":
            common["learning_rate_init"] = args.paper_lr
        common.update(RECIPE_PARAMS[recipe])
        if name == "ovr_ensloss":
            return OneVsRestClassifier(EnsLossClassifier(**common))
        if name == "ovr_bce":
            return OneVsRestClassifier(RECIPE_CLASSES["binary_bce"](**common))
        return RECIPE_CLASSES[name](**common)
    if name == "ensloss_heads":
        return EnsLossClassifier(**common, **ADAM_RECIPE)
    if name == "ensloss_margin":
        return RobustLossClassifier(loss=EnsLossMargin(), **common)
    if name == "ovr_ensloss":
        return OneVsRestClassifier(EnsLossClassifier(**common, **ADAM_RECIPE))
    if name == "bce_heads":
        return RobustLossClassifier(loss=BCEHeads(), **common)
    if name == "ovr_bce":
        return OneVsRestClassifier(RobustLossClassifier(loss=BCE(), **common))
    if name == "softmax_ce":
        return RobustLossClassifier(loss="ce", **common)
    raise ValueError(name)


def brier(proba, y):
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def run_trial(X, y, trial, args):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=trial
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    row = {}
    for recipe, names in MODELS.items():
        for name in names:
            model = build(recipe, name, args, seed=trial)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X_train, y_train)
            elapsed = time.perf_counter() - start
            row.setdefault(recipe, {})[name] = {
                "test": float(model.score(X_test, y_test)),
                "train": float(model.score(X_train, y_train)),
                "brier": brier(model.predict_proba(X_test), y_test),
                "fit_s": elapsed,
            }
    return row


def summarise(trials):
    """Per recipe and model: means over trials, t-tests against the recipe's first model."""
    base_time = sum(t[TIME_BASE[0]][TIME_BASE[1]]["fit_s"] for t in trials)
    summary = {}
    for recipe, names in MODELS.items():
        reference = [t[recipe][names[0]]["test"] for t in trials]
        for name in names:
            runs = [t[recipe][name] for t in trials]
            test = [r["test"] for r in runs]
            entry = {
                "test_mean": float(np.mean(test)),
                "test_std": float(np.std(test)),
                "gap_mean": float(np.mean([r["train"] - r["test"] for r in runs])),
                "brier_mean": float(np.mean([r["brier"] for r in runs])),
                "fit_s": float(sum(r["fit_s"] for r in runs)),
                "time_ratio": float(sum(r["fit_s"] for r in runs) / base_time),
            }
            if name != names[0]:
                label, p_greater, p_less = verdict(reference, test)
                entry.update(verdict=label, p_better=p_greater, p_worse=p_less)
            summary.setdefault(recipe, {})[name] = entry
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--paper-lr", type=float, default=0.01)
    parser.add_argument("--max-rows", type=int, default=1500)
    parser.add_argument("--tasks", nargs="+", default=list(MULTICLASS_TASKS))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument(
        "--replot",
        action="store_true",
        help="only rewrite the Markdown table and the plot from the JSON of the last run",
    )
    args = parser.parse_args(argv)
    if args.replot:
        record = json.loads((pathlib.Path(args.out) / "ensloss_multiclass.json").read_text())
        (pathlib.Path(args.out) / "ensloss_multiclass.md").write_text(render(record))
        plot(record, pathlib.Path(args.out))
        return
    given = sys.argv[1:] if argv is None else list(argv)
    torch.set_num_threads(1)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # The first optimiser a process builds costs about a second once (torch imports
    # its compiler stack): paid here, not by the first timed fit.
    warm_X = np.random.default_rng(0).normal(size=(64, 4))
    warm_y = np.arange(64) % 3
    for recipe, name in (("adam", "ensloss_heads"), ("paper", "softmax_ce")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build(recipe, name, args, seed=0).set_params(max_iter=2).fit(warm_X, warm_y)

    shapes, trials, summary = {}, {}, {}
    for task in args.tasks:
        X, y = subsample(*load_multiclass(task), args.max_rows)
        shapes[task] = {
            "rows": int(len(y)),
            "features": int(X.shape[1]),
            "classes": int(len(np.unique(y))),
        }
        trials[task] = [run_trial(X, y, trial, args) for trial in range(args.trials)]
        summary[task] = summarise(trials[task])
        cells = "  ".join(
            f"{recipe}/{m} {entry['test_mean']:.4f}"
            for recipe, models in summary[task].items()
            for m, entry in models.items()
        )
        print(f"{task:10s} {cells}  ({time.perf_counter() - started:.0f} s)", flush=True)

    all_trials = [t for rows in trials.values() for t in rows]
    total_base = sum(t[TIME_BASE[0]][TIME_BASE[1]]["fit_s"] for t in all_trials)
    record = {
        "command": "flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 "
        "python benchmarks/ensloss_multiclass.py" + "".join(" " + a for a in given),
        "settings": vars(args) | {"torch_threads": 1},
        "shapes": shapes,
        "summary": summary,
        "time_ratio_overall": {
            recipe: {
                m: float(sum(t[recipe][m]["fit_s"] for t in all_trials) / total_base) for m in names
            }
            for recipe, names in MODELS.items()
        },
        "runtime_s": time.perf_counter() - started,
        "trials": trials,
    }
    (out / "ensloss_multiclass.json").write_text(json.dumps(record, indent=1))
    markdown = render(record)
    (out / "ensloss_multiclass.md").write_text(markdown)
    plot(record, out)
    print(markdown)


RECIPES = {
    "adam": "Adam lr {lr}, constant rate, no batch normalisation (ensloss_tabular.py's recipe)",
    "paper": "EnsLossClassifier's defaults (the paper's recipe): SGD with Nesterov momentum "
    "0.9, lr {paper_lr}, cosine schedule over the epochs, batch normalisation",
    "adam_bn": "Adam lr {lr}, constant rate, with batch normalisation",
}


def _table(record, recipe, cell):
    names = MODELS[recipe]
    lines = [
        "| task | rows x features, classes | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for task, by_recipe in record["summary"].items():
        shape = record["shapes"][task]
        lines.append(
            f"| {task} | {shape['rows']}x{shape['features']}, {shape['classes']} | "
            + " | ".join(cell(by_recipe[recipe][m]) for m in names)
            + " |"
        )
    return lines


def render(record):
    s = record["settings"]
    mark = {"better": " +", "worse": " -", "same": ""}
    lines = [
        f"`{record['command']}`",
        "",
        f"Sets subsampled to {s['max_rows']} rows (stratified), 70/30 stratified split, "
        f"standardised; {s['trials']} trials; MLP {tuple(s['hidden'])}, batch "
        f"{s['batch_size']}, {s['epochs']} epochs, no stopping rule, last epoch kept. "
        "`ensloss_heads` is `EnsLossClassifier` (one-vs-rest heads in one network); "
        "`ensloss_margin` one network on EnsLoss of the margin z_y - max_k z_k; `bce_heads` "
        "one network with one-vs-rest heads on the summed BCE; `ovr_*` "
        "`OneVsRestClassifier` of binary networks; `softmax_ce` one network on softmax "
        "cross-entropy. The mark after an accuracy is the one-sided paired t-test of the "
        "recipe's `ensloss_heads` against it (p < 0.05): `+` ensloss_heads better, `-` "
        "worse, nothing: same.",
    ]
    for recipe in MODELS:
        names = MODELS[recipe]
        means = {
            m: np.mean([e[recipe][m]["test_mean"] for e in record["summary"].values()])
            for m in names
        }
        lines += [
            "",
            f"**Recipe `{recipe}`**: {RECIPES[recipe].format(**s)}. Test accuracy (mean ± std):",
            "",
            *_table(
                record,
                recipe,
                lambda e: (
                    f"{e['test_mean']:.4f} ± {e['test_std']:.4f}" + mark.get(e.get("verdict"), "")
                ),
            ),
            "| **mean** | | " + " | ".join(f"**{means[m]:.4f}**" for m in names) + " |",
            "",
            f"Recipe `{recipe}`, train minus test accuracy / test Brier score of "
            "`predict_proba` (multiclass, lower is better) / fit time relative to "
            "`adam` `softmax_ce` (sum over trials, one warm process, one thread):",
            "",
            *_table(
                record,
                recipe,
                lambda e: f"{e['gap_mean']:.4f} / {e['brier_mean']:.4f} / {e['time_ratio']:.2f}x",
            ),
        ]
    overall = record["time_ratio_overall"]
    lines += [
        "",
        "Fit time over all tasks relative to `adam` `softmax_ce`: "
        + "; ".join(
            f"{recipe}: " + ", ".join(f"{m} {ratio:.2f}x" for m, ratio in ratios.items())
            for recipe, ratios in overall.items()
        )
        + ".",
        "",
        f"Runtime {record['runtime_s'] / 60:.1f} min on one core.",
    ]
    return "\n".join(lines) + "\n"


def plot(record, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(record["summary"])
    columns = [(recipe, m) for recipe, names in MODELS.items() for m in names]
    # One colour per model, one hatch per recipe.
    colours = {m: f"C{i}" for i, m in enumerate(NAMES)}
    hatches = {"adam": None, "paper": "//", "adam_bn": ".."}
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.85 / len(columns)
    for i, (recipe, model) in enumerate(columns):
        entries = [record["summary"][t][recipe][model] for t in tasks]
        ax.bar(
            np.arange(len(tasks)) + i * width,
            [e["test_mean"] for e in entries],
            width,
            yerr=[e["test_std"] for e in entries],
            label=f"{recipe}: {model}",
            color=colours[model],
            hatch=hatches[recipe],
            edgecolor="white" if hatches[recipe] else None,
        )
    ax.set_xticks(np.arange(len(tasks)) + 0.425 - width / 2)
    ax.set_xticklabels(tasks)
    low = min(record["summary"][t][r][m]["test_mean"] for t in tasks for r, m in columns)
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_ylabel("test accuracy (last epoch)")
    ax.legend(ncol=2, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(out / "ensloss_multiclass.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
