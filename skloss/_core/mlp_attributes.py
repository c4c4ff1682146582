"""``MLPClassifier``'s fitted attributes of the network, read from the torch module.

``coefs_[i]`` is the weight matrix between layers ``i`` and ``i + 1`` of shape
``(n_in, n_out)`` (the transpose of torch's ``Linear.weight``) and
``intercepts_[i]`` its bias vector, as in ``MLPClassifier``; on the CPU both are
numpy views of the trained parameters (float32), so writing into them changes
the network, as it does there.
"""

import torch

__all__ = ["MLPAttributes"]


def _linear_layers(estimator):
    module = estimator.__dict__["net_"].module_ if "net_" in estimator.__dict__ else None
    if module is None:
        raise AttributeError("the estimator is not fitted yet: it has no network.")
    layers = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if not layers:
        raise AttributeError(
            f"{type(module).__name__} has no torch.nn.Linear layers, so it has no coefs_ or "
            "intercepts_; read its parameters from net_.module_."
        )
    return layers


def _as_numpy(tensor):
    return tensor.detach().cpu().numpy()


class MLPAttributes:
    """Mixin: ``coefs_``, ``intercepts_``, ``n_layers_`` and ``n_outputs_`` of the network."""

    @property
    def coefs_(self):
        """list of ndarray: weight matrices, ``coefs_[i]`` of shape (n_in, n_out)."""
        return [_as_numpy(layer.weight).T for layer in _linear_layers(self)]

    @property
    def intercepts_(self):
        """list of ndarray: bias vectors, ``intercepts_[i]`` of shape (n_out,)."""
        layers = _linear_layers(self)
        return [_as_numpy(layer.bias) if layer.bias is not None else None for layer in layers]

    @property
    def n_layers_(self):
        """int: number of layers, input and output included (hidden layers + 2)."""
        return len(_linear_layers(self)) + 1

    @property
    def n_outputs_(self):
        """int: number of outputs of the network (what the loss asked for)."""
        if "net_" not in self.__dict__:
            raise AttributeError("the estimator is not fitted yet: it has no network.")
        return self.loss_function_.n_outputs(self.net_.criterion_.n_targets)
