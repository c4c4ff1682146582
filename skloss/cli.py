"""The ``skloss`` command line: compare losses under label noise.

``skloss compare`` cross-validates one :class:`~skloss.RobustLossClassifier`
per loss on a bundled scikit-learn data set or a CSV file. In every fold the
*training* labels are corrupted with :func:`skloss.noise.make_noisy_labels`
while the test fold keeps its clean labels, so the scores measure how well each
loss recovers the true classes from noisy supervision. It prints a ranked
table and writes ``results.json`` and ``results.png`` to ``--output``.

Run ``skloss compare --help`` (or ``python -m skloss compare --help``) for the
options. It needs the ``cli`` extra: ``pip install "skloss[cli]"``.
"""

import argparse
import json
import sys
import time
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np

DATASETS = ("digits", "breast_cancer", "wine", "iris")
DEFAULT_LOSSES = ("ce", "gce", "mae", "sce", "focal", "comp_sum")
# Measured on 2 CPU cores: the demo (digits, 6 losses, 3 folds) takes well under a
# minute with these, and 150 epochs is enough for CE to overfit the noisy labels
# visibly while the bounded losses (GCE, MAE) stay close to their clean accuracy.
DEFAULT_MAX_ITER = 150
DEFAULT_HIDDEN = (256, 256)
DEFAULT_BATCH_SIZE = 128
DEFAULT_FOLDS = 3
DEFAULT_NOISE = 0.4

CLI_EXTRA_HINT = 'pip install "skloss[cli]"'

Fold = namedtuple("Fold", "X_train y_train X_test y_test flipped")
Fold.__doc__ = """One cross-validation fold: noisy training labels, clean test labels.

``flipped`` marks the training samples whose label was corrupted.
"""


# ---- argument parsing -------------------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _hidden_sizes(text):
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 256,256, got {text!r}"
        )
    return sizes


def _loss_names(text):
    from skloss.losses import LOSSES

    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in LOSSES]
    if not names or unknown:
        what = f"unknown loss {unknown[0]!r}" if unknown else f"no loss names in {text!r}"
        raise argparse.ArgumentTypeError(
            f"{what}; choose comma-separated names from {', '.join(sorted(LOSSES))}"
        )
    # A repeated name would train the same model twice and show it twice in the ranking.
    return list(dict.fromkeys(names))


def _noise_rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.4, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def build_parser():
    """Return the argument parser of the ``skloss`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the ``compare`` subcommand.

    Examples
    --------
    >>> from skloss.cli import build_parser
    >>> args = build_parser().parse_args(["compare", "--dataset", "iris", "--losses", "ce,mae"])
    >>> args.losses
    ['ce', 'mae']
    """
    parser = argparse.ArgumentParser(
        prog="skloss",
        description="skloss: scikit-learn classifiers with pluggable (robust) losses.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    compare = sub.add_parser(
        "compare",
        help="cross-validate several losses with noisy training labels",
        description=(
            "Cross-validate one RobustLossClassifier per loss (inside a Pipeline with "
            "StandardScaler). In each stratified fold the training labels are corrupted "
            "with make_noisy_labels (seeded per fold, the same noisy labels for every "
            "loss) and the test fold keeps its clean labels, so the scores say how well "
            "each loss learns the true classes from noisy ones. Prints a table ranked by "
            "accuracy and writes results.json and results.png to --output."
        ),
        epilog=(
            "example: skloss compare --dataset digits --noise 0.4 --noise-kind symmetric "
            "--output skloss-results"
        ),
    )
    data = compare.add_argument_group("data (a bundled data set, or a CSV file)")
    data.add_argument(
        "--dataset", choices=DATASETS, default=None,
        help="bundled scikit-learn data set (default: digits, unless --csv is given)",
    )
    data.add_argument(
        "--csv", metavar="FILE", type=Path, default=None,
        help="CSV file with a header row; non-numeric feature columns are one-hot encoded "
        "(pandas.get_dummies) and missing values are an error",
    )
    data.add_argument("--target", metavar="COL", help="the label column of --csv")
    run = compare.add_argument_group("comparison")
    run.add_argument(
        "--losses", type=_loss_names, default=list(DEFAULT_LOSSES), metavar="NAMES",
        help=f"comma-separated loss names, from {', '.join(_available_losses())} "
        f"(default: {','.join(DEFAULT_LOSSES)})",
    )
    run.add_argument(
        "--noise", type=_noise_rate, default=DEFAULT_NOISE, metavar="RATE",
        help="share of training labels to corrupt, in [0, 1) for symmetric and [0, 0.5) "
        "for pairflip noise (default: %(default)s)",
    )
    run.add_argument(
        "--noise-kind", choices=("symmetric", "pairflip"), default="symmetric",
        help="symmetric: to a uniformly drawn other class; pairflip: to the next class "
        "(default: %(default)s)",
    )
    run.add_argument("--folds", type=_positive_int, default=DEFAULT_FOLDS, metavar="K",
                     help="stratified cross-validation folds, at least 2 (default: %(default)s)")
    run.add_argument("--seed", type=_non_negative_int, default=0,
                     help="seeds the folds, the label noise and the networks "
                     "(default: %(default)s)")
    model = compare.add_argument_group("network and training")
    model.add_argument("--hidden", type=_hidden_sizes, default=DEFAULT_HIDDEN, metavar="SIZES",
                       help="hidden layer widths (default: "
                       f"{','.join(map(str, DEFAULT_HIDDEN))})")
    model.add_argument("--max-iter", type=_positive_int, default=DEFAULT_MAX_ITER, metavar="N",
                       help="training epochs (default: %(default)s)")
    model.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                       metavar="N", help="minibatch size (default: %(default)s)")
    out = compare.add_argument_group("output")
    out.add_argument("--output", type=Path, default=Path("skloss-results"), metavar="DIR",
                     help="folder for results.json and results.png, created if missing "
                     "(default: %(default)s)")
    out.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    # Later checks (CSV columns, class counts) report through this parser, so that
    # their messages read "skloss compare: error: ..." and exit with status 2.
    compare.set_defaults(command_parser=compare)
    return parser


def _available_losses():
    from skloss.losses import LOSSES

    return sorted(LOSSES)


def _version():
    from skloss import __version__

    return __version__


# ---- data -------------------------------------------------------------------------------


def load_bundled(name):
    """Load one of the data sets shipped with scikit-learn (no download).

    Parameters
    ----------
    name : {"digits", "breast_cancer", "wine", "iris"}
        The data set.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The integer class labels.

    Examples
    --------
    >>> from skloss.cli import load_bundled
    >>> X, y = load_bundled("iris")
    >>> X.shape
    (150, 4)
    """
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
    }
    if name not in loaders:
        raise ValueError(f"name must be one of {list(loaders)}, got {name!r}.")
    return loaders[name](return_X_y=True)


def load_csv(path, target):
    """Read features and labels from a CSV file with a header row.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    target : str
        Name of the label column; every other column is a feature.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype=float64
        The features, non-numeric columns one-hot encoded (one 0/1 column per
        category, via :func:`pandas.get_dummies`).
    y : ndarray of shape (n_samples,)
        The labels, of any type.
    encoded : list of str
        The columns that were one-hot encoded.

    Raises
    ------
    ValueError
        If ``target`` is not a column (the message lists the columns), no
        feature column is left, or a value is missing.

    Examples
    --------
    >>> import io
    >>> from skloss.cli import load_csv
    >>> X, y, encoded = load_csv(io.StringIO("a,colour,label\\n1,red,x\\n2,blue,y\\n"), "label")
    >>> X.tolist(), y.tolist(), encoded
    ([[1.0, 0.0, 1.0], [2.0, 1.0, 0.0]], ['x', 'y'], ['colour'])
    """
    import pandas as pd

    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise ValueError(
            f"--target {target!r} is not a column of the CSV file; its columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"the CSV file has no feature columns besides --target {target!r}.")
    missing = frame.columns[frame.isna().any()].tolist()
    if missing:
        raise ValueError(
            f"the CSV file has missing values in column(s) {', '.join(map(str, missing))}; "
            "fill or drop them before running skloss compare."
        )
    encoded = [
        str(c) for c in features.columns
        if not (pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(
            features[c]))
    ]
    if encoded:
        features = pd.get_dummies(features, columns=encoded, dtype=float)
    return features.to_numpy(dtype=float), frame[target].to_numpy(), encoded


def noisy_folds(X, y, n_folds, rate, kind="symmetric", seed=0):
    """Yield stratified folds whose training labels, and only those, are noisy.

    Fold ``k`` corrupts its training labels with
    ``make_noisy_labels(..., random_state=seed + k)``; its test labels are the
    clean ones. The same folds and noisy labels are yielded for the same
    arguments, so every loss is compared on identical data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Clean labels.
    n_folds : int
        Number of stratified folds, at least 2.
    rate : float
        Noise rate of the training labels.
    kind : {"symmetric", "pairflip"}, default="symmetric"
        Noise protocol, see :func:`skloss.noise.make_noisy_labels`.
    seed : int, default=0
        Seeds the fold split and, offset by the fold index, the noise.

    Yields
    ------
    Fold
        A named tuple ``(X_train, y_train, X_test, y_test, flipped)``, with
        ``y_train`` noisy, ``y_test`` clean and ``flipped`` the training mask of
        corrupted labels.

    Examples
    --------
    >>> from skloss.cli import load_bundled, noisy_folds
    >>> X, y = load_bundled("iris")
    >>> fold = next(noisy_folds(X, y, n_folds=3, rate=0.2, seed=0))
    >>> len(fold.y_train), len(fold.y_test), float(fold.flipped.mean())
    (100, 50, 0.2)
    """
    from sklearn.model_selection import StratifiedKFold

    from skloss.noise import make_noisy_labels

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(X, y)):
        y_train, flipped = make_noisy_labels(y[train], rate, kind=kind, random_state=seed + k)
        yield Fold(X[train], y_train, X[test], y[test], flipped)


# ---- the comparison ---------------------------------------------------------------------


def _check_settings(args, parser):
    """Reject inconsistent options before any data is loaded or model trained."""
    if args.csv is not None and args.dataset is not None:
        parser.error("give either --dataset or --csv, not both")
    if args.csv is not None and args.target is None:
        parser.error("--csv needs --target COL, the name of the label column")
    if args.csv is None and args.target is not None:
        parser.error("--target only applies to --csv")
    if args.folds < 2:
        parser.error(f"argument --folds: must be at least 2, got {args.folds}")
    upper = 1.0 if args.noise_kind == "symmetric" else 0.5
    if not 0 <= args.noise < upper:
        why = (
            "at 0.5 or above the flipped-to class becomes the majority label of each class"
            if args.noise_kind == "pairflip"
            else "at 1 no training label is left intact"
        )
        parser.error(
            f"argument --noise: must be in [0, {upper:g}) for --noise-kind "
            f"{args.noise_kind}, got {args.noise:g} ({why})"
        )


def _import_cli_dependencies(need_pandas):
    """Return None, or an error message naming the missing ``cli`` extra."""
    names = ["matplotlib"] + (["pandas"] if need_pandas else [])
    for name in names:
        try:
            __import__(name)
        except ImportError:
            return (
                f"skloss compare needs {name}, which is not installed. Install the "
                f"command's extras with: {CLI_EXTRA_HINT}"
            )
    return None


def _load_data(args, parser):
    if args.csv is None:
        name = args.dataset or "digits"
        X, y = load_bundled(name)
        return X, y, name, []
    if not args.csv.is_file():
        parser.error(f"argument --csv: no such file: {args.csv}")
    import pandas as pd

    try:
        X, y, encoded = load_csv(args.csv, args.target)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        parser.error(f"argument --csv: cannot read {args.csv} as CSV: {exc}")
    except ValueError as exc:
        parser.error(str(exc))
    return X, y, str(args.csv), encoded


def _check_data(X, y, n_folds, parser):
    from sklearn.utils.multiclass import type_of_target

    if type_of_target(y) == "continuous":
        parser.error(
            "the labels look continuous (non-integer numbers); skloss compare needs class "
            "labels. Pick a categorical --target column or bin the values first."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        parser.error(f"the labels have {len(classes)} class; at least 2 are needed")
    if counts.min() < n_folds:
        rare = classes[np.argmin(counts)]
        parser.error(
            f"class {rare!r} has only {counts.min()} sample(s), fewer than --folds "
            f"{n_folds}; every fold needs each class. Lower --folds."
        )
    return classes


def _make_pipeline(loss, args):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossClassifier

    return make_pipeline(
        StandardScaler(),
        RobustLossClassifier(
            loss=loss,
            hidden_layer_sizes=args.hidden,
            max_iter=args.max_iter,
            batch_size=args.batch_size,
            random_state=args.seed,
        ),
    )


def _run(X, y, args, log):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, f1_score

    per_loss = {
        loss: {"accuracy": [], "macro_f1": [], "fit_time": [], "n_iter": []}
        for loss in args.losses
    }
    folds = []
    for k, fold in enumerate(noisy_folds(X, y, args.folds, args.noise, args.noise_kind,
                                         args.seed)):
        folds.append({
            "fold": k,
            "n_train": len(fold.y_train),
            "n_test": len(fold.y_test),
            "realised_noise_rate": float(fold.flipped.mean()),
        })
        for loss in args.losses:
            model = _make_pipeline(loss, args)
            start = time.perf_counter()
            with warnings.catch_warnings():
                # A fixed epoch budget is the point of the comparison; the epochs
                # actually run are recorded as n_iter instead.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(fold.X_train, fold.y_train)
            seconds = time.perf_counter() - start
            predicted = model.predict(fold.X_test)
            record = per_loss[loss]
            record["accuracy"].append(float(accuracy_score(fold.y_test, predicted)))
            record["macro_f1"].append(float(f1_score(fold.y_test, predicted, average="macro")))
            record["fit_time"].append(seconds)
            record["n_iter"].append(int(model[-1].n_iter_))
            log(
                f"fold {k + 1}/{args.folds}  {loss:<10} accuracy {record['accuracy'][-1]:.3f}  "
                f"macro-F1 {record['macro_f1'][-1]:.3f}  {seconds:.1f}s"
            )
    return per_loss, folds


def _summarise(per_loss):
    summary = {}
    for loss, record in per_loss.items():
        summary[loss] = {
            f"{stat}_{metric}": float(fn(record[metric]))
            for metric in ("accuracy", "macro_f1", "fit_time")
            for stat, fn in (("mean", np.mean), ("std", np.std))
        }
    ranking = sorted(
        summary, key=lambda n: (-summary[n]["mean_accuracy"], -summary[n]["mean_macro_f1"])
    )
    return summary, ranking


def format_table(summary, ranking):
    """Return the ranked results as a plain-text table.

    Parameters
    ----------
    summary : dict
        Loss name -> ``{"mean_accuracy", "std_accuracy", "mean_macro_f1",
        "std_macro_f1", "mean_fit_time", ...}``.
    ranking : list of str
        Loss names, best first.

    Returns
    -------
    str
        One header line and one line per loss.

    Examples
    --------
    >>> from skloss.cli import format_table
    >>> row = {"mean_accuracy": 0.9, "std_accuracy": 0.01, "mean_macro_f1": 0.89,
    ...        "std_macro_f1": 0.02, "mean_fit_time": 1.5}
    >>> print(format_table({"mae": row}, ["mae"]))
    rank  loss        accuracy         macro-F1         fit time (s)
       1  mae         0.900 ± 0.010    0.890 ± 0.020             1.5
    """
    lines = [f"{'rank':<4}  {'loss':<10}  {'accuracy':<15}  {'macro-F1':<15}  fit time (s)"]
    for rank, loss in enumerate(ranking, start=1):
        s = summary[loss]
        lines.append(
            f"{rank:>4}  {loss:<10}  {s['mean_accuracy']:.3f} ± {s['std_accuracy']:.3f}    "
            f"{s['mean_macro_f1']:.3f} ± {s['std_macro_f1']:.3f}    {s['mean_fit_time']:>12.1f}"
        )
    return "\n".join(lines)


def _plot(summary, ranking, title, path):
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


def _compare(args, parser):
    """Run ``skloss compare`` with parsed arguments; return the exit status."""
    _check_settings(args, parser)
    problem = _import_cli_dependencies(need_pandas=args.csv is not None)
    if problem:
        print(f"skloss: error: {problem}", file=sys.stderr)
        return 1

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    X, y, data_name, encoded = _load_data(args, parser)
    classes = _check_data(X, y, args.folds, parser)
    if encoded:
        log(f"one-hot encoded non-numeric column(s): {', '.join(encoded)}")
    description = (
        f"{data_name}: {X.shape[0]} samples, {X.shape[1]} features, {len(classes)} classes; "
        f"{args.noise:.0%} {args.noise_kind} noise on the training folds, {args.folds}-fold "
        "CV, scored on clean test labels"
    )
    log(f"skloss compare  {description}")

    started = time.perf_counter()
    per_loss, folds = _run(X, y, args, log)
    summary, ranking = _summarise(per_loss)

    args.output.mkdir(parents=True, exist_ok=True)
    results = {
        "settings": {
            "dataset": data_name,
            "csv": str(args.csv) if args.csv is not None else None,
            "target": args.target,
            "one_hot_columns": encoded,
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "classes": classes.tolist(),
            "losses": list(args.losses),
            "noise": args.noise,
            "noise_kind": args.noise_kind,
            "folds": args.folds,
            "max_iter": args.max_iter,
            "hidden_layer_sizes": list(args.hidden),
            "batch_size": args.batch_size,
            "seed": args.seed,
            "protocol": (
                "stratified K-fold; label noise injected into the training fold only "
                "(make_noisy_labels, random_state=seed + fold); scores on the clean "
                "test fold; StandardScaler + RobustLossClassifier pipeline"
            ),
            "skloss_version": _version(),
        },
        "folds": folds,
        "ranking": ranking,
        "results": {
            loss: {**per_loss[loss], **summary[loss]} for loss in args.losses
        },
        "total_time": time.perf_counter() - started,
    }
    json_path = args.output / "results.json"
    # default=str: CSV labels may be numpy scalars or other objects json cannot encode.
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    png_path = args.output / "results.png"
    _plot(summary, ranking, f"{data_name}, {args.noise:.0%} {args.noise_kind} label noise",
          png_path)

    print(description)
    print(format_table(summary, ranking))
    print(f"wrote {json_path} and {png_path} ({results['total_time']:.0f}s)")
    return 0


def main(argv=None):
    """Run the ``skloss`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the ``cli`` extra is missing.
        Usage errors exit with status 2 (raised as :class:`SystemExit`, as
        :mod:`argparse` does).

    Examples
    --------
    >>> from skloss.cli import main
    >>> main(["compare", "--dataset", "iris", "--losses", "ce", "--folds", "2",
    ...       "--max-iter", "2", "--output", "/tmp/skloss-doctest", "--quiet"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return _compare(args, args.command_parser)
