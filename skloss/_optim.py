"""Adam, AdamW and Nesterov SGD with the state of each parameter group kept flat.

Why not ``torch.optim.Adam``: on the small networks of tabular data its per-step
Python and per-tensor kernel overhead (two fused calls, step counters, grouping
by device) costs about as much as the backward pass itself — 160 µs of a 600 µs
step in ``benchmarks/fit_speed.py``'s setting. Here each group's gradients are
concatenated into one vector, the update is a handful of whole-vector ops, and
one ``_foreach_add_`` writes it back. The arithmetic is torch's own (its
documented update rules); ``tests/test_optim.py`` checks it against
``torch.optim`` step by step.

Parameters stay ordinary, separate tensors (no views into a shared buffer), so
modules pickle, deep-copy and load state dicts as usual.
"""

import math

import torch

__all__ = ["FlatOptimizer"]

_ALGORITHMS = ("adam", "adamw", "sgd")


class FlatOptimizer(torch.optim.Optimizer):
    """One of torch's Adam, AdamW or SGD(momentum, nesterov) on flat group state.

    Parameters
    ----------
    params : iterable of tensors or dicts
        Parameters or parameter groups, as for any torch optimiser.
    algorithm : {"adam", "adamw", "sgd"}
        "adam": ``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient);
        "adamw": ``torch.optim.AdamW`` (decoupled decay); "sgd":
        ``torch.optim.SGD(momentum=momentum, nesterov=True)``.
    lr : float
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8
    momentum : float, default=0.9
        SGD only.
    weight_decay : float, default=0.0
    """

    def __init__(self, params, algorithm, lr, betas=(0.9, 0.999), eps=1e-8, momentum=0.9,
                 weight_decay=0.0):
        if algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got {algorithm!r}.")
        defaults = dict(lr=lr, betas=betas, eps=eps, momentum=momentum,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)
        self.algorithm = algorithm

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if any(p.grad is not None for p in group["params"]):
                self._step_group(group, group["params"])
        return loss

    def _step_group(self, group, params):
        # The flat state lives under the group's first parameter, so torch's
        # state_dict/load_state_dict (and skorch's checkpoints) carry it.
        state = self.state[group["params"][0]]
        # A parameter the loss did not reach counts as a zero gradient (torch's
        # optimisers skip it instead); the flat state needs every slot every step.
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
        weight_decay = group["weight_decay"]
        lr = group["lr"]
        if weight_decay and self.algorithm != "adamw":
            grads = torch._foreach_add(grads, params, alpha=weight_decay)
        elif weight_decay:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
        grad = torch.cat([g.reshape(-1) for g in grads])
        if "step" not in state:
            state["step"] = 0
            if self.algorithm == "sgd":
                state["momentum_buffer"] = None
            else:
                state["exp_avg"] = torch.zeros_like(grad)
                state["exp_avg_sq"] = torch.zeros_like(grad)
        state["step"] += 1
        if self.algorithm == "sgd":
            update = self._sgd_update(state, grad, group["momentum"])
            update.mul_(-lr)
        else:
            update = self._adam_update(state, grad, group)
        sizes = [p.numel() for p in params]
        torch._foreach_add_(params, [u.view_as(p) for u, p in zip(update.split(sizes), params)])

    @staticmethod
    def _adam_update(state, grad, group):
        beta1, beta2 = group["betas"]
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        return (exp_avg / denom).mul_(-group["lr"] / bias_correction1)

    @staticmethod
    def _sgd_update(state, grad, momentum):
        buffer = state["momentum_buffer"]
        if buffer is None:
            buffer = state["momentum_buffer"] = grad.clone()
        else:
            buffer.mul_(momentum).add_(grad)
        return grad.add(buffer, alpha=momentum)
