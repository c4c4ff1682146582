"""Independent numpy references shared by the tests of the loss families.

Each formula is written from its paper's definition in numpy float64 (softmax in
numpy, clipped one-hot labels written out in full), never from the implementation
under test.
"""

import math

import numpy as np

from skloss.losses import Loss

_LOG_1E4 = math.log(1e-4)


def np_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_p_y(z, y):
    return np_softmax(z)[np.arange(len(y)), y]


def np_reverse_ce(z, y, log_clip):
    """``-sum_k p_k log q_k`` with the one-hot label ``q`` clipped at ``exp(log_clip)``."""
    p = np_softmax(z)
    clipped = np.clip(np.eye(p.shape[1])[y], math.exp(log_clip), 1.0)
    return -(p * np.log(clipped)).sum(axis=1)


def np_ce(z, y):
    return -np.log(np_p_y(z, y))


def np_comp_sum(z, y, tau):
    z = np.asarray(z, dtype=np.float64)
    rows = np.arange(len(y))
    u = np.exp(z - z[rows, y][:, None]).sum(axis=1) - 1.0  # drop the k = y term, exp(0)
    if tau == 1:
        return np.log1p(u)
    return ((1.0 + u) ** (1.0 - tau) - 1.0) / (1.0 - tau)


def np_gce(z, y, q):
    return (1.0 - np_p_y(z, y) ** q) / q


def np_mae(z, y):
    return 1.0 - np_p_y(z, y)


def np_focal(z, y, gamma, alpha=None):
    p = np_p_y(z, y)
    if alpha is None:
        weight = np.ones_like(p)
    elif np.isscalar(alpha):
        weight = np.where(y == 1, alpha, 1.0 - alpha)
    else:
        weight = np.asarray(alpha, dtype=np.float64)[y]
    return -weight * (1.0 - p) ** gamma * np.log(p)


def np_smoothed_ce(z, y, eps):
    n_classes = np.shape(z)[1]
    soft_target = (1.0 - eps) * np.eye(n_classes)[y] + eps / n_classes
    return -(soft_target * np.log(np_softmax(z))).sum(axis=1)


def np_nce(z, y):
    log_p = np.log(np_softmax(z))
    return log_p[np.arange(len(y)), y] / log_p.sum(axis=1)


#: The logits and labels of the hand-computed reference values (``z = [2, 1, 0]``).
REFERENCE_Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
REFERENCE_Y = [0, 2]


def _stable_id(value):
    # Functions' reprs hold memory addresses, which differ between xdist workers.
    if callable(value) and not isinstance(value, Loss):
        return getattr(value, "__name__", "callable")
    return repr(value)


def random_bags(n_rows, size, seed=0):
    """Random bags of ``size`` rows (the last may be smaller), ids in random order."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_rows) // size * 7 + 3  # ids need not be 0 .. n_bags - 1


def bag_mean_of(values, bags):
    """Each row's bag mean (numpy), the aggregate response repeated on its rows."""
    _, codes = np.unique(bags, return_inverse=True)
    return (np.bincount(codes, values) / np.bincount(codes))[codes]
