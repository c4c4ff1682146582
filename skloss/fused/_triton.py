"""The Triton backend: logit statistics and their gradient in two CUDA kernels.

Imported lazily by :func:`skloss.fused.linear_loss` (Triton is an optional
dependency, ``pip install skloss[triton]``). Both kernels form tiles of
``z = h W^T + b`` in registers with float32 accumulation, whatever the input
dtype (float16, bfloat16 or float32), and never write them:

- the forward kernel streams over blocks of classes and keeps, per row, the
  online log-sum-exp (running max and rescaled sum), the target logit, a
  running mean and sum of squared deviations (Chan et al.'s pairwise update)
  and a tempered log-sum-exp, each only when the loss's form asks for it.
  When there are few row blocks, the classes are split over several programs
  whose partial statistics are merged afterwards on ``(splits, n)`` tensors;
- the backward kernel recomputes the tiles of one chunk of classes (all rows,
  or as many as the byte budget allows), turns each into ``dL/dz`` from the
  per-row coefficients ``dL/ds`` and writes it, in the input dtype, to a
  chunk-sized buffer, with float32 column sums for the bias. The two gradient
  products ``dz @ W`` and ``dz^T @ h`` of the chunk are then ordinary matrix
  products (cuBLAS on a GPU), rather than atomic adds into float32 gradients
  from inside the kernel, which contend on every tile (docs/user_guide/fused.rst,
  "Measured on a GPU"). Memory is the chunk buffer (``chunk_bytes``, 256 MiB
  by default) plus the gradients.
  Optionally, as Cut Cross-Entropy does, a tile whose ``|softmax - onehot|``
  is everywhere below ``filter_eps`` gets a zero gradient (an approximation;
  off by default), and a chunk whose tiles are all zero skips its products.

On a machine without a GPU the same kernels run on CPU tensors under
``TRITON_INTERPRET=1`` (set before this module is imported); that is how the
test suite checks them, at small shapes.
"""

import torch
import triton
import triton.language as tl

try:
    from triton.runtime.interpreter import InterpretedFunction
except ImportError:  # a Triton without the interpreter: kernels always compile
    InterpretedFunction = ()

from ._gradients import linear_gradients
from ._stats import STATISTICS

__all__ = ["triton_statistics", "plan_gradient_chunks", "INTERPRETED", "GRADIENT_CHUNK_BYTES"]

#: Default byte budget of the backward pass's ``dL/dz`` buffer (input dtype).
GRADIENT_CHUNK_BYTES = 256 * 2**20

#: Classes a backward chunk has at least (when there are that many): the inner
#: size of the ``dz @ W`` product, kept wide enough for an efficient GEMM.
MIN_CHUNK_COLS = 1024


@triton.jit
def _logit_tile(
    h_ptr,
    w_ptr,
    b_ptr,
    rows,
    cols,
    row_ok,
    col_ok,
    n_features,
    stride_h,
    stride_w,
    HAS_BIAS: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # int64 offsets: rows * stride overflows int32 beyond 2**31 elements.
    h_rows = h_ptr + rows.to(tl.int64)[:, None] * stride_h
    w_rows = w_ptr + cols.to(tl.int64)[:, None] * stride_w
    acc = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for d0 in range(0, n_features, BLOCK_D):
        dims = d0 + tl.arange(0, BLOCK_D)
        d_ok = dims < n_features
        h_tile = tl.load(h_rows + dims[None, :], mask=row_ok[:, None] & d_ok[None, :], other=0.0)
        w_tile = tl.load(w_rows + dims[None, :], mask=col_ok[:, None] & d_ok[None, :], other=0.0)
        acc = tl.dot(h_tile, tl.trans(w_tile), acc, input_precision=PRECISION)
    if HAS_BIAS:
        acc += tl.load(b_ptr + cols, mask=col_ok, other=0.0).to(tl.float32)[None, :]
    return acc


@triton.jit
def _forward_kernel(
    h_ptr,
    w_ptr,
    b_ptr,
    target_ptr,
    part_ptr,
    n_rows,
    n_classes,
    n_features,
    stride_h,
    stride_w,
    blocks_per_split,
    inv_temperature,
    HAS_BIAS: tl.constexpr,
    LSE: tl.constexpr,
    TARGET: tl.constexpr,
    MOMENTS: tl.constexpr,
    VAR: tl.constexpr,
    LSE_T: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # Partial statistics of rows pid_m * BLOCK_M ... over the classes of split
    # pid_s, written to part[pid_s, slot, row] with slots
    # 0: lse, 1: target logit, 2: mean, 3: sum of squared deviations, 4: lse_t.
    pid_m = tl.program_id(0)
    pid_s = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < n_rows
    target = tl.load(target_ptr + rows, mask=row_ok, other=0)
    run_max = tl.full([BLOCK_M], float("-inf"), tl.float32)
    run_sum = tl.zeros([BLOCK_M], tl.float32)
    run_max_t = tl.full([BLOCK_M], float("-inf"), tl.float32)
    run_sum_t = tl.zeros([BLOCK_M], tl.float32)
    target_logit = tl.zeros([BLOCK_M], tl.float32)
    mean = tl.zeros([BLOCK_M], tl.float32)
    sq_dev = tl.zeros([BLOCK_M], tl.float32)
    first_col = pid_s * blocks_per_split * BLOCK_N
    last_col = tl.minimum(first_col + blocks_per_split * BLOCK_N, n_classes)
    for n0 in range(first_col, last_col, BLOCK_N):
        cols = n0 + tl.arange(0, BLOCK_N)
        col_ok = cols < last_col
        z = _logit_tile(
            h_ptr,
            w_ptr,
            b_ptr,
            rows,
            cols,
            row_ok,
            col_ok,
            n_features,
            stride_h,
            stride_w,
            HAS_BIAS,
            BLOCK_M,
            BLOCK_N,
            BLOCK_D,
            PRECISION,
        )
        if LSE:
            masked = tl.where(col_ok[None, :], z, float("-inf"))
            new_max = tl.maximum(run_max, tl.max(masked, 1))
            run_sum = run_sum * tl.exp(run_max - new_max) + tl.sum(
                tl.exp(masked - new_max[:, None]), 1
            )
            run_max = new_max
        if LSE_T:
            masked_t = tl.where(col_ok[None, :], z * inv_temperature, float("-inf"))
            new_max_t = tl.maximum(run_max_t, tl.max(masked_t, 1))
            run_sum_t = run_sum_t * tl.exp(run_max_t - new_max_t) + tl.sum(
                tl.exp(masked_t - new_max_t[:, None]), 1
            )
            run_max_t = new_max_t
        if TARGET:
            hit = (cols[None, :] == target[:, None]) & col_ok[None, :]
            target_logit += tl.sum(tl.where(hit, z, 0.0), 1)
        if MOMENTS:
            seen = (n0 - first_col).to(tl.float32)
            count = tl.minimum(last_col - n0, BLOCK_N).to(tl.float32)
            block_mean = tl.sum(tl.where(col_ok[None, :], z, 0.0), 1) / count
            total = seen + count
            delta = block_mean - mean
            mean += delta * (count / total)
            if VAR:
                dev = tl.where(col_ok[None, :], z - block_mean[:, None], 0.0)
                sq_dev += tl.sum(dev * dev, 1) + delta * delta * (seen * count / total)
    out = part_ptr + pid_s * 5 * n_rows + rows
    if LSE:
        tl.store(out, run_max + tl.log(run_sum), mask=row_ok)
    if TARGET:
        tl.store(out + n_rows, target_logit, mask=row_ok)
    if MOMENTS:
        tl.store(out + 2 * n_rows, mean, mask=row_ok)
    if VAR:
        tl.store(out + 3 * n_rows, sq_dev, mask=row_ok)
    if LSE_T:
        tl.store(out + 4 * n_rows, run_max_t + tl.log(run_sum_t), mask=row_ok)


@triton.jit
def _logit_gradient_kernel(
    h_ptr,
    w_ptr,
    b_ptr,
    target_ptr,
    stats_ptr,
    coef_ptr,
    dz_ptr,
    colsum_ptr,
    keep_ptr,
    n_rows,
    n_classes,
    n_features,
    stride_h,
    stride_w,
    stride_dz,
    first_col,
    chunk_cols,
    inv_temperature,
    filter_eps,
    HAS_BIAS: tl.constexpr,
    LSE: tl.constexpr,
    TARGET: tl.constexpr,
    MEAN: tl.constexpr,
    VAR: tl.constexpr,
    LSE_T: tl.constexpr,
    I_LSE: tl.constexpr,
    I_TARGET: tl.constexpr,
    I_MEAN: tl.constexpr,
    I_VAR: tl.constexpr,
    I_LSE_T: tl.constexpr,
    NEED_B: tl.constexpr,
    FILTER: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # One (rows, classes) tile of dL/dz for the classes first_col ... first_col +
    # chunk_cols, written in the input dtype to dz[row, col - first_col]; the two
    # gradient products are then plain matrix products (cuBLAS), so no program
    # ever adds into memory another program writes.
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    local = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    cols = first_col + local
    row_ok = rows < n_rows
    col_ok = local < chunk_cols
    valid = row_ok[:, None] & col_ok[None, :]
    z = _logit_tile(
        h_ptr,
        w_ptr,
        b_ptr,
        rows,
        cols,
        row_ok,
        col_ok,
        n_features,
        stride_h,
        stride_w,
        HAS_BIAS,
        BLOCK_M,
        BLOCK_N,
        BLOCK_D,
        PRECISION,
    )
    # dL/dz = sum over statistics s of c_s * ds/dz (see skloss.fused.STATISTICS).
    dz = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    probs = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    hit = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.int1)
    if LSE:
        lse = tl.load(stats_ptr + I_LSE * n_rows + rows, mask=row_ok, other=0.0)
        coef = tl.load(coef_ptr + I_LSE * n_rows + rows, mask=row_ok, other=0.0)
        probs = tl.exp(z - lse[:, None])
        dz += coef[:, None] * probs
    if LSE_T:
        lse_t = tl.load(stats_ptr + I_LSE_T * n_rows + rows, mask=row_ok, other=0.0)
        coef = tl.load(coef_ptr + I_LSE_T * n_rows + rows, mask=row_ok, other=0.0)
        dz += (coef * inv_temperature)[:, None] * tl.exp(z * inv_temperature - lse_t[:, None])
    if MEAN:
        coef = tl.load(coef_ptr + I_MEAN * n_rows + rows, mask=row_ok, other=0.0)
        dz += (coef / n_classes)[:, None]
    if VAR:
        mean = tl.load(stats_ptr + I_MEAN * n_rows + rows, mask=row_ok, other=0.0)
        coef = tl.load(coef_ptr + I_VAR * n_rows + rows, mask=row_ok, other=0.0)
        dz += (coef * 2.0 / n_classes)[:, None] * (z - mean[:, None])
    if TARGET:
        target = tl.load(target_ptr + rows, mask=row_ok, other=-1)
        coef = tl.load(coef_ptr + I_TARGET * n_rows + rows, mask=row_ok, other=0.0)
        hit = cols[None, :] == target[:, None]
        dz += tl.where(hit, coef[:, None], 0.0)
    dz = tl.where(valid, dz, 0.0)
    if FILTER:
        # Only for forms of lse and target alone: the tile's gradient is then
        # c * (softmax - onehot) row by row, negligible where that is.
        off_target = tl.where(valid, tl.abs(probs - tl.where(hit, 1.0, 0.0)), 0.0)
        keep = tl.max(tl.max(off_target, 1), 0) >= filter_eps
        dz = tl.where(keep, dz, 0.0)
        tl.store(keep_ptr + pid_m * tl.num_programs(1) + pid_n, keep.to(tl.int32))
    out = dz_ptr + rows.to(tl.int64)[:, None] * stride_dz + local[None, :]
    tl.store(out, dz.to(dz_ptr.dtype.element_ty), mask=valid)
    if NEED_B:
        # Column sums in float32, one row of partial sums per row block.
        tl.store(colsum_ptr + pid_m * chunk_cols + local, tl.sum(dz, 0), mask=col_ok)


#: Whether the kernels were built by Triton's CPU interpreter (TRITON_INTERPRET=1
#: when this module was imported).
INTERPRETED = isinstance(_forward_kernel, InterpretedFunction)

_SUPPORTED = (torch.float16, torch.bfloat16, torch.float32)


def _precision(dtype):
    # Follow torch's own float32 matmul setting, so that "triton" and "naive"
    # agree on whether TF32 is allowed.
    if dtype != torch.float32:
        return None
    return "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee"


def _default_blocks():
    if INTERPRETED:
        # The interpreter runs each program in numpy; small tiles keep it quick.
        return {"block_m": 16, "block_n": 16, "block_d": 16}
    return {"block_m": 64, "block_n": 128, "block_d": 64}


def _n_splits(n_row_blocks, n_class_blocks, device):
    """Class splits so the forward grid has a few programs per streaming multiprocessor."""
    if device.type != "cuda":
        return 1
    programs = 4 * torch.cuda.get_device_properties(device).multi_processor_count
    return max(1, min(n_class_blocks, -(-programs // n_row_blocks)))


class _TritonStatistics(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, bias, target, statistics, temperature, options):
        n_rows, n_features = h.shape
        n_classes = weight.shape[0]
        bm, bn, bd = options["block_m"], options["block_n"], options["block_d"]
        n_row_blocks = triton.cdiv(n_rows, bm)
        n_class_blocks = triton.cdiv(n_classes, bn)
        splits = options.get("splits") or _n_splits(n_row_blocks, n_class_blocks, h.device)
        splits = min(splits, n_class_blocks)
        blocks_per_split = triton.cdiv(n_class_blocks, splits)
        splits = triton.cdiv(n_class_blocks, blocks_per_split)
        needs = set(statistics)
        part = torch.empty(splits, 5, n_rows, dtype=torch.float32, device=h.device)
        dummy = h  # never read: HAS_BIAS is False
        _forward_kernel[(n_row_blocks, splits)](
            h,
            weight,
            bias if bias is not None else dummy,
            target,
            part,
            n_rows,
            n_classes,
            n_features,
            h.stride(0),
            weight.stride(0),
            blocks_per_split,
            1.0 / temperature if temperature else 1.0,
            HAS_BIAS=bias is not None,
            LSE="lse" in needs,
            TARGET="target" in needs,
            MOMENTS="mean" in needs or "var" in needs,
            VAR="var" in needs,
            LSE_T="lse_t" in needs,
            BLOCK_M=bm,
            BLOCK_N=bn,
            BLOCK_D=bd,
            PRECISION=_precision(h.dtype),
        )
        stats = _merge_splits(part, statistics, n_classes, blocks_per_split * bn)
        ctx.save_for_backward(h, weight, bias, target, stats)
        ctx.statistics, ctx.temperature, ctx.options = statistics, temperature, options
        ctx.mark_non_differentiable(target)
        return stats

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_stats):
        h, weight, bias, target, stats = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:3])
        n_rows, n_features = h.shape
        n_classes = weight.shape[0]
        options = ctx.options
        bm, bn, bd = options["block_m"], options["block_n"], options["block_d"]
        rows, cols = plan_gradient_chunks(
            n_rows, n_classes, h.element_size(), options["chunk_bytes"], bm
        )
        index = {name: i for i, name in enumerate(ctx.statistics)}
        filter_eps = options.get("filter_eps")
        coef = grad_stats.to(torch.float32).contiguous()
        dz_buffer = torch.empty(rows * cols, dtype=h.dtype, device=h.device)

        def chunk_gradient(r0, r1, c0, c1):
            n_chunk_rows, width = r1 - r0, c1 - c0
            dz = dz_buffer[: n_chunk_rows * width].view(n_chunk_rows, width)
            grid = (triton.cdiv(n_chunk_rows, bm), triton.cdiv(width, bn))
            colsum = (
                torch.empty(grid[0], width, dtype=torch.float32, device=h.device)
                if needs[2]
                else coef
            )
            keep = (
                torch.empty(grid, dtype=torch.int32, device=h.device)
                if filter_eps is not None
                else coef
            )
            _logit_gradient_kernel[grid](
                h[r0:r1],
                weight,
                bias if bias is not None else h,
                target[r0:r1],
                stats[:, r0:r1].contiguous(),
                coef[:, r0:r1].contiguous(),
                dz,
                colsum,
                keep,
                n_chunk_rows,
                n_classes,
                n_features,
                h.stride(0),
                weight.stride(0),
                dz.stride(0),
                c0,
                width,
                1.0 / ctx.temperature if ctx.temperature else 1.0,
                filter_eps if filter_eps is not None else 0.0,
                HAS_BIAS=bias is not None,
                LSE="lse" in index,
                TARGET="target" in index,
                MEAN="mean" in index,
                VAR="var" in index,
                LSE_T="lse_t" in index,
                I_LSE=index.get("lse", 0),
                I_TARGET=index.get("target", 0),
                I_MEAN=index.get("mean", 0),
                I_VAR=index.get("var", 0),
                I_LSE_T=index.get("lse_t", 0),
                NEED_B=needs[2],
                FILTER=filter_eps is not None,
                BLOCK_M=bm,
                BLOCK_N=bn,
                BLOCK_D=bd,
                PRECISION=_precision(h.dtype),
            )
            column_sums = colsum.sum(dim=0) if needs[2] else None
            if filter_eps is not None and not bool(keep.any()):
                return None, column_sums  # every tile negligible: skip the products
            return dz, column_sums

        grads = linear_gradients(h, weight, bias, needs, rows, cols, chunk_gradient)
        return (*grads, None, None, None, None)


def plan_gradient_chunks(n_rows, n_classes, itemsize, chunk_bytes, block_m):
    """Rows and classes of one chunk of ``dL/dz`` for the backward pass.

    Whole columns (every row) when ``MIN_CHUNK_COLS`` classes of them fit the
    budget, so that each chunk's weight gradient ``dz^T h`` is final; otherwise
    as many rows as fit (a multiple of ``block_m``) by ``MIN_CHUNK_COLS`` classes.

    Examples
    --------
    >>> plan_gradient_chunks(8192, 256000, 2, 256 * 2**20, 64)
    (8192, 16384)
    >>> plan_gradient_chunks(8192, 1000, 2, 256 * 2**20, 64)
    (8192, 1000)
    >>> plan_gradient_chunks(2**20, 256000, 2, 256 * 2**20, 64)
    (131072, 1024)
    """
    min_cols = min(n_classes, MIN_CHUNK_COLS)
    if n_rows * min_cols * itemsize <= chunk_bytes:
        return n_rows, min(n_classes, max(min_cols, chunk_bytes // (n_rows * itemsize)))
    rows = max(block_m, chunk_bytes // (min_cols * itemsize) // block_m * block_m)
    return min(rows, n_rows), min_cols


def _merge_splits(part, statistics, n_classes, cols_per_split):
    """Merge per-split partial statistics ``(splits, 5, n)`` into ``(S, n)``."""
    splits = part.shape[0]
    counts = torch.clamp(
        n_classes - torch.arange(splits, device=part.device) * cols_per_split,
        max=cols_per_split,
    ).to(torch.float32)
    merged = {}
    if "lse" in statistics:
        merged["lse"] = torch.logsumexp(part[:, 0], dim=0)
    if "target" in statistics:
        merged["target"] = part[:, 1].sum(dim=0)
    if "mean" in statistics or "var" in statistics:
        means = part[:, 2]
        mean = (counts[:, None] * means).sum(dim=0) / n_classes
        merged["mean"] = mean
        if "var" in statistics:
            spread = (counts[:, None] * (means - mean).square()).sum(dim=0)
            merged["var"] = (part[:, 3].sum(dim=0) + spread) / n_classes
    if "lse_t" in statistics:
        merged["lse_t"] = torch.logsumexp(part[:, 4], dim=0)
    return torch.stack([merged[name] for name in statistics])


def triton_statistics(
    h,
    weight,
    bias,
    target,
    statistics,
    temperature,
    filter_eps=None,
    block_m=None,
    block_n=None,
    block_d=None,
    splits=None,
    chunk_bytes=GRADIENT_CHUNK_BYTES,
):
    """Per-row statistics of ``h W^T + b`` computed by the Triton kernels.

    Parameters
    ----------
    h : torch.Tensor of shape (n_samples, n_features)
        float16, bfloat16 or float32; CUDA, or CPU under ``TRITON_INTERPRET=1``.
    weight : torch.Tensor of shape (n_classes, n_features)
        Same dtype and device as ``h``.
    bias : torch.Tensor of shape (n_classes,) or None
        Bias of the linear layer.
    target : torch.Tensor of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    statistics : tuple of str
        Names from :data:`skloss.fused.STATISTICS`, in that order.
    temperature : float or None
        The temperature of ``lse_t``.
    filter_eps : float, "auto" or None, default=None
        Skip backward tiles where ``|softmax - onehot| < filter_eps`` everywhere;
        "auto" is ``finfo(h.dtype).eps / 32``, Cut Cross-Entropy's choice. Only
        for forms that read ``lse`` and ``target`` alone.
    block_m, block_n, block_d : int, default=None
        Tile sizes over rows, classes and features (powers of two, >= 16).
    splits : int, default=None
        Programs the classes are split over in the forward pass; None picks
        enough to fill the GPU.
    chunk_bytes : int, default=GRADIENT_CHUNK_BYTES
        Byte budget of the backward pass's ``dL/dz`` buffer (see
        :func:`plan_gradient_chunks`).

    Returns
    -------
    torch.Tensor of shape (len(statistics), n_samples)
        float32, differentiable with respect to ``h``, ``weight`` and ``bias``.

    Examples
    --------
    On a GPU (or on CPU tensors under ``TRITON_INTERPRET=1``):

    >>> import torch
    >>> h = torch.randn(64, 32, device="cuda")  # doctest: +SKIP
    >>> w = torch.randn(1000, 32, device="cuda")  # doctest: +SKIP
    >>> y = torch.randint(0, 1000, (64,), device="cuda")  # doctest: +SKIP
    >>> triton_statistics(h, w, None, y, ("lse", "target"), None).shape  # doctest: +SKIP
    torch.Size([2, 64])
    """
    if h.dtype not in _SUPPORTED:
        raise ValueError(
            f"backend='triton' supports {[str(d) for d in _SUPPORTED]} inputs, got {h.dtype}; "
            "use backend='chunked' (float64 included)."
        )
    if INTERPRETED and h.dtype == torch.bfloat16:
        raise ValueError(
            "Triton's CPU interpreter (TRITON_INTERPRET=1) computes bfloat16 incorrectly; "
            "test the kernels in float32 or float16, or run bfloat16 on a GPU."
        )
    if not h.is_cuda and not INTERPRETED:
        raise ValueError(
            "backend='triton' needs CUDA tensors. To run the kernels on the CPU (slowly, for "
            "testing), set TRITON_INTERPRET=1 before skloss.fused._triton is first imported."
        )
    unknown = [s for s in statistics if s not in STATISTICS]
    if unknown:
        raise ValueError(f"Unknown statistics {unknown}; known: {STATISTICS}.")
    if filter_eps is not None:
        if set(statistics) - {"lse", "target"}:
            raise ValueError(
                "filter_eps skips tiles where softmax - onehot is negligible, which is the "
                "whole gradient only for losses of p_y; this loss also reads "
                f"{sorted(set(statistics) - {'lse', 'target'})}. Leave filter_eps=None."
            )
        if filter_eps == "auto":
            filter_eps = torch.finfo(h.dtype).eps / 32
        elif (
            isinstance(filter_eps, bool)
            or not isinstance(filter_eps, (int, float))
            or not (filter_eps >= 0)
        ):
            raise ValueError(
                f"filter_eps must be None, 'auto' or a number >= 0, got {filter_eps!r}."
            )
    options = _default_blocks()
    for key, value in (("block_m", block_m), ("block_n", block_n), ("block_d", block_d)):
        if value is not None:
            if value < 16 or value & (value - 1):
                raise ValueError(f"{key} must be a power of two >= 16, got {value!r}.")
            options[key] = value
    options["splits"] = splits
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes must be a positive integer, got {chunk_bytes!r}.")
    options["chunk_bytes"] = chunk_bytes
    options["filter_eps"] = None if filter_eps is None else float(filter_eps)
    return _TritonStatistics.apply(
        h, weight, bias, target.contiguous(), tuple(statistics), temperature, options
    )
