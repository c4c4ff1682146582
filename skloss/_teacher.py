"""A teacher's scores as the distillation losses read them: one log-probability per class.

Any scikit-learn classifier can teach. Its scores come from ``decision_function``
(logits for gradient boosting, linear models) or, without one, from
``predict_proba``; either way they are turned into log-probabilities,
``log_softmax(decision_function)`` or ``log(predict_proba)``, floored at
:data:`LOG_FLOOR`. The distillation losses only read ``softmax(t / T)`` and the
order of ``t`` within a row, both unchanged by adding a constant to a row, so
the choice of method changes nothing but the floor; the floor keeps a
probability of exactly 0 (a forest's, a k-NN's) finite in float32.

Columns follow the classes the student learns, matched by label: a teacher
whose ``classes_`` are in another order, or include extra classes, still gives
the right column to each class.
"""

from numbers import Integral

import numpy as np
from scipy.special import log_softmax
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.validation import check_is_fitted, column_or_1d, has_fit_parameter

__all__ = ["LOG_FLOOR", "fold_splitter", "teacher_scores", "out_of_fold_scores"]

#: The lowest log-probability a teacher score takes: ``log`` of the smallest normal
#: float32 (about -87.3), so that scores stay finite in the float32 the network trains in.
LOG_FLOOR = float(np.log(np.finfo(np.float32).tiny))


def is_fitted(teacher):
    """Whether ``teacher`` can score rows as it is (fitted, or a frozen fitted model)."""
    try:
        check_is_fitted(teacher)
    except (NotFittedError, TypeError):
        return False
    return True


def check_can_score(teacher, name="teacher"):
    """Refuse, before any training, a teacher that has no scores to give."""
    if isinstance(teacher, type):
        raise TypeError(
            f"{name} must be an estimator instance, got the class {teacher.__name__}; pass "
            f"{teacher.__name__}()."
        )
    if not (hasattr(teacher, "decision_function") or hasattr(teacher, "predict_proba")):
        raise TypeError(
            f"{name} must be a classifier with decision_function or predict_proba, which "
            f"{type(teacher).__name__} does not have (a regressor or a transformer cannot "
            "teach a classifier)."
        )


def _log_scores(teacher, X):
    """``(log-probabilities, classes)`` of a fitted teacher on ``X``."""
    classes = getattr(teacher, "classes_", None)
    if classes is None:
        raise TypeError(
            f"the teacher {type(teacher).__name__} has no classes_ after fitting; it must be "
            "a scikit-learn classifier."
        )
    classes = np.asarray(classes)
    if hasattr(teacher, "decision_function"):
        raw = np.asarray(teacher.decision_function(X), dtype=np.float64)
        if raw.ndim == 1 and len(classes) == 2:
            # A binary decision_function scores classes_[1] against classes_[0].
            raw = np.column_stack([np.zeros_like(raw), raw])
        if raw.ndim == 2 and raw.shape[1] == len(classes):
            return np.maximum(log_softmax(raw, axis=1), LOG_FLOOR), classes
        # Not one score per class (one-vs-one SVC scores): use the probabilities.
    if hasattr(teacher, "predict_proba"):
        proba = np.asarray(teacher.predict_proba(X), dtype=np.float64)
        if proba.ndim == 2 and proba.shape[1] == len(classes):
            return np.log(np.maximum(proba, np.finfo(np.float32).tiny)), classes
    raise ValueError(
        f"the teacher {type(teacher).__name__} gives neither one decision_function score "
        f"nor one predict_proba column per class ({len(classes)} classes); pass its scores "
        "as teacher_scores, one column per class."
    )


def aligned_scores(teacher, X, classes, missing="raise"):
    """Log-probabilities of a fitted teacher, one column per entry of ``classes``.

    ``missing="floor"`` gives a class the teacher never saw :data:`LOG_FLOOR` (a
    cross-validation fold's teacher may lack a rare class); ``"raise"`` refuses it.
    """
    log_scores, teacher_classes = _log_scores(teacher, X)
    position = {label: i for i, label in enumerate(teacher_classes.tolist())}
    unknown = [label for label in np.asarray(classes).tolist() if label not in position]
    if unknown and missing == "raise":
        raise ValueError(
            f"the teacher was fitted on classes {teacher_classes.tolist()}, which lack "
            f"{unknown} of y; fit it on labels that include every class of y, or pass it "
            "unfitted so that it is fitted on this data."
        )
    aligned = np.full((log_scores.shape[0], len(classes)), LOG_FLOOR)
    for column, label in enumerate(np.asarray(classes).tolist()):
        if label in position:
            aligned[:, column] = log_scores[:, position[label]]
    return aligned


def teacher_scores(teacher, X, classes=None):
    """Return the log-probabilities a fitted teacher gives ``X``, one column per class.

    Parameters
    ----------
    teacher : fitted classifier
        Any scikit-learn classifier (or pipeline ending in one) with
        ``decision_function`` or ``predict_proba``.
    X : array-like of shape (n_samples, n_features)
        Rows to score, in the form the teacher was fitted on.
    classes : array-like of shape (n_classes,), default=None
        The labels whose columns to return, in this order; None is the
        teacher's ``classes_``.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        ``log_softmax(decision_function(X))`` (a binary ``decision_function``
        ``d`` as the two scores ``[0, d]``) or ``log(predict_proba(X))``, floored
        at ``log`` of the smallest normal float32 (about -87.3).

    Raises
    ------
    ValueError
        If ``classes`` holds a label the teacher was not fitted on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skloss.distillation import teacher_scores
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> teacher = LogisticRegression().fit(X, y)
    >>> scores = teacher_scores(teacher, X)
    >>> np.allclose(np.exp(scores), teacher.predict_proba(X))
    True
    """
    check_can_score(teacher)
    check_is_fitted(teacher)
    if classes is None:
        classes = np.asarray(teacher.classes_)
    return aligned_scores(teacher, X, np.asarray(classes))


def fit_teacher(teacher, X, y, sample_weight=None, rows=None):
    """A fresh clone of ``teacher`` fitted on ``rows`` (all rows when None).

    The weights go to the teacher's ``fit`` when it takes ``sample_weight``.
    """
    fitted = clone(teacher)
    if rows is not None:
        X, y = _safe_indexing(X, rows), y[rows]
    params = {}
    if sample_weight is not None and has_fit_parameter(fitted, "sample_weight"):
        weight = np.asarray(sample_weight, dtype=np.float64)
        params["sample_weight"] = weight if rows is None else weight[rows]
    return fitted.fit(X, y, **params)


def out_of_fold_scores(teacher, X, y, *, cv=5, sample_weight=None, random_state=None):
    """Score each row with a copy of the teacher fitted without it (out of fold).

    A flexible teacher scoring its own training rows hands the student
    near-one-hot targets: it has memorised them. Scoring each row with a copy
    trained on the other folds gives the scores it would give new data.

    Parameters
    ----------
    teacher : classifier
        Any scikit-learn classifier with ``decision_function`` or
        ``predict_proba``; it is cloned for each fold and never fitted itself.
    X : array-like of shape (n_samples, n_features)
        Training rows, in any form the teacher accepts.
    y : array-like of shape (n_samples,)
        Labels.
    cv : int, cross-validation splitter or iterable of splits, default=5
        An int is a ``StratifiedKFold(cv, shuffle=True, random_state=random_state)``;
        a splitter or a list of ``(train, test)`` index pairs must put every row
        in exactly one test fold.
    sample_weight : array-like of shape (n_samples,), default=None
        Passed (the fold's rows) to the teacher's ``fit`` when it takes it.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds of an int ``cv``.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Log-probabilities (see :func:`teacher_scores`), columns in the order of
        ``np.unique(y)``; a class missing from a fold's training rows gets the
        floor, about -87.3, in that fold.

    Raises
    ------
    ValueError
        If ``cv`` does not partition the rows, or an int ``cv`` exceeds the
        number of rows of the largest class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from skloss.distillation import out_of_fold_scores
    >>> X, y = load_iris(return_X_y=True)
    >>> scores = out_of_fold_scores(KNeighborsClassifier(1), X, y, random_state=0)
    >>> scores.shape, bool((scores.argmax(axis=1) == y).mean() < 1.0)
    ((150, 3), True)
    """
    check_can_score(teacher)
    y = column_or_1d(y)
    classes, codes = np.unique(y, return_inverse=True)
    splitter = fold_splitter(cv, codes, random_state)
    return scores_by_fold(teacher, X, y, codes, classes, splitter, sample_weight)


def fold_splitter(cv, codes, random_state):
    """The folds of out-of-fold scores: an int ``cv`` is a shuffled ``StratifiedKFold``.

    Refuses, before any fit, an int ``cv`` larger than the largest class (no
    stratified split exists); other splitters go through ``check_cv``.
    """
    if not isinstance(cv, Integral):
        return check_cv(cv, codes, classifier=True)
    largest = int(np.bincount(codes).max())
    if cv > largest:
        raise ValueError(
            f"cv={cv} splits every class into {cv} folds for out-of-fold "
            f"teacher scores, but the largest class of y has {largest} rows; lower cv "
            "(at least 2), or pass a fitted teacher or teacher_scores."
        )
    return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)


def scores_by_fold(teacher, X, y, codes, classes, splitter, sample_weight=None):
    """:func:`out_of_fold_scores` with the classes, their codes and the splitter given."""
    (X,) = indexable(X)  # array-likes without __getitem__ become arrays, as in cross_val_predict
    folds = list(splitter.split(X, codes))
    covered = np.zeros(len(y), dtype=int)
    for _, test in folds:
        covered[test] += 1
    if not np.all(covered == 1):
        # Checked before any fit: each row needs exactly one out-of-fold score.
        raise ValueError(
            "cv must put every row in exactly one test fold (a partition such "
            "as StratifiedKFold or KFold) for out-of-fold teacher scores; "
            f"{int(np.sum(covered != 1))} rows are in none or in several."
        )
    scores = np.empty((len(y), len(classes)))
    for train, test in folds:
        fold_teacher = fit_teacher(teacher, X, y, sample_weight, train)
        scores[test] = aligned_scores(
            fold_teacher, _safe_indexing(X, test), classes, missing="floor"
        )
    return scores
