"""The default MLP's training step with its backward pass written out.

For a plain :class:`~skloss.modules.MLP` (linear layers and an elementwise
activation), autograd's graph costs more than the arithmetic on small networks:
one node per operation, built and walked on every batch. Here the forward pass
runs without a graph; the loss's gradient with respect to the network's outputs
comes in closed form where the loss gives one
(:meth:`~skloss.losses.Loss.batch_loss_and_gradient`: cross-entropy, the comp-sum
family, SCE, focal and the squared error do), else
from autograd on the loss alone (any loss, its own parameters included); the
network's gradients follow by the chain rule, with the same operations autograd
runs (``addmm`` forward; ``grad.t() @ input``, ``grad.sum(0)`` and
``grad @ weight`` backward; torch's own activation derivatives), so given the
loss's gradient they are autograd's, bit for bit (tests/test_lean_step.py).

Networks this does not cover (another module, batch normalisation, GELU, any
hook on a layer or parameter) and losses that run the network themselves
(``requires`` "model" or "inputs") train through autograd as before.
"""

import torch
from torch import nn
from torch.nn.modules import module as _module_hooks

from skloss.modules import MLP

__all__ = ["lean_layers", "LeanStep"]

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


class LeanStep:
    """One batch's forward pass and gradients for the layers of :func:`lean_layers`.

    Built once per epoch: the parameters, their transposed views (the optimiser
    updates the weights in place, so the views stay current) and the activations'
    derivatives are looked up here rather than on every batch.

    Parameters
    ----------
    layers : tuple
        What :func:`lean_layers` returned.
    """

    def __init__(self, layers):
        pairs, head = layers
        linears = [linear for linear, _ in pairs] + [head]
        self.weights = [linear.weight for linear in linears]
        self.biases = [linear.bias for linear in linears]
        self._transposed = [weight.t() for weight in self.weights]
        # forward, not __call__: no hooks to run (lean_layers checked), and
        # Module.__call__'s bookkeeping would be paid on every batch.
        self._activations = [activation.forward for _, activation in pairs]
        self._derivatives = [DERIVATIVES[type(activation)] for _, activation in pairs]

    def __call__(self, x, loss_of, loss_and_gradient=None):
        """Forward, the loss, and every parameter's gradient in ``.grad``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            The batch's inputs.
        loss_of : callable
            Maps the network's outputs (a leaf tensor that requires grad) to the
            batch's scalar loss.
        loss_and_gradient : callable, default=None
            Maps the outputs (no graph) to ``(loss, gradient)`` in closed form, or
            to None (:meth:`skloss.losses.Loss.batch_loss_and_gradient`); autograd
            differentiates ``loss_of`` where it gives none.

        Returns
        -------
        outputs : torch.Tensor
            The network's outputs.
        loss : torch.Tensor
            The batch's loss.
        """
        inputs = [x]
        with torch.no_grad():
            hidden = x
            for weight_t, bias, activation in zip(
                self._transposed[:-1], self.biases[:-1], self._activations, strict=True
            ):
                hidden = activation(torch.addmm(bias, hidden, weight_t))
                inputs.append(hidden)
            outputs = torch.addmm(self.biases[-1], hidden, self._transposed[-1])
            closed = None if loss_and_gradient is None else loss_and_gradient(outputs)
        if closed is None:
            outputs.requires_grad_(True)
            loss = loss_of(outputs)
            loss.backward()
            grad = outputs.grad
            if grad is None:  # the loss does not depend on the outputs: no gradients
                return outputs, loss
        else:
            loss, grad = closed
        with torch.no_grad():
            # The operations autograd runs for addmm and the activations.
            for k in range(len(self.weights) - 1, -1, -1):
                self.weights[k].grad = grad.t().mm(inputs[k])
                self.biases[k].grad = grad.sum(0)
                if k:
                    grad = grad.mm(self.weights[k])
                    derivative = self._derivatives[k - 1]
                    if derivative is not None:
                        grad = derivative(grad, inputs[k])
        return outputs, loss
