"""Asymmetric label noise for the noise benchmark: random transition matrices, the error of
estimated ones, and model selection by estimated clean accuracy.

Used by ``benchmarks/noise_robustness.py``; nothing here sees a clean label except
:func:`transition_errors`, which measures the estimate against the realised noise
(a report, never an input to a model or a selection).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skloss.noise import estimate_transition, estimated_clean_accuracy
from skloss.noise.transition import _default_estimator

__all__ = [
    "DIAGONAL_RANGE",
    "DIRICHLET_ALPHA",
    "random_transition",
    "realised_transition",
    "scores_on_fold",
    "transition_errors",
]

#: Each class keeps its label with a probability drawn uniformly from this range ...
DIAGONAL_RANGE = (0.55, 0.85)
#: ... and spreads the rest over the other classes by a Dirichlet draw with this
#: concentration (below 1: a few classes take most of it, so the noise is asymmetric).
DIRICHLET_ALPHA = 0.5


def random_transition(n_classes, seed):
    """A class-dependent transition matrix: diagonal in ``DIAGONAL_RANGE``, rows Dirichlet.

    Row ``i`` is ``T[i, i] = d_i ~ U(DIAGONAL_RANGE)`` and ``(1 - d_i)`` times a
    ``Dirichlet(DIRICHLET_ALPHA)`` draw over the other classes, seeded by ``seed``.
    Every diagonal entry (>= 0.55) exceeds the rest of its row (<= 0.45), so the true
    class stays the most likely label of every class.
    """
    rng = np.random.RandomState(seed)
    matrix = np.zeros((n_classes, n_classes))
    for i in range(n_classes):
        keep = rng.uniform(*DIAGONAL_RANGE)
        others = np.arange(n_classes) != i
        matrix[i, others] = (1 - keep) * rng.dirichlet(np.full(n_classes - 1, DIRICHLET_ALPHA))
        matrix[i, i] = keep
    return matrix


def realised_transition(y_clean, y_noisy, n_classes):
    """The empirical ``P(noisy j | true i)`` of one draw of the noise (integer labels)."""
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (y_clean, y_noisy), 1)
    return counts / counts.sum(axis=1, keepdims=True)


def transition_errors(X, y_noisy, y_clean, seed, estimator=None, refine=None):
    """The estimate of ``T`` the corrected losses train with, and how far estimates are.

    Returns ``(T_hat, record)``: ``T_hat`` from :func:`skloss.noise.estimate_transition`
    with ``estimator`` (None: its default, ``LogisticRegression``; 5 folds seeded with
    ``seed``). ``record`` holds the mean absolute error against the realised transition
    matrix, and the mean noise rates (true and estimated), of: skloss's and cleanlab's
    estimates with the same ``LogisticRegression`` (``cleanlab.count.
    estimate_noise_matrices``, 5 folds: the oracle comparison of the method), and,
    when ``estimator`` is given, of ``T_hat`` (``"t_mae_used"``, ``"noise_rate_used"``),
    refined by ``refine`` when given (``estimate_transition(refine=...)``).
    """
    n_classes = int(y_clean.max()) + 1
    truth = realised_transition(y_clean, y_noisy, n_classes)
    estimate = estimate_transition(X, y_noisy, cv=5, random_state=seed)
    record = {
        "t_mae_skloss": float(np.abs(estimate.transition - truth).mean()),
        "noise_rate_true": float(np.mean(1 - np.diag(truth))),
        "noise_rate_skloss": float(np.mean(estimate.noise_rate)),
    }
    used = estimate.transition
    if estimator is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            other = estimate_transition(
                X, y_noisy, clone(estimator), cv=5, random_state=seed, refine=refine
            )
        used = other.transition
        record["t_mae_used"] = float(np.abs(used - truth).mean())
        record["noise_rate_used"] = float(np.mean(other.noise_rate))
    try:
        from cleanlab.count import estimate_noise_matrices
    except ImportError:
        return used, record
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noise_matrix, _ = estimate_noise_matrices(
            X, y_noisy, clf=clone(_default_estimator()), cv_n_folds=5, seed=seed
        )
    theirs = noise_matrix.T  # cleanlab's columns are the true classes
    record["t_mae_cleanlab"] = float(np.abs(theirs - truth).mean())
    record["noise_rate_cleanlab"] = float(np.mean(1 - np.diag(theirs)))
    return used, record


def scores_on_fold(y_valid_noisy, predicted, scoring_transition, n_classes):
    """``(noisy accuracy, estimated clean accuracy)`` of one fitted candidate on one fold.

    The estimate is :func:`skloss.noise.estimated_clean_accuracy` through the fold's
    scoring matrix: its estimated ``T``, or the identity where that ``T`` is too
    ill-conditioned to invert (``skloss.noise.clean_accuracy._scoring_transition``,
    decided once per fold, as :func:`skloss.noise.clean_accuracy_scorer` does).
    """
    noisy = float(np.mean(predicted == y_valid_noisy))
    clean = estimated_clean_accuracy(
        y_valid_noisy, predicted, transition=scoring_transition, labels=np.arange(n_classes)
    )
    return noisy, clean
