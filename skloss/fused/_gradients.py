"""The gradients of ``z = h W^T + b``, one chunk of ``dL/dz`` at a time.

Both fused backends differentiate the linear layer the same way. A chunk of
``dz = dL/dz`` for rows ``r0:r1`` and classes ``c0:c1`` contributes
``dz @ W[c0:c1]`` to the gradient of ``h``, ``dz^T @ h[r0:r1]`` to that of
``W`` and its column sums to that of ``b``. The backends differ only in how
they make a chunk of ``dz`` (torch operations, or a Triton kernel), which they
pass in as a function.
"""

import torch

__all__ = ["linear_gradients"]


def linear_gradients(h, weight, bias, needs, rows, cols, chunk_gradient):
    """Gradients of ``h``, ``weight`` and ``bias`` summed over chunks of ``dL/dz``.

    Parameters
    ----------
    h : torch.Tensor of shape (n_samples, n_features)
    weight : torch.Tensor of shape (n_classes, n_features)
    bias : torch.Tensor of shape (n_classes,) or None
    needs : tuple of 3 bool
        Whether the gradients of ``h``, ``weight`` and ``bias`` are wanted.
    rows, cols : int
        The chunk shape.
    chunk_gradient : callable
        ``chunk_gradient(r0, r1, c0, c1) -> (dz, column_sums)``: the chunk of
        ``dL/dz`` in the input dtype, or None when it is known to be zero, and
        its column sums in the accumulation dtype (None when the bias gradient
        is not wanted).

    Returns
    -------
    grad_h, grad_weight, grad_bias : torch.Tensor or None
        In the dtypes of the inputs; None where not wanted.
    """
    need_h, need_w, need_b = needs
    n_rows, n_classes = h.shape[0], weight.shape[0]
    # Half-precision gradients are summed in float32 and rounded once.
    acc = torch.promote_types(h.dtype, torch.float32)
    # With every row in one chunk, a chunk's dz^T h is final: it is written once,
    # in the weight's dtype, as the naive path rounds it, and no float32 copy of
    # the weight gradient is needed. Otherwise it is summed over row chunks.
    one_row_chunk = rows >= n_rows
    grad_h = torch.zeros(n_rows, h.shape[1], dtype=acc, device=h.device) if need_h else None
    grad_w = None
    if need_w:
        grad_w = torch.empty_like(weight) if one_row_chunk else torch.zeros_like(weight, dtype=acc)
    grad_b = torch.zeros(n_classes, dtype=acc, device=h.device) if need_b else None
    for r0 in range(0, n_rows, rows):
        r1 = min(r0 + rows, n_rows)
        for c0 in range(0, n_classes, cols):
            c1 = min(c0 + cols, n_classes)
            dz, column_sums = chunk_gradient(r0, r1, c0, c1)
            if need_b:
                grad_b[c0:c1] += column_sums
            if dz is None:
                if need_w and one_row_chunk:
                    grad_w[c0:c1].zero_()
                continue
            if need_h:
                _add_product(grad_h[r0:r1], dz, weight[c0:c1])
            if need_w:
                if one_row_chunk:
                    torch.mm(dz.T, h[r0:r1], out=grad_w[c0:c1])
                else:
                    _add_product(grad_w[c0:c1], dz.T, h[r0:r1])
            # Freed before the next chunk is made: one chunk of dz alive at a time.
            del dz
    return (
        grad_h.to(h.dtype) if need_h else None,
        grad_w.to(weight.dtype) if need_w else None,
        grad_b.to(bias.dtype) if need_b else None,
    )


def _add_product(out, a, b):
    if out.dtype == a.dtype:
        out.addmm_(a, b)  # in place: no product-sized temporary
    else:
        out += a @ b
