"""Choosing a model when only noisy labels are at hand.

Under symmetric noise below ``(K - 1) / K`` the accuracy on noisy labels is an
increasing function of the clean accuracy (:func:`expected_noisy_accuracy`), so
models can be ranked on noisy validation labels; :func:`select_by_noisy_scores`
makes that choice per fold without looking at the fold it is scored on.
"""

from numbers import Integral

import numpy as np

__all__ = ["expected_noisy_accuracy", "select_by_noisy_scores"]


def expected_noisy_accuracy(clean_accuracy, rate, n_classes):
    """Expected accuracy on labels with symmetric noise, from the clean accuracy.

    A label is kept with probability ``1 - rate`` and otherwise replaced by one of
    the ``K - 1`` other classes uniformly: a correct prediction stays correct when
    its label is kept, a wrong one becomes correct when its label flips to exactly
    the predicted class (probability ``rate / (K - 1)``). So

    ``acc_noisy = (1 - rate) * acc + rate * (1 - acc) / (K - 1)``,

    an affine function of ``acc`` with slope ``1 - rate * K / (K - 1)``: increasing
    when ``rate < (K - 1) / K``. Below that rate, ranking models by their accuracy
    on noisy validation labels ranks them by clean accuracy in expectation, which
    is why cross-validation on noisy labels selects correctly (``skloss tune``).

    Parameters
    ----------
    clean_accuracy : float or array-like
        Accuracy on the true labels.
    rate : float
        Symmetric noise rate, in [0, 1].
    n_classes : int
        Number of classes ``K`` (at least 2).

    Returns
    -------
    float or ndarray
        The expected accuracy on the noisy labels.

    Examples
    --------
    >>> from skloss.noise import expected_noisy_accuracy
    >>> round(expected_noisy_accuracy(0.9, 0.4, 10), 4)
    0.5444
    """
    if not (isinstance(n_classes, Integral) and n_classes >= 2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}.")
    accuracy = np.asarray(clean_accuracy, dtype=float)
    result = (1 - rate) * accuracy + rate * (1 - accuracy) / (n_classes - 1)
    return float(result) if result.ndim == 0 else result


def select_by_noisy_scores(noisy_scores):
    """Leave-one-fold-out choice of a model from noisy-label scores.

    For each fold ``k``, the model with the best mean noisy-label score over the
    *other* folds: fold ``k``'s clean labels (and its noisy ones) take no part in
    choosing the model that fold ``k`` then scores, so the clean score of the
    choice is a nested estimate.

    Parameters
    ----------
    noisy_scores : dict
        Model name -> sequence of per-fold scores on noisy labels (all the same
        length, at least 2 folds).

    Returns
    -------
    list of str
        The model chosen for each fold.

    Examples
    --------
    >>> from skloss.noise import select_by_noisy_scores
    >>> select_by_noisy_scores({"ce": [0.5, 0.6, 0.4], "gce": [0.6, 0.5, 0.6]})
    ['gce', 'gce', 'ce']
    """
    names = list(noisy_scores)
    table = np.asarray([list(noisy_scores[name]) for name in names], dtype=float)
    if table.ndim != 2 or table.shape[1] < 2 or not names:
        raise ValueError(
            "noisy_scores must map each model to the same number (>= 2) of fold scores."
        )
    chosen = []
    for fold in range(table.shape[1]):
        others = np.delete(table, fold, axis=1).mean(axis=1)
        chosen.append(names[int(np.argmax(others))])  # ties: the first name listed
    return chosen
