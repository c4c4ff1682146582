"""Turning the estimators' ``device`` parameter into a torch device: one place for all."""

import torch

__all__ = ["resolve_device"]


def resolve_device(device):
    """``"auto"`` → CUDA when available, else the CPU; anything else must name a usable device."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'."
        ) from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use 'auto'.")
    try:  # any other backend (mps, xpu, ...) this build or machine lacks
        torch.empty(0, device=resolved)
    except (RuntimeError, AssertionError) as error:
        raise ValueError(
            f"device={device!r} is not available with this torch build on this machine "
            f"({type(error).__name__} allocating a tensor there); use 'auto' or 'cpu'."
        ) from error
    return resolved
