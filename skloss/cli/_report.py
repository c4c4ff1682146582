"""What the ``skloss`` jobs report: the output folder, summaries, tables, JSON and plots.

One path for both jobs: the output folder is checked before any training
(:func:`check_output`), results are written as JSON (:func:`write_json`) next to
their plots, and tables are plain text.
"""

import json
import os
from pathlib import Path

import numpy as np

COMPARE_FILES = ("results.json", "results.png")
TUNE_FILES = (
    "best_params.json",
    "tune_results.json",
    "optimization_history.png",
    "param_importances.png",
)
PEER_MARK = " (peer)"


def check_output(path, files, parser):
    """Report, through ``parser``, an ``--output`` folder that cannot be written.

    Runs before any training, so that a typo in ``--output`` costs nothing. The
    folder itself is only created when the results are written; ``files`` are
    the names the job writes in it.
    """
    path = Path(os.path.abspath(path))
    if path.exists() and not path.is_dir():
        parser.error(
            f"argument --output: {path} is a file; --output names a folder for "
            f"{' and '.join(files)}. Pass a folder path (created if missing) or "
            "move the file away."
        )
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        parser.error(
            f"argument --output: cannot create {path}, because {existing} is a file, not a "
            "folder. Pass a path whose parents are folders."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        parser.error(
            f"argument --output: cannot write to {existing}: no write permission. Pass a "
            "folder you can write to, or change its permissions."
        )
    if existing == path:
        for name in files:
            _check_target(path / name, parser)


def _check_target(target, parser):
    if target.is_dir():
        parser.error(
            f"argument --output: {target} is a folder, so the results cannot be "
            "written there. Remove it or pass another --output folder."
        )
    if target.exists() and not os.access(target, os.W_OK):
        parser.error(
            f"argument --output: {target} exists and is read-only. Remove it, make "
            "it writable, or pass another --output folder."
        )


def json_ready(value):
    """``value`` as JSON values (tuples as lists, numpy scalars as numbers)."""

    def convert(item):
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, (tuple, set, np.ndarray)):
            return list(item)
        return str(item)

    return json.loads(json.dumps(value, default=convert))


def write_json(path, value):
    """Write ``value`` as indented JSON to ``path`` (labels of any type as text)."""
    path.write_text(json.dumps(json_ready(value), indent=2) + "\n")


# ---- skloss compare ----------------------------------------------------------------------
def summarise(per_model):
    """Return ``(summary, ranking)``: mean and std per model, models best first.

    Models without a completed fold (an interrupted run) are left out of both.
    """
    summary = {}
    for name, record in per_model.items():
        if not record["accuracy"]:
            continue
        summary[name] = {"n_folds": len(record["accuracy"])}
        for metric in ("accuracy", "macro_f1", "fit_time", "top_k_accuracy", "roc_auc"):
            if record.get(metric):
                summary[name][f"mean_{metric}"] = float(np.mean(record[metric]))
                summary[name][f"std_{metric}"] = float(np.std(record[metric]))
    ranking = sorted(
        summary, key=lambda n: (-summary[n]["mean_accuracy"], -summary[n]["mean_macro_f1"])
    )
    return summary, ranking


def _columns(summary, ranking, top_k):
    """``(header, metric)`` of the score columns shown: those some row holds."""
    columns = [("accuracy", "accuracy"), ("macro-F1", "macro_f1")]
    if top_k is not None:
        columns.append((f"top-{top_k} acc", "top_k_accuracy"))
    columns.append(("ROC AUC", "roc_auc"))
    return [
        (header, metric)
        for header, metric in columns
        if metric in ("accuracy", "macro_f1")
        or any(f"mean_{metric}" in summary[name] for name in ranking)
    ]


def format_table(summary, ranking, n_folds=None, top_k=None, peers=()):
    """Return the ranked results as a plain-text table.

    Parameters
    ----------
    summary : dict
        Model name -> ``{"mean_accuracy", "std_accuracy", "mean_macro_f1",
        "std_macro_f1", "mean_fit_time", ...}``, and ``"n_folds"`` (the folds
        completed) when ``n_folds`` is given.
    ranking : list of str
        Model names, best first.
    n_folds : int, default=None
        The folds of the run. When given (for partial results), a last column
        shows how many of them each model completed.
    top_k : int, default=None
        The ``k`` of the top-k accuracy: a column ``top-k acc`` is shown when
        given and rows hold ``"mean_top_k_accuracy"`` (3 classes or more).
    peers : collection of str, default=()
        The names of scikit-learn peers, marked ``(peer)`` in the table.

    Returns
    -------
    str
        One header line and one line per model. A ``ROC AUC`` column is shown
        when rows hold ``"mean_roc_auc"`` (two classes).

    Examples
    --------
    >>> from skloss.cli import format_table
    >>> row = {"mean_accuracy": 0.9, "std_accuracy": 0.01, "mean_macro_f1": 0.89,
    ...        "std_macro_f1": 0.02, "mean_fit_time": 1.5, "n_folds": 2}
    >>> print(format_table({"mae": row}, ["mae"]))
    rank  model  accuracy         macro-F1         fit time (s)
       1  mae    0.900 ± 0.010    0.890 ± 0.020             1.5
    >>> print(format_table({"mae": row}, ["mae"], n_folds=3))
    rank  model  accuracy         macro-F1         fit time (s)  folds
       1  mae    0.900 ± 0.010    0.890 ± 0.020             1.5    2/3
    >>> lr = {**row, "mean_accuracy": 0.8, "mean_roc_auc": 0.93, "std_roc_auc": 0.004}
    >>> print(format_table({"mae": row, "LogisticRegression": lr}, ["mae", "LogisticRegression"],
    ...                    peers=["LogisticRegression"]))
    rank  model                      accuracy         macro-F1         ROC AUC          fit time (s)
       1  mae                        0.900 ± 0.010    0.890 ± 0.020    -                         1.5
       2  LogisticRegression (peer)  0.800 ± 0.010    0.890 ± 0.020    0.930 ± 0.004             1.5
    """
    labels = {name: name + (PEER_MARK if name in peers else "") for name in ranking}
    width = max([len("model"), *map(len, labels.values())])
    columns = _columns(summary, ranking, top_k)
    header = f"{'rank':<4}  {'model':<{width}}  "
    header += "".join(f"{title:<15}  " for title, _ in columns) + "fit time (s)"
    lines = [header + ("  folds" if n_folds is not None else "")]
    for rank, name in enumerate(ranking, start=1):
        s = summary[name]
        cells = [
            f"{s[f'mean_{metric}']:.3f} ± {s[f'std_{metric}']:.3f}"
            if f"mean_{metric}" in s
            else "-"
            for _, metric in columns
        ]
        line = f"{rank:>4}  {labels[name]:<{width}}  "
        line += "".join(f"{cell:<15}  " for cell in cells) + f"{s['mean_fit_time']:>12.1f}"
        if n_folds is not None:
            line += f"  {str(s['n_folds']) + '/' + str(n_folds):>5}"
        lines.append(line)
    return "\n".join(lines)


def plot(summary, ranking, title, path, peers=()):
    """Write a bar chart of the mean clean-test accuracy per model to ``path``."""
    # A bare Figure renders with Agg and leaves pyplot's global backend and figure
    # registry alone, which matters when main() is called from a notebook or a test.
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    means = [summary[n]["mean_accuracy"] for n in ranking]
    stds = [summary[n]["std_accuracy"] for n in ranking]
    colours = ["tab:gray" if n in peers else "tab:blue" for n in ranking]
    fig = Figure(figsize=(max(4.0, 1.1 * len(ranking) + 1.5), 4.5), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(ranking, means, yerr=stds, capsize=4, color=colours, alpha=0.85)
    ax.bar_label(bars, labels=[f"{m:.3f}" for m in means], padding=3, fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy on clean test folds")
    ax.set_xlabel("model (ranked by accuracy; error bars: std over folds)")
    ax.tick_params(axis="x", labelrotation=30 if any(len(n) > 10 for n in ranking) else 0)
    if any(n in peers for n in ranking):
        ax.legend(
            handles=[
                Patch(color="tab:blue", label="skloss loss"),
                Patch(color="tab:gray", label="peer"),
            ],
            fontsize=8,
            loc="lower right",
        )
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.savefig(path, dpi=120)


def write_results(output, results, summary, ranking, title):
    """Write ``results.json`` (and ``results.png`` when a fit completed); return the paths."""
    output.mkdir(parents=True, exist_ok=True)
    json_path = output / "results.json"
    write_json(json_path, results)
    written = [json_path]
    png_path = output / "results.png"
    if ranking:
        plot(summary, ranking, title, png_path, peers=results["settings"]["peers"])
        written.append(png_path)
    else:
        # No fit completed: a chart from an earlier run must not pass for this one.
        png_path.unlink(missing_ok=True)
    return written


# ---- skloss tune -------------------------------------------------------------------------
def tune_plots(study, output, log):
    """Write the study's optimisation history and parameter importances; return the paths."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's ExperimentalWarning
        for name, draw in (
            ("optimization_history", optuna_plots.plot_optimization_history),
            ("param_importances", optuna_plots.plot_param_importances),
        ):
            try:
                axes = draw(study)
            except (ValueError, RuntimeError) as error:  # e.g. fewer than two trials
                log(f"skloss tune: no {name} plot: {error}")
                continue
            path = output / f"{name}.png"
            axes.figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(axes.figure)
            written.append(path)
    return written


def tune_table(per_loss, ranking):
    """The per-loss table of ``skloss tune``: best noisy-CV and clean test accuracy."""
    lines = [f"{'loss':<12} {'noisy CV acc':>12} {'clean test acc':>15}"]
    for loss in ranking:
        row = per_loss[loss]
        lines.append(
            f"{loss:<12} {row['noisy_cv_accuracy']:>12.3f} {row['clean_test_accuracy']:>15.3f}"
        )
    return "\n".join(lines)
