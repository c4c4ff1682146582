"""Estimating the noise: the class-transition matrix, by the confident joint.

Under class-conditional label noise a sample of true class ``i`` carries the
noisy label ``j`` with probability ``T[i, j]``. :func:`estimate_transition`
estimates ``T`` from the noisy labels alone, with out-of-fold predicted
probabilities and the *confident joint* of Northcutt, Jiang and Chuang (JAIR
2021); :func:`transition_from_proba` is the same estimate from probabilities the
caller already has.

The method, for labels ``y`` and out-of-fold probabilities ``P`` (columns in the
order of the classes):

1. per-class thresholds ``t_j``: the mean of ``P[n, j]`` over the samples labelled
   ``j`` (how confident the model is, on average, in a sample of that label);
2. the confident joint ``C[i, j]``: the samples labelled ``j`` whose most probable
   class among those above their threshold (``P[n, k] >= t_k``) is ``i``; samples
   with no class above its threshold are not counted;
3. calibration: each noisy-label column of ``C`` is rescaled to the number of
   samples with that label, and the whole to a distribution, the joint
   ``Q[i, j] ~ P(true i, noisy j)``;
4. ``T[i, j] = Q[i, j] / sum_j Q[i, j]``; ``1 - T[i, i]`` is class ``i``'s noise rate.

The count takes the model's confident guesses for the true classes, so the model's
own errors count as noise: an estimator that fits the classes poorly overstates
it. ``estimate_transition(refine=...)`` refines the estimate once: a skloss
network trained on the same folds with the forward correction through the first
estimate models the *clean* classes, and the confident joint of its out-of-fold
probabilities counts the flips again, with fewer of the first model's errors.
"""

import warnings
from collections import namedtuple
from numbers import Integral

import numpy as np
from sklearn.base import clone, is_classifier

from skloss.noise.folds import _check_cv, _n_samples
from skloss.noise.injection import _check_labels

__all__ = ["TransitionEstimate", "estimate_transition", "transition_from_proba"]

TransitionEstimate = namedtuple(
    "TransitionEstimate", "transition noise_rate classes prior confident_joint pred_proba"
)
TransitionEstimate.__doc__ = """What :func:`estimate_transition` finds out about the noise.

Attributes
----------
transition : ndarray of shape (n_classes, n_classes)
    ``T[i, j]``, the estimated probability that a sample of true class
    ``classes[i]`` carries the noisy label ``classes[j]``; rows sum to 1.
noise_rate : ndarray of shape (n_classes,)
    ``1 - T[i, i]``: the estimated share of class ``i``'s samples whose label is
    wrong.
classes : ndarray of shape (n_classes,)
    The classes, sorted (the order of rows and columns).
prior : ndarray of shape (n_classes,)
    The estimated share of each *true* class (rows of the calibrated joint).
confident_joint : ndarray of shape (n_classes, n_classes), dtype=int
    The confident counts before calibration: ``confident_joint[i, j]`` samples
    labelled ``classes[j]`` were confidently recognised as ``classes[i]``.
pred_proba : ndarray of shape (n_samples, n_classes)
    The out-of-fold predicted probabilities the estimate was made from.
"""

# Probabilities that equal a threshold up to rounding count as reaching it (a class
# whose samples all get the same probability has that probability as its mean).
_THRESHOLD_TOLERANCE = 1e-12


def _check_proba(pred_proba, n_samples, n_classes):
    try:
        proba = np.array(pred_proba, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("pred_proba must be an array of probabilities.") from None
    if proba.shape != (n_samples, n_classes):
        raise ValueError(
            f"pred_proba must have shape (n_samples, n_classes) = ({n_samples}, {n_classes}): "
            f"one row per label of y and one column per class, got shape {proba.shape}."
        )
    if not np.isfinite(proba).all() or (proba < 0).any() or (proba > 1).any():
        raise ValueError("pred_proba must hold finite probabilities in [0, 1].")
    return proba


def transition_from_proba(y, pred_proba, classes=None):
    """Estimate the transition matrix from noisy labels and out-of-fold probabilities.

    The confident-joint estimate of Northcutt et al. (2021); see the module
    documentation for the steps. ``pred_proba`` must be *out of sample* for
    each row (cross-validated): probabilities of a model that saw the row's
    label fit that label and hide the noise.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The noisy labels.
    pred_proba : array-like of shape (n_samples, n_classes)
        Out-of-fold predicted probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,), default=None
        The classes, sorted; default ``np.unique(y)``. Every class must occur in ``y``.

    Returns
    -------
    TransitionEstimate
        ``(transition, noise_rate, classes, prior, confident_joint, pred_proba)``.

    Raises
    ------
    ValueError
        If ``y`` is not a label vector of at least two classes, ``classes`` is not
        the sorted set of labels of ``y``, or ``pred_proba`` is not an
        ``(n_samples, n_classes)`` array of probabilities.

    Warns
    -----
    UserWarning
        When no sample is confidently recognised as some class: its row of ``T``
        cannot be estimated and is set to no noise.

    See Also
    --------
    estimate_transition : The same, computing the out-of-fold probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from skloss.noise import transition_from_proba
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> # The last sample labelled 0 looks like a 1, and the last labelled 1 like a 0.
    >>> p1 = np.array([0.1, 0.2, 0.1, 0.9, 0.8, 0.9, 0.7, 0.2])
    >>> estimate = transition_from_proba(y, np.column_stack([1 - p1, p1]))
    >>> estimate.transition
    array([[0.75, 0.25],
           [0.25, 0.75]])
    >>> estimate.noise_rate
    array([0.25, 0.25])
    """
    y, found, codes = _check_labels(y)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.ndim != 1 or not np.array_equal(classes, found):
            raise ValueError(
                f"classes must be the sorted classes of y, {found.tolist()}; got "
                f"{classes.tolist() if classes.ndim == 1 else classes!r}. Every class "
                "needs samples with its label to set its threshold."
            )
    classes = found
    n_classes = len(classes)
    proba = _check_proba(pred_proba, len(y), n_classes)
    label_counts = np.bincount(codes, minlength=n_classes)
    # 1. Thresholds: the mean self-confidence of each noisy label.
    thresholds = np.bincount(codes, weights=proba[np.arange(len(codes)), codes]) / label_counts
    # 2. Confident joint: rows true (guessed) classes, columns noisy labels.
    confident = proba >= thresholds - _THRESHOLD_TOLERANCE
    counted = confident.any(axis=1)
    guess = np.where(confident, proba, -np.inf).argmax(axis=1)
    pairs = guess[counted] * n_classes + codes[counted]
    confident_joint = np.bincount(pairs, minlength=n_classes**2).reshape(n_classes, n_classes)
    # 3. Calibration: each noisy label's column sums to its count. A label with no
    # confident sample says nothing about its true classes: it is taken as clean.
    calibrated = confident_joint.astype(np.float64)
    silent = calibrated.sum(axis=0) == 0
    calibrated[np.flatnonzero(silent), np.flatnonzero(silent)] = 1.0
    calibrated *= label_counts / calibrated.sum(axis=0)
    joint = calibrated / calibrated.sum()
    # 4. Rows of the joint, normalised: P(noisy j | true i).
    prior = joint.sum(axis=1)
    unseen = prior == 0
    if unseen.any():
        warnings.warn(
            f"No sample was confidently recognised as class(es) "
            f"{classes[unseen].tolist()}: their noise cannot be estimated and is set to "
            "0 (an identity row of T). Better out-of-fold probabilities (a stronger "
            "estimator, more data) usually fix this.",
            UserWarning,
        )
    transition = np.eye(n_classes)
    transition[~unseen] = joint[~unseen] / prior[~unseen, None]
    return TransitionEstimate(
        transition, 1.0 - np.diag(transition), classes, prior, confident_joint, proba
    )


def _default_estimator():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _check_estimator(estimator):
    if estimator is None:
        return _default_estimator()
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
        raise ValueError(
            "estimator must be a scikit-learn classifier with predict_proba (or None for "
            f"the default), got {estimator!r}."
        )
    if not is_classifier(estimator):
        raise ValueError(
            f"estimator must be a classifier (its out-of-fold class probabilities are what "
            f"the estimate is made from), got {type(estimator).__name__}."
        )
    return clone(estimator)


def _check_random_state(random_state):
    if random_state is None or (
        isinstance(random_state, Integral)
        and not isinstance(random_state, bool)
        and 0 <= random_state < 2**32
    ):
        return random_state
    raise ValueError(
        f"random_state must be None or an int in [0, 2**32 - 1], got {random_state!r}; it "
        "seeds the shuffled folds."
    )


def _check_partition(splits, n_samples):
    held_out = np.concatenate([np.asarray(test) for _, test in splits])
    if len(held_out) != n_samples or not np.array_equal(np.sort(held_out), np.arange(n_samples)):
        raise ValueError(
            "cv must hold out every sample exactly once (a partition, as K-fold does): "
            "each sample needs one out-of-fold probability."
        )


def _loss_parameter(model):
    """The name under which ``model`` (or the last step of a Pipeline) takes its ``loss``."""
    if "loss" in model.get_params(deep=False):
        return "loss"
    steps = getattr(model, "steps", None)
    if steps and "loss" in steps[-1][1].get_params(deep=False):
        return f"{steps[-1][0]}__loss"
    return None


def _check_refine(refine):
    """``(clone of refine, its loss parameter)``, or ``(None, None)`` without one."""
    if refine is None:
        return None, None
    if not (hasattr(refine, "fit") and hasattr(refine, "predict_proba") and is_classifier(refine)):
        raise ValueError(
            "refine must be a skloss classifier with predict_proba that takes a 'loss' "
            f"(skloss.RobustLossClassifier, or a Pipeline ending in one), or None, got "
            f"{refine!r}."
        )
    parameter = _loss_parameter(refine)
    if parameter is None:
        raise ValueError(
            f"refine must take a 'loss' parameter (as skloss.RobustLossClassifier does, or "
            f"a Pipeline ending in it): it is trained with the forward-corrected loss; "
            f"{type(refine).__name__} has none."
        )
    return clone(refine), parameter


def estimate_transition(X, y, estimator=None, cv=5, *, random_state=None, refine=None):
    """Estimate the class-transition matrix of noisy labels, and each class's noise rate.

    Out-of-fold probabilities of ``estimator`` (``cv`` fits) are turned into an
    estimate of ``T[i, j] = P(noisy label j | true class i)`` by the confident
    joint of Northcutt et al. (2021), see :func:`transition_from_proba`. Symmetric
    noise shows as an even spread off the diagonal, pair-flip noise as one large
    entry per row, and a clean class as a diagonal entry near 1.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Features, as ``estimator`` takes them.
    y : array-like of shape (n_samples,)
        The noisy labels; every class needs at least ``cv`` samples.
    estimator : classifier, default=None
        Cloned and fitted once per fold; needs ``predict_proba``. The estimate is
        only as good as its probabilities: a model that fits the noisy labels
        exactly (a long-trained network) hides the noise, and a model that
        underfits (a linear model on nonlinear classes) counts its own errors as
        noise and overstates it. None is ``LogisticRegression(max_iter=1000)``,
        cleanlab's default as well; on nonlinear data a network with early
        stopping estimates ``T`` better (``docs/user_guide/noise.rst``).
    cv : int, cross-validation splitter or iterable, default=5
        How to get out-of-fold probabilities: an int is the number of folds of a
        shuffled :class:`~sklearn.model_selection.StratifiedKFold` seeded with
        ``random_state``; a splitter or an iterable of ``(train, test)`` pairs
        must hold out every sample exactly once.
    random_state : int, default=None
        Seeds the shuffled folds (not the estimator: set its own ``random_state``).
    refine : skloss classifier, default=None
        One refinement of the estimate: a classifier that takes a ``loss``
        (:class:`skloss.RobustLossClassifier`, or a Pipeline ending in one),
        trained on the same folds with the forward-corrected loss through the
        first estimate; the confident joint of its out-of-fold probabilities of
        the *clean* classes is the returned estimate. The first estimate counts
        ``estimator``'s own errors as noise; the corrected network makes fewer of
        them, so its count is closer to the true flips, provided it classifies
        better than ``estimator`` (a network on unscaled inputs may not).
        ``cv`` more fits. None: no refinement.

    Returns
    -------
    TransitionEstimate
        ``(transition, noise_rate, classes, prior, confident_joint, pred_proba)``:
        the estimated ``T`` (rows true classes, columns noisy labels, both
        ``classes`` in sorted order), ``1 - diag(T)``, the estimated clean class
        shares, the confident counts and the out-of-fold probabilities (of
        ``refine`` when given).

    Raises
    ------
    ValueError
        Before any fit: if ``X`` and ``y`` differ in length, ``y`` has fewer than
        two classes or a class with fewer than ``cv`` samples, ``estimator`` is
        not a classifier with ``predict_proba``, ``refine`` does not take a
        ``loss``, or ``cv`` is not a partition.

    See Also
    --------
    transition_from_proba : The estimate from probabilities already at hand.
    skloss.noise.LossCorrectionClassifier : Trains with the loss corrected by it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skloss.noise import estimate_transition, make_noisy_labels
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy, _ = make_noisy_labels(y, 0.2, kind="pairflip", random_state=0)
    >>> estimate = estimate_transition(X / 16, y_noisy, random_state=0)
    >>> estimate.transition.shape
    (10, 10)
    >>> # Each class flips to the next: the estimate finds that pattern.
    >>> bool((estimate.transition.argsort(axis=1)[:, -2] == (np.arange(10) + 1) % 10).all())
    True
    >>> estimate.noise_rate.round(1)  # 20% of each class's labels were flipped
    array([0.2, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.2])
    """
    n_samples = _n_samples(X)
    y, classes, codes = _check_labels(y)
    if len(y) != n_samples:
        raise ValueError(
            f"X and y must have the same number of samples, got {n_samples} rows in X and "
            f"{len(y)} labels in y."
        )
    estimator = _check_estimator(estimator)
    refine, loss_parameter = _check_refine(refine)
    splits = _check_cv(cv, codes, n_samples, _check_random_state(random_state))
    _check_partition(splits, n_samples)
    from sklearn.model_selection import cross_val_predict

    pred_proba = cross_val_predict(estimator, X, y, cv=splits, method="predict_proba")
    estimate = transition_from_proba(y, pred_proba)
    if refine is None:
        return estimate
    from skloss.losses import ForwardCorrection

    refine.set_params(**{loss_parameter: ForwardCorrection(estimate.transition)})
    clean_proba = cross_val_predict(refine, X, y, cv=splits, method="predict_proba")
    return transition_from_proba(y, clean_proba)
