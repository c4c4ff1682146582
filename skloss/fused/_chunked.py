"""The chunked backend: logit statistics in pure torch, any device.

The logits ``z = h W^T + b`` are formed one ``(rows, cols)`` block at a time,
reduced to per-row statistics, and dropped. The backward pass recomputes each
block (one extra ``h W^T`` product, the price of never storing ``z``), turns it
into its block of ``dL/dz`` from the per-row coefficients ``dL/ds`` that
autograd hands it, and accumulates the three gradient products. Peak memory is
a few blocks plus the gradients themselves, whatever the number of classes.
"""

import math

import torch

from ._gradients import linear_gradients

__all__ = ["chunked_statistics", "plan_blocks", "MIN_ROWS"]

#: Rows per block never go below this (unless the batch is smaller): narrower
#: blocks make the ``dz^T h`` product of the weight gradient too thin for BLAS.
MIN_ROWS = 128


def plan_blocks(n_rows, n_classes, itemsize, chunk_bytes):
    """Choose the block shape ``(rows, cols)`` for a byte budget.

    Parameters
    ----------
    n_rows, n_classes : int
        The logits' shape.
    itemsize : int
        Bytes per logit in the accumulation dtype.
    chunk_bytes : int
        Budget for one block of logits; the backend holds about one or two
        such blocks at a time.

    Returns
    -------
    rows, cols : int
        The whole logits when they fit the budget. Otherwise blocks as square
        as the budget allows, with at least ``MIN_ROWS`` rows: the backward
        products ``dz @ W`` and ``dz^T @ h`` have ``cols`` and ``rows`` as their
        inner sizes, and on a CPU both run fastest when neither is thin
        (measured: 2048 x 4096 blocks were 1.9x faster than 128 x 16384 ones).

    Examples
    --------
    >>> plan_blocks(8192, 1000, 4, 64 * 2**20)
    (8192, 1000)
    >>> plan_blocks(8192, 131072, 4, 64 * 2**20)
    (4096, 4096)
    >>> plan_blocks(300, 131072, 4, 2**20)
    (300, 873)
    """
    if n_rows * n_classes * itemsize <= chunk_bytes:
        return n_rows, n_classes
    elements = max(1, chunk_bytes // itemsize)
    rows = min(n_rows, max(MIN_ROWS, _floor_power_of_two(math.isqrt(elements))))
    cols = min(n_classes, max(1, elements // rows))
    if cols == n_classes:
        # Every class fits in one block: spend the rest of the budget on rows.
        rows = min(n_rows, max(rows, elements // n_classes))
    return rows, cols


def _floor_power_of_two(value):
    return 1 << (max(1, value).bit_length() - 1)


def _accumulation_dtype(dtype):
    # float16/bfloat16 statistics and gradients are accumulated in float32;
    # float64 stays float64 (gradcheck).
    return torch.promote_types(dtype, torch.float32)


def _logit_block(h_rows, weight_cols, bias_cols, dtype):
    """One block ``h W^T + b`` in the input dtype, returned in ``dtype``."""
    if bias_cols is None:
        block = h_rows @ weight_cols.T
    else:
        block = torch.addmm(bias_cols, h_rows, weight_cols.T)
    return block if block.dtype == dtype else block.to(dtype)


class _ChunkedStatistics(torch.autograd.Function):
    """``(S, n)`` statistics of ``h W^T + b``, computed and differentiated in blocks."""

    @staticmethod
    def forward(ctx, h, weight, bias, target, statistics, temperature, rows, cols):
        n_rows = h.shape[0]
        acc = _accumulation_dtype(h.dtype)
        index = {name: i for i, name in enumerate(statistics)}
        out = torch.empty(len(statistics), n_rows, dtype=acc, device=h.device)
        for r0 in range(0, n_rows, rows):
            r1 = min(r0 + rows, n_rows)
            _rows_statistics(
                out[:, r0:r1],
                index,
                h[r0:r1],
                weight,
                bias,
                target[r0:r1],
                temperature,
                cols,
                acc,
            )
        ctx.save_for_backward(h, weight, bias, target, out)
        ctx.statistics, ctx.temperature, ctx.rows, ctx.cols = statistics, temperature, rows, cols
        ctx.mark_non_differentiable(target)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_stats):
        h, weight, bias, target, stats = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:3])
        n_classes = weight.shape[0]
        acc = stats.dtype
        index = {name: i for i, name in enumerate(ctx.statistics)}

        def chunk_gradient(r0, r1, c0, c1):
            # Recompute the block, then turn it into dL/dz in place.
            z = _logit_block(h[r0:r1], weight[c0:c1], None if bias is None else bias[c0:c1], acc)
            dz = _logit_gradient(
                z,
                grad_stats[:, r0:r1],
                stats[:, r0:r1],
                index,
                target[r0:r1],
                c0,
                n_classes,
                ctx.temperature,
            )
            column_sums = dz.sum(dim=0) if needs[2] else None
            return dz.to(h.dtype), column_sums

        grads = linear_gradients(h, weight, bias, needs, ctx.rows, ctx.cols, chunk_gradient)
        return (*grads, None, None, None, None, None)


def _rows_statistics(out, index, h_rows, weight, bias, target, temperature, cols, acc):
    """Fill ``out`` (S, rows) with the statistics of one block of rows, streaming classes."""
    n_classes = weight.shape[0]
    lse = lse_t = target_logit = mean = m2 = None
    seen = 0
    for c0 in range(0, n_classes, cols):
        c1 = min(c0 + cols, n_classes)
        width = c1 - c0
        z = _logit_block(h_rows, weight[c0:c1], None if bias is None else bias[c0:c1], acc)
        if "target" in index:
            local = target - c0
            inside = (local >= 0) & (local < width)
            picked = z.gather(1, local.clamp(0, width - 1).unsqueeze(1)).squeeze(1)
            target_logit = (
                picked if target_logit is None else torch.where(inside, picked, target_logit)
            )
        if "var" in index:
            block_var, block_mean = torch.var_mean(z, dim=1, correction=0)
            block_m2 = block_var * width
            if mean is None:
                mean, m2 = block_mean, block_m2
            else:
                # Chan et al.'s pairwise update: stable where sum(z^2) - K mean^2 is not.
                total = seen + width
                delta = block_mean - mean
                mean = mean + delta * (width / total)
                m2 = m2 + block_m2 + delta.square() * (seen * width / total)
        elif "mean" in index:
            block_sum = z.sum(dim=1)
            mean = block_sum if mean is None else mean + block_sum
        if "lse_t" in index:
            block = torch.logsumexp(z / temperature, dim=1)
            lse_t = block if lse_t is None else torch.logaddexp(lse_t, block)
        if "lse" in index:
            # In place: z is not needed after this, and a block-sized temporary is not free.
            row_max = z.amax(dim=1)
            block = z.sub_(row_max.unsqueeze(1)).exp_().sum(dim=1).log_().add_(row_max)
            lse = block if lse is None else torch.logaddexp(lse, block)
        seen += width
        del z
    if "lse" in index:
        out[index["lse"]] = lse
    if "target" in index:
        out[index["target"]] = target_logit
    if "var" in index:
        out[index["var"]] = m2 / n_classes
    if "mean" in index:
        out[index["mean"]] = mean if "var" in index else mean / n_classes
    if "lse_t" in index:
        out[index["lse_t"]] = lse_t


def _logit_gradient(z, coef, stats, index, target, c0, n_classes, temperature):
    """``dL/dz`` for one block from the per-row coefficients ``dL/ds``; may reuse ``z``."""
    dz = None
    if "var" in index:
        scale = coef[index["var"]] * (2.0 / n_classes)
        # Forms that read "var" always carry "mean" too (StatisticsForm adds it).
        dz = (z - stats[index["mean"]].unsqueeze(1)).mul_(scale.unsqueeze(1))
    if "lse_t" in index:
        term = (z / temperature).sub_(stats[index["lse_t"]].unsqueeze(1)).exp_()
        term.mul_((coef[index["lse_t"]] / temperature).unsqueeze(1))
        dz = term if dz is None else dz.add_(term)
    if "lse" in index:
        # softmax(z) * c_lse, built in z's own storage.
        probs = z.sub_(stats[index["lse"]].unsqueeze(1)).exp_()
        probs.mul_(coef[index["lse"]].unsqueeze(1))
        dz = probs if dz is None else dz.add_(probs)
    if dz is None:
        dz = torch.zeros_like(z)
    if "mean" in index:
        dz.add_((coef[index["mean"]] / n_classes).unsqueeze(1))
    if "target" in index:
        local = target - c0
        inside = ((local >= 0) & (local < z.shape[1])).nonzero().squeeze(1)
        dz.index_put_((inside, local[inside]), coef[index["target"]][inside], accumulate=True)
    return dz


def chunked_statistics(h, weight, bias, target, statistics, temperature, chunk_bytes):
    """Per-row statistics of ``h W^T + b`` without materialising it.

    Parameters
    ----------
    h : torch.Tensor of shape (n_samples, n_features)
        Features; float16, bfloat16, float32 or float64.
    weight : torch.Tensor of shape (n_classes, n_features)
        Weights of the linear layer, same dtype and device as ``h``.
    bias : torch.Tensor of shape (n_classes,) or None
        Bias of the linear layer.
    target : torch.Tensor of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    statistics : tuple of str
        Names from :data:`skloss.fused.STATISTICS`, in that canonical order.
    temperature : float or None
        The temperature of ``lse_t``.
    chunk_bytes : int
        Budget for one block of logits (see :func:`plan_blocks`).

    Returns
    -------
    torch.Tensor of shape (len(statistics), n_samples)
        In float32 for half-precision inputs, else the input dtype;
        differentiable with respect to ``h``, ``weight`` and ``bias``.

    Examples
    --------
    >>> import torch
    >>> h, w = torch.eye(2), torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> chunked_statistics(h, w, None, torch.tensor([0, 1]), ("target",), None, 2**20)
    tensor([[1., 2.]])
    """
    acc = _accumulation_dtype(h.dtype)
    itemsize = torch.empty((), dtype=acc).element_size()
    rows, cols = plan_blocks(h.shape[0], weight.shape[0], itemsize, chunk_bytes)
    return _ChunkedStatistics.apply(h, weight, bias, target, statistics, temperature, rows, cols)
