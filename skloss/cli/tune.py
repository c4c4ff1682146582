"""``skloss tune``: an Optuna study of one estimator's loss and training parameters.

The data are split once into a training part and a test part (stratified). Label
noise is injected into the training labels only; every trial is scored by
cross-validation on those *noisy* labels (under symmetric noise below
``(K - 1) / K`` the noisy accuracy is an increasing function of the clean one, see
:func:`skloss.noise.expected_noisy_accuracy`, so this selects correctly in
expectation). The test part's clean labels are used once, at the end, to score
the chosen configuration and each loss's best one: nested, no test label is seen
while selecting.

Trials are pruned (:class:`skloss.tuning.PruningCallback`, median rule) from the
validation accuracy of each fit's early-stopping split. The study lives in a
storage (``--storage``, default a journal file in ``--output``) under ``--study``,
so more ``skloss tune`` processes given the same two options join the study.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from skloss.cli._data import check_data, load_data
from skloss.cli._parser import (
    DEFAULT_LOSSES,
    DEFAULT_NOISE,
    _loss_names,
    _noise_rate,
    _non_negative_int,
    _positive_int,
    add_data_arguments,
    check_shared_settings,
    version,
)

DEFAULT_TRIALS = 20
DEFAULT_MAX_ITER = 30
DEFAULT_FOLDS = 3
DEFAULT_TEST_SIZE = 0.25
TUNE_EXTRA_HINT = 'pip install "skloss[cli,tune]"'
INTERRUPTED_STATUS = 130


def _test_size(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1) such as 0.25, got {text!r}")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_parser(sub):
    """Add the ``tune`` subcommand to the ``skloss`` subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``skloss`` parser.

    Returns
    -------
    argparse.ArgumentParser
        The ``tune`` parser.
    """
    tune = sub.add_parser(
        "tune",
        help="tune a RobustLossClassifier's loss and training with Optuna",
        description=(
            "An Optuna study over the loss (and its parameters), learning rate, alpha and "
            "hidden layer sizes of a RobustLossClassifier (after StandardScaler). The data "
            "are split into training and test parts; the training labels get label noise "
            "and each trial is scored by cross-validation on them (noisy labels), pruned "
            "on the early-stopping validation accuracy. The best configuration and each "
            "loss's best one are then scored once on the clean test labels. Writes "
            "best_params.json, tune_results.json, optimization_history.png and "
            "param_importances.png to --output."
        ),
        epilog=(
            "example: skloss tune --dataset digits --noise 0.4 --trials 20 --output "
            "skloss-tune; a second process with the same --output (or --storage) and "
            "--study joins the study"
        ),
    )
    data = add_data_arguments(tune)
    data.add_argument(
        "--noise",
        type=_noise_rate,
        default=DEFAULT_NOISE,
        metavar="RATE",
        help="share of training labels to corrupt (default: %(default)s)",
    )
    data.add_argument(
        "--noise-kind",
        choices=("symmetric", "pairflip"),
        default="symmetric",
        help="(default: %(default)s)",
    )
    data.add_argument(
        "--test-size",
        type=_test_size,
        default=DEFAULT_TEST_SIZE,
        metavar="SHARE",
        help="clean test share (default: %(default)s)",
    )
    study = tune.add_argument_group("study")
    study.add_argument(
        "--losses",
        type=_loss_names,
        default=list(DEFAULT_LOSSES),
        metavar="NAMES",
        help=f"losses to choose from (default: {','.join(DEFAULT_LOSSES)})",
    )
    study.add_argument(
        "--trials",
        type=_positive_int,
        default=DEFAULT_TRIALS,
        metavar="N",
        help="trials this process runs (default: %(default)s)",
    )
    study.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop starting trials after this many seconds",
    )
    study.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="Optuna storage URL (e.g. postgresql+psycopg://user@host/db, "
        "sqlite:///study.db) or journal:PATH; default: journal file "
        "study.log in --output",
    )
    study.add_argument(
        "--study",
        default="skloss-tune",
        metavar="NAME",
        help="study name; processes with the same storage and name share it (default: %(default)s)",
    )
    study.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="trials run at once in threads (default: %(default)s)",
    )
    study.add_argument(
        "--folds",
        type=_positive_int,
        default=DEFAULT_FOLDS,
        metavar="K",
        help="cross-validation folds per trial, at least 2 (default: %(default)s)",
    )
    study.add_argument(
        "--max-iter",
        type=_positive_int,
        default=DEFAULT_MAX_ITER,
        metavar="N",
        help="epochs per fit (default: %(default)s)",
    )
    study.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seeds the split, the noise, the sampler and the networks (default: %(default)s)",
    )
    out = tune.add_argument_group("output")
    out.add_argument(
        "--output",
        type=Path,
        default=Path("skloss-tune"),
        metavar="DIR",
        help="folder for the results (default: %(default)s)",
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.set_defaults(command_parser=tune)
    return tune


def _check_settings(args, parser):
    check_shared_settings(args, parser)
    if args.output.exists() and not args.output.is_dir():
        parser.error(f"argument --output: {args.output} exists and is not a folder")


def _storage(args):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    spec = args.storage
    if spec is None:
        spec = f"journal:{args.output / 'study.log'}"
    if spec.startswith("journal:"):
        path = Path(spec[len("journal:") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path))), spec
    return optuna.storages.RDBStorage(spec), spec


def _model(args, params=None, callbacks=None):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossClassifier

    clf = RobustLossClassifier(
        max_iter=args.max_iter,
        random_state=args.seed,
        early_stopping=True,
        n_iter_no_change=args.max_iter,
        callbacks=callbacks,
    )
    if params:
        clf.set_params(**params)
    return make_pipeline(StandardScaler(), clf)


#: The early-stopping switch is fixed on: pruning monitors its validation accuracy.
_SPACE = {"early_stopping": None}


def _objective(args, X, y, n_classes):
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from skloss import RobustLossClassifier
    from skloss.tuning import PruningCallback, suggest_params

    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)

    def objective(trial):
        params = suggest_params(
            trial, RobustLossClassifier(), losses=args.losses, n_classes=n_classes, space=_SPACE
        )
        model = _model(args, params, [PruningCallback.for_trial(trial)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_val_score(model, X, y, cv=cv, error_score="raise")
        return float(np.mean(scores))

    return objective


def _fit_and_score(args, params, X_train, y_train, X_test, y_test):
    from sklearn.metrics import accuracy_score

    model = _model(args, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
    return float(accuracy_score(y_test, model.predict(X_test)))


def _plots(study, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's ExperimentalWarning
        for name, plot in (
            ("optimization_history", optuna_plots.plot_optimization_history),
            ("param_importances", optuna_plots.plot_param_importances),
        ):
            try:
                axes = plot(study)
            except (ValueError, RuntimeError) as error:  # e.g. fewer than two trials
                print(f"skloss tune: no {name} plot: {error}", file=sys.stderr)
                continue
            path = output / f"{name}.png"
            axes.figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(axes.figure)
            written.append(path)
    return written


def run(args, parser):
    """Run ``skloss tune`` with parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``tune`` options.
    parser : argparse.ArgumentParser
        The ``tune`` parser, through which usage errors are reported (exit 2).

    Returns
    -------
    int
        0 on success, 1 without the ``tune`` extra or a completed trial, 130 when
        interrupted (the completed trials are reported).
    """
    _check_settings(args, parser)
    try:
        import matplotlib  # noqa: F401
        import optuna
    except ImportError as error:
        print(
            f"skloss: error: skloss tune needs {error.name}, which is not installed: "
            f"{TUNE_EXTRA_HINT}",
            file=sys.stderr,
        )
        return 1
    from sklearn.model_selection import train_test_split

    from skloss.cli._report import _json_ready
    from skloss.noise import make_noisy_labels
    from skloss.tuning import params_from_trial

    X, y, data_name, _ = load_data(args, parser)
    classes = check_data(X, y, args, parser)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.seed
    )
    y_noisy = y_train
    if args.noise > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y_noisy, _ = make_noisy_labels(
                y_train, args.noise, args.noise_kind, random_state=args.seed
            )
    args.output.mkdir(parents=True, exist_ok=True)
    storage, storage_spec = _storage(args)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=args.study,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
    )
    description = (
        f"{data_name}: {len(y_train)} training samples with {args.noise:.0%} "
        f"{args.noise_kind} label noise, {len(y_test)} clean test samples, "
        f"{len(classes)} classes; {args.folds}-fold CV on the noisy labels"
    )
    print(f"skloss tune  {description}", file=sys.stderr)
    started = time.perf_counter()
    interrupted = False
    try:
        study.optimize(
            _objective(args, X_train, y_noisy, len(classes)),
            n_trials=args.trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            show_progress_bar=not args.quiet,
        )
    except KeyboardInterrupt:
        interrupted = True
    complete = [
        t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE
    ]
    if not complete:
        print("skloss tune: no trial completed; nothing to report.", file=sys.stderr)
        return INTERRUPTED_STATUS if interrupted else 1

    best = study.best_trial
    best_params = params_from_trial(best)
    # Per loss: its best trial by noisy CV; the chosen loss is the overall best.
    per_loss = {}
    for trial in complete:
        loss = trial.params.get("loss")
        if loss not in per_loss or trial.value > per_loss[loss].value:
            per_loss[loss] = trial
    ranking = sorted(per_loss, key=lambda loss: -per_loss[loss].value)
    table = {}
    for loss in ranking:
        params = params_from_trial(per_loss[loss])
        table[loss] = {
            "noisy_cv_accuracy": per_loss[loss].value,
            "clean_test_accuracy": _fit_and_score(args, params, X_train, y_noisy, X_test, y_test),
            "trial": per_loss[loss].number,
            "params": _json_ready(params),
        }
    chosen = best_params["loss"]
    n_pruned = sum(
        t.state == optuna.trial.TrialState.PRUNED for t in study.get_trials(deepcopy=False)
    )
    results = {
        "complete": not interrupted,
        "settings": {
            "dataset": data_name,
            "noise": args.noise,
            "noise_kind": args.noise_kind,
            "test_size": args.test_size,
            "losses": list(args.losses),
            "trials": args.trials,
            "timeout": args.timeout,
            "folds": args.folds,
            "max_iter": args.max_iter,
            "seed": args.seed,
            "n_jobs": args.n_jobs,
            "storage": storage_spec,
            "study": args.study,
            "n_classes": int(len(classes)),
            "protocol": (
                "stratified train/test split; label noise on the training labels only; "
                "trials scored by stratified K-fold CV accuracy on the noisy training "
                "labels, pruned by the median rule on each fit's early-stopping validation "
                "accuracy; the selected configuration (and each loss's best) refitted on "
                "the noisy training labels and scored once on the clean test labels"
            ),
            "skloss_version": version(),
        },
        "n_trials": len(study.trials),
        "n_complete": len(complete),
        "n_pruned": n_pruned,
        "best_trial": best.number,
        "best_noisy_cv_accuracy": best.value,
        "best_params": _json_ready(best_params),
        "selection": {"loss": chosen, "clean_test_accuracy": table[chosen]["clean_test_accuracy"]},
        "per_loss": table,
        "total_time": time.perf_counter() - started,
    }
    (args.output / "best_params.json").write_text(
        json.dumps(_json_ready(best_params), indent=2) + "\n"
    )
    (args.output / "tune_results.json").write_text(json.dumps(results, indent=2) + "\n")
    plots = _plots(study, args.output)

    print(description)
    print(
        f"{len(study.trials)} trials ({len(complete)} complete, {n_pruned} pruned) in "
        f"study {args.study!r} ({storage_spec})"
    )
    print(f"{'loss':<12} {'noisy CV acc':>12} {'clean test acc':>15}")
    for loss in ranking:
        row = table[loss]
        print(f"{loss:<12} {row['noisy_cv_accuracy']:>12.3f} {row['clean_test_accuracy']:>15.3f}")
    print(
        f"noise-aware selection: {chosen} (chosen by noisy CV), clean test accuracy "
        f"{table[chosen]['clean_test_accuracy']:.3f}"
    )
    print("best parameters: " + json.dumps(_json_ready(best_params)))
    written = [args.output / "best_params.json", args.output / "tune_results.json", *plots]
    print("wrote " + ", ".join(str(path) for path in written))
    return INTERRUPTED_STATUS if interrupted else 0
