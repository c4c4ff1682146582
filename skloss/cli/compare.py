"""``skloss compare``: cross-validate several losses with noisy training labels.

Each fold of :func:`skloss.noise.noisy_folds` trains one pipeline
(``StandardScaler`` + :class:`~skloss.RobustLossClassifier`) per loss on the
noisy training labels and scores it on the clean test labels.

An interrupt (Ctrl-C) stops the run after the last completed fit, whether it
arrives as a :class:`~skloss.exceptions.TrainingInterruptedWarning` from a fit
(which then ended early and does not count) or as a ``KeyboardInterrupt``
anywhere in the loop; what completed is reported and written, marked
``"complete": false``, and the command exits with status 130.
"""

import sys
import time
import warnings

from skloss.cli._data import check_data, load_data
from skloss.cli._parser import check_settings, version
from skloss.cli._report import check_output, format_table, summarise, write_results

CLI_EXTRA_HINT = 'pip install "skloss[cli]"'
# The shell's status for a process ended by SIGINT (128 + 2).
INTERRUPTED_STATUS = 130
METRICS = ("accuracy", "noisy_accuracy", "macro_f1", "fit_time", "n_iter")
# Recorded only where they are meaningful (top-k accuracy: 3 classes or more).
OPTIONAL_METRICS = ("top_k_accuracy",)


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


def _fit(model, X, y, registry):
    """Fit ``model``; return True if its training was interrupted.

    An interrupted fit returns normally with a ``TrainingInterruptedWarning``;
    that warning is the signal and is consumed here. The other warnings are
    re-emitted as they were (``registry`` keeps them shown once per run, as the
    default filter would).
    """
    from sklearn.exceptions import ConvergenceWarning

    from skloss.exceptions import TrainingInterruptedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A fixed epoch budget is the point of the comparison; the epochs actually
        # run are recorded as n_iter instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(X, y)
        finally:
            interrupted = any(issubclass(w.category, TrainingInterruptedWarning) for w in caught)
            others = [w for w in caught if not issubclass(w.category, TrainingInterruptedWarning)]
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=registry)
    return interrupted


def _run(X, y, args, log):
    """Train and score every (loss, fold); return ``(fits, folds, interruption)``.

    ``fits`` lists one record per completed fit, in order; ``interruption`` is
    None, or says where the run was interrupted.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

    from skloss.noise import noisy_folds

    fits, folds, registry = [], [], {}
    # Top-k accuracy says something only where k is below the class count, and with
    # two classes top-1 is all there is.
    n_classes = len(np.unique(y))
    with_top_k = n_classes >= 3 and args.top_k < n_classes
    where = "before the first fit"
    try:
        for k, fold in enumerate(
            noisy_folds(X, y, args.noise, args.noise_kind, cv=args.folds, random_state=args.seed)
        ):
            # The test fold's labels with the same noise, for selection by noisy
            # validation only (_selection); the clean ones stay for scoring.
            y_test_noisy = _noisy_test_labels(fold.y_test, args, k)
            folds.append(
                {
                    "fold": k,
                    "n_train": len(fold.y_train),
                    "n_test": len(fold.y_test),
                    "realised_noise_rate": float(fold.flipped.mean()),
                }
            )
            for loss in args.losses:
                where = f"during {loss} on fold {k + 1}/{args.folds}"
                model = _make_pipeline(loss, args)
                start = time.perf_counter()
                if _fit(model, fold.X_train, fold.y_train, registry):
                    return fits, folds, f"Ctrl-C {where}"
                seconds = time.perf_counter() - start
                predicted = model.predict(fold.X_test)
                record = {
                    "loss": loss,
                    "fold": k,
                    "accuracy": float(accuracy_score(fold.y_test, predicted)),
                    "noisy_accuracy": float(accuracy_score(y_test_noisy, predicted)),
                    "macro_f1": float(f1_score(fold.y_test, predicted, average="macro")),
                    "fit_time": seconds,
                    "n_iter": int(model[-1].n_iter_),
                }
                if with_top_k:
                    record["top_k_accuracy"] = float(
                        top_k_accuracy_score(
                            fold.y_test,
                            model.predict_proba(fold.X_test),
                            k=args.top_k,
                            labels=model[-1].classes_,
                        )
                    )
                # One append per fit, so an interrupt never leaves a fit half recorded.
                fits.append(record)
                where = f"after {loss} on fold {k + 1}/{args.folds}"
                log(
                    f"fold {k + 1}/{args.folds}  {loss:<10} accuracy "
                    f"{fits[-1]['accuracy']:.3f}  macro-F1 {fits[-1]['macro_f1']:.3f}  "
                    f"{seconds:.1f}s"
                )
    except KeyboardInterrupt:
        return fits, folds, f"Ctrl-C {where}"
    return fits, folds, None


def _noisy_test_labels(y_test, args, fold):
    from skloss.noise import make_noisy_labels

    if args.noise == 0:
        return y_test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rate past the informative limit warns once
        # Seeds apart from the training folds' (seed + fold): other draws of the noise.
        noisy, _ = make_noisy_labels(
            y_test,
            args.noise,
            args.noise_kind,
            random_state=(args.seed + 7919 * (fold + 1)) % 2**32,
        )
    return noisy


def _selection(fits, losses, n_folds):
    """Noise-aware choice of the loss, scored on clean labels without having seen them.

    For each fold, the loss with the best accuracy on the *noisy* test labels of the
    other folds (:func:`skloss.noise.select_by_noisy_scores`); that loss's clean
    accuracy on this fold is the nested score. None unless every fit completed.
    """
    from skloss.noise import select_by_noisy_scores

    noisy = {loss: [None] * n_folds for loss in losses}
    clean = {loss: [None] * n_folds for loss in losses}
    for fit in fits:
        noisy[fit["loss"]][fit["fold"]] = fit["noisy_accuracy"]
        clean[fit["loss"]][fit["fold"]] = fit["accuracy"]
    if any(v is None for row in noisy.values() for v in row) or n_folds < 2:
        return None
    chosen = select_by_noisy_scores(noisy)
    scores = [clean[loss][k] for k, loss in enumerate(chosen)]
    return {
        "chosen_per_fold": chosen,
        "clean_accuracy_per_fold": scores,
        "mean_clean_accuracy": float(sum(scores) / len(scores)),
        "rule": "per fold: the loss with the best mean accuracy on the noisy test labels "
        "of the other folds; scored on this fold's clean labels",
    }


def _per_loss(fits, losses):
    per_loss = {loss: {"fold": [], **{m: [] for m in METRICS}} for loss in losses}
    for fit in fits:
        record = per_loss[fit["loss"]]
        record["fold"].append(fit["fold"])
        for metric in METRICS + OPTIONAL_METRICS:
            if metric in fit:
                record.setdefault(metric, []).append(fit[metric])
    return per_loss


def run(args, parser):
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
    check_settings(args, parser)
    problem = _import_cli_dependencies(need_pandas=args.csv is not None)
    if problem:
        print(f"skloss: error: {problem}", file=sys.stderr)
        return 1
    check_output(args.output, parser)

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    try:
        X, y, data_name, encoded = load_data(args, parser)
        classes = check_data(X, y, args, parser)
    except KeyboardInterrupt:
        print(
            "skloss compare: interrupted while loading the data; nothing was trained or written.",
            file=sys.stderr,
        )
        return INTERRUPTED_STATUS
    if encoded:
        log(f"one-hot encoded non-numeric column(s): {', '.join(encoded)}")
    description = (
        f"{data_name}: {X.shape[0]} samples, {X.shape[1]} features, {len(classes)} classes; "
        f"{args.noise:.0%} {args.noise_kind} noise on the training folds, {args.folds}-fold "
        "CV, scored on clean test labels"
    )
    log(f"skloss compare  {description}")

    started = time.perf_counter()
    fits, folds, interruption = _run(X, y, args, log)
    per_loss = _per_loss(fits, args.losses)
    summary, ranking = summarise(per_loss)
    complete = interruption is None
    n_fits = len(args.losses) * args.folds

    results = {
        "complete": complete,
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
            "top_k": args.top_k,
            "seed": args.seed,
            "protocol": (
                "stratified K-fold; label noise injected into the training fold only "
                "(skloss.noise.noisy_folds: make_noisy_labels, random_state=seed + fold); "
                "scores on the clean test fold; StandardScaler + RobustLossClassifier "
                "pipeline"
            ),
            "skloss_version": version(),
        },
        "folds": folds,
        "completed": [[fit["loss"], fit["fold"]] for fit in fits],
        "ranking": ranking,
        "results": {loss: {**per_loss[loss], **summary.get(loss, {})} for loss in args.losses},
        "total_time": time.perf_counter() - started,
    }
    if not complete:
        results["interrupted"] = interruption
    selection = _selection(fits, args.losses, args.folds) if complete else None
    if selection is not None:
        results["selection"] = selection

    if not complete:
        print(f"interrupted ({interruption}): {len(fits)} of {n_fits} fits completed")
    print(description)
    if not complete:
        print(
            f"PARTIAL RESULTS: {len(fits)} of {n_fits} fits, means over the folds each "
            "loss completed"
        )
    if ranking:
        print(
            format_table(
                summary, ranking, n_folds=None if complete else args.folds, top_k=args.top_k
            )
        )
    if selection is not None:
        picks = ", ".join(dict.fromkeys(selection["chosen_per_fold"]))
        print(
            f"noise-aware selection (chosen on noisy validation labels): {picks}; clean "
            f"accuracy {selection['mean_clean_accuracy']:.3f}"
        )
    title = f"{data_name}, {args.noise:.0%} {args.noise_kind} label noise"
    try:
        written = write_results(
            args.output, results, summary, ranking, title if complete else f"{title} (partial)"
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
