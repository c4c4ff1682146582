"""``skloss compare``: cross-validate losses, and their scikit-learn peers, under noise.

Classification: each fold of :func:`skloss.noise.noisy_folds` trains one pipeline
(the shared preprocessing + :class:`~skloss.RobustLossClassifier`) per loss, and the
same preprocessing + ``LogisticRegression``, ``HistGradientBoostingClassifier`` and
``MLPClassifier(early_stopping=True)`` (unless ``--no-baselines``), on the noisy
training labels, and scores each on the clean test labels, ranked by accuracy.

Regression (``--task``, or detected): the same with
:class:`~skloss.RobustLossRegressor`, gross errors in the training targets
(:func:`skloss.noise.make_noisy_targets`), ``Ridge``, ``HistGradientBoostingRegressor``
(squared and absolute error) and ``MLPRegressor(early_stopping=True)`` as peers,
ranked by RMSE on the clean test targets (MAE and R^2 beside it).

Ctrl-C stops the run after the last completed fit; what completed is reported and
written, marked ``"complete": false``, and the command exits with status 130.
"""

import sys
import time

from skloss.cli import _options
from skloss.cli._classification import CLASSIFICATION
from skloss.cli._data import load_data
from skloss.cli._evaluate import SELECTION_METRICS, evaluate, per_model, selection
from skloss.cli._models import candidates
from skloss.cli._regression import REGRESSION
from skloss.cli._report import (
    COMPARE_FILES,
    check_output,
    decimals,
    format_table,
    metric_name,
    summarise,
    write_results,
)

CLI_EXTRA_HINT = 'pip install "skloss[cli]"'
# The shell's status for a process ended by SIGINT (128 + 2).
INTERRUPTED_STATUS = 130
# Epochs per fit, by task (the reasons are with each task).
DEFAULT_MAX_ITER = {
    CLASSIFICATION.name: CLASSIFICATION.compare_max_iter,
    REGRESSION.name: REGRESSION.compare_max_iter,
}
DEFAULT_HIDDEN = (256, 256)
DEFAULT_BATCH_SIZE = 128
DEFAULT_FOLDS = 3


def add_parser(sub):
    """Add the ``compare`` job to the ``skloss`` subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``skloss`` parser.

    Returns
    -------
    argparse.ArgumentParser
        The ``compare`` parser; its namespace holds ``job`` (:func:`run_job`) and
        ``command_parser`` (the parser itself, for usage errors).
    """
    parser = sub.add_parser(
        "compare",
        help="cross-validate several losses (and scikit-learn peers) with noisy training targets",
        description=(
            "Cross-validate one skloss estimator per loss and scikit-learn peers, each "
            "after the same preprocessing (StandardScaler; one-hot encoding and --impute "
            "for CSV files), fitted inside each fold. Classification: RobustLossClassifier "
            "beside LogisticRegression, HistGradientBoostingClassifier and "
            "MLPClassifier(early_stopping=True); the training labels of each stratified "
            "fold get label noise (make_noisy_labels), ranked by accuracy. Regression: "
            "RobustLossRegressor beside Ridge, HistGradientBoostingRegressor (squared and "
            "absolute error) and MLPRegressor(early_stopping=True); the training targets "
            "of each fold get gross errors (make_noisy_targets), ranked by RMSE. The noise "
            "is seeded per fold (the same for every model) and the test fold stays clean, "
            "so the scores say how well each model learns the truth from noisy data. "
            "Prints the task chosen first, then a ranked table, and writes results.json "
            "and results.png to --output. Ctrl-C stops after the last completed fit, "
            'writes the partial results (marked "complete": false) and exits with status '
            "130."
        ),
        epilog=(
            "examples: skloss compare --dataset digits --noise 0.4 --noise-kind symmetric "
            "--output skloss-results; skloss compare --dataset diabetes --noise 0.2 "
            "--noise-kind outliers --output skloss-diabetes"
        ),
    )
    _options.add_data_options(parser)
    run = parser.add_argument_group("comparison")
    _options.add_losses_option(run, "comma-separated loss names")
    _options.add_noise_options(run)
    _options.add_selection_option(run)
    run.add_argument(
        "--no-baselines",
        dest="baselines",
        action="store_false",
        help="leave out the scikit-learn peers (classification: "
        f"{', '.join(CLASSIFICATION.peers)}; regression: {', '.join(REGRESSION.peers)})",
    )
    run.add_argument(
        "--top-k",
        type=_options.positive_int,
        default=None,
        metavar="K",
        help="also report top-K accuracy (the label among the K most probable classes), "
        "for classification data with at least 3 classes and more than K (default: 2)",
    )
    _add_network_options(parser)
    _options.add_output_options(
        parser, "skloss-results", COMPARE_FILES, "no progress lines on stderr"
    )
    # Later checks (CSV columns, class counts, the output folder) report through this
    # parser, so that their messages read "skloss compare: error: ..." and exit with 2.
    parser.set_defaults(job=run_job, command_parser=parser)
    return parser


def _add_network_options(parser):
    model = parser.add_argument_group("network and training")
    model.add_argument(
        "--hidden",
        type=_options.layer_sizes,
        default=DEFAULT_HIDDEN,
        metavar="SIZES",
        help=f"hidden layer widths (default: {','.join(map(str, DEFAULT_HIDDEN))})",
    )
    model.add_argument(
        "--batch-size",
        type=_options.positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="minibatch size (default: %(default)s)",
    )
    _options.add_run_options(
        model, DEFAULT_FOLDS, DEFAULT_MAX_ITER, "the folds, the noise and the networks"
    )


def _missing_extra(need_pandas):
    """Return None, or an error message naming the missing ``cli`` extra."""
    for name in ["matplotlib"] + (["pandas"] if need_pandas else []):
        try:
            __import__(name)
        except ImportError:
            return (
                f"skloss compare needs {name}, which is not installed. Install the "
                f"command's extras with: {CLI_EXTRA_HINT}"
            )
    return None


def _settings(args, data, task, reason, about_y):
    return {
        "task": task.name,
        "task_reason": reason,
        "dataset": data.name,
        "csv": str(args.csv) if args.csv is not None else None,
        "target": args.target,
        "na_values": args.na_values,
        "impute": args.impute,
        "one_hot_columns": data.categorical,
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        **task.settings(about_y, args),
        "losses": list(args.losses),
        "peers": list(task.peers) if args.baselines else [],
        "peer_models": task.describe_peers() if args.baselines else {},
        "noise": args.noise,
        "noise_kind": args.noise_kind,
        "folds": args.folds,
        "max_iter": args.max_iter,
        "hidden_layer_sizes": list(args.hidden),
        "batch_size": args.batch_size,
        "selection_score": args.selection_score,
        **(
            {
                "transition_estimator": args.transition_estimator or "logreg",
                "refine_transition": args.refine_transition,
            }
            if args.selection_score == "clean_accuracy" or _options.corrected_losses(args)
            else {}
        ),
        "seed": args.seed,
        "protocol": (
            f"{task.protocol}; every model after the same preprocessing, fitted on the "
            "training fold (StandardScaler; for CSV files one-hot encoding and --impute)"
        ),
        "skloss_version": _options.version(),
    }


def _results(args, data, task, chosen_task, outcome, started):
    fits, folds, interruption = outcome
    peers = list(task.peers) if args.baselines else []
    names = list(args.losses) + peers
    table = per_model(fits, names, task)
    summary, ranking = summarise(table, task)
    results = {
        "complete": interruption is None,
        "settings": _settings(args, data, task, *chosen_task),
        "folds": folds,
        "completed": [[fit["model"], fit["fold"]] for fit in fits],
        "ranking": ranking,
        "results": {
            name: {"peer": name in peers, **table[name], **summary.get(name, {})} for name in names
        },
        "total_time": time.perf_counter() - started,
    }
    if interruption is not None:
        results["interrupted"] = interruption
    else:
        score = SELECTION_METRICS[args.selection_score]
        chosen = selection(fits, names, args.folds, task, score)
        if chosen is not None:
            results["selection"] = chosen
    return results, summary


def _print_results(results, summary, description, args, task):
    complete, n_done = results["complete"], len(results["completed"])
    n_fits = len(results["results"]) * args.folds
    if not complete:
        print(f"interrupted ({results['interrupted']}): {n_done} of {n_fits} fits completed")
    print(description)
    if not complete:
        print(
            f"PARTIAL RESULTS: {n_done} of {n_fits} fits, means over the folds each model completed"
        )
    if results["ranking"]:
        print(
            format_table(
                summary,
                results["ranking"],
                n_folds=None if complete else args.folds,
                peers=results["settings"]["peers"],
                columns=task.table_columns(args),
            )
        )
    if "selection" in results:
        picks = ", ".join(dict.fromkeys(results["selection"]["chosen_per_fold"]))
        metric = task.selection[2]
        value = results["selection"][f"mean_clean_{metric}"]
        print(
            f"noise-aware selection (chosen on noisy validation {task.targets}"
            + (
                ", by the clean accuracy estimated from them"
                if results["selection"]["score"] == "estimated_clean_accuracy"
                else ""
            )
            + f"): {picks}; clean {metric_name(metric)} {value:.{decimals([value])}f}"
        )


def run_job(args, parser):
    """Run ``skloss compare`` with parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see ``skloss compare --help``).
    parser : argparse.ArgumentParser
        The parser, through which bad settings are reported (exit status 2).

    Returns
    -------
    int
        The exit status: 0 when every fit completed, 130 after an interrupt,
        1 when the results could not be written or an extra is missing.
    """
    _options.check_shared_settings(args, parser, n_noise_seeds=args.folds)
    problem = _missing_extra(need_pandas=args.csv is not None)
    if problem:
        print(f"skloss: error: {problem}", file=sys.stderr)
        return 1
    check_output(args.output, COMPARE_FILES, parser)

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    notes = []
    try:
        data = load_data(args, parser, notes.append)
        task, reason, about_y = _options.resolve_task(args, data, parser, DEFAULT_MAX_ITER)
    except KeyboardInterrupt:
        print(
            "skloss compare: interrupted while loading the data; nothing was trained or written.",
            file=sys.stderr,
        )
        return INTERRUPTED_STATUS
    # The task comes first: a run on the wrong task is stopped before its first fit.
    print(f"task: {task.name} ({reason})", flush=True)
    for note in notes:
        log(note)
    description = (
        f"{data.name}: {data.X.shape[0]} samples, {data.X.shape[1]} features, "
        f"{task.describe(about_y)}; {args.noise:.0%} {args.noise_kind} noise on the training "
        f"folds, {args.folds}-fold CV, scored on clean test {task.targets}"
    )
    log(f"skloss compare  {description}")
    started = time.perf_counter()
    folds = task.folds(data.X, data.y, args)
    outcome = evaluate(folds, candidates(data, args, task), args, log, task)
    results, summary = _results(args, data, task, (reason, about_y), outcome, started)
    _print_results(results, summary, description, args, task)
    return _write(args, results, summary, data, task)


def _write(args, results, summary, data, task):
    complete = results["complete"]
    title = f"{data.name}, {args.noise:.0%} {args.noise_kind} noise on the training {task.targets}"
    try:
        written = write_results(
            args.output,
            results,
            summary,
            results["ranking"],
            title if complete else f"{title} (partial)",
            task.chart,
        )
    except OSError as exc:
        print(
            f"skloss compare: error: cannot write the results to {args.output}: {exc}",
            file=sys.stderr,
        )
        return 1 if complete else INTERRUPTED_STATUS
    paths = " and ".join(str(p) for p in written)
    print(f"wrote {paths}{'' if complete else ' (partial)'} ({results['total_time']:.0f}s)")
    return 0 if complete else INTERRUPTED_STATUS
