"""The default MLP's training step with its backward pass written out.

For a plain :class:`~skloss.modules.MLP` (linear layers and an elementwise
activation), autograd's graph costs more than the arithmetic on small networks:
one node per operation, built and walked on every batch. Here the forward pass
runs without a graph, the loss is differentiated by autograd with respect to the
network's outputs only (any loss, its own parameters included), and the
network's gradients follow by the chain rule, with the same operations autograd
runs (``addmm`` forward; ``grad.t() @ input``, ``grad.sum(0)`` and
``grad @ weight`` backward; torch's own activation derivatives), so the
gradients are autograd's, bit for bit (tests/test_lean_step.py).

Networks this does not cover (another module, batch normalisation, GELU, any
hook on a layer or parameter) and losses that run the network themselves
(``requires`` "model" or "inputs") train through autograd as before.
"""

import torch
from torch import nn
from torch.nn.modules import module as _module_hooks

from skloss.modules import MLP

__all__ = ["lean_layers", "forward_backward"]

#: Activation -> its derivative from the activation's output, the function autograd
#: uses (None: the identity's).
DERIVATIVES = {
    nn.ReLU: lambda grad, out: torch.ops.aten.threshold_backward(grad, out, 0),
    nn.Tanh: torch.ops.aten.tanh_backward,
    nn.Sigmoid: torch.ops.aten.sigmoid_backward,
    nn.Identity: None,
}


_HOOK_KINDS = ("forward_hooks", "forward_pre_hooks", "backward_hooks", "backward_pre_hooks")


def _has_hooks(owner, prefix):
    # Modules keep their hooks in "_forward_hooks" etc.; torch's global ones are
    # "_global_forward_hooks" etc. of torch.nn.modules.module.
    return any(getattr(owner, f"{prefix}{kind}", None) for kind in _HOOK_KINDS)


def _hooked(module):
    return _has_hooks(module, "_") or any(
        getattr(p, "_backward_hooks", None) or getattr(p, "_post_accumulate_grad_hooks", None)
        for p in module.parameters(recurse=False)
    )


def lean_layers(module):
    """``([(linear, activation), ...], head)`` of a network this step trains, else None.

    Parameters
    ----------
    module : torch.nn.Module
        The network being trained.

    Returns
    -------
    tuple or None
        The hidden (linear, activation) pairs and the output layer of a plain
        :class:`~skloss.modules.MLP` whose parameters all train, with no hooks
        anywhere; None for any other network.
    """
    if type(module) is not MLP:
        return None
    if _has_hooks(_module_hooks, "_global_") or any(_hooked(m) for m in module.modules()):
        return None
    if not all(p.requires_grad for p in module.parameters()):
        return None
    layers = list(module.features)
    if len(layers) % 2:
        return None
    pairs = list(zip(layers[::2], layers[1::2], strict=True))
    for linear, activation in pairs:
        if type(linear) is not nn.Linear or type(activation) not in DERIVATIVES:
            return None
    if type(module.head) is not nn.Linear:
        return None
    return pairs, module.head


def _linear_backward(linear, inputs, grad, need_input):
    linear.weight.grad = grad.t().mm(inputs)
    linear.bias.grad = grad.sum(0)
    return grad.mm(linear.weight) if need_input else None


def forward_backward(layers, x, loss_of):
    """One batch: forward, the loss, and every parameter's gradient in ``.grad``.

    Parameters
    ----------
    layers : tuple
        What :func:`lean_layers` returned.
    x : torch.Tensor of shape (batch, n_features)
        The batch's inputs.
    loss_of : callable
        Maps the network's outputs (a leaf tensor that requires grad) to the
        batch's scalar loss.

    Returns
    -------
    outputs : torch.Tensor
        The network's outputs (their ``.grad`` holds the loss's gradient).
    loss : torch.Tensor
        The batch's loss, after ``backward``.
    """
    pairs, head = layers
    inputs, outputs = [], []
    with torch.no_grad():
        hidden = x
        for linear, activation in pairs:
            inputs.append(hidden)
            # forward, not __call__: no hooks to run (lean_layers checked), and
            # Module.__call__'s bookkeeping would be paid on every batch.
            hidden = activation.forward(torch.addmm(linear.bias, hidden, linear.weight.t()))
            outputs.append(hidden)
        logits = torch.addmm(head.bias, hidden, head.weight.t())
    logits.requires_grad_(True)
    loss = loss_of(logits)
    loss.backward()
    grad = logits.grad
    if grad is None:  # the loss does not depend on the outputs: no gradients, as autograd
        return logits, loss
    with torch.no_grad():
        grad = _linear_backward(head, hidden, grad, need_input=bool(pairs))
        for k in range(len(pairs) - 1, -1, -1):
            linear, activation = pairs[k]
            derivative = DERIVATIVES[type(activation)]
            if derivative is not None:
                grad = derivative(grad, outputs[k])
            grad = _linear_backward(linear, inputs[k], grad, need_input=k > 0)
    return logits, loss
