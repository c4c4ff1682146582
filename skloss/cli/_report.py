"""What ``skloss compare`` reports: the output folder, the summary, the table, JSON and plot."""

import json
import os
from pathlib import Path

import numpy as np

RESULT_FILES = ("results.json", "results.png")


def check_output(path, parser):
    """Report, through ``parser``, an ``--output`` folder that cannot be written.

    Runs before any training, so that a typo in ``--output`` costs nothing. The
    folder itself is only created when the results are written.
    """
    path = Path(os.path.abspath(path))
    if path.exists() and not path.is_dir():
        parser.error(
            f"argument --output: {path} is a file; --output names a folder for "
            f"{' and '.join(RESULT_FILES)}. Pass a folder path (created if missing) or "
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
        for name in RESULT_FILES:
            target = path / name
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


def summarise(per_loss):
    """Return ``(summary, ranking)``: mean and std per loss, losses best first.

    Losses without a completed fold (an interrupted run) are left out of both.
    """
    summary = {}
    for loss, record in per_loss.items():
        if not record["accuracy"]:
            continue
        summary[loss] = {
            f"{stat}_{metric}": float(fn(record[metric]))
            for metric in ("accuracy", "macro_f1", "fit_time")
            for stat, fn in (("mean", np.mean), ("std", np.std))
        }
        if record.get("top_k_accuracy"):
            summary[loss]["mean_top_k_accuracy"] = float(np.mean(record["top_k_accuracy"]))
            summary[loss]["std_top_k_accuracy"] = float(np.std(record["top_k_accuracy"]))
        summary[loss]["n_folds"] = len(record["accuracy"])
    ranking = sorted(
        summary, key=lambda n: (-summary[n]["mean_accuracy"], -summary[n]["mean_macro_f1"])
    )
    return summary, ranking


def format_table(summary, ranking, n_folds=None, top_k=None):
    """Return the ranked results as a plain-text table.

    Parameters
    ----------
    summary : dict
        Loss name -> ``{"mean_accuracy", "std_accuracy", "mean_macro_f1",
        "std_macro_f1", "mean_fit_time", ...}``, and ``"n_folds"`` (the folds
        completed) when ``n_folds`` is given.
    ranking : list of str
        Loss names, best first.
    n_folds : int, default=None
        The folds of the run. When given (for partial results), a last column
        shows how many of them each loss completed.
    top_k : int, default=None
        The ``k`` of the top-k accuracy: a column ``top-k acc`` is shown when
        given and the rows hold ``"mean_top_k_accuracy"`` (3 classes or more).

    Returns
    -------
    str
        One header line and one line per loss.

    Examples
    --------
    >>> from skloss.cli import format_table
    >>> row = {"mean_accuracy": 0.9, "std_accuracy": 0.01, "mean_macro_f1": 0.89,
    ...        "std_macro_f1": 0.02, "mean_fit_time": 1.5, "n_folds": 2}
    >>> print(format_table({"mae": row}, ["mae"]))
    rank  loss        accuracy         macro-F1         fit time (s)
       1  mae         0.900 ± 0.010    0.890 ± 0.020             1.5
    >>> print(format_table({"mae": row}, ["mae"], n_folds=3))
    rank  loss        accuracy         macro-F1         fit time (s)  folds
       1  mae         0.900 ± 0.010    0.890 ± 0.020             1.5    2/3
    >>> row.update(mean_top_k_accuracy=0.97, std_top_k_accuracy=0.005)
    >>> print(format_table({"mae": row}, ["mae"], top_k=2))
    rank  loss        accuracy         macro-F1         top-2 acc        fit time (s)
       1  mae         0.900 ± 0.010    0.890 ± 0.020    0.970 ± 0.005             1.5
    """
    show_top_k = top_k is not None and any(
        "mean_top_k_accuracy" in summary[loss] for loss in ranking
    )
    top_k_header = f"{f'top-{top_k} acc':<15}  " if show_top_k else ""
    header = (
        f"{'rank':<4}  {'loss':<10}  {'accuracy':<15}  {'macro-F1':<15}  {top_k_header}fit time (s)"
    )
    lines = [header + ("  folds" if n_folds is not None else "")]
    for rank, loss in enumerate(ranking, start=1):
        s = summary[loss]
        top_k_cell = ""
        if show_top_k:
            top_k_cell = (
                f"{s['mean_top_k_accuracy']:.3f} ± {s['std_top_k_accuracy']:.3f}    "
                if "mean_top_k_accuracy" in s
                else f"{'-':<15}  "
            )
        line = (
            f"{rank:>4}  {loss:<10}  {s['mean_accuracy']:.3f} ± {s['std_accuracy']:.3f}    "
            f"{s['mean_macro_f1']:.3f} ± {s['std_macro_f1']:.3f}    {top_k_cell}"
            f"{s['mean_fit_time']:>12.1f}"
        )
        if n_folds is not None:
            done = f"{s['n_folds']}/{n_folds}"
            line += f"  {done:>5}"
        lines.append(line)
    return "\n".join(lines)


def plot(summary, ranking, title, path):
    """Write a bar chart of the mean clean-test accuracy per loss to ``path``."""
    # A bare Figure renders with Agg and leaves pyplot's global backend and figure
    # registry alone, which matters when main() is called from a notebook or a test.
    from matplotlib.figure import Figure

    means = [summary[n]["mean_accuracy"] for n in ranking]
    stds = [summary[n]["std_accuracy"] for n in ranking]
    fig = Figure(figsize=(max(4.0, 1.1 * len(ranking) + 1.5), 4.0), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(ranking, means, yerr=stds, capsize=4, color="tab:blue", alpha=0.85)
    ax.bar_label(bars, labels=[f"{m:.3f}" for m in means], padding=3, fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy on clean test folds")
    ax.set_xlabel("loss (ranked by accuracy; error bars: std over folds)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.savefig(path, dpi=120)


def write_results(output, results, summary, ranking, title):
    """Write ``results.json`` (and ``results.png`` when a fit completed); return the paths."""
    output.mkdir(parents=True, exist_ok=True)
    json_path = output / "results.json"
    # default=str: CSV labels may be numpy scalars or other objects json cannot encode.
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    written = [json_path]
    png_path = output / "results.png"
    if ranking:
        plot(summary, ranking, title, png_path)
        written.append(png_path)
    else:
        # No fit completed: a chart from an earlier run must not pass for this one.
        png_path.unlink(missing_ok=True)
    return written


def _json_ready(params):
    """Parameters as JSON values (tuples as lists), for reports."""
    return json.loads(json.dumps(params, default=lambda value: list(value)))
