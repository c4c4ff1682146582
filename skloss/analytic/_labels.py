"""The growing label set of a class-incremental stream.

``classes_`` only grows: a label is appended, with a new head column, the first
time a row of it is learned, and keeps its column (its code) for good. Each call
appends the labels new to it, sorted, so one call on everything equals ``fit``,
which sorts (scikit-learn's convention).
"""

import numpy as np
import torch

from skloss._input_checks import unique_labels

__all__ = ["append_labels", "check_label_kind", "grow_classes", "one_hot"]

_TEXTUAL_KINDS = frozenset("USO")


def check_label_kind(classes, y, name="y"):
    """Refuse labels of ``y`` whose kind (text or number) differs from ``classes``'.

    Text mixed with numbers gives a label set that cannot be sorted; booleans
    mixed with numbers would merge ``True`` with ``1`` and ``False`` with ``0``.
    (Object arrays of labels hold strings: scikit-learn refuses other ones.)

    Parameters
    ----------
    classes : ndarray
        The labels learned so far.
    y : array-like
        New labels.
    name : str, default="y"
        What ``y`` is, for the message.

    Examples
    --------
    >>> import numpy as np
    >>> check_label_kind(np.array([0, 1]), np.array([2]))
    >>> check_label_kind(np.array([0, 1]), np.array(["two"]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: y has labels of dtype <U3 but the classes learned so far [0, 1] ...
    """
    y = np.asarray(y)
    if _label_kind(classes) != _label_kind(y):
        raise ValueError(
            f"{name} has labels of dtype {y.dtype} but the classes learned so far "
            f"{classes.tolist()} have dtype {classes.dtype}; use one label type for the "
            "whole stream."
        )


def _label_kind(labels):
    if labels.dtype.kind in _TEXTUAL_KINDS:
        return "text"
    return "boolean" if labels.dtype.kind == "b" else "number"


def grow_classes(classes, y):
    """Append the labels of ``y`` not in ``classes`` (sorted); return classes and codes of y.

    Labels of mixed types in ``y`` get :func:`skloss._input_checks.unique_labels`'
    error, the one every estimator gives.

    Examples
    --------
    >>> import numpy as np
    >>> classes, codes = grow_classes(np.array([3, 1]), np.array([5, 1, 4]))
    >>> classes.tolist(), codes.tolist()
    ([3, 1, 4, 5], [3, 1, 2])
    """
    labels, inverse = unique_labels(y, return_inverse=True)
    classes, label_codes = append_labels(classes, labels)
    return classes, label_codes[inverse.reshape(-1)]


def append_labels(classes, labels):
    """Append the ``labels`` not in ``classes``, in their order; return classes and their codes.

    Examples
    --------
    >>> import numpy as np
    >>> classes, codes = append_labels(np.array(["b", "a"]), np.array(["c", "a"]))
    >>> classes.tolist(), codes.tolist()
    (['b', 'a', 'c'], [2, 1])
    """
    known = {label: code for code, label in enumerate(classes.tolist())}
    new = [label for label in labels.tolist() if label not in known]
    if new:
        classes = np.concatenate([classes, np.asarray(new, dtype=labels.dtype)])
        known.update({label: len(known) + i for i, label in enumerate(new)})
    return classes, np.array([known[label] for label in labels.tolist()], dtype=np.int64)


def one_hot(codes, n_classes, device):
    """float64 one-hot targets of integer ``codes``, one column per class.

    Examples
    --------
    >>> import numpy as np
    >>> one_hot(np.array([2, 0]), 3, "cpu")
    tensor([[0., 0., 1.],
            [1., 0., 0.]], dtype=torch.float64)
    """
    targets = torch.zeros(len(codes), n_classes, dtype=torch.float64, device=device)
    targets[torch.arange(len(codes)), torch.as_tensor(codes).to(device)] = 1.0
    return targets
