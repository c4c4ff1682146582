"""The loop of ``skloss compare``: every model on every noisy fold, scored on clean targets.

The task (:mod:`skloss.cli._tasks`) makes the folds and scores each fit; the loop,
the per-model table and the noise-aware selection are the same for every task.

An interrupt (Ctrl-C) stops the loop after the last completed fit, whether it
arrives as a :class:`~skloss.exceptions.TrainingInterruptedWarning` from a skloss
fit (which then ended early and does not count) or as a ``KeyboardInterrupt``
anywhere in the loop; what completed is returned with where it stopped.
"""

import time
import warnings

#: ``--selection-score`` -> the per-fit record the noise-aware selection ranks by
#: (None: the task's own noisy-target score).
SELECTION_METRICS = {"noisy_accuracy": None, "clean_accuracy": "estimated_clean_accuracy"}
SELECTION_SCORES = tuple(metric for metric in SELECTION_METRICS.values() if metric)


def fit_watching_interrupts(model, X, y, registry):
    """Fit ``model``; return True if its training was interrupted.

    A skloss fit warns ``TrainingInterruptedWarning`` and re-raises the
    ``KeyboardInterrupt``, which goes on to the loop; an estimator that swallows
    Ctrl-C and returns with that warning counts as interrupted too. The warning
    is consumed here. The other warnings are re-emitted as they were (``registry`` keeps them
    shown once per run, as the default filter would).
    """
    from sklearn.exceptions import ConvergenceWarning

    from skloss.exceptions import TrainingInterruptedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A fixed epoch budget is the point of the comparison; the epochs actually
        # run are recorded as n_iter instead.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # --batch-size above a small fold's rows is clipped by every model alike; only
        # MLPClassifier says so, on every fit.
        warnings.filterwarnings("ignore", message="Got `batch_size` less than 1 or larger")
        try:
            model.fit(X, y)
        finally:
            interrupted = any(issubclass(w.category, TrainingInterruptedWarning) for w in caught)
            others = [w for w in caught if not issubclass(w.category, TrainingInterruptedWarning)]
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=registry)
    return interrupted


def fold_transition(fold, args, task):
    """The matrix the fold's models are scored through, and whether it is the estimate.

    Only for ``--selection-score clean_accuracy`` (classification): the transition
    matrix estimated on the fold's noisy training labels, or the identity where that
    estimate is too ill-conditioned to invert (the estimated clean accuracy is then
    the accuracy on the noisy test labels, as
    :func:`skloss.noise.clean_accuracy_scorer` scores such a fold). ``(None, True)``
    otherwise.
    """
    from skloss.cli._options import transition_estimator, transition_refiner
    from skloss.noise import estimate_transition
    from skloss.noise.clean_accuracy import _scoring_transition

    if getattr(args, "selection_score", "noisy_accuracy") != "clean_accuracy":
        return None, True
    estimate = estimate_transition(
        fold.X_train,
        fold.y_train,
        transition_estimator(fold.X_train, args),
        cv=5,
        random_state=args.seed,
        refine=transition_refiner(fold.X_train, args, task),
    )
    return _scoring_transition(estimate.transition)


def clean_accuracy_estimate(model, fold, y_test_noisy, transition):
    """``{"estimated_clean_accuracy": ...}`` of a fitted classifier, from the noisy test labels."""
    from skloss.noise import estimated_clean_accuracy

    predicted = model.predict(fold.X_test)
    value = estimated_clean_accuracy(
        y_test_noisy, predicted, transition=transition, labels=model[-1].classes_
    )
    return {"estimated_clean_accuracy": float(value)}


def evaluate(folds_of_data, candidates, args, log, task):
    """Train and score every (model, fold); return ``(fits, folds, interruption)``.

    ``fits`` lists one record per completed fit, in order; ``interruption`` is
    None, or says where the run was interrupted.
    """
    fits, folds, registry = [], [], {}
    where = "before the first fit"
    try:
        for k, fold in enumerate(folds_of_data):
            y_test_noisy = task.noisy_test_targets(fold.y_test, args, k)
            where = f"estimating the noise of fold {k + 1}/{args.folds}"
            transition, inverted = fold_transition(fold, args, task)
            if not inverted:
                log(
                    f"fold {k + 1}/{args.folds}: the transition matrix estimated on its "
                    "training rows is near-singular; its candidates are scored by "
                    "accuracy on the noisy labels for the selection"
                )
            folds.append(
                {
                    "fold": k,
                    "n_train": len(fold.y_train),
                    "n_test": len(fold.y_test),
                    "realised_noise_rate": float(fold.corrupted.mean()),
                    **({} if transition is None else {"transition_inverted": inverted}),
                }
            )
            for candidate in candidates:
                where = f"during {candidate.name} on fold {k + 1}/{args.folds}"
                model = candidate.build()
                start = time.perf_counter()
                if fit_watching_interrupts(model, fold.X_train, fold.y_train, registry):
                    return fits, folds, f"Ctrl-C {where}"
                seconds = time.perf_counter() - start
                record = {"model": candidate.name, "fold": k, "fit_time": seconds}
                record.update(task.score(model, fold, y_test_noisy, args))
                if transition is not None:
                    record.update(clean_accuracy_estimate(model, fold, y_test_noisy, transition))
                # One append per fit, so an interrupt never leaves a fit half recorded.
                fits.append(record)
                where = f"after {candidate.name} on fold {k + 1}/{args.folds}"
                log(
                    f"fold {k + 1}/{args.folds}  {candidate.name:<20} "
                    f"{task.progress(record)}  {seconds:.1f}s"
                )
    except KeyboardInterrupt:
        return fits, folds, f"Ctrl-C {where}"
    return fits, folds, None


def per_model(fits, names, task):
    """``{name: {"fold": [...], metric: [...]}}`` of the completed fits."""
    table = {name: {"fold": [], **{m: [] for m in task.metrics}} for name in names}
    for fit in fits:
        record = table[fit["model"]]
        record["fold"].append(fit["fold"])
        for metric in task.metrics + task.optional_metrics + SELECTION_SCORES:
            if metric in fit:
                record.setdefault(metric, []).append(fit[metric])
    return table


def selection(fits, names, n_folds, task, score=None):
    """Noise-aware choice of a model, scored on clean targets without having seen them.

    For each fold, the model with the best score on the *noisy* test targets of
    the other folds (:func:`skloss.noise.select_by_noisy_scores`; the task says
    which score and whether higher is better), or the best ``score`` recorded per fit
    (``"estimated_clean_accuracy"``: the clean accuracy estimated from the noisy test
    labels); that model's clean score on this fold is the nested score. None unless
    every fit completed (a fold whose T could not be inverted is ranked by the noisy
    accuracy, see :func:`clean_accuracy_estimate`).
    """
    from skloss.noise import select_by_noisy_scores

    noisy_metric, sign, clean_metric = task.selection
    rule = task.selection_rule
    if score is not None:
        noisy_metric, sign = score, 1
        rule = (
            "per fold: the model (loss or peer) with the best mean clean accuracy estimated "
            "from the noisy test labels of the other folds (T estimated on each training "
            "fold); scored on this fold's clean labels"
        )
    noisy = {name: [None] * n_folds for name in names}
    clean = {name: [None] * n_folds for name in names}
    for fit in fits:
        value = fit.get(noisy_metric)
        noisy[fit["model"]][fit["fold"]] = None if value is None else sign * value
        clean[fit["model"]][fit["fold"]] = fit[clean_metric]
    if any(v is None for row in noisy.values() for v in row) or n_folds < 2:
        return None
    chosen = select_by_noisy_scores(noisy)
    scores = [clean[name][k] for k, name in enumerate(chosen)]
    return {
        "chosen_per_fold": chosen,
        f"clean_{clean_metric}_per_fold": scores,
        f"mean_clean_{clean_metric}": float(sum(scores) / len(scores)),
        "score": noisy_metric,
        "rule": rule,
    }
