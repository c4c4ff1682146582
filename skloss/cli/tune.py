"""``skloss tune``: an Optuna study of one estimator's loss and training parameters.

The data are split once into a training part and a test part (stratified for
classification). Noise is injected into the training targets only; every trial is
scored by cross-validation on those *noisy* targets. Classification: accuracy on
the noisy labels (under symmetric noise below ``(K - 1) / K`` the noisy accuracy is
an increasing function of the clean one, see
:func:`skloss.noise.expected_noisy_accuracy`, so this selects correctly in
expectation). Regression: the RMSE on the noisy targets without the largest
``--noise`` share of absolute residuals (:func:`skloss.cli._regression.trimmed_rmse`;
the study maximises its negative, scikit-learn's ``neg_`` convention). The test
part's clean targets are used once, at the end, to score the chosen configuration
and each loss's best one: nested, no test target is seen while selecting.

Trials are pruned (:class:`skloss.tuning.PruningCallback`, median rule) from the
validation score of each fit's early-stopping split (accuracy; R^2 for
regression: both higher is better, as the study's objective). Each run starts a fresh
study in its storage (``--storage``, default a journal file in ``--output``)
unless it resumes one (``--resume``) or names one (``--study``: processes given
the same storage and name share the study); a study whose data, task or noise
settings differ from the run's is refused (:mod:`skloss.cli._study`).
"""

import json
import sys
import time
import warnings

from skloss.cli import _options
from skloss.cli._data import fingerprint, load_data
from skloss.cli._models import skloss_pipeline
from skloss.cli._report import (
    TUNE_FILES,
    check_output,
    decimals,
    json_ready,
    metric_name,
    tune_plots,
    tune_table,
    write_json,
)
from skloss.cli._study import open_storage, open_study, storage_spec

DEFAULT_TRIALS = 20
DEFAULT_MAX_ITER = 30
DEFAULT_FOLDS = 3
DEFAULT_TEST_SIZE = 0.25
TUNE_EXTRA_HINT = 'pip install "skloss[cli,tune]"'
INTERRUPTED_STATUS = 130


def add_parser(sub):
    """Add the ``tune`` job to the ``skloss`` subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``skloss`` parser.

    Returns
    -------
    argparse.ArgumentParser
        The ``tune`` parser; its namespace holds ``job`` (:func:`run_job`) and
        ``command_parser`` (the parser itself, for usage errors).
    """
    parser = sub.add_parser(
        "tune",
        help="tune a RobustLossClassifier's or RobustLossRegressor's loss and training with Optuna",
        description=(
            "An Optuna study over the loss (and its parameters), learning rate, alpha and "
            "hidden layer sizes of a RobustLossClassifier or, for a regression task, a "
            "RobustLossRegressor (after StandardScaler). The data are split into training "
            "and test parts; the training targets get noise (label noise; gross errors "
            "for regression) and each trial is scored by cross-validation on them: "
            "accuracy on the noisy labels, or minus the RMSE on the noisy targets without "
            "the largest --noise share of residuals (maximised), pruned on the "
            "early-stopping validation accuracy (R^2). The best configuration and each "
            "loss's best one are then scored once on the clean test targets. The task "
            "chosen is the first line of the output. Writes "
            f"{', '.join(TUNE_FILES)} to --output; best_params.json holds every "
            "parameter of the best estimator."
        ),
        epilog=(
            "examples: skloss tune --dataset digits --noise 0.4 --trials 20 --output "
            "skloss-tune; skloss tune --dataset diabetes --noise 0.2 --noise-kind outliers "
            "--output skloss-tune-diabetes. Each run starts a fresh study: --resume "
            "continues the latest one, and processes given the same --storage and --study "
            "share one"
        ),
    )
    data = _options.add_data_options(parser)
    _options.add_noise_options(data)
    data.add_argument(
        "--test-size",
        type=_options.share,
        default=DEFAULT_TEST_SIZE,
        metavar="SHARE",
        help="clean test share (default: %(default)s)",
    )
    _add_study_options(parser)
    _options.add_output_options(parser, "skloss-tune", TUNE_FILES, "no progress bar")
    parser.set_defaults(job=run_job, command_parser=parser)
    return parser


def _add_study_options(parser):
    study = parser.add_argument_group("study")
    _options.add_losses_option(study, "losses to choose from")
    _options.add_selection_option(study)
    study.add_argument(
        "--trials",
        type=_options.positive_int,
        default=DEFAULT_TRIALS,
        metavar="N",
        help="trials this process runs (default: %(default)s)",
    )
    study.add_argument(
        "--timeout",
        type=_options.positive_seconds,
        default=None,
        metavar="SECONDS",
        help="stop starting trials after this many seconds",
    )
    study.add_argument(
        "--storage",
        default=None,
        metavar="URL_OR_PATH",
        help="Optuna storage: a database URL (postgresql+psycopg://user@host/db, "
        "sqlite:///study.db) or a journal file (a path, or journal:PATH); default: the "
        "journal file study.log in --output",
    )
    study.add_argument(
        "--study",
        default=None,
        metavar="NAME",
        help="study name: created, or joined if it exists (processes with the same storage "
        "and name share it); default: a fresh study skloss-tune-N",
    )
    study.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest study in the storage (or --study NAME) instead of a "
        "fresh one; its data and noise settings must match",
    )
    study.add_argument(
        "--n-jobs",
        type=_options.positive_int,
        default=1,
        metavar="N",
        help="trials run at once in threads (default: %(default)s)",
    )
    _options.add_run_options(
        study, DEFAULT_FOLDS, DEFAULT_MAX_ITER, "the split, the noise, the sampler and the networks"
    )


def _fixed_params(args):
    """The estimator parameters every trial shares (the rest are tuned)."""
    # early_stopping is on, with patience of the whole budget: pruning monitors the
    # validation score of its split, and max_iter is the pruning budget.
    return {
        "max_iter": args.max_iter,
        "early_stopping": True,
        "n_iter_no_change": args.max_iter,
        "random_state": args.seed,
    }


def _model(data, args, task, tuned, callbacks=None):
    model = skloss_pipeline(data, args, task, **_fixed_params(args), callbacks=callbacks)
    model[-1].set_params(**tuned)
    return model


def _objective(data, args, task, X, y, n_classes):
    import numpy as np
    from sklearn.model_selection import cross_val_score

    from skloss.tuning import PruningCallback, suggest_params

    cv = task.cv(args)
    scoring = task.scoring(args)
    fixed = {name: None for name in _fixed_params(args)}
    if args.selection_score == "clean_accuracy":  # classification only (resolve_task)
        from skloss.noise import clean_accuracy_scorer

        scoring = clean_accuracy_scorer(
            X,
            y,
            estimator=_options.transition_estimator(X, args),
            random_state=args.seed,
            refine=_options.transition_refiner(X, args, task),
        )

    def objective(trial):
        params = suggest_params(
            trial, task.estimator(), losses=args.losses, n_classes=n_classes, space=fixed
        )
        callback = PruningCallback.for_trial(trial, monitor=task.monitor)
        model = _model(data, args, task, params, [callback])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_val_score(model, X, y, cv=cv, scoring=scoring, error_score="raise")
        return float(np.mean(scores))

    return objective


def _study_settings(args, data, task):
    """What defines the study's trials; a study run with others is not joined."""
    settings = {
        "task": task.name,
        "data": data.name,
        "data_sha256": fingerprint(data.X, data.y),
        "target": args.target,
        "na_values": args.na_values,
        "impute": args.impute,
        "noise": args.noise,
        "noise_kind": args.noise_kind,
        "test_size": args.test_size,
        "folds": args.folds,
        "max_iter": args.max_iter,
        "seed": args.seed,
        "losses": list(args.losses),
    }
    if args.selection_score != "noisy_accuracy":
        # Only when not the default, so that studies made before the option still match.
        settings["selection_score"] = args.selection_score
    if args.transition_estimator not in (None, "logreg"):
        settings["transition_estimator"] = args.transition_estimator
    if args.refine_transition:
        settings["refine_transition"] = True
    return settings


def _open(args, data, task, parser):
    import optuna

    spec = storage_spec(args)
    storage = open_storage(spec, parser)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def make(name, load_if_exists):
        return optuna.create_study(
            study_name=name,
            storage=storage,
            direction="maximize",
            load_if_exists=load_if_exists,
            sampler=optuna.samplers.TPESampler(seed=args.seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
        )

    study, how = open_study(args, storage, spec, _study_settings(args, data, task), parser, make)
    if study.trials:
        # Another seed for each process that joins: the same seed would draw the same
        # first configurations as the process that started the study.
        study.sampler = optuna.samplers.TPESampler(seed=args.seed + len(study.trials))
    return study, how, spec


def run_job(args, parser):
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
    _options.check_shared_settings(args, parser, n_noise_seeds=1)
    corrected = _options.corrected_losses(args)
    if corrected:
        parser.error(
            f"argument --losses: {corrected[0]} corrects the loss by a transition matrix "
            "estimated per training fold, which skloss tune's trials do not make (without "
            "one it is plain cross-entropy); compare it with skloss compare --losses "
            f"{corrected[0]}, or train skloss.noise.LossCorrectionClassifier"
        )
    check_output(args.output, TUNE_FILES, parser)
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

    def log(message):
        print(message, file=sys.stderr, flush=True)

    notes = []
    data = load_data(args, parser, notes.append)
    task, reason, about_y = _options.resolve_task(args, data, parser)
    print(f"task: {task.name} ({reason})", flush=True)
    for note in notes:
        log(note)
    X_train, X_test, y_noisy, y_test = task.split(data.X, data.y, args)
    args.output.mkdir(parents=True, exist_ok=True)
    study, how, spec = _open(args, data, task, parser)
    description = (
        f"{data.name}: {len(y_noisy)} training samples with {args.noise:.0%} "
        f"{args.noise_kind} noise, {len(y_test)} clean test samples, "
        f"{task.describe(about_y)}; {args.folds}-fold CV on the noisy {task.targets}"
    )
    log(f"skloss tune  {description}; {how} study {study.study_name!r} in {spec}")
    started = time.perf_counter()
    interrupted = False
    try:
        study.optimize(
            _objective(data, args, task, X_train, y_noisy, _n_classes(task, about_y)),
            n_trials=args.trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            show_progress_bar=not args.quiet,
        )
    except KeyboardInterrupt:
        interrupted = True
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        print("skloss tune: no trial completed; nothing to report.", file=sys.stderr)
        return INTERRUPTED_STATUS if interrupted else 1
    split = (X_train, X_test, y_noisy, y_test)
    results = _results(args, data, task, study, complete, split, spec)
    results["settings"]["task_reason"] = reason
    results["settings"].update(task.settings(about_y, args))
    results["complete"] = not interrupted
    results["total_time"] = time.perf_counter() - started
    _report(args, task, study, results, description, log)
    return INTERRUPTED_STATUS if interrupted else 0


def _n_classes(task, about_y):
    """The class count a classification study offers losses for (None for regression)."""
    return len(about_y) if task.name == "classification" else None


def _per_loss(args, data, task, complete, split):
    """Each loss's best trial by noisy CV, refitted and scored once on the clean test targets."""
    from skloss.tuning import params_from_trial

    X_train, X_test, y_noisy, y_test = split
    best = {}
    for trial in complete:
        loss = trial.params.get("loss")
        if loss not in best or trial.value > best[loss].value:
            best[loss] = trial
    table = {}
    for loss in sorted(best, key=lambda name: -best[name].value):
        params = params_from_trial(best[loss])
        model = _model(data, args, task, params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_noisy)
        scores = task.test_scores(y_test, model.predict(X_test))
        table[loss] = {
            f"noisy_cv_{task.tune_metric}": task.cv_score(best[loss].value),
            **{f"clean_test_{name}": value for name, value in scores.items()},
            "trial": best[loss].number,
            "params": {**_fixed_params(args), **params},
        }
    return table


def _results(args, data, task, study, complete, split, spec):
    import optuna

    from skloss.tuning import params_from_trial

    table = _per_loss(args, data, task, complete, split)
    best = study.best_trial
    chosen = best.params["loss"]
    metric = task.tune_metric
    states = [t.state for t in study.get_trials(deepcopy=False)]
    settings = {
        **_study_settings(args, data, task),
        "trials": args.trials,
        "timeout": args.timeout,
        "n_jobs": args.n_jobs,
        "storage": spec,
        "study": study.study_name,
        "estimator": f"make_pipeline(StandardScaler(), {type(task.estimator()).__name__}()"
        ".set_params(**params_from_trial(best_params))); for a CSV file, the preprocessing "
        "of skloss compare (one-hot encoding of text columns, --impute) in place of "
        "StandardScaler",
        "protocol": _protocol(args, task),
        "skloss_version": _options.version(),
    }
    clean = {key: value for key, value in table[chosen].items() if key.startswith("clean_test_")}
    return {
        "settings": settings,
        "n_trials": len(states),
        "n_complete": len(complete),
        "n_pruned": states.count(optuna.trial.TrialState.PRUNED),
        "best_trial": best.number,
        f"best_noisy_cv_{metric}": task.cv_score(best.value),
        "best_params": {**_fixed_params(args), **params_from_trial(best)},
        "selection": {"loss": chosen, **clean},
        "per_loss": table,
    }


def _protocol(args, task):
    """How the trials are scored, for the JSON report."""
    if args.selection_score == "noisy_accuracy":
        return task.tune_protocol
    # best_noisy_cv_accuracy then holds the estimated clean CV accuracy.
    return task.tune_protocol.replace(
        "CV accuracy on the noisy training labels",
        "CV on the noisy training labels by the clean accuracy estimated through the "
        "transition matrix estimated on each training fold (in best_noisy_cv_accuracy)",
    )


def _report(args, task, study, results, description, log):
    write_json(args.output / "best_params.json", results["best_params"])
    write_json(args.output / "tune_results.json", results)
    plots = tune_plots(study, args.output, log)
    settings = results["settings"]
    metric = task.tune_metric
    selection = results["selection"]
    print(description)
    print(
        f"{results['n_trials']} trials ({results['n_complete']} complete, "
        f"{results['n_pruned']} pruned) in study {settings['study']!r} ({settings['storage']})"
    )
    print(tune_table(results["per_loss"], list(results["per_loss"]), metric))
    clean = selection[f"clean_test_{metric}"]
    print(
        f"noise-aware selection: {selection['loss']} (chosen by noisy CV"
        + ("" if args.selection_score == "noisy_accuracy" else f", {args.selection_score}")
        + f"), clean test {metric_name(metric)} {clean:.{decimals([clean])}f}"
    )
    print("best parameters: " + json.dumps(json_ready(results["best_params"])))
    written = [args.output / "best_params.json", args.output / "tune_results.json", *plots]
    print("wrote " + ", ".join(str(path) for path in written))
