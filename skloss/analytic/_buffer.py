"""The fixed random buffer layer: its weights, drawn from the seed, and its features.

The buffer expands the backbone's embeddings ``X_E`` into ``X_B = act(X_E @ W_B)``.
``W_B`` is drawn once, from ``random_state``, and never learned: with an int seed
it is a function of the parameters alone, so a pickle can leave it out and draw
it again (see :mod:`skloss.analytic._state`).
"""

import numpy as np
import torch
from sklearn.utils import check_random_state

from skloss.analytic import _backbone
from skloss.modules import ACTIVATIONS

__all__ = ["draw_weights", "features"]


def draw_weights(n_embedding, buffer_size, init, random_state):
    """The buffer weights ``W_B``, float64, on the CPU.

    Parameters
    ----------
    n_embedding : int
        Width of the backbone's output (rows of ``W_B``).
    buffer_size : int
        Width of the buffer (columns of ``W_B``).
    init : {"uniform", "normal"}
        ``U(-1/sqrt(n_embedding), 1/sqrt(n_embedding))`` (torch's ``nn.Linear``
        default) or ``N(0, 1)``.
    random_state : int, RandomState instance or None
        The seed; an int gives the same weights at every call.

    Returns
    -------
    torch.Tensor of shape (n_embedding, buffer_size)
        ``W_B``, float64.

    Examples
    --------
    >>> first = draw_weights(3, 4, "uniform", 0)
    >>> tuple(first.shape), bool((first.abs() <= 3**-0.5).all())
    ((3, 4), True)
    >>> bool((first == draw_weights(3, 4, "uniform", 0)).all())
    True
    """
    rng = check_random_state(random_state)
    if init == "uniform":
        bound = 1.0 / np.sqrt(n_embedding)
        weights = rng.uniform(-bound, bound, size=(n_embedding, buffer_size))
    else:
        weights = rng.standard_normal(size=(n_embedding, buffer_size))
    return torch.from_numpy(weights)


def features(backbone, buffer_weight, activation, rows):
    """``act(backbone(rows) @ W_B)``, float64 on the buffer's device.

    Parameters
    ----------
    backbone : None, object with ``transform`` or torch.nn.Module
        A resolved backbone (see :func:`skloss.analytic._backbone.resolve`).
    buffer_weight : torch.Tensor of shape (n_embedding, buffer_size)
        ``W_B``.
    activation : str
        A key of :data:`skloss.modules.ACTIVATIONS`.
    rows : {array-like, sparse matrix} of shape (n_rows, n_features)
        The batch.

    Returns
    -------
    torch.Tensor of shape (n_rows, buffer_size)
        ``X_B``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> weights = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    >>> features(None, weights, "relu", np.array([[2.0]]))
    tensor([[2., 0.]], dtype=torch.float64)
    """
    embedded = _backbone.embed(backbone, rows, buffer_weight.device)
    if embedded.shape[1] != buffer_weight.shape[0]:
        raise ValueError(
            f"backbone returned {embedded.shape[1]} features per row, but the buffer layer "
            f"was built for n_embedding_={buffer_weight.shape[0]} at the first fit. The "
            "backbone must stay frozen: do not refit or change it after fitting this "
            "classifier (or call fit to start afresh)."
        )
    return ACTIVATIONS[activation]()(embedded @ buffer_weight)
