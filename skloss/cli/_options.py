"""The options every ``skloss`` job shares: data, task, noise, losses, folds, seed, output.

Each job (:mod:`skloss.cli.compare`, :mod:`skloss.cli.tune`) builds its parser from
these pieces, with its own defaults, and checks them in two steps, both before any
fit: :func:`check_shared_settings` what holds for any task, then
:func:`resolve_task` the task (:mod:`skloss.cli._tasks`), its defaults for
``--noise``, ``--noise-kind`` and ``--losses``, and its checks of them
(:mod:`skloss.noise`'s own rules for label noise).
"""

import argparse
from pathlib import Path

import numpy as np

from skloss.cli._classification import CLASSIFICATION
from skloss.cli._data import DATASETS
from skloss.cli._regression import REGRESSION
from skloss.cli._tasks import TASK_CHOICES, choose_task

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
        help="bundled scikit-learn data set: diabetes is a regression set, the others "
        "classification ones (default: digits, unless --csv is given)",
    )
    data.add_argument(
        "--csv",
        metavar="FILE",
        type=Path,
        default=None,
        help="CSV file with a header row; non-numeric feature columns are one-hot encoded "
        "inside each training fold; missing values are an error unless --impute is given",
    )
    data.add_argument(
        "--target", metavar="COL", help="the target column of --csv (class labels or values)"
    )
    data.add_argument(
        "--task",
        choices=TASK_CHOICES,
        default="auto",
        help="classification (RobustLossClassifier) or regression (RobustLossRegressor); "
        "auto: the bundled data set's own, and for --csv regression when the target is "
        "numeric with more than 20 distinct values (default: %(default)s; the choice is "
        "the first line of the output)",
    )
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


def add_noise_options(group):
    """Add ``--noise`` and ``--noise-kind`` to ``group``; their defaults depend on the task."""
    group.add_argument(
        "--noise",
        type=_noise_rate,
        default=None,
        metavar="RATE",
        help="share of the training targets to corrupt, in [0, 1) ([0, 0.5) for pairflip); "
        f"default: {CLASSIFICATION.default_noise} for classification, "
        f"{REGRESSION.default_noise} for regression",
    )
    group.add_argument(
        "--noise-kind",
        choices=CLASSIFICATION.noise_kinds + REGRESSION.noise_kinds,
        default=None,
        help="labels: symmetric (to a uniformly drawn other class; the default) or pairflip "
        "(to the next class); regression targets: outliers (heavy-tailed gross errors; the "
        "default) or shuffle (other rows' targets)",
    )


def add_losses_option(group, help_text):
    """Add ``--losses`` (comma-separated registry names) to ``group``."""
    from skloss.cli._classification import DEFAULT_LOSSES
    from skloss.cli._regression import BASE_LOSSES
    from skloss.losses import list_losses

    group.add_argument(
        "--losses",
        type=loss_names,
        default=None,
        metavar="NAMES",
        help=f"{help_text}; classification: {', '.join(list_losses(kind='classification'))} "
        f"(default: {','.join(DEFAULT_LOSSES)}); regression: "
        f"{', '.join(list_losses(kind='regression'))} (default: {','.join(BASE_LOSSES)}, "
        "and poisson for non-negative integer targets)",
    )


#: ``--selection-score`` values: what the noise-aware selection ranks models by.
SELECTION_SCORES = ("noisy_accuracy", "clean_accuracy")
#: ``--transition-estimator`` values: the model that estimates T for that score.
TRANSITION_ESTIMATORS = ("logreg", "mlp")


def add_selection_option(group):
    """Add ``--selection-score`` (how models are ranked without clean labels) to ``group``."""
    group.add_argument(
        "--selection-score",
        choices=SELECTION_SCORES,
        default="noisy_accuracy",
        help="rank models by accuracy on the noisy validation labels, or by the clean "
        "accuracy estimated from them through the transition matrix estimated on the "
        "training fold (skloss.noise.clean_accuracy_scorer: 5 extra fits of "
        "--transition-estimator per fold), which suits asymmetric (pair-flip) noise "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--transition-estimator",
        choices=TRANSITION_ESTIMATORS,
        default=None,
        help="with --selection-score clean_accuracy, the model whose out-of-fold "
        "probabilities estimate the transition matrix: logreg (LogisticRegression, "
        "skloss.noise's default) or mlp (MLPClassifier with early stopping, which "
        "estimated it better on nonlinear data in docs/benchmarks/noise_robustness_v5.md; "
        "slower) (default: logreg)",
    )
    group.add_argument(
        "--refine-transition",
        action="store_true",
        help="refine each estimate of the transition matrix once: a skloss network, "
        "trained on the same 5 folds with the forward correction through the first "
        "estimate, counts the flips again (5 more network fits per estimate; "
        "skloss.noise.estimate_transition(refine=...)): the job's network, for "
        "--selection-score clean_accuracy and for --losses forward,backward. It cut the "
        "matrix's error on the multi-class sets of "
        "docs/benchmarks/noise_robustness_refined.md (early-stopped networks), not on "
        "binary magic",
    )


def _preprocessing_of(X, args):
    """The jobs' preprocessing (``--impute``) for the features ``X`` of a noise estimate.

    CSV text columns (the non-numeric columns of a data frame, as
    :func:`skloss.cli._data.load_csv` finds them) are one-hot encoded and missing values
    imputed, as for the models compared.
    """
    from skloss.cli._data import Data
    from skloss.cli._models import preprocessing

    categorical = []
    if hasattr(X, "dtypes"):
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        categorical = [
            str(c) for c in X.columns if not (is_numeric_dtype(X[c]) or is_bool_dtype(X[c]))
        ]
    return preprocessing(Data(X, None, "", categorical), args.impute)


def transition_estimator(X, args):
    """The model whose out-of-fold probabilities estimate the transition matrix of ``X``'s labels.

    ``--transition-estimator``: skloss.noise's default (``LogisticRegression(max_iter=1000)``)
    or ``MLPClassifier(early_stopping=True)`` seeded with ``--seed``, after the jobs'
    preprocessing (:func:`_preprocessing_of`).
    """
    from sklearn.pipeline import make_pipeline

    from skloss.cli._models import transition_model

    return make_pipeline(_preprocessing_of(X, args), transition_model(args))


def transition_refiner(X, args, task):
    """``--refine-transition``'s network after the job's preprocessing, or None without it.

    The task's skloss classifier with the job's ``--hidden`` and ``--batch-size`` (where
    the job has them), ``--max-iter`` and ``--seed``, as the corrected losses train it:
    :func:`skloss.noise.estimate_transition` trains it with the forward correction
    through the first estimate. No early stopping: the refiner trains on every row
    of each training fold (on a small data set a validation split would be a
    handful of rows).
    """
    if not args.refine_transition:
        return None
    from sklearn.pipeline import make_pipeline

    params = {"max_iter": args.max_iter, "random_state": args.seed}
    for option, param in (("hidden", "hidden_layer_sizes"), ("batch_size", "batch_size")):
        if getattr(args, option, None) is not None:
            params[param] = getattr(args, option)
    return make_pipeline(_preprocessing_of(X, args), task.estimator(**params))


def add_run_options(group, folds, max_iter, seeds_what):
    """Add ``--folds``, ``--max-iter`` and ``--seed`` with the job's defaults.

    ``max_iter`` is an int, or a dict task name -> int when the default depends on
    the task (then ``--max-iter`` defaults to None, for :func:`resolve_task`).
    """
    group.add_argument(
        "--folds",
        type=positive_int,
        default=folds,
        metavar="K",
        help="cross-validation folds (stratified for classification), at least 2 "
        "(default: %(default)s)",
    )
    per_task = isinstance(max_iter, dict)
    shown = ", ".join(f"{n} for {task}" for task, n in max_iter.items()) if per_task else None
    group.add_argument(
        "--max-iter",
        type=positive_int,
        default=None if per_task else max_iter,
        metavar="N",
        help=f"training epochs per fit (default: {shown if per_task else '%(default)s'})",
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
    """Reject inconsistent data, folds and seed options, through ``parser`` (exit 2).

    The seed goes through :mod:`skloss.noise`'s own check; ``n_noise_seeds`` is how
    many consecutive seeds from ``--seed`` the job's noise uses (one per fold for
    ``compare``). What depends on the task is checked by :func:`resolve_task`.
    """
    from skloss.noise.folds import check_fold_seed

    if args.csv is not None and args.dataset is not None:
        parser.error("give either --dataset or --csv, not both")
    if args.csv is not None and args.target is None:
        parser.error("--csv needs --target COL, the name of the target column")
    if args.csv is None and (args.target is not None or args.na_values is not None):
        parser.error(
            f"--{'target' if args.target is not None else 'na-values'} only applies to --csv"
        )
    if args.folds < 2:
        parser.error(f"argument --folds: must be at least 2, got {args.folds}")
    for name, value in (
        ("--transition-estimator", args.transition_estimator is not None),
        ("--refine-transition", args.refine_transition),
    ):
        if value and not (args.selection_score == "clean_accuracy" or corrected_losses(args)):
            parser.error(
                f"argument {name}: only --selection-score clean_accuracy and the "
                "forward/backward losses of skloss compare estimate a transition "
                f"matrix; add one of them or drop {name}"
            )
    try:
        check_fold_seed(args.seed, n_noise_seeds)
    except ValueError as error:
        parser.error(f"argument --seed: {error}")


def corrected_losses(args):
    """The losses of ``--losses`` that a transition matrix corrects (forward, backward)."""
    from skloss.cli._models import CORRECTED_LOSSES

    return [loss for loss in args.losses or () if loss in CORRECTED_LOSSES]


def resolve_task(args, data, parser, max_iter=None):
    """Return ``(task, reason, about_y)``: the task, why, and what its check says of ``y``.

    Fills in the task's defaults (``--noise``, ``--noise-kind``, ``--losses``, and
    ``--max-iter`` from ``max_iter``, a dict task name -> epochs, when given) and
    reports, through ``parser`` (exit 2), a choice that cannot work: a loss or a
    noise kind of the other task, a noise rate out of range, a target the task
    cannot learn.
    """
    task, reason = choose_task(args, data, parser)
    if getattr(args, "selection_score", "noisy_accuracy") != "noisy_accuracy" and (
        task.name != "classification"
    ):
        parser.error(
            f"argument --selection-score: {args.selection_score} estimates the clean "
            f"accuracy through a label transition matrix, and this run's task is "
            f"{task.name}; drop --selection-score"
        )
    if max_iter is not None and args.max_iter is None:
        args.max_iter = max_iter[task.name]
    return task, reason, task.check(data.y, args, parser)
