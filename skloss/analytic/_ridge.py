"""Recursive ridge regression in float64: the head of the analytic classifier.

The head is ``W = (X^T X + gamma I)^-1 X^T Y = R X^T Y`` over every row learned.
This module holds the linear algebra on torch tensors (no estimator, no data
handling): the joint solve, the Woodbury update of ``(R, W)`` by one batch, new
class columns, the merge of two solutions, and the memory an operation needs.
Everything is float64: the recursion subtracts nearly equal matrices at every
step, and float32 lets the error grow with the conditioning of ``R`` and the
number of steps (see the user guide).
"""

import torch

__all__ = [
    "add_class_columns",
    "check_memory",
    "downdate",
    "empty_solution",
    "memory_estimate",
    "merge_solutions",
    "solve",
    "woodbury_step",
]

FLOAT64_BYTES = 8
GIB = 2**30

# d x d float64 matrices held at the peak of each operation. partial_fit holds R
# and, on a call of several batches, the copy it learns on (the estimator's R is
# replaced only once the whole call succeeded); fit holds C, then its Cholesky
# factor and R (2 on CPU, 3 on CUDA, whose inverse takes a workspace); merge
# holds both estimators' R, C_a, C_b and then the factor and the new R (5.6
# measured on a CPU).
_SQUARES = {"partial_fit": 2, "fit": 3, "merge": 6}


def solve(batches, buffer_size, n_classes, gamma, device):
    """The joint ridge solution ``(W, R)`` of ``(features, targets)`` batches.

    Accumulates ``C = X^T X + gamma I`` and ``X^T Y``, then solves once by
    Cholesky: ``O(n d^2 + d^3)``.

    Parameters
    ----------
    batches : iterable of (torch.Tensor, torch.Tensor)
        ``(features, targets)`` pairs of shapes ``(b, buffer_size)`` and
        ``(b, n_classes)``, float64 on ``device``.
    buffer_size : int
        Width ``d`` of the features.
    n_classes : int
        Number of target columns.
    gamma : float
        Ridge penalty.
    device : torch.device
        Where the matrices live.

    Returns
    -------
    weight : torch.Tensor of shape (buffer_size, n_classes)
        ``W``.
    inverse : torch.Tensor of shape (buffer_size, buffer_size)
        ``R = C^-1``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    >>> Y = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    >>> weight, inverse = solve([(X, Y)], 1, 1, 1.0, "cpu")
    >>> round(weight.item(), 12), round(inverse.item(), 12)   # 1 / (1 + 4 + 1), 1 / 6
    (0.166666666667, 0.166666666667)
    """
    gram = torch.eye(buffer_size, dtype=torch.float64, device=device).mul_(gamma)
    cross = torch.zeros(buffer_size, n_classes, dtype=torch.float64, device=device)
    for features, targets in batches:
        gram.addmm_(features.T, features)
        cross.addmm_(features.T, targets)
    factor = _cholesky(gram, gamma)
    del gram
    return torch.cholesky_solve(cross, factor), torch.cholesky_inverse(factor)


def empty_solution(buffer_size, gamma, device):
    """The solution before any data: ``W`` without columns and ``R = I / gamma``.

    Examples
    --------
    >>> weight, inverse = empty_solution(2, 0.5, "cpu")
    >>> tuple(weight.shape), inverse.diagonal().tolist()
    ((2, 0), [2.0, 2.0])
    """
    inverse = torch.eye(buffer_size, dtype=torch.float64, device=device).div_(gamma)
    weight = torch.zeros(buffer_size, 0, dtype=torch.float64, device=device)
    return weight, inverse


def add_class_columns(weight, n_new):
    """``W`` with ``n_new`` zero columns appended, one per new class.

    A new class has scored 0 on every row learned so far, which is exactly what
    joint training's zero targets for it ask; its rows then carry a 1 in its
    column.

    Examples
    --------
    >>> import torch
    >>> add_class_columns(torch.ones(2, 1, dtype=torch.float64), 1).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    if not n_new:
        return weight
    return torch.cat([weight, weight.new_zeros(weight.shape[0], n_new)], dim=1)


def woodbury_step(inverse, weight, features, targets):
    """Learn one batch, without writing ``R``: the new ``W`` and the gain for :func:`downdate`.

    With ``P = R X^T`` and ``K = (I + X P)^-1``: ``W <- W + P K (Y - X W)`` and
    ``R <- R - P K P^T``. ``I + X P`` is symmetric positive definite, so it is
    factored as ``L L^T`` and ``P K P^T = G G^T`` with ``G = P L^-T``: R stays
    symmetric by construction and only triangular solves of size ``b`` are
    needed; ``O(b d^2)`` for ``b`` rows. Nothing passed in is written: the new
    ``W`` is a new tensor, and ``R``'s update is left to :func:`downdate`, so the
    caller chooses when the (costly to copy) ``R`` changes.

    Parameters
    ----------
    inverse : torch.Tensor of shape (d, d)
        ``R`` before the batch.
    weight : torch.Tensor of shape (d, n_classes)
        ``W`` before the batch, with a column for every class of ``targets``.
    features, targets : torch.Tensor
        The batch, ``(b, d)`` and ``(b, n_classes)``.

    Returns
    -------
    weight : torch.Tensor of shape (d, n_classes)
        ``W`` after the batch.
    gain_t : torch.Tensor of shape (b, d)
        ``G^T``, for :func:`downdate`.

    Raises
    ------
    ValueError
        If ``I + X P`` is not positive definite in float64 (features too large).

    Examples
    --------
    >>> import torch
    >>> weight, inverse = empty_solution(1, 1.0, "cpu")
    >>> weight = add_class_columns(weight, 1)
    >>> X = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    >>> Y = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    >>> weight, gain_t = woodbury_step(inverse, weight, X, Y)
    >>> downdate(inverse, gain_t)
    >>> round(weight.item(), 12), round(inverse.item(), 12)  # as solve() above
    (0.166666666667, 0.166666666667)
    """
    projected = inverse @ features.T  # P, d x b
    system = features @ projected
    system.diagonal().add_(1.0)
    factor, info = torch.linalg.cholesky_ex(system)
    if info.item() != 0:
        raise ValueError(
            "the recursive update lost positive definiteness (features too large for "
            "float64 at this gamma); standardise the features (a fitted StandardScaler "
            "as backbone) or raise gamma."
        )
    gain_t = torch.linalg.solve_triangular(factor, projected.T, upper=False)  # G^T, b x d
    residual = targets - features @ weight
    correction = torch.linalg.solve_triangular(factor, residual, upper=False)
    return torch.addmm(weight, gain_t.T, correction), gain_t


def downdate(inverse, gain_t):
    """``R <- R - G G^T`` in place: the second half of :func:`woodbury_step`.

    One call into torch that cannot fail for the shapes ``woodbury_step``
    returns, so a caller that runs it last changes ``R`` only once everything
    else has succeeded.

    Parameters
    ----------
    inverse : torch.Tensor of shape (d, d)
        ``R``, written in place.
    gain_t : torch.Tensor of shape (b, d)
        ``G^T`` from :func:`woodbury_step`.

    Examples
    --------
    >>> import torch
    >>> inverse = torch.eye(2, dtype=torch.float64)
    >>> downdate(inverse, torch.tensor([[0.5, 0.0]], dtype=torch.float64))
    >>> inverse.diagonal().tolist()
    [0.75, 1.0]
    """
    inverse.addmm_(gain_t.T, gain_t, alpha=-1.0)


def merge_solutions(first, second, second_columns, n_classes, gamma):
    """The joint solution of two disjoint data sets from their ``(W, R)``.

    With ``C_k = R_k^-1 = X_k^T X_k + gamma I`` and ``C_k W_k = X_k^T Y_k``::

        W = (C_a + C_b - gamma I)^-1 (C_a W_a + C_b W_b)

    (the penalty is counted once). Costs ``O(d^3)``.

    Parameters
    ----------
    first, second : tuple of (torch.Tensor, torch.Tensor)
        ``(W, R)`` of each data set, on one device. ``first``'s columns are the
        first columns of the result.
    second_columns : array-like of int
        The result's column of each of ``second``'s columns.
    n_classes : int
        Columns of the result.
    gamma : float
        The penalty both were fitted with.

    Returns
    -------
    weight, inverse : torch.Tensor
        ``W`` of shape ``(d, n_classes)`` and ``R`` of shape ``(d, d)``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    >>> Y = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    >>> a = solve([(X[:1], Y[:1])], 1, 1, 1.0, "cpu")
    >>> b = solve([(X[1:], Y[1:])], 1, 1, 1.0, "cpu")
    >>> weight, _ = merge_solutions(a, b, [0], 1, 1.0)
    >>> round(weight.item(), 12)  # as solve() on both rows
    0.166666666667
    """
    (weight_a, inverse_a), (weight_b, inverse_b) = first, second
    cross = weight_a.new_zeros(weight_a.shape[0], n_classes)
    gram = _spd_inverse(inverse_a, gamma)
    cross[:, : weight_a.shape[1]] = gram @ weight_a
    gram_b = _spd_inverse(inverse_b, gamma)
    columns = torch.as_tensor(second_columns, dtype=torch.long, device=weight_a.device)
    cross[:, columns] += gram_b @ weight_b
    gram += gram_b
    del gram_b
    gram.diagonal().sub_(gamma)
    factor = _cholesky(gram, gamma)
    del gram
    return torch.cholesky_solve(cross, factor), torch.cholesky_inverse(factor)


def memory_estimate(buffer_size, n_embedding, batch_size, operation):
    """Peak bytes of the float64 matrices an operation holds, and how many are d x d.

    Parameters
    ----------
    buffer_size : int
        ``d``.
    n_embedding : int
        Width of the backbone's output.
    batch_size : int
        Rows per update.
    operation : {"partial_fit", "fit", "merge"}
        What is about to run.

    Returns
    -------
    n_bytes : int
        The estimate.
    squares : int
        How many ``d x d`` matrices it counts.

    Examples
    --------
    >>> n_bytes, squares = memory_estimate(2048, 64, 256, "fit")
    >>> squares, round(n_bytes / 2**20)
    (3, 110)
    """
    d, b = buffer_size, batch_size
    squares = _SQUARES[operation]
    # Plus the buffer weights and a batch's features, projections and factor.
    other = d * n_embedding + 3 * b * d + b * b + b * n_embedding
    return FLOAT64_BYTES * (squares * d * d + other), squares


def check_memory(buffer_size, n_embedding, batch_size, operation, max_memory_bytes):
    """Refuse, before any work, an operation estimated to exceed ``max_memory_bytes``.

    Examples
    --------
    >>> check_memory(2048, 64, 256, "fit", None)   # None disables the check
    >>> check_memory(2048, 64, 256, "fit", 2**20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: buffer_size=2048 needs about 0.11 GiB for fit ...
    """
    if max_memory_bytes is None:
        return
    needed, squares = memory_estimate(buffer_size, n_embedding, batch_size, operation)
    if needed > max_memory_bytes:
        d = buffer_size
        raise ValueError(
            f"buffer_size={d} needs about {needed / GIB:.2f} GiB for {operation} "
            f"({squares} float64 {d} x {d} matrices of {FLOAT64_BYTES * d * d / GIB:.2f} "
            "GiB each, the inverse autocorrelation R and its workspace), above "
            f"max_memory_bytes={max_memory_bytes:.4g}. Lower buffer_size (memory "
            "grows with its square) or raise max_memory_bytes (None disables the check)."
        )


def _spd_inverse(matrix, gamma):
    return torch.cholesky_inverse(_cholesky(matrix, gamma))


def _cholesky(matrix, gamma):
    factor, info = torch.linalg.cholesky_ex(matrix)
    if info.item() != 0:
        raise ValueError(
            f"the regularised autocorrelation is not positive definite in float64 at "
            f"gamma={gamma}; raise gamma or standardise the features (a fitted "
            "StandardScaler as backbone)."
        )
    return factor
