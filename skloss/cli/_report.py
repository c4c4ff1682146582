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
def summarise(per_model, task):
    """Return ``(summary, ranking)``: mean and std per model, models best first.

    The task names the metrics summarised and the ranking (accuracy, then
    macro-F1, highest first; RMSE, then MAE, lowest first). Models without a
    completed fold (an interrupted run) are left out of both.
    """
    first = task.rank_by[0][0]
    summary = {}
    for name, record in per_model.items():
        if not record[first]:
            continue
        summary[name] = {"n_folds": len(record[first])}
        for metric in task.summary_metrics:
            if record.get(metric):
                summary[name][f"mean_{metric}"] = float(np.mean(record[metric]))
                summary[name][f"std_{metric}"] = float(np.std(record[metric]))
    ranking = sorted(
        summary,
        key=lambda n: tuple(-sign * summary[n][f"mean_{metric}"] for metric, sign in task.rank_by),
    )
    return summary, ranking


def decimals(values):
    """Decimals that show about four significant digits of the largest of ``values``.

    Three for values between 0.01 and 10 (accuracies, R^2), fewer for large ones
    (an RMSE of 54.32, of 191.4, of 12345), more for small ones (0.001234).
    """
    largest = max((abs(v) for v in values if np.isfinite(v)), default=0.0)
    if largest == 0 or 0.01 <= largest < 10:
        return 3
    return int(np.clip(3 - np.floor(np.log10(largest)), 0, 8))


def _classification_columns(top_k):
    columns = [("accuracy", "accuracy"), ("macro-F1", "macro_f1")]
    if top_k is not None:
        columns.append((f"top-{top_k} acc", "top_k_accuracy"))
    return columns + [("ROC AUC", "roc_auc")]


def format_table(summary, ranking, n_folds=None, top_k=None, peers=(), columns=None):
    """Return the ranked results as a plain-text table.

    Parameters
    ----------
    summary : dict
        Model name -> ``{"mean_<metric>", "std_<metric>", ..., "mean_fit_time"}``
        (``"mean_accuracy"``, ``"mean_macro_f1"``, ... for classification), and
        ``"n_folds"`` (the folds completed) when ``n_folds`` is given.
    ranking : list of str
        Model names, best first.
    n_folds : int, default=None
        The folds of the run. When given (for partial results), a last column
        shows how many of them each model completed.
    top_k : int, default=None
        The ``k`` of the top-k accuracy: a column ``top-k acc`` is shown when
        given and rows hold ``"mean_top_k_accuracy"`` (3 classes or more).
        Used by the default ``columns`` only.
    peers : collection of str, default=()
        The names of scikit-learn peers, marked ``(peer)`` in the table.
    columns : list of (str, str), default=None
        ``(header, metric)`` of the score columns; a column is shown when some
        row holds ``"mean_<metric>"``. None gives the classification columns:
        accuracy, macro-F1, top-k accuracy and ROC AUC (two classes).

    Returns
    -------
    str
        One header line and one line per model; each score as mean ± std over
        the folds, with about four significant digits.

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

    Regression scores, in the target's units:

    >>> huber = {"mean_rmse": 54.321, "std_rmse": 2.1, "mean_r2": 0.47, "std_r2": 0.03,
    ...          "mean_fit_time": 0.4}
    >>> print(format_table({"huber": huber}, ["huber"], columns=[("RMSE", "rmse"), ("R^2", "r2")]))
    rank  model  RMSE             R^2              fit time (s)
       1  huber  54.32 ± 2.10     0.470 ± 0.030             0.4
    """
    labels = {name: name + (PEER_MARK if name in peers else "") for name in ranking}
    width = max([len("model"), *map(len, labels.values())])
    if columns is None:
        columns = _classification_columns(top_k)
    columns = [
        (header, metric)
        for header, metric in columns
        if any(f"mean_{metric}" in summary[name] for name in ranking)
    ]
    cells = {name: [] for name in ranking}
    for _, metric in columns:
        shown = [summary[n][f"mean_{metric}"] for n in ranking if f"mean_{metric}" in summary[n]]
        places = decimals(shown)
        for name in ranking:
            s = summary[name]
            cells[name].append(
                f"{s[f'mean_{metric}']:.{places}f} ± {s[f'std_{metric}']:.{places}f}"
                if f"mean_{metric}" in s
                else "-"
            )
    widths = [
        max(15, len(header), *(len(cells[name][i]) for name in ranking))
        for i, (header, _) in enumerate(columns)
    ]
    header = f"{'rank':<4}  {'model':<{width}}  "
    header += "".join(f"{title:<{w}}  " for (title, _), w in zip(columns, widths, strict=True))
    lines = [header + "fit time (s)" + ("  folds" if n_folds is not None else "")]
    for rank, name in enumerate(ranking, start=1):
        line = f"{rank:>4}  {labels[name]:<{width}}  "
        line += "".join(f"{cell:<{w}}  " for cell, w in zip(cells[name], widths, strict=True))
        line += f"{summary[name]['mean_fit_time']:>12.1f}"
        if n_folds is not None:
            line += f"  {str(summary[name]['n_folds']) + '/' + str(n_folds):>5}"
        lines.append(line)
    return "\n".join(lines)


def plot(summary, ranking, title, path, peers=(), chart=("accuracy", None, (0, 1.08))):
    """Write a bar chart of one mean clean-test score per model to ``path``.

    ``chart`` is ``(metric, axis label, y limits)``; limits None start at 0 and
    leave room above the highest bar.
    """
    # A bare Figure renders with Agg and leaves pyplot's global backend and figure
    # registry alone, which matters when main() is called from a notebook or a test.
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    metric, label, limits = chart
    means = [summary[n][f"mean_{metric}"] for n in ranking]
    stds = [summary[n][f"std_{metric}"] for n in ranking]
    colours = ["tab:gray" if n in peers else "tab:blue" for n in ranking]
    fig = Figure(figsize=(max(4.0, 1.1 * len(ranking) + 1.5), 4.5), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(ranking, means, yerr=stds, capsize=4, color=colours, alpha=0.85)
    places = decimals(means)
    ax.bar_label(bars, labels=[f"{m:.{places}f}" for m in means], padding=3, fontsize=8)
    top = max(m + s for m, s in zip(means, stds, strict=True))
    ax.set_ylim(*(limits or (0, 1.15 * top if top > 0 else 1)))
    ax.set_ylabel(label or f"{metric} on clean test folds")
    ax.set_xlabel(f"model (ranked by {metric_name(metric)}; error bars: std over folds)")
    ax.tick_params(axis="x", labelrotation=30 if any(len(n) > 10 for n in ranking) else 0)
    if any(n in peers for n in ranking):
        ax.legend(
            handles=[
                Patch(color="tab:blue", label="skloss loss"),
                Patch(color="tab:gray", label="peer"),
            ],
            fontsize=8,
            loc="best",
        )
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.savefig(path, dpi=120)


def write_results(output, results, summary, ranking, title, chart):
    """Write ``results.json`` (and ``results.png`` when a fit completed); return the paths.

    ``chart`` is the task's ``(metric, axis label, y limits)`` of :func:`plot`.
    """
    output.mkdir(parents=True, exist_ok=True)
    json_path = output / "results.json"
    write_json(json_path, results)
    written = [json_path]
    png_path = output / "results.png"
    if ranking:
        plot(summary, ranking, title, png_path, peers=results["settings"]["peers"], chart=chart)
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


def tune_table(per_loss, ranking, metric):
    """The per-loss table of ``skloss tune``: best noisy-CV score and the clean test scores.

    ``metric`` is the score trials are chosen by (``"accuracy"``, ``"rmse"``);
    rows hold ``noisy_cv_<metric>`` and ``clean_test_<name>`` for every clean
    test score.
    """
    tests = [key for key in per_loss[ranking[0]] if key.startswith("clean_test_")]
    headers = [f"noisy CV {metric_name(metric)}"]
    headers += [f"clean test {metric_name(key[len('clean_test_') :])}" for key in tests]
    keys = [f"noisy_cv_{metric}", *tests]
    places = [decimals([per_loss[loss][key] for loss in ranking]) for key in keys]
    width = max(12, *(len(loss) for loss in ranking))
    lines = [f"{'loss':<{width}} " + " ".join(f"{h:>15}" for h in headers)]
    for loss in ranking:
        row = per_loss[loss]
        cells = [f"{row[key]:>15.{p}f}" for key, p in zip(keys, places, strict=True)]
        lines.append(f"{loss:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def metric_name(metric):
    """How a metric is called in printed lines: ``"rmse"`` -> ``"RMSE"``."""
    return {"rmse": "RMSE", "mae": "MAE", "r2": "R^2"}.get(metric, metric)
