"""Per-sample state of losses that keep one value per training row (ALDR-KL, TGCE).

Such a loss reads its state in ``per_sample`` (a pure function of the logits and
the stored state) and writes it only from ``batch_loss`` during a training step,
so that evaluating the loss, or differentiating it numerically, never moves it.
"""

import torch

__all__ = [
    "PerSampleState",
    "is_training_step",
    "read_rows",
    "write_rows",
]


class PerSampleState:
    """Mixin of losses with per-sample state tensors, named in ``_state_attributes``.

    The state is pickled on the CPU, so that an estimator trained on an accelerator
    unpickles anywhere; the next training step moves it back to the logits' device.
    """

    _state_attributes = ()

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in self._state_attributes:
            if isinstance(state.get(name), torch.Tensor):
                state[name] = state[name].detach().cpu()
        return state


def is_training_step(logits):
    """Whether this call is a training step: the logits carry a gradient."""
    return logits.requires_grad and torch.is_grad_enabled()


def read_rows(state, index, fill, like):
    """``state[index]`` as ``like``'s dtype and device; rows beyond ``state`` (or all
    rows, when ``state`` is None) read ``fill``."""
    if state is None:
        return torch.full(index.shape, fill, dtype=like.dtype, device=like.device)
    index = index.to(state.device)
    inside = index < state.shape[0]
    values = torch.full(index.shape, fill, dtype=state.dtype, device=state.device)
    values[inside] = state[index[inside]]
    return values.to(dtype=like.dtype, device=like.device)


def write_rows(state, index, n_samples, values, fill):
    """Return ``state`` with ``state[index] = values``, grown to ``n_samples`` rows
    (new rows hold ``fill``) and moved to ``values``' device when needed."""
    size = max(int(n_samples), int(index.max()) + 1 if index.numel() else 0)
    if state is None or state.shape[0] < size or state.device != values.device:
        grown = torch.full((size,), fill, dtype=values.dtype, device=values.device)
        if state is not None:
            grown[: state.shape[0]] = state.to(device=values.device, dtype=values.dtype)
        state = grown
    state[index.to(state.device)] = values.detach().to(state.dtype)
    return state
