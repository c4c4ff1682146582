"""The argument parser of the ``skloss`` command and the checks of its options."""

import argparse
from pathlib import Path

import numpy as np

from skloss.cli._data import DATASETS

DEFAULT_LOSSES = ("ce", "gce", "mae", "sce", "focal", "comp_sum")
# Measured on 2 CPU cores: the demo (digits, 6 losses, 3 folds) takes well under a
# minute with these, and 150 epochs is enough for CE to overfit the noisy labels
# visibly while the bounded losses (GCE, MAE) stay close to their clean accuracy.
DEFAULT_MAX_ITER = 150
DEFAULT_HIDDEN = (256, 256)
DEFAULT_BATCH_SIZE = 128
DEFAULT_FOLDS = 3
DEFAULT_NOISE = 0.4

# numpy's RandomState takes seeds in [0, 2**32 - 1]; fold k's noise uses seed + k.
MAX_SEED = 2**32 - 1


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


def _available_losses():
    from skloss.losses import LOSSES

    return sorted(LOSSES)


def version():
    """Return the installed skloss version."""
    from skloss import __version__

    return __version__


def build_parser():
    """Return the argument parser of the ``skloss`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the ``compare`` and ``tune`` subcommands.

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
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
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
            "accuracy and writes results.json and results.png to --output. Ctrl-C stops "
            "after the last completed fit, writes the partial results (marked "
            '"complete": false) and exits with status 130.'
        ),
        epilog=(
            "example: skloss compare --dataset digits --noise 0.4 --noise-kind symmetric "
            "--output skloss-results"
        ),
    )
    add_data_arguments(compare)
    run = compare.add_argument_group("comparison")
    run.add_argument(
        "--losses",
        type=_loss_names,
        default=list(DEFAULT_LOSSES),
        metavar="NAMES",
        help=f"comma-separated loss names, from {', '.join(_available_losses())} "
        f"(default: {','.join(DEFAULT_LOSSES)})",
    )
    run.add_argument(
        "--noise",
        type=_noise_rate,
        default=DEFAULT_NOISE,
        metavar="RATE",
        help="share of training labels to corrupt, in [0, 1) for symmetric and [0, 0.5) "
        "for pairflip noise (default: %(default)s)",
    )
    run.add_argument(
        "--noise-kind",
        choices=("symmetric", "pairflip"),
        default="symmetric",
        help="symmetric: to a uniformly drawn other class; pairflip: to the next class "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--folds",
        type=_positive_int,
        default=DEFAULT_FOLDS,
        metavar="K",
        help="stratified cross-validation folds, at least 2 (default: %(default)s)",
    )
    run.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seeds the folds, the label noise and the networks (default: %(default)s)",
    )
    run.add_argument(
        "--top-k",
        type=_positive_int,
        default=2,
        metavar="K",
        help="also report top-K accuracy (the label among the K most "
        "probable classes), for data with at least 3 classes and more than K "
        "(default: %(default)s)",
    )
    model = compare.add_argument_group("network and training")
    model.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=DEFAULT_HIDDEN,
        metavar="SIZES",
        help=f"hidden layer widths (default: {','.join(map(str, DEFAULT_HIDDEN))})",
    )
    model.add_argument(
        "--max-iter",
        type=_positive_int,
        default=DEFAULT_MAX_ITER,
        metavar="N",
        help="training epochs (default: %(default)s)",
    )
    model.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="minibatch size (default: %(default)s)",
    )
    out = compare.add_argument_group("output")
    out.add_argument(
        "--output",
        type=Path,
        default=Path("skloss-results"),
        metavar="DIR",
        help="folder for results.json and results.png, created if missing; "
        "checked before any training (default: %(default)s)",
    )
    out.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    # Later checks (CSV columns, class counts, the output folder) report through this
    # parser, so that their messages read "skloss compare: error: ..." and exit with 2.
    compare.set_defaults(command_parser=compare)
    from skloss.cli import tune

    tune.add_parser(sub)
    return parser


def add_data_arguments(command):
    """The data options every job shares: a bundled data set or a CSV file.

    Parameters
    ----------
    command : argparse.ArgumentParser
        The job's parser (``compare``, ``tune``).

    Returns
    -------
    argparse._ArgumentGroup
        The group, for the job's own data options.
    """
    data = command.add_argument_group("data (a bundled data set, or a CSV file)")
    data.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="bundled scikit-learn data set (default: digits, unless --csv is given)",
    )
    data.add_argument(
        "--csv",
        metavar="FILE",
        type=Path,
        default=None,
        help="CSV file with a header row; non-numeric feature columns are one-hot encoded "
        "(pandas.get_dummies) and missing values are an error",
    )
    data.add_argument("--target", metavar="COL", help="the label column of --csv")
    return data


def check_shared_settings(args, parser):
    """Reject inconsistent data, folds and noise options before any data is loaded.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of a job.
    parser : argparse.ArgumentParser
        The job's parser, through which errors are reported (exit status 2).
    """
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


def check_settings(args, parser):
    """Reject inconsistent options of ``compare`` before any data is loaded.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``skloss compare``.
    parser : argparse.ArgumentParser
        Its parser, through which errors are reported (exit status 2).
    """
    check_shared_settings(args, parser)
    if args.seed + args.folds - 1 > MAX_SEED:
        parser.error(
            f"argument --seed: must be at most 2**32 - --folds = {MAX_SEED + 1 - args.folds}, "
            f"got {args.seed}: fold k's label noise is seeded with seed + k"
        )
