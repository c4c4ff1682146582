"""Fused linear + loss heads: a loss of ``h @ weight.T + bias`` without the logits.

With many classes the ``(n_samples, n_classes)`` logits and their gradient
dominate memory. :func:`linear_loss` computes ``loss(h @ weight.T + bias,
target)`` for every loss that depends on the logits only through a few per-row
statistics (:data:`STATISTICS`: log-sum-exp, the target logit, mean, variance,
a tempered log-sum-exp), which covers the whole ``p_y`` family of
:mod:`skloss.losses`, label-smoothed cross-entropy and class-weighted focal loss.

Backends:

- ``"naive"``: materialise the logits and call the loss (the reference);
- ``"chunked"``: pure torch on any device, blocks of logits within a byte budget,
  recomputed in the backward pass (:mod:`skloss.fused._chunked`);
- ``"triton"``: CUDA kernels (optional ``triton`` dependency), which also run
  on CPU under ``TRITON_INTERPRET=1`` for testing.
"""

import numbers

import torch
import torch.nn.functional as F

from skloss.losses import get_loss
from skloss.losses._base import _reduce
from skloss.losses._validation import check_sample_weight

from ._backend import (
    BACKENDS,
    DEFAULT_CHUNK_BYTES,
    choose_backend,
    has_fused_head,
    resolve_backend,
    triton_available,
    why_not_fused,
)
from ._chunked import chunked_statistics, plan_blocks
from ._stats import STATISTICS, StatisticsForm, fused_form, logit_statistics, supports

__all__ = [
    "linear_loss",
    "choose_backend",
    "has_fused_head",
    "why_not_fused",
    "resolve_backend",
    "triton_available",
    "STATISTICS",
    "StatisticsForm",
    "fused_form",
    "logit_statistics",
    "supports",
    "plan_blocks",
    "DEFAULT_CHUNK_BYTES",
    "BACKENDS",
]

_REDUCTIONS = ("mean", "sum", "none")


def linear_loss(
    h,
    weight,
    bias,
    target,
    loss="ce",
    reduction="mean",
    sample_weight=None,
    backend="auto",
    chunk_bytes=DEFAULT_CHUNK_BYTES,
    ignore_index=None,
    filter_eps=None,
):
    """``loss(h @ weight.T + bias, target)`` without materialising the logits.

    Parameters
    ----------
    h : torch.Tensor of shape (..., n_features)
        Features, the input of the last linear layer; float16, bfloat16,
        float32 or float64. Leading dimensions are flattened.
    weight : torch.Tensor of shape (n_classes, n_features)
        Weight of the linear layer (``nn.Linear.weight``), same dtype and device.
    bias : torch.Tensor of shape (n_classes,) or None
        Bias of the linear layer.
    target : torch.Tensor of shape (...)
        Class indices (integer dtype), the leading shape of ``h``.
    loss : str or Loss, default="ce"
        A registry name or a loss instance (see :func:`skloss.losses.get_loss`).
        The fused backends need a fused form (:func:`fused_form`): every
        ``ProbabilityLoss`` (``ce`` with label smoothing, ``comp_sum``, ``gce``,
        ``mae``, ``sum_exp``, ``sce``, ``focal``), or any loss whose
        ``fused_form(n_classes)`` method returns a ``StatisticsForm``.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :func:`skloss.losses.reduce_loss`: "mean" is
        ``sum(w * l) / sum(w)`` over the rows that are not ignored.
    sample_weight : torch.Tensor of shape (...), default=None
        Finite, non-negative per-sample weights, the shape of ``target``; with
        ``reduction="mean"`` not all zero.
    backend : {"auto", "naive", "chunked", "triton"}, default="auto"
        See :func:`resolve_backend`. The choice is made here, before any
        ``autograd.Function`` runs, so every backend returns a differentiable
        result.
    chunk_bytes : int, default=DEFAULT_CHUNK_BYTES
        Byte budget of one block of logits for "chunked", and the size above
        which "auto" stops materialising the logits.
    ignore_index : int, default=None
        Rows whose target equals it contribute neither loss nor gradient
        (``reduction="none"`` gives them 0), as in
        :func:`torch.nn.functional.cross_entropy`.
    filter_eps : float or "auto", default=None
        Triton only, and only for losses of ``lse`` and ``target`` (the ``p_y``
        family without label smoothing): a tile of logits whose
        ``|softmax - onehot|`` stays below ``filter_eps`` gets a zero gradient,
        as in Cut Cross-Entropy, and a chunk of classes whose tiles are all
        zero skips its matrix products. "auto" is ``finfo(dtype).eps / 32``.
        None keeps the gradient exact.

    Returns
    -------
    torch.Tensor
        A scalar, or the per-sample values (shape of ``target``) for
        ``reduction="none"``; float32 for half-precision inputs, else the
        input dtype.

    Raises
    ------
    ValueError
        For inconsistent shapes, dtypes or devices, a target out of range, an
        unknown backend or reduction; the message names the argument.
    TypeError
        For a loss that a fused backend cannot compute (``nce_rce``) or that
        needs context (``requires``).

    Examples
    --------
    >>> import torch
    >>> from skloss.fused import linear_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> h = torch.randn(300, 8, generator=g)
    >>> layer = torch.nn.Linear(8, 50)
    >>> y = torch.randint(0, 50, (300,), generator=g)
    >>> fused = linear_loss(h, layer.weight, layer.bias, y, loss="gce", backend="chunked",
    ...                     chunk_bytes=4096)
    >>> naive = linear_loss(h, layer.weight, layer.bias, y, loss="gce", backend="naive")
    >>> bool(torch.allclose(fused, naive, atol=1e-6))
    True
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
    h, weight, bias, target, sample_weight, lead_shape = _check_inputs(
        h, weight, bias, target, sample_weight, reduction
    )
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
    if (
        isinstance(chunk_bytes, bool)
        or not isinstance(chunk_bytes, numbers.Integral)
        or chunk_bytes <= 0
    ):
        raise ValueError(f"chunk_bytes must be a positive integer, got {chunk_bytes!r}.")
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral)
    ):
        raise ValueError(f"ignore_index must be None or an integer, got {ignore_index!r}.")
    loss = get_loss(loss)
    if loss.requires:
        raise TypeError(
            f"{loss!r} requires the context {list(loss.requires)}, which linear_loss cannot "
            "pass; compute the logits and call the loss instead."
        )
    n_classes = weight.shape[0]
    form = None
    if backend != "naive":
        try:
            form = fused_form(loss, n_classes)
        except TypeError:
            if backend != "auto":
                raise
    backend = resolve_backend(backend, h, n_classes, chunk_bytes, fusable=form is not None)

    keep = None
    if ignore_index is not None:
        ignored = target == ignore_index
        if bool(ignored.any()):
            keep = (~ignored).nonzero().squeeze(1)
            # Any valid index in place of the ignored one keeps the kernels in
            # bounds; those rows are dropped before the loss is formed.
            target = target.masked_fill(ignored, 0)
    _check_target_range(target if keep is None else target[keep], n_classes)

    if backend == "naive":
        values = _naive_values(h, weight, bias, target, loss, keep)
    else:
        if backend == "triton":
            from ._triton import triton_statistics  # imported lazily: triton is optional

            stats = triton_statistics(
                h, weight, bias, target, form.statistics, form.temperature, filter_eps=filter_eps
            )
        else:
            if filter_eps is not None:
                raise ValueError(
                    "filter_eps only applies to backend='triton'; the chunked backend "
                    "always computes the exact gradient. Leave filter_eps=None."
                )
            stats = chunked_statistics(
                h, weight, bias, target, form.statistics, form.temperature, int(chunk_bytes)
            )
        named = dict(zip(form.statistics, stats.unbind(0), strict=True))
        if keep is not None:
            named = {name: value[keep] for name, value in named.items()}
        values = form.row_loss(named, target if keep is None else target[keep])

    if keep is not None:
        # Ignored rows get an exact zero and no gradient path at all, even when
        # the loss would not be finite at the stand-in target.
        values = values.new_zeros(target.shape[0]).index_put((keep,), values)
        mask = torch.zeros(target.shape[0], dtype=values.dtype, device=values.device)
        mask[keep] = 1
        sample_weight = mask if sample_weight is None else sample_weight.to(values.dtype) * mask
    result = _reduce(values, reduction, sample_weight)
    if reduction == "none":
        result = result.reshape(lead_shape)
    return result


def _naive_values(h, weight, bias, target, loss, keep):
    logits = F.linear(h, weight, bias)
    acc = torch.promote_types(h.dtype, torch.float32)
    if logits.dtype != acc:
        # Half-precision logits, then the loss in float32: what the fused backends
        # are measured against.
        logits = logits.to(acc)
    if keep is not None:
        logits, target = logits[keep], target[keep]
    return loss.per_sample(logits, target)


def _check_inputs(h, weight, bias, target, sample_weight, reduction):
    if not isinstance(h, torch.Tensor) or not h.dtype.is_floating_point or h.ndim < 2:
        raise ValueError(
            "h must be a floating-point tensor of shape (..., n_features) with at least 2 "
            f"dimensions; got {type(h).__name__} "
            f"{getattr(h, 'dtype', '')} of shape {tuple(getattr(h, 'shape', ()))}."
        )
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ValueError(
            "weight must be a 2-D tensor of shape (n_classes, n_features), as "
            f"nn.Linear.weight; got shape {tuple(getattr(weight, 'shape', ()))}."
        )
    if weight.shape[1] != h.shape[-1]:
        raise ValueError(
            f"weight has {weight.shape[1]} columns but h has {h.shape[-1]} features; weight "
            "must be (n_classes, n_features), not its transpose."
        )
    if weight.shape[0] < 1:
        raise ValueError("weight must have at least one row (class).")
    if weight.dtype != h.dtype or weight.device != h.device:
        raise ValueError(
            f"weight ({weight.dtype}, {weight.device}) must have the dtype and device of h "
            f"({h.dtype}, {h.device})."
        )
    if bias is not None:
        if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(
                f"bias must be None or a tensor of shape ({weight.shape[0]},); got shape "
                f"{tuple(getattr(bias, 'shape', ()))}."
            )
        if bias.dtype != h.dtype or bias.device != h.device:
            raise ValueError(
                f"bias ({bias.dtype}, {bias.device}) must have the dtype and device of h "
                f"({h.dtype}, {h.device})."
            )
    if (
        not isinstance(target, torch.Tensor)
        or target.dtype.is_floating_point
        or (target.dtype == torch.bool)
    ):
        raise ValueError(
            "target must be an integer tensor of class indices; got "
            f"{getattr(target, 'dtype', type(target).__name__)}."
        )
    lead_shape = tuple(h.shape[:-1])
    if tuple(target.shape) != lead_shape:
        raise ValueError(
            f"target must have shape {lead_shape} (the leading shape of h), got "
            f"{tuple(target.shape)}."
        )
    if target.device != h.device:
        raise ValueError(f"target is on {target.device} but h is on {h.device}.")
    if sample_weight is not None:
        # Finite and non-negative, and not all zero for "mean" (whose value would be
        # 0/0); the shape is that of target.
        sample_weight = check_sample_weight(
            sample_weight,
            lead_shape,
            reduction,
            torch.promote_types(h.dtype, torch.float32),
            h.device,
        ).reshape(-1)
    h = h.reshape(-1, h.shape[-1])
    # The kernels index rows with strides; a non-contiguous view is copied once here.
    h = h if h.is_contiguous() else h.contiguous()
    weight = weight if weight.is_contiguous() else weight.contiguous()
    return h, weight, bias, target.reshape(-1).long(), sample_weight, lead_shape


def _check_target_range(target, n_classes):
    if target.numel() == 0:
        return
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"target holds class index {bad}, outside [0, {n_classes}) for a weight with "
            f"{n_classes} rows; pass ignore_index to skip padding rows."
        )
