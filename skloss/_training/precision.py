"""Mixed precision: when bfloat16 autocast is worth it, and the context that applies it.

``precision="bf16-mixed"`` runs the network's forward pass under
``torch.autocast(dtype=torch.bfloat16)``; the weights, their gradients and the
optimiser's state stay float32 (the master copy), and the loss is computed from
float32 outputs (the network's outputs are cast back before the loss), so that
the losses' numerics (log-space probabilities, ``expm1``) hold as in float32.

bfloat16 is fast only where the hardware computes it natively: CUDA GPUs that
support it, and CPUs with ``avx512_bf16`` or AMX (oneDNN's bfloat16 path).
Elsewhere it is emulated, many times slower than float32 (measured on this
project's AVX2-only CPU: 12x slower per epoch for a (256, 256) network), so the
estimator trains in float32 and warns once (:class:`~skloss.exceptions.PrecisionWarning`).
"""

import contextlib
import threading
import warnings

import torch

from skloss.exceptions import PrecisionWarning

__all__ = ["PRECISIONS", "autocast_dtype", "fast_bf16", "forward_precision"]

#: The values of the estimators' ``precision`` and ``inference_precision``.
PRECISIONS = ("32", "bf16-mixed")

_WARNED = set()
_WARNED_LOCK = threading.Lock()


def fast_bf16(device):
    """Whether ``device`` computes bfloat16 matrix products natively.

    Parameters
    ----------
    device : torch.device or str

    Returns
    -------
    bool
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def autocast_dtype(precision, device):
    """The autocast dtype for ``precision`` on ``device``: bfloat16, or None for float32.

    Falls back to None (float32) with a :class:`PrecisionWarning`, once per
    process and device type, where bfloat16 has no fast path.

    Parameters
    ----------
    precision : {"32", "bf16-mixed"}
    device : torch.device

    Returns
    -------
    torch.dtype or None
    """
    if precision == "32":
        return None
    device = torch.device(device)
    if fast_bf16(device):
        return torch.bfloat16
    with _WARNED_LOCK:
        first = device.type not in _WARNED
        _WARNED.add(device.type)
    if first:
        warnings.warn(
            f"precision={precision!r}: this {device.type.upper()} has no native bfloat16 "
            "arithmetic (a CPU needs avx512_bf16 or AMX; a GPU, bfloat16 support), where "
            "bfloat16 is emulated and many times slower than float32; training and "
            "predicting in float32 instead.",
            PrecisionWarning,
            stacklevel=2,
        )
    return None


def forward_precision(dtype, device):
    """A context for the forward pass: autocast to ``dtype``, or nothing for None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)
