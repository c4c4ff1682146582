"""Scores of a classifier's outputs, whatever their width: the one place that knows
how a binary problem may be scored by one logit or by two.

A two-class network may output one logit (the score of ``classes_[1]``, as
``torch.nn.BCEWithLogitsLoss`` expects) or two (one per class, as softmax
losses expect); an analytic head outputs one score per class. Estimators turn
either into scikit-learn's conventions here.
"""

import torch

__all__ = ["decision_scores", "probability_columns", "predicted_codes"]


def decision_scores(scores):
    """scikit-learn's ``decision_function`` from raw scores (torch or numpy).

    One column is returned as it is (the score of the second class); two columns
    become their difference (second minus first); more are returned unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> decision_scores(np.array([[0.0, 2.0], [1.0, -1.0]]))
    array([ 2., -2.])
    """
    if scores.shape[1] == 1:
        return scores[:, 0]
    if scores.shape[1] == 2:
        return scores[:, 1] - scores[:, 0]
    return scores


def probability_columns(probabilities):
    """One probability column per class: a single column ``p`` becomes ``[1 - p, p]``.

    Examples
    --------
    >>> import torch
    >>> probability_columns(torch.tensor([[0.25]]))
    tensor([[0.7500, 0.2500]])
    """
    if probabilities.shape[1] == 1:
        return torch.cat([1 - probabilities, probabilities], dim=1)
    return probabilities


def predicted_codes(logits):
    """Encoded class predictions: a single logit predicts class 1 where it is positive.

    Examples
    --------
    >>> import torch
    >>> predicted_codes(torch.tensor([[0.5], [-0.5]])).tolist()
    [1, 0]
    """
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()
    return logits.argmax(dim=1)
