"""The loop of ``skloss compare``: every model on every noisy fold, scored on clean labels.

An interrupt (Ctrl-C) stops the loop after the last completed fit, whether it
arrives as a :class:`~skloss.exceptions.TrainingInterruptedWarning` from a skloss
fit (which then ended early and does not count) or as a ``KeyboardInterrupt``
anywhere in the loop; what completed is returned with where it stopped.
"""

import time
import warnings

import numpy as np

METRICS = ("accuracy", "noisy_accuracy", "macro_f1", "fit_time", "n_iter")
# Recorded only where they are meaningful (top-k accuracy: 3 classes or more; ROC AUC:
# two classes).
# estimated_clean_accuracy: with --selection-score clean_accuracy.
OPTIONAL_METRICS = ("top_k_accuracy", "roc_auc", "estimated_clean_accuracy")


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


def noisy_test_labels(y_test, args, fold):
    """The test fold's labels with the same noise, for selection on noisy labels only."""
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


def fold_transition(fold, args):
    """The transition matrix estimated on the fold's noisy training labels, or None.

    Only for ``--selection-score clean_accuracy``; None also where the estimate is
    too ill-conditioned to invert (that fold then has no estimated clean accuracy).
    """
    from skloss.cli._options import transition_estimator
    from skloss.losses.correction import MAX_CONDITION
    from skloss.noise import estimate_transition

    if getattr(args, "selection_score", "noisy_accuracy") != "clean_accuracy":
        return None
    estimate = estimate_transition(
        fold.X_train,
        fold.y_train,
        transition_estimator(fold.X_train, args.impute),
        cv=5,
        random_state=args.seed,
    )
    return estimate.transition if np.linalg.cond(estimate.transition) <= MAX_CONDITION else None


def score(model, fold, y_test_noisy, args, transition=None):
    """The metrics of a fitted ``model`` on the fold's clean (and noisy) test labels."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, top_k_accuracy_score

    from skloss.noise import estimated_clean_accuracy

    predicted = model.predict(fold.X_test)
    record = {
        "accuracy": float(accuracy_score(fold.y_test, predicted)),
        "noisy_accuracy": float(accuracy_score(y_test_noisy, predicted)),
        "macro_f1": float(f1_score(fold.y_test, predicted, average="macro")),
        "n_iter": int(np.max(getattr(model[-1], "n_iter_", 0))),
    }
    classes = model[-1].classes_
    if transition is not None:
        record["estimated_clean_accuracy"] = estimated_clean_accuracy(
            y_test_noisy, predicted, transition=transition, labels=classes
        )
    # Top-k accuracy says something only where k is below the class count, and with
    # two classes top-1 is all there is.
    with_top_k = len(classes) >= 3 and args.top_k < len(classes)
    if with_top_k or len(classes) == 2:
        proba = model.predict_proba(fold.X_test)
    if with_top_k:
        record["top_k_accuracy"] = float(
            top_k_accuracy_score(fold.y_test, proba, k=args.top_k, labels=classes)
        )
    if len(classes) == 2:
        record["roc_auc"] = float(roc_auc_score(fold.y_test == classes[1], proba[:, 1]))
    return record


def evaluate(folds_of_data, candidates, args, log):
    """Train and score every (model, fold); return ``(fits, folds, interruption)``.

    ``fits`` lists one record per completed fit, in order; ``interruption`` is
    None, or says where the run was interrupted.
    """
    fits, folds, registry = [], [], {}
    where = "before the first fit"
    try:
        for k, fold in enumerate(folds_of_data):
            y_test_noisy = noisy_test_labels(fold.y_test, args, k)
            where = f"estimating the noise of fold {k + 1}/{args.folds}"
            transition = fold_transition(fold, args)
            folds.append(
                {
                    "fold": k,
                    "n_train": len(fold.y_train),
                    "n_test": len(fold.y_test),
                    "realised_noise_rate": float(fold.flipped.mean()),
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
                record.update(score(model, fold, y_test_noisy, args, transition))
                # One append per fit, so an interrupt never leaves a fit half recorded.
                fits.append(record)
                where = f"after {candidate.name} on fold {k + 1}/{args.folds}"
                log(
                    f"fold {k + 1}/{args.folds}  {candidate.name:<20} accuracy "
                    f"{record['accuracy']:.3f}  macro-F1 {record['macro_f1']:.3f}  "
                    f"{seconds:.1f}s"
                )
    except KeyboardInterrupt:
        return fits, folds, f"Ctrl-C {where}"
    return fits, folds, None


def per_model(fits, names):
    """``{name: {"fold": [...], metric: [...]}}`` of the completed fits."""
    table = {name: {"fold": [], **{m: [] for m in METRICS}} for name in names}
    for fit in fits:
        record = table[fit["model"]]
        record["fold"].append(fit["fold"])
        for metric in METRICS + OPTIONAL_METRICS:
            if metric in fit:
                record.setdefault(metric, []).append(fit[metric])
    return table


def selection(fits, names, n_folds, metric="noisy_accuracy"):
    """Noise-aware choice of a model, scored on clean labels without having seen them.

    For each fold, the model with the best accuracy on the *noisy* test labels of
    the other folds (:func:`skloss.noise.select_by_noisy_scores`), or with
    ``metric="estimated_clean_accuracy"`` the best clean accuracy estimated from
    them; that model's clean accuracy on this fold is the nested score. None unless
    every fit completed (and, for the estimate, every fold's T could be inverted).
    """
    from skloss.noise import select_by_noisy_scores

    noisy = {name: [None] * n_folds for name in names}
    clean = {name: [None] * n_folds for name in names}
    for fit in fits:
        noisy[fit["model"]][fit["fold"]] = fit.get(metric)
        clean[fit["model"]][fit["fold"]] = fit["accuracy"]
    if any(v is None for row in noisy.values() for v in row) or n_folds < 2:
        return None
    chosen = select_by_noisy_scores(noisy)
    scores = [clean[name][k] for k, name in enumerate(chosen)]
    return {
        "chosen_per_fold": chosen,
        "clean_accuracy_per_fold": scores,
        "mean_clean_accuracy": float(sum(scores) / len(scores)),
        "score": metric,
        "rule": "per fold: the model (loss or peer) with the best mean "
        + (
            "accuracy on the noisy test labels"
            if metric == "noisy_accuracy"
            else "clean accuracy estimated from the noisy test labels (T estimated on each "
            "training fold)"
        )
        + " of the other folds; scored on this fold's clean labels",
    }
