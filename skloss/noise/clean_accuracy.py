"""Scoring a model on noisy labels by the accuracy it would have on clean ones.

Under class-conditional noise ``T`` (``T[i, j] = P(noisy j | true i)``, independent
of the features given the class), the joint distribution of noisy label and
prediction is ``M = T^T C``, where ``C[i, k] = P(true i, predicted k)``. Accuracy
on noisy labels, ``trace(M)``, mixes in the off-diagonal of ``T``: under pair-flip
noise a model that learns the flips gains noisy accuracy, and ranking by it can
prefer the worse model. Solving for ``C`` recovers the clean accuracy
``trace(C)`` from noisy labels, given ``T`` (:func:`estimated_clean_accuracy`);
:func:`clean_accuracy_scorer` estimates ``T`` on each training fold of a search.
"""

import threading
import warnings

import numpy as np
from sklearn.utils import _safe_indexing

from skloss.exceptions import NoiseEstimateWarning
from skloss.losses.correction import MAX_CONDITION, check_transition
from skloss.noise.injection import _check_labels
from skloss.noise.transition import _check_random_state, _check_refine, estimate_transition

__all__ = ["CleanAccuracyScorer", "clean_accuracy_scorer", "estimated_clean_accuracy"]


def _clean_joint(noisy_joint, transition):
    """``C`` from ``M = T^T C``, clipped to a distribution with ``M``'s column sums.

    ``T`` is row-stochastic, so ``T^-T`` keeps column sums: the column of ``C`` for
    prediction ``k`` sums to ``P(predicted k)`` as the column of ``M`` does. Sampling
    error can make entries negative; they are set to 0 and each column rescaled to
    its sum, which is known exactly.
    """
    clean = np.linalg.solve(transition.T, noisy_joint)
    clean = np.clip(clean, 0.0, None)
    mass, target = clean.sum(axis=0), noisy_joint.sum(axis=0)
    scale = np.divide(target, mass, out=np.zeros_like(mass), where=mass > 0)
    return clean * scale


def estimated_clean_accuracy(y_true, y_pred, *, transition, labels=None, sample_weight=None):
    """Estimate the accuracy on clean labels from noisy ones and the noise's transition matrix.

    With ``M[j, k]`` the share of samples with noisy label ``j`` predicted ``k``,
    the clean joint ``C`` solves ``T^T C = M``; it is clipped to a valid
    distribution (negative entries set to 0, each column rescaled to the share of
    its prediction, which noise does not change), and its trace is the estimate.
    A metric of the ``(y_true, y_pred)`` form: ``make_scorer(estimated_clean_accuracy,
    transition=T)`` scores with a fixed ``T``; :func:`clean_accuracy_scorer`
    estimates ``T`` on each training fold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The noisy labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    transition : array-like of shape (n_classes, n_classes)
        ``T[i, j]``, the probability that a sample of true class ``labels[i]``
        carries the noisy label ``labels[j]``; it must be invertible with
        condition number at most :data:`skloss.losses.correction.MAX_CONDITION`.
    labels : array-like of shape (n_classes,), default=None
        The classes, in the order of the rows of ``transition``; default the
        sorted union of ``y_true`` and ``y_pred``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float
        The estimated clean accuracy, in [0, 1].

    Raises
    ------
    ValueError
        If ``transition`` is not a valid transition matrix for the classes, is
        near-singular, or a label of ``y_true`` or ``y_pred`` is not in ``labels``.

    See Also
    --------
    clean_accuracy_scorer : A scorer that estimates ``T`` on each training fold.

    Examples
    --------
    >>> import numpy as np
    >>> from skloss.noise import estimated_clean_accuracy
    >>> T = [[0.6, 0.4], [0.0, 1.0]]  # 40% of class 0 labelled 1
    >>> y_noisy = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    >>> y_pred = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> # Noisy accuracy is 6/8; the clean joint puts both 0-predictions labelled 1
    >>> # back to class 0, which they are (5 right of 5 zeros, 3 of 3 ones).
    >>> float(estimated_clean_accuracy(y_noisy, y_pred, transition=T))
    1.0
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D arrays of the same length, got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = np.asarray(labels)
    matrix = check_transition(transition, len(labels), invertible=True)
    index = {label: k for k, label in enumerate(labels.tolist())}
    unknown = [v for v in set(y_true.tolist()) | set(y_pred.tolist()) if v not in index]
    if unknown:
        raise ValueError(
            f"labels {sorted(map(str, unknown))} of y_true or y_pred are not in labels "
            f"{labels.tolist()}, the classes of the transition matrix."
        )
    weight = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, float)
    if weight.shape != y_true.shape or not np.isfinite(weight).all() or (weight < 0).any():
        raise ValueError("sample_weight must hold one finite, non-negative weight per sample.")
    if not weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum.")
    rows = np.array([index[v] for v in y_true.tolist()], dtype=np.intp)
    cols = np.array([index[v] for v in y_pred.tolist()], dtype=np.intp)
    noisy_joint = np.zeros((len(labels), len(labels)))
    np.add.at(noisy_joint, (rows, cols), weight)
    noisy_joint /= weight.sum()
    return float(np.trace(_clean_joint(noisy_joint, matrix)))


def _scoring_transition(transition):
    """The matrix a fold's candidates are scored through, and whether it is ``transition``.

    ``transition`` when :func:`estimated_clean_accuracy` can invert it (condition
    number at most :data:`skloss.losses.correction.MAX_CONDITION`), else the
    identity: the estimate under ``T = I`` is the accuracy on the noisy labels.
    Decided once per fold, so that every candidate of the fold is scored alike.

    Parameters
    ----------
    transition : array-like of shape (n_classes, n_classes)
        The fold's estimated transition matrix.

    Returns
    -------
    matrix : ndarray of shape (n_classes, n_classes)
        ``transition`` or the identity.
    inverted : bool
        Whether ``matrix`` is ``transition``.
    """
    matrix = np.asarray(transition, dtype=float)
    if np.linalg.cond(matrix) <= MAX_CONDITION:
        return matrix, True
    return np.eye(len(matrix)), False


def _row_keys(X):
    """One hashable key per row of ``X``, equal for rows with equal values."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # pandas DataFrame
        import pandas as pd

        return pd.util.hash_pandas_object(X, index=False).to_numpy().tolist()
    if hasattr(X, "tocsr"):  # scipy sparse
        X = X.tocsr()
        X.sort_indices()
        return [
            (X.indices[a:b].tobytes(), X.data[a:b].tobytes())
            for a, b in zip(X.indptr[:-1], X.indptr[1:], strict=True)
        ]
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # polars and others
        X = X.to_numpy()
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.dtype.kind == "O":
        return [tuple(row) for row in X.tolist()]
    X = np.ascontiguousarray(X)
    return [row.tobytes() for row in X]


class CleanAccuracyScorer:
    """A scorer that estimates clean accuracy, with ``T`` estimated on the training folds.

    Build it with :func:`clean_accuracy_scorer`, on the same ``X`` and ``y`` the
    search is given; see there.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The search's features.
    y : array-like of shape (n_samples,)
        The search's (noisy) labels.
    estimator : classifier, default=None
        The model whose out-of-fold probabilities estimate ``T``
        (:func:`skloss.noise.estimate_transition`).
    cv : int, cross-validation splitter or iterable, default=5
        The inner folds of that estimate.
    random_state : int, default=0
        Seeds the inner folds.
    refine : skloss classifier, default=None
        Refines each fold's estimate once (``estimate_transition(refine=...)``).
    """

    def __init__(self, X, y, estimator=None, cv=5, random_state=0, refine=None):
        self.X = X
        self.y = y
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state
        self.refine = refine
        _check_refine(refine)
        self._y, self.classes_, _ = _check_labels(y)
        self._positions = {}
        for position, key in enumerate(_row_keys(X)):
            self._positions.setdefault(key, []).append(position)
        if sum(map(len, self._positions.values())) != len(self._y):
            raise ValueError(
                f"X and y must have the same number of samples, got "
                f"{sum(map(len, self._positions.values()))} rows in X and {len(self._y)} "
                "labels in y."
            )
        _check_random_state(random_state)
        self._transitions = {}
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]  # a lock does not pickle (joblib worker processes)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _validation_rows(self, X_valid):
        taken = {}
        rows = []
        for key in _row_keys(X_valid):
            positions = self._positions.get(key, ())
            used = taken.get(key, 0)
            if used >= len(positions):
                raise ValueError(
                    "A validation row is not among the rows of X this scorer was built on: "
                    "build clean_accuracy_scorer(X, y) on the very X and y given to the "
                    "search (the training rows are those of X outside the validation fold)."
                )
            rows.append(positions[used])  # equal rows are interchangeable
            taken[key] = used + 1
        return np.array(rows, dtype=np.intp)

    def transition_for(self, X_valid):
        """The transition matrix estimated on the rows of ``X`` outside ``X_valid``.

        Parameters
        ----------
        X_valid : {array-like, sparse matrix} of shape (n_valid, n_features)
            A validation fold: rows of the ``X`` the scorer was built on.

        Returns
        -------
        ndarray of shape (n_classes, n_classes)
            ``T`` over ``classes_``, estimated once per fold and then reused.
        """
        valid = self._validation_rows(X_valid)
        key = np.sort(valid).tobytes()
        with self._lock:
            if key not in self._transitions:
                train = np.setdiff1d(np.arange(len(self._y)), valid)
                estimate = estimate_transition(
                    _safe_indexing(self.X, train),
                    self._y[train],
                    self.estimator,
                    self.cv,
                    random_state=self.random_state,
                    refine=self.refine,
                )
                if len(estimate.classes) != len(self.classes_):
                    raise ValueError(
                        "A training fold lacks some class of y, so T cannot be estimated "
                        "on it; use stratified folds."
                    )
                self._transitions[key] = estimate.transition
            return self._transitions[key]

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Estimated clean accuracy of a fitted ``estimator`` on a validation fold.

        Parameters
        ----------
        estimator : fitted classifier
            The model to score.
        X : {array-like, sparse matrix} of shape (n_valid, n_features)
            The validation fold's features (rows of the scorer's ``X``).
        y_true : array-like of shape (n_valid,)
            The validation fold's noisy labels.
        sample_weight : array-like of shape (n_valid,), default=None
            Sample weights.

        Returns
        -------
        float
            :func:`estimated_clean_accuracy` with ``T`` from the training rows, or
            the accuracy on the noisy labels where that ``T`` is near-singular.

        Warns
        -----
        NoiseEstimateWarning
            When the fold's ``T`` is too ill-conditioned to invert (the score is
            then the noisy accuracy).
        """
        transition = self.transition_for(X)
        matrix, inverted = _scoring_transition(transition)
        if not inverted:
            warnings.warn(
                f"The transition matrix estimated on this fold's training rows is "
                f"near-singular (condition number {np.linalg.cond(transition):.3g} > "
                f"{MAX_CONDITION:g}; noise rates estimated "
                f"{np.round(1 - np.diag(transition), 2).tolist()}): every candidate is "
                "scored on this fold by its accuracy on the noisy labels instead. An "
                "estimator that fits the data better (clean_accuracy_scorer(estimator=...)) "
                "counts fewer of its own errors as noise.",
                NoiseEstimateWarning,
                stacklevel=2,
            )
        return estimated_clean_accuracy(
            y_true,
            estimator.predict(X),
            transition=matrix,
            labels=self.classes_,
            sample_weight=sample_weight,
        )

    def __repr__(self):
        return (
            f"clean_accuracy_scorer(X, y, estimator={self.estimator!r}, cv={self.cv!r}, "
            f"random_state={self.random_state!r}, refine={self.refine!r})"
        )


def clean_accuracy_scorer(X, y, *, estimator=None, cv=5, random_state=0, refine=None):
    """A scorer of estimated clean accuracy for model selection on noisy labels.

    ``scorer(fitted_model, X_valid, y_valid)`` estimates the transition matrix
    ``T`` on the rows of ``X`` *outside* the validation fold (the training fold,
    with :func:`estimate_transition`: ``cv`` fits of ``estimator``, once per fold
    and reused for every candidate), then returns
    :func:`estimated_clean_accuracy` of the model's predictions against the
    noisy validation labels. Pass it as ``GridSearchCV(scoring=...)``,
    ``cross_val_score(scoring=...)``, or in a dict of scorers, built on the same
    ``X`` and ``y`` the search is given: the validation rows are found in ``X`` by
    their values (rows with equal features are interchangeable).

    Under pair-flip or other asymmetric noise, ranking on noisy accuracy favours
    models that learn the flips; this score ranks by an estimate of the clean
    accuracy instead. Under symmetric noise both rank alike in expectation.

    A search with ``n_jobs > 1`` in worker processes gives each task its own copy
    of the scorer, so a fold's ``T`` is then estimated once per task rather than
    once per fold (cheap with the default ``LogisticRegression``); threads share
    the cache.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The search's features (a DataFrame, an ndarray, a sparse matrix).
    y : array-like of shape (n_samples,)
        The search's noisy labels.
    estimator : classifier, default=None
        The model whose out-of-fold probabilities estimate ``T``; None is
        ``LogisticRegression(max_iter=1000)`` (see :func:`estimate_transition`).
        It takes ``X`` as it is: put preprocessing in a Pipeline. The confident
        joint counts this model's own errors as noise: on nonlinear classes an
        early-stopped network (``MLPClassifier(early_stopping=True)``) estimates
        ``T`` better (``docs/user_guide/noise.rst``).
    cv : int, cross-validation splitter or iterable, default=5
        Folds of the estimate of ``T`` inside each training fold.
    random_state : int, default=0
        Seeds those folds.
    refine : skloss classifier, default=None
        Refines each fold's estimate of ``T`` once: this classifier (one that
        takes a ``loss``, :class:`skloss.RobustLossClassifier`, or a Pipeline
        ending in one) is trained out of fold with the forward correction
        through the first estimate, and ``T`` is counted again from its
        probabilities of the clean classes (:func:`estimate_transition`); ``cv``
        more fits per training fold. The first estimate counts ``estimator``'s
        own errors as noise; the refined one counts fewer of them where this
        classifier classifies better than ``estimator``.

    Returns
    -------
    CleanAccuracyScorer
        A callable ``scorer(estimator, X, y)`` (``transition_for(X_valid)`` gives
        the ``T`` it uses for a fold).

    Raises
    ------
    ValueError
        If ``X`` and ``y`` differ in length, ``y`` is not a label vector or
        ``refine`` does not take a ``loss``. At scoring time: a validation row
        that is not in ``X``.

    Warns
    -----
    NoiseEstimateWarning
        At scoring time, when a fold's estimate of ``T`` is near-singular: that
        fold scores every candidate by its accuracy on the noisy labels, the
        estimate under ``T = I`` (the ranking falls back to noisy accuracy there
        rather than leaving the candidates unscored).

    See Also
    --------
    estimated_clean_accuracy : The metric, for a known ``T``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skloss.noise import clean_accuracy_scorer, make_noisy_labels
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy, _ = make_noisy_labels(y, 0.3, kind="pairflip", random_state=0)
    >>> scorer = clean_accuracy_scorer(X / 16, y_noisy, cv=3)
    >>> search = GridSearchCV(DecisionTreeClassifier(random_state=0),
    ...                       {"min_samples_leaf": [1, 20]}, scoring=scorer, cv=3)
    >>> search.fit(X / 16, y_noisy).best_params_
    {'min_samples_leaf': 20}
    """
    return CleanAccuracyScorer(
        X, y, estimator=estimator, cv=cv, random_state=random_state, refine=refine
    )
