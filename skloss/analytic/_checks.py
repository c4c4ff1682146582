"""What a call checks before it learns or predicts: the data, the labels, and the estimator.

Every check here runs before any work and raises an error that names the
argument (or the parameter) and the fix; none writes into its input. The
validation of ``X`` binds ``n_features_in_`` / ``feature_names_in_`` on a first
fit, as scikit-learn's ``validate_data`` does; the caller's
:func:`skloss.analytic._state.all_or_nothing` puts them back if the call fails.
"""

from numbers import Real

import numpy as np
import torch
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from skloss._input_checks import check_no_categorical, unique_labels
from skloss.analytic import _backbone, _labels

__all__ = [
    "check_classes_guard",
    "check_learning_state",
    "check_mergeable",
    "check_model_parameters_unchanged",
    "drop_zero_weight",
    "validate_features",
    "validate_training_data",
]


def validate_features(estimator, X, reset):
    """``X`` as the feature map takes it; with a transformer backbone, as given.

    Parameters
    ----------
    estimator : AnalyticIncrementalClassifier
        The estimator (its backbone decides what ``X`` may be).
    X : object
        The features passed to the call.
    reset : bool
        Whether this is a first fit (records ``n_features_in_``).

    Returns
    -------
    object
        ``X``, validated.
    """
    if _transformer_input(estimator, reset):
        # Checks n_features_in_ / feature names only; the transformer checks values.
        return validate_data(estimator, X, reset=reset, skip_check_array=True)
    # The raw features go to the buffer layer (or a torch module) as numbers.
    check_no_categorical(X, type(estimator).__name__)
    return validate_data(
        estimator, X, reset=reset, accept_sparse="csr", dtype=(np.float64, np.float32)
    )


def validate_training_data(estimator, X, y, sample_weight, reset):
    """``(X, y, sample_weight)`` of ``fit`` or ``partial_fit``, validated.

    Parameters
    ----------
    estimator : AnalyticIncrementalClassifier
        The estimator.
    X, y, sample_weight : object
        What the call got.
    reset : bool
        Whether this is a first fit.

    Returns
    -------
    X : object
        The features, validated.
    y : ndarray of shape (n_samples,)
        The labels.
    weight : ndarray of shape (n_samples,) or None
        The row weights, float64.
    """
    if _transformer_input(estimator, reset):
        X = validate_data(estimator, X, reset=reset, skip_check_array=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
    else:
        check_no_categorical(X, type(estimator).__name__)
        X, y = validate_data(
            estimator, X, y, reset=reset, accept_sparse="csr", dtype=(np.float64, np.float32)
        )
    unique_labels(y)  # labels of mixed types: a clear error before scikit-learn's
    check_classification_targets(y)
    weight = None
    if sample_weight is not None:
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not reset and len(estimator.classes_):
        _labels.check_label_kind(estimator.classes_, y)
    return X, y, weight


def _transformer_input(estimator, reset):
    # After the first fit, the fitted backbone decides, not a changed parameter.
    return _backbone.is_transformer(estimator.backbone if reset else estimator.backbone_)


def check_classes_guard(classes, y):
    """Check ``partial_fit``'s ``classes``: every label of ``y`` must be in it.

    Parameters
    ----------
    classes : array-like
        The guard.
    y : array-like
        The labels of the call.

    Examples
    --------
    >>> check_classes_guard([0, 1, 2], [2, 0])
    >>> check_classes_guard([0, 1], [2, 0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: y contains labels [2] that are not in classes=[0, 1]. ...
    """
    guard = unique_labels(np.asarray(classes), name="classes").tolist()
    # Membership, not np.setdiff1d: labels of another type than the guard's are
    # unknown to it, not an error of sorting.
    known = set(guard)
    unknown = [label for label in unique_labels(y).tolist() if label not in known]
    if unknown:
        raise ValueError(
            f"y contains labels {unknown} that are not in classes={guard}. classes is "
            "only a guard here (new labels may appear at any call); pass classes=None "
            "to accept any label."
        )


def drop_zero_weight(X, y, weight):
    """Keep the rows of positive weight (those of weight 0 are not learned).

    Parameters
    ----------
    X : object
        Validated features.
    y : ndarray
        Labels.
    weight : ndarray or None
        Row weights.

    Returns
    -------
    X, y, weight
        The rows of positive weight (all of them when ``weight`` is None).

    Examples
    --------
    >>> import numpy as np
    >>> X, y, weight = drop_zero_weight(np.eye(3), np.arange(3), np.array([1.0, 0.0, 2.0]))
    >>> y.tolist(), weight.tolist()
    ([0, 2], [1.0, 2.0])
    """
    if weight is None or np.all(weight > 0):
        return X, y, weight
    keep = np.flatnonzero(weight > 0)
    return _safe_indexing(X, keep), y[keep], weight[keep]


def check_learning_state(estimator, operation, whose="this estimator"):
    """Refuse to learn on after ``drop_learning_state`` removed ``R``.

    Parameters
    ----------
    estimator : AnalyticIncrementalClassifier
        A fitted estimator.
    operation : str
        What is about to run, for the message.
    whose : str, default="this estimator"
        Which estimator it is, for the message.
    """
    if estimator.inverse_autocorrelation_ is None:
        raise ValueError(
            f"{operation} needs inverse_autocorrelation_, the learning state that "
            f"drop_learning_state() removed from {whose}, which can only predict now. "
            "Call fit to learn afresh, or learn on with a copy kept before "
            "drop_learning_state()."
        )


def check_model_parameters_unchanged(estimator, operation, names):
    """Refuse to go on after ``set_params`` changed a parameter the learned solution depends on.

    Parameters
    ----------
    estimator : AnalyticIncrementalClassifier
        A fitted estimator.
    operation : str
        What is about to run, for the message.
    names : tuple of str
        The parameters to compare with those recorded at the first fit.
    """
    recorded = getattr(estimator, "_model_parameters", None)
    if recorded is None:  # unpickled from a version that did not record them
        return
    for name in names:
        before, now = recorded[name], getattr(estimator, name)
        if not _same_parameter(before, now):
            raise ValueError(
                f"{name} was {before!r} when this estimator was first fitted and is "
                f"{now!r} now, but its learned weights belong to the first; {operation} "
                f"would mix the two. Set it back (set_params({name}=...)) or call fit to "
                "start afresh with the new value."
            )


def _same_parameter(before, now):
    if before is now:
        return True
    plain = (Real, str)
    return isinstance(before, plain) and isinstance(now, plain) and before == now


def check_mergeable(estimator, other):
    """Refuse to merge estimators whose features are not the same function of ``X``.

    Parameters
    ----------
    estimator, other : AnalyticIncrementalClassifier
        Fitted estimators.
    """
    problems = []
    for name in ("buffer_size", "gamma", "activation", "n_features_in_", "n_embedding_"):
        if getattr(estimator, name) != getattr(other, name):
            problems.append(f"{name} ({getattr(estimator, name)!r} vs {getattr(other, name)!r})")
    if not problems and not torch.equal(
        estimator.buffer_weight_, other.buffer_weight_.to(estimator.buffer_weight_.device)
    ):
        problems.append("buffer weights (use the same init and an int random_state)")
    if not _backbone.same_backbone(estimator.backbone_, other.backbone_):
        problems.append("backbone (different objects or weights; share one fitted backbone)")
    if problems:
        raise ValueError(
            "merge needs estimators that share backbone, buffer and gamma, so that "
            "their features are the same function of X; these differ: " + "; ".join(problems) + "."
        )
