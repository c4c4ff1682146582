"""The optimiser of the built-in choices, and MLPClassifier's weight penalty.

``alpha`` follows ``MLPClassifier``: the objective adds
``alpha / (2 * batch_size) * ||W||^2`` over weight matrices, biases free.
For the built-in optimisers ("adam", "adamw", "sgd") the penalty is applied by
:class:`WeightPenalty` in one foreach call before the step, so the optimiser
itself has a single parameter group and its fused kernel runs once per step
rather than once per group (a second group is a measurable share of a small
network's step). A user's optimiser class gets the usual two parameter groups
instead.
"""

import functools

import torch
from torch.optim import optimizer as _torch_optimizer

__all__ = [
    "FusedAdamStep",
    "OptimizerFactory",
    "WeightPenalty",
    "set_weight_decay",
    "step_function",
]

BUILT_IN = ("adam", "adamw", "sgd")


class WeightPenalty:
    """Adds ``weight_decay * W`` to the gradient of each weight matrix (L2), or
    shrinks ``W`` by ``1 - lr * weight_decay`` (decoupled, AdamW's rule).

    Parameters
    ----------
    params : list of torch.Tensor
        The penalised parameters.
    weight_decay : float
    decoupled : bool
    """

    def __init__(self, params, weight_decay, decoupled):
        self.params = params
        self.weight_decay = weight_decay
        self.decoupled = decoupled

    @torch.no_grad()
    def __call__(self, optimizer):
        """Apply the penalty; call after ``backward`` and before ``optimizer.step``."""
        if not self.weight_decay:
            return
        if self.decoupled:
            lr = optimizer.param_groups[0]["lr"]
            torch._foreach_mul_(self.params, 1 - lr * self.weight_decay)
            return
        with_grad = [p for p in self.params if p.grad is not None]
        if with_grad:
            torch._foreach_add_([p.grad for p in with_grad], with_grad, alpha=self.weight_decay)


class OptimizerFactory:
    """Builds ``(optimizer, penalty)`` for a module; a class so that nets pickle.

    Parameters
    ----------
    optimizer : {"adam", "adamw", "sgd"} or callable
        Built-in names use ``MLPClassifier``'s settings (betas (0.9, 0.999), eps
        1e-8; Nesterov momentum 0.9); a callable is called as
        ``optimizer(param_groups, lr=lr)``.
    lr : float
    weight_decay : float
        The penalty on weight matrices (``alpha / batch_size``).
    """

    def __init__(self, optimizer, lr, weight_decay):
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay

    def __call__(self, module):
        params = [p for p in module.parameters() if p.requires_grad]
        weights = [p for p in params if p.ndim >= 2]
        if isinstance(self.optimizer, str) and self.optimizer in BUILT_IN:
            # Made even at alpha=0: a later partial_fit call may set another alpha.
            penalty = None
            if weights:
                penalty = WeightPenalty(weights, self.weight_decay, self.optimizer == "adamw")
            if self.optimizer == "sgd":
                optimizer = _fused_if_possible(
                    torch.optim.SGD, params, lr=self.lr, momentum=0.9, nesterov=True
                )
            else:
                cls = torch.optim.Adam if self.optimizer == "adam" else torch.optim.AdamW
                optimizer = _fused_if_possible(
                    cls, params, lr=self.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0
                )
            return optimizer, penalty
        groups = [
            {"params": weights, "weight_decay": self.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
        try:
            optimizer = self.optimizer(groups, lr=self.lr)
        except ValueError as error:  # e.g. LBFGS takes no parameter groups
            if self.weight_decay:
                raise ValueError(
                    f"optimizer {self.optimizer!r} refused parameter groups ({error}); skloss "
                    "needs them to exempt biases from alpha. Set alpha=0 to pass plain "
                    "parameters."
                ) from error
            optimizer = self.optimizer(params, lr=self.lr)
        if not (hasattr(optimizer, "param_groups") and callable(getattr(optimizer, "step", None))):
            raise TypeError(
                f"optimizer {self.optimizer!r} returned {type(optimizer).__name__}, not a torch "
                "optimiser: the callable must return an object with param_groups and step(), "
                "such as torch.optim.SGD(param_groups, lr=lr)."
            )
        return optimizer, None


def _fused_if_possible(optimizer_class, params, **kwargs):
    # The fused step is one kernel call per step instead of one per parameter group
    # operation (docs/benchmarks.rst has the timing). Devices or dtypes without fused
    # kernels fall back to foreach.
    try:
        return optimizer_class(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return optimizer_class(params, foreach=True, **kwargs)


def set_weight_decay(optimizer, penalty, weight_decay):
    """Make ``weight_decay`` the penalty on the weight matrices from the next step on.

    ``alpha / batch_size`` depends on the batch size of the call being trained
    (each ``partial_fit`` chunk has its own), so the estimators set it on every
    call. For the built-in optimisers it lives in their :class:`WeightPenalty`;
    for a user's optimiser class, in the parameter group of the weight matrices
    (the group :class:`OptimizerFactory` built first).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    penalty : WeightPenalty or None
    weight_decay : float
    """
    if penalty is not None:
        penalty.weight_decay = weight_decay
        return
    for group in optimizer.param_groups:
        # Only a group of weight matrices alone: an optimiser that took plain
        # parameters (allowed at alpha=0 only) has none, and biases stay free.
        if group["params"] and all(p.ndim >= 2 for p in group["params"]):
            group["weight_decay"] = weight_decay


def step_function(optimizer):
    """``optimizer.step``, without torch's per-step Python where nothing needs it.

    torch wraps every optimiser's ``step`` to open a profiler range and run step
    hooks (about 25 microseconds a step), and ``Adam.step`` itself regroups the
    parameters, their gradients and state by device and dtype on every call
    (about 40 more): together a tenth of a small network's training step.
    Where no hook is registered (globally or on this optimiser) and nothing has
    replaced this optimiser's ``step`` (torch's learning-rate schedulers do, to
    check the call order), a fused ``Adam`` or ``AdamW`` steps through
    :class:`FusedAdamStep` (torch's fused kernel, called directly), any other
    optimiser through the unwrapped ``step``: the same arithmetic. Otherwise
    ``optimizer.step`` itself. Decided once per epoch, after the callbacks'
    ``on_train_begin``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer

    Returns
    -------
    callable
        A function of no arguments that takes one step.
    """
    raw = getattr(type(optimizer).step, "__wrapped__", None)
    hooked = (
        "step" in vars(optimizer)
        or getattr(optimizer, "_optimizer_step_pre_hooks", None)
        or getattr(optimizer, "_optimizer_step_post_hooks", None)
        or getattr(_torch_optimizer, "_global_optimizer_pre_hooks", None)
        or getattr(_torch_optimizer, "_global_optimizer_post_hooks", None)
    )
    if raw is None or hooked or isinstance(optimizer, torch.optim.LBFGS):
        return optimizer.step
    step = functools.partial(raw, optimizer)
    if FusedAdamStep.applies(optimizer):
        return FusedAdamStep(optimizer, step)
    return step


class FusedAdamStep:
    """One step of a fused ``Adam``/``AdamW``: torch's fused kernel, called directly.

    What ``Adam.step`` does with ``fused=True`` on one device and dtype (count
    the step, then ``torch._fused_adam_`` or ``torch._fused_adamw_`` over each
    parameter group, with the group's current ``lr``, ``betas``, ``eps`` and
    ``weight_decay``), without regrouping the tensors on every call. The
    optimiser's own state tensors are updated in place, so ``state_dict``,
    learning-rate changes and checkpoints see what ``step`` would leave. Where
    the state is not made yet (the first step), a gradient is missing, or the
    state or groups were replaced (``load_state_dict``), that step is
    ``optimizer.step``'s own and the tensors are collected again.

    Parameters
    ----------
    optimizer : torch.optim.Adam or torch.optim.AdamW
        An optimiser for which :meth:`applies` is True.
    fallback : callable
        Takes one step the regular way.
    """

    def __init__(self, optimizer, fallback):
        self.optimizer = optimizer
        self.fallback = fallback
        self._groups = None

    @staticmethod
    def applies(optimizer):
        """Whether ``optimizer`` is a fused Adam/AdamW this step reproduces exactly.

        Parameters
        ----------
        optimizer : torch.optim.Optimizer

        Returns
        -------
        bool
        """
        if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
            return False
        kinds = set()
        for group in optimizer.param_groups:
            # Older torch keeps AdamW apart, without this key: its own step then runs.
            if "decoupled_weight_decay" not in group:
                return False
            if not group.get("fused") or any(
                group.get(flag) for flag in ("amsgrad", "maximize", "capturable", "differentiable")
            ):
                return False
            if any(isinstance(v, torch.Tensor) for v in (group["lr"], *group["betas"])):
                return False
            kinds.update((p.device, p.dtype) for p in group["params"])
        return len(kinds) == 1 and not any(dtype.is_complex for _, dtype in kinds)

    def _collect(self):
        optimizer = self.optimizer
        groups = []
        for group in optimizer.param_groups:
            params = list(group["params"])
            states = [optimizer.state.get(p) for p in params]
            if not all(states):
                return None
            groups.append(
                (
                    group,
                    params,
                    [s["exp_avg"] for s in states],
                    [s["exp_avg_sq"] for s in states],
                    [s["step"] for s in states],
                )
            )
        return groups

    def __call__(self):
        optimizer = self.optimizer
        groups = self._groups
        if (
            groups is None
            or self._state is not optimizer.state
            or self._param_groups is not optimizer.param_groups
            or len(groups) != len(optimizer.param_groups)
        ):
            groups = None
        grads = None
        if groups is not None:
            grads = [[p.grad for p in params] for _, params, _, _, _ in groups]
            if any(g is None for group_grads in grads for g in group_grads):
                groups = None
        if groups is None:
            self.fallback()
            self._groups = self._collect()
            self._state, self._param_groups = optimizer.state, optimizer.param_groups
            return
        with torch.no_grad():
            self._kernels(groups, grads)

    @staticmethod
    def _kernels(groups, grads):
        for (group, params, exp_avgs, exp_avg_sqs, steps), group_grads in zip(
            groups, grads, strict=True
        ):
            if not params:
                continue
            kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            kernel(
                params,
                group_grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )
