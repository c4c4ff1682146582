"""Distillation: a small MLP student learning from a strong teacher with CE, KD and PLD.

The claim tested (Bassam et al. 2025, "PLD: A Choice-Theoretic List-Wise Knowledge
Distillation"): for the same student and teacher, PLD > KD > CE alone (the paper
reports +1.04 top-1 points of PLD over KD on images).

Protocol, per data set and seed (every loader works offline, ``benchmarks/_datasets.py``):

- a stratified train/test split (seeded), the training part subsampled to at most
  ``--max-train`` rows and the test part to ``--max-test`` rows (stratified), so
  that the run fits its time budget;
- teachers: ``HGB`` = ``HistGradientBoostingClassifier(random_state=seed)`` with its
  defaults, and ``MLP ensemble`` = soft vote of ``--ensemble`` scikit-learn
  ``MLPClassifier((--teacher-width,), early_stopping=True)`` on standardised
  features, each member its own seed;
- the scores each student learns from are **out-of-fold**:
  :func:`skloss.distillation.out_of_fold_scores` with ``cv=--cv`` stratified,
  shuffled folds seeded by the seed (exactly what ``DistillationClassifier``
  computes inside for an unfitted teacher; computed once here and passed as
  ``teacher_scores`` to both the KD and the PLD student); the teacher scored on
  the test set is a copy fitted on all training rows, as ``teacher_``;
- students: skloss's MLP with one hidden layer of ``--width`` ReLU units, Adam lr
  1e-3, alpha 1e-4, batch 200, at most ``--epochs`` epochs with MLPClassifier's
  stopping rule on the training loss, standardised features, the same seed:
  ``CE`` = ``RobustLossClassifier(loss="ce")``; ``KD`` and ``PLD`` =
  ``DistillationClassifier(loss=...)`` with the losses' defaults (KD: T = 4,
  alpha = 0.9, the common choice since Hinton et al.; PLD: T = 1). With
  ``--select``, also ``KD*`` and ``PLD*``: the loss's hyperparameters chosen per
  seed by accuracy on a held-out 20% of the training rows (``GRIDS``), then
  refitted on all training rows. Nothing is chosen on the test labels.

Reported on the test part: accuracy of each student and teacher, agreement of
each student's predictions with its teacher's, and the predict time per 10,000
rows of each model (best of 3 in this warm process, one thread), the reason to
distil.

Run (about 15 minutes on one core; ``--jobs 2`` runs the seeds of a data set in two
worker processes of one thread each)::

    python benchmarks/distillation.py
    python benchmarks/distillation.py --jobs 2 --select --datasets digits,satimage \
        --seeds 3 --output docs/benchmarks/distillation_selected

It prints the table and writes ``docs/benchmarks/distillation.{json,md,png}``, after
each data set (a stopped run leaves the data sets it finished).
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
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import load  # noqa: E402

from skloss import DistillationClassifier, RobustLossClassifier  # noqa: E402
from skloss.distillation import out_of_fold_scores  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "distillation"
# Smallest first (letter, 26 classes, costs the most teacher time): a stopped run
# still reports the others.
DATASETS = ("digits", "optdigits", "satimage", "penbased", "letter")
TEACHERS = ("HGB", "MLP ensemble")
STUDENTS = ("CE", "KD", "PLD", "KD*", "PLD*")
#: The hyperparameters a starred student chooses from, on a held-out 20% of the
#: training rows (never the test rows).
GRIDS = {
    "KD": [{"temperature": t, "alpha": a} for t in (1.0, 4.0) for a in (0.5, 0.9)],
    "PLD": [{"temperature": t} for t in (0.5, 1.0, 4.0)],
}
PREDICT_ROWS = 10_000


def make_teacher(name, seed, args):
    if name == "HGB":
        return HistGradientBoostingClassifier(random_state=seed)
    members = [
        (
            f"mlp{i}",
            make_pipeline(
                StandardScaler(),
                MLPClassifier(
                    hidden_layer_sizes=(args.teacher_width,),
                    early_stopping=True,
                    random_state=seed * 100 + i,
                ),
            ),
        )
        for i in range(args.ensemble)
    ]
    return VotingClassifier(members, voting="soft")


def make_student(loss, seed, args, loss_params=None):
    params = {
        "hidden_layer_sizes": (args.width,),
        "learning_rate_init": 1e-3,
        "alpha": 1e-4,
        "batch_size": 200,
        "max_iter": args.epochs,
        "random_state": seed,
        "device": "cpu",
    }
    if loss == "CE":
        return make_pipeline(StandardScaler(), RobustLossClassifier(loss="ce", **params))
    distil = DistillationClassifier(loss=loss.lower(), **params)
    return make_pipeline(StandardScaler(), distil.set_params(**(loss_params or {})))


def select(loss, X_tr, y_tr, scores, seed, args):
    """The entry of ``GRIDS[loss]`` with the best accuracy on a held-out 20% of the rows."""
    fit_rows, held_out = train_test_split(
        np.arange(len(y_tr)), test_size=0.2, stratify=y_tr, random_state=seed
    )
    accuracies = []
    for params in GRIDS[loss]:
        prefixed = {f"loss__{k}": v for k, v in params.items()}
        model = make_student(loss, seed, args, prefixed).fit(
            X_tr[fit_rows],
            y_tr[fit_rows],
            distillationclassifier__teacher_scores=scores[fit_rows],
        )
        accuracies.append(np.mean(model.predict(X_tr[held_out]) == y_tr[held_out]))
    return GRIDS[loss][int(np.argmax(accuracies))]


def predict_seconds(model, X):
    """Best of 3 predict times on ``PREDICT_ROWS`` rows (``X`` tiled), in seconds."""
    rows = np.resize(X, (PREDICT_ROWS, X.shape[1]))
    model.predict(rows[:100])  # warm-up
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        model.predict(rows)
        best = min(best, time.perf_counter() - start)
    return best


def split(X, y, seed, args):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    if len(y_tr) > args.max_train:
        X_tr, _, y_tr, _ = train_test_split(
            X_tr, y_tr, train_size=args.max_train, stratify=y_tr, random_state=seed
        )
    if len(y_te) > args.max_test:
        X_te, _, y_te, _ = train_test_split(
            X_te, y_te, train_size=args.max_test, stratify=y_te, random_state=seed
        )
    return X_tr, X_te, y_tr, y_te


def run_cell(dataset, seed, args):
    """Every model of one (data set, seed): a list of records."""
    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load(dataset)
    X_tr, X_te, y_tr, y_te = split(X, y, seed, args)
    records = []

    def record(model_name, teacher, model, fit_seconds, teacher_pred=None):
        pred = model.predict(X_te)
        entry = {
            "dataset": dataset,
            "seed": seed,
            "teacher": teacher,
            "model": model_name,
            "accuracy": float(np.mean(pred == y_te)),
            "fit_seconds": round(fit_seconds, 3),
            "predict_seconds_per_10k": round(predict_seconds(model, X_te), 5),
        }
        if teacher_pred is not None:
            entry["agreement"] = float(np.mean(pred == teacher_pred))
            entry["epochs"] = int(model[-1].n_iter_)
        records.append(entry)
        return pred

    start = time.perf_counter()
    ce = make_student("CE", seed, args).fit(X_tr, y_tr)
    ce_seconds = time.perf_counter() - start
    ce_pred = ce.predict(X_te)
    for teacher_name in TEACHERS:
        teacher = make_teacher(teacher_name, seed, args)
        start = time.perf_counter()
        scores = out_of_fold_scores(teacher, X_tr, y_tr, cv=args.cv, random_state=seed)
        oof_seconds = time.perf_counter() - start
        start = time.perf_counter()
        fitted = make_teacher(teacher_name, seed, args).fit(X_tr, y_tr)
        teacher_pred = record("teacher", teacher_name, fitted, time.perf_counter() - start)
        records[-1]["out_of_fold_seconds"] = round(oof_seconds, 3)
        records[-1]["out_of_fold_accuracy"] = float(np.mean(scores.argmax(axis=1) == y_tr))
        # CE learns from no teacher: the same model, compared with each teacher.
        records.append(
            {
                "dataset": dataset,
                "seed": seed,
                "teacher": teacher_name,
                "model": "CE",
                "accuracy": float(np.mean(ce_pred == y_te)),
                "agreement": float(np.mean(ce_pred == teacher_pred)),
                "fit_seconds": round(ce_seconds, 3),
                "epochs": int(ce[-1].n_iter_),
                "predict_seconds_per_10k": round(predict_seconds(ce, X_te), 5),
            }
        )
        for loss in ("KD", "PLD"):
            start = time.perf_counter()
            student = make_student(loss, seed, args)
            student.fit(X_tr, y_tr, distillationclassifier__teacher_scores=scores)
            record(loss, teacher_name, student, time.perf_counter() - start, teacher_pred)
            if not args.select:
                continue
            start = time.perf_counter()
            chosen = select(loss, X_tr, y_tr, scores, seed, args)
            prefixed = {f"loss__{k}": v for k, v in chosen.items()}
            student = make_student(loss, seed, args, prefixed)
            student.fit(X_tr, y_tr, distillationclassifier__teacher_scores=scores)
            record(f"{loss}*", teacher_name, student, time.perf_counter() - start, teacher_pred)
            records[-1]["selected"] = chosen
    line = " ".join(
        f"{r['teacher'][:3]}/{r['model']}={r['accuracy']:.3f}" for r in records if r["model"]
    )
    print(f"{dataset} seed={seed}: {line}", flush=True)
    return records


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    return values.mean(), (values.std(ddof=1) if len(values) > 1 else 0.0)


def _select(records, **where):
    return [r for r in records if all(r[k] == v for k, v in where.items())]


def summary(records, datasets):
    """Per (teacher, data set): each model's accuracies, agreements and predict times by seed."""
    rows = []
    for teacher in TEACHERS:
        for dataset in datasets:
            cell = {"teacher": teacher, "dataset": dataset, "acc": {}, "agree": {}, "predict": {}}
            for model in ("teacher",) + STUDENTS:
                chosen = sorted(
                    _select(records, teacher=teacher, dataset=dataset, model=model),
                    key=lambda r: r["seed"],
                )
                cell["acc"][model] = [r["accuracy"] for r in chosen]
                cell["agree"][model] = [r.get("agreement", np.nan) for r in chosen]
                cell["predict"][model] = [r["predict_seconds_per_10k"] for r in chosen]
            rows.append(cell)
    return rows


def markdown(records, settings, command, elapsed, info):
    datasets = settings["datasets"]
    rows = summary(records, datasets)
    out = [
        "# Distillation: CE, KD and PLD students of a boosting and an MLP-ensemble teacher",
        "",
        "Generated by `benchmarks/distillation.py` from `distillation.json`; do not edit by hand.",
        "",
        f"Command: `{command}` (wall time {elapsed / 60:.1f} min; {settings['jobs']} worker "
        "process(es) of one CPU thread each).",
        "",
        f"Student: MLP ({settings['width']},), Adam lr 1e-3, batch 200, at most "
        f"{settings['epochs']} epochs, standardised features. KD: T = 4, alpha = 0.9; PLD: "
        f"T = 1 (the losses' defaults, not tuned). Teacher scores out of fold ({settings['cv']} "
        "stratified folds); the teacher scored below is refitted on all training rows. "
        f"Training rows capped at {settings['max_train']}, test rows at "
        f"{settings['max_test']} (stratified subsamples); seeds {settings['seeds']}.",
        "",
        "| data set | rows | features | classes | train rows | test rows |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {d} | {info[d]['n_samples']} | {info[d]['n_features']} | {info[d]['n_classes']} "
        f"| {info[d]['n_train']} | {info[d]['n_test']} |"
        for d in datasets
    ]
    students = [m for m in STUDENTS if any(r["model"] == m for r in records)]
    pairs = [("PLD", "KD"), ("KD", "CE"), ("PLD", "CE")]
    if "PLD*" in students:
        pairs += [("PLD*", "KD*"), ("KD*", "CE"), ("PLD*", "CE")]
    out += [
        "",
        "## Test accuracy (%)",
        "",
        "Mean ± std over seeds; **bold** is the best student of the row. `A-B` is the mean "
        "paired difference in points, with the seeds where A beats B in brackets."
        + (
            " KD* and PLD*: the loss's hyperparameters chosen per seed by accuracy on a held-out "
            "20% of the training rows (KD: T in {1, 4} x alpha in {0.5, 0.9}; PLD: T in "
            "{0.5, 1, 4}), then refitted on all training rows."
            if "PLD*" in students
            else ""
        ),
        "",
        "| teacher | data set | teacher | "
        + " | ".join(students)
        + " | "
        + " | ".join(f"{a}-{b}" for a, b in pairs)
        + " |",
        "|---|---|" + "---:|" * (1 + len(students) + len(pairs)),
    ]
    holds = {"": 0, "*": 0}
    wins = {"PLD>KD": 0, "KD>CE": 0, "PLD>CE": 0}
    for cell in rows:
        acc = {m: 100 * np.asarray(cell["acc"][m]) for m in ("teacher", *students)}
        best = max(round(acc[m].mean(), 1) for m in students)

        def fmt(model, acc=acc, best=best):
            mean, std = acc[model].mean(), _mean_std(acc[model])[1]
            text = f"{mean:.1f} ± {std:.1f}"
            return f"**{text}**" if model != "teacher" and round(mean, 1) == best else text

        cells = [fmt(m) for m in ("teacher", *students)]
        for a, b in pairs:
            diff = acc[a] - acc[b]
            cells.append(f"{diff.mean():+.2f} ({int((diff > 0).sum())}/{len(diff)})")
        for star in holds:
            if f"PLD{star}" in students:
                pld, kd = acc[f"PLD{star}"].mean(), acc[f"KD{star}"].mean()
                holds[star] += int(pld > kd > acc["CE"].mean())
        for pair in wins:
            a, b = pair.split(">")
            wins[pair] += int(acc[a].mean() > acc[b].mean())
        out.append(f"| {cell['teacher']} | {cell['dataset']} | " + " | ".join(cells) + " |")
    for teacher in TEACHERS:
        chosen = [c for c in rows if c["teacher"] == teacher]
        means = {
            m: 100 * np.mean([np.mean(c["acc"][m]) for c in chosen]) for m in ("teacher", *students)
        }
        cells = [f"{means[m]:.1f}" for m in ("teacher", *students)]
        cells += [f"{means[a] - means[b]:+.2f}" for a, b in pairs]
        out.append(f"| {teacher} | **mean** | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Checks",
        "",
        "The paper's claim (Bassam et al. 2025; +1.04 top-1 points of PLD over KD on "
        "images): PLD > KD > CE for the same student and teacher. Here, on means over "
        f"seeds, PLD > KD > CE holds in {holds['']} of {len(rows)} (teacher, data set) rows"
        + (f" (PLD* > KD* > CE in {holds['*']})" if "PLD*" in students else "")
        + f"; PLD > KD in {wins['PLD>KD']}, KD > CE in {wins['KD>CE']}, PLD > CE in "
        f"{wins['PLD>CE']}.",
        "",
        "## Agreement with the teacher (%) and predict time per 10,000 rows (ms)",
        "",
        "Agreement: share of test rows where the student predicts the teacher's class. Predict "
        "time: best of 3, one thread, mean over seeds (every student has the same network).",
        "",
        "| teacher | data set | "
        + " | ".join(f"{m} agree" for m in students)
        + " | teacher ms | student ms | speed-up |",
        "|---|---|" + "---:|" * (len(students) + 3),
    ]
    for cell in rows:
        teacher_ms = 1000 * np.mean(cell["predict"]["teacher"])
        student_ms = 1000 * np.mean([np.mean(cell["predict"][m]) for m in students])
        agree = [f"{100 * np.mean(cell['agree'][m]):.1f}" for m in students]
        out.append(
            f"| {cell['teacher']} | {cell['dataset']} | "
            + " | ".join(agree)
            + f" | {teacher_ms:.1f} | {student_ms:.1f} | {teacher_ms / student_ms:.0f}x |"
        )
    out += [""]  # the pages that include this table show distillation.png themselves
    return "\n".join(out)


def plot(records, datasets, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary(records, datasets)
    students = [m for m in STUDENTS if any(r["model"] == m for r in records)]
    fig, axes = plt.subplots(1, len(TEACHERS), figsize=(12, 4), sharey=True)
    models = ("teacher", *students)
    width = 0.8 / len(models)
    for ax, teacher in zip(axes, TEACHERS, strict=True):
        cells = [c for c in rows if c["teacher"] == teacher]
        for i, model in enumerate(models):
            means = [100 * np.mean(c["acc"][model]) for c in cells]
            stds = [100 * _mean_std(c["acc"][model])[1] for c in cells]
            ax.bar(
                np.arange(len(cells)) + i * width, means, width, yerr=stds, capsize=2, label=model
            )
        ax.set_xticks(np.arange(len(cells)) + 0.4 - width / 2, [c["dataset"] for c in cells])
        ax.set_title(f"teacher: {teacher}")
        ax.set_ylim(70, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--cv", type=int, default=5, help="folds of the out-of-fold teacher scores")
    p.add_argument("--max-train", type=int, default=1200)
    p.add_argument("--max-test", type=int, default=2000)
    p.add_argument("--width", type=int, default=32, help="the student's hidden layer")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--ensemble", type=int, default=3, help="MLPs in the ensemble teacher")
    p.add_argument("--teacher-width", type=int, default=256)
    p.add_argument(
        "--select",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also train KD* and PLD*, hyperparameters chosen on held-out training rows "
        "(7 more student fits per teacher and cell)",
    )
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--output", type=Path, default=OUTPUT, help="output path without suffix")
    args = p.parse_args(argv)
    datasets = [d for d in args.datasets.split(",") if d]
    torch.set_num_threads(1)
    threadpool_limits(1)
    seeds = list(range(args.seeds))
    command = "python benchmarks/distillation.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    info = {}
    for dataset in datasets:
        X, y = load(dataset)
        X_tr, X_te, _, _ = split(X, y, 0, args)
        info[dataset] = {
            "n_samples": int(len(y)),
            "n_features": int(X.shape[1]),
            "n_classes": int(len(np.unique(y))),
            "n_train": int(len(X_tr)),
            "n_test": int(len(X_te)),
        }
    start = time.perf_counter()
    records = []
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    try:
        for done, dataset in enumerate(datasets, start=1):
            if pool is None:
                records += [r for s in seeds for r in run_cell(dataset, s, args)]
            else:
                futures = [pool.submit(run_cell, dataset, s, args) for s in seeds]
                records += [r for f in futures for r in f.result()]
            # Written after every data set, so that a stopped run leaves its results.
            text = write(records, datasets[:done], seeds, args, command, start, info)
    finally:
        if pool is not None:
            pool.shutdown()
    print(text)


def write(records, datasets, seeds, args, command, start, info):
    """Write the JSON, Markdown and plot of the data sets done so far; return the Markdown."""
    elapsed = time.perf_counter() - start
    settings = {
        "datasets": datasets,
        "seeds": seeds,
        "cv": args.cv,
        "max_train": args.max_train,
        "max_test": args.max_test,
        "width": args.width,
        "epochs": args.epochs,
        "ensemble": args.ensemble,
        "teacher_width": args.teacher_width,
        "jobs": args.jobs,
        "kd": {"temperature": 4.0, "alpha": 0.9},
        "pld": {"temperature": 1.0},
        "select": args.select,
        "grids": GRIDS if args.select else None,
    }
    payload = {
        "benchmark": "distillation (benchmarks/distillation.py)",
        "command": command,
        "elapsed_seconds": round(elapsed, 1),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": __import__("sklearn").__version__,
        },
        "settings": settings,
        "datasets": {d: info[d] for d in datasets},
        "records": records,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    text = markdown(records, settings, command, elapsed, info)
    args.output.with_suffix(".md").write_text(text)
    plot(records, datasets, args.output.with_suffix(".png"))
    return text


if __name__ == "__main__":
    main()
