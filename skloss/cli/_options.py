"""The options every ``skloss`` job shares: data, label noise, losses, folds, seed, output.

Each job (:mod:`skloss.cli.compare`, :mod:`skloss.cli.tune`) builds its parser from
these pieces, with its own defaults, and checks them with
:func:`check_shared_settings`, which applies :mod:`skloss.noise`'s own rules.
"""

import argparse
from pathlib import Path

import numpy as np

from skloss.cli._data import DATASETS

DEFAULT_LOSSES = ("ce", "gce", "mae", "sce", "focal", "comp_sum")
DEFAULT_NOISE = 0.4
IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")


def version():
    """Return the installed skloss version."""
    from skloss import __version__

    return __version__


# ---- value types (argparse ``type=``) -----------------------------------------------------
def positive_int(text):
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text):
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def share(text):
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1) such as 0.25, got {text!r}")
    return value


def positive_seconds(text):
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def layer_sizes(text):
    """Comma-separated positive layer widths, such as ``256,256``."""
    try:
        sizes = tuple(int(part.strip()) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 256,256, got {text!r}"
        )
    return sizes


def loss_names(text):
    """Comma-separated registry names, each known, without repeats."""
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
    # Only the number is parsed here: its range depends on --noise-kind, and is
    # checked by skloss.noise's own rule in check_shared_settings.
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.4, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _na_values(text):
    values = [part for part in text.split(",") if part != ""]
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated strings that mean 'missing', such as '?' or '?,NA', "
            f"got {text!r}"
        )
    return values


# ---- option groups -----------------------------------------------------------------------
def add_data_options(parser):
    """Add the data options (a bundled data set or a CSV file); return the group."""
    data = parser.add_argument_group("data (a bundled data set, or a CSV file)")
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
        "inside each training fold; missing values are an error unless --impute is given",
    )
    data.add_argument("--target", metavar="COL", help="the label column of --csv")
    data.add_argument(
        "--na-values",
        type=_na_values,
        default=None,
        metavar="STRINGS",
        help="comma-separated strings of --csv that mean 'missing' (e.g. '?'); without it "
        "they are read as a category",
    )
    data.add_argument(
        "--impute",
        choices=IMPUTE_STRATEGIES,
        default=None,
        help="fill missing feature values inside each training fold (SimpleImputer; "
        "non-numeric columns take their most frequent value); default: refuse them",
    )
    return data


def add_noise_options(group, what="training labels"):
    """Add ``--noise`` and ``--noise-kind`` to ``group``."""
    group.add_argument(
        "--noise",
        type=_noise_rate,
        default=DEFAULT_NOISE,
        metavar="RATE",
        help=f"share of {what} to corrupt, in [0, 1) for symmetric and [0, 0.5) for "
        "pairflip noise (default: %(default)s)",
    )
    group.add_argument(
        "--noise-kind",
        choices=("symmetric", "pairflip"),
        default="symmetric",
        help="symmetric: to a uniformly drawn other class; pairflip: to the next class "
        "(default: %(default)s)",
    )


def add_losses_option(group, help_text):
    """Add ``--losses`` (comma-separated registry names) to ``group``."""
    from skloss.losses import LOSSES

    group.add_argument(
        "--losses",
        type=loss_names,
        default=list(DEFAULT_LOSSES),
        metavar="NAMES",
        help=f"{help_text}, from {', '.join(sorted(LOSSES))} (default: {','.join(DEFAULT_LOSSES)})",
    )


#: ``--selection-score`` values: what the noise-aware selection ranks models by.
SELECTION_SCORES = ("noisy_accuracy", "clean_accuracy")


def add_selection_option(group):
    """Add ``--selection-score`` (how models are ranked without clean labels) to ``group``."""
    group.add_argument(
        "--selection-score",
        choices=SELECTION_SCORES,
        default="noisy_accuracy",
        help="rank models by accuracy on the noisy validation labels, or by the clean "
        "accuracy estimated from them through the transition matrix estimated on the "
        "training fold (skloss.noise.clean_accuracy_scorer: 5 extra LogisticRegression "
        "fits per fold), which suits asymmetric (pair-flip) noise (default: %(default)s)",
    )


def transition_estimator(X, impute):
    """The model whose out-of-fold probabilities estimate the transition matrix of ``X``'s labels.

    skloss.noise's default (``LogisticRegression(max_iter=1000)``) after the jobs'
    preprocessing, so that CSV text columns (the non-numeric columns of a data frame,
    as :func:`skloss.cli._data.load_csv` finds them) and missing values are handled.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from skloss.cli._data import Data
    from skloss.cli._models import preprocessing

    categorical = []
    if hasattr(X, "dtypes"):
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        categorical = [
            str(c) for c in X.columns if not (is_numeric_dtype(X[c]) or is_bool_dtype(X[c]))
        ]
    data = Data(X, None, "", categorical)
    return make_pipeline(preprocessing(data, impute), LogisticRegression(max_iter=1000))


def add_run_options(group, folds, max_iter, seeds_what):
    """Add ``--folds``, ``--max-iter`` and ``--seed`` with the job's defaults."""
    group.add_argument(
        "--folds",
        type=positive_int,
        default=folds,
        metavar="K",
        help="stratified cross-validation folds, at least 2 (default: %(default)s)",
    )
    group.add_argument(
        "--max-iter",
        type=positive_int,
        default=max_iter,
        metavar="N",
        help="training epochs per fit (default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help=f"seeds {seeds_what} (default: %(default)s)",
    )


def add_output_options(parser, folder, files, quiet_help):
    """Add ``--output`` and ``--quiet``; ``files`` are what the job writes there."""
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        type=Path,
        default=Path(folder),
        metavar="DIR",
        help=f"folder for {', '.join(files)}, created if missing; checked before any "
        "training (default: %(default)s)",
    )
    out.add_argument("--quiet", action="store_true", help=quiet_help)
    return out


# ---- checks before any data is loaded ------------------------------------------------------
def check_shared_settings(args, parser, n_noise_seeds):
    """Reject inconsistent data, folds, noise and seed options, through ``parser`` (exit 2).

    The noise rate and the seed go through :mod:`skloss.noise`'s own checks;
    ``n_noise_seeds`` is how many consecutive seeds from ``--seed`` the job's
    label noise uses (one per fold for ``compare``).
    """
    from skloss.noise.folds import check_fold_seed
    from skloss.noise.injection import check_rate

    if args.csv is not None and args.dataset is not None:
        parser.error("give either --dataset or --csv, not both")
    if args.csv is not None and args.target is None:
        parser.error("--csv needs --target COL, the name of the label column")
    if args.csv is None and (args.target is not None or args.na_values is not None):
        parser.error(
            f"--{'target' if args.target is not None else 'na-values'} only applies to --csv"
        )
    if args.folds < 2:
        parser.error(f"argument --folds: must be at least 2, got {args.folds}")
    try:
        check_rate(args.noise, args.noise_kind)
    except ValueError as error:
        parser.error(f"argument --noise: {error}")
    try:
        check_fold_seed(args.seed, n_noise_seeds)
    except ValueError as error:
        parser.error(f"argument --seed: {error}")
