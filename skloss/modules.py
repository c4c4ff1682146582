"""Default torch networks for tabular data.

Every network skloss builds is called as ``factory(n_features_in=..., n_outputs=...)``.
The default MLP keeps its body (``features``) and its last linear layer (``head``)
apart, so that a fused linear+loss head or an analytic classifier can reuse the
hidden representation without re-running the last layer.
"""

from torch import nn
from torch.nn.modules import module as _module_hooks

__all__ = ["MLP", "ACTIVATIONS"]

#: Activation names accepted by :class:`MLP`, as in ``MLPClassifier``.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
}


class MLP(nn.Module):
    """A fully connected network: ``head(features(x))``.

    Parameters
    ----------
    n_features_in : int
        Width of the input.
    n_outputs : int
        Width of the output (logits).
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers, as in ``MLPClassifier``; ``()`` gives a
        linear model.
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        Non-linearity after every hidden layer.
    batch_norm : bool, default=False
        Put a :class:`torch.nn.BatchNorm1d` between every hidden linear layer and
        its activation (the MLPs of the EnsLoss paper). Its running statistics
        make ``predict`` in evaluation mode differ from the training batches'.

    Attributes
    ----------
    features : torch.nn.Sequential
        Every layer but the last.
    head : torch.nn.Linear
        The last linear layer.

    Examples
    --------
    >>> import torch
    >>> net = MLP(n_features_in=4, n_outputs=3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        hidden_layer_sizes=(100,),
        activation="relu",
        batch_norm=False,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        layers = []
        width = n_features_in
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            width = size
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_outputs)
        self.reset_parameters()

    def reset_parameters(self, generator=None):
        """Glorot-uniform weights and zero biases, drawn from ``generator``.

        ``MLPClassifier``'s initialisation for relu-type nets, so a user switching
        over starts from the same place. Batch-normalisation layers start as the
        identity (scale 1, shift 0, running mean 0, variance 1).

        Parameters
        ----------
        generator : torch.Generator, default=None
            The source of the draws; None uses the global torch RNG.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm1d):
                # No draws; also fills the buffers of a module built on "meta".
                module.reset_parameters()

    def forward(self, x):
        features = self.features
        if (
            features._forward_hooks
            or features._forward_pre_hooks
            or _module_hooks._global_forward_hooks
            or _module_hooks._global_forward_pre_hooks
        ):
            return self.head(features(x))
        # The layers one after another: what features(x) does, without the
        # Sequential's own call (a measurable share of a small network's step).
        for layer in features:
            x = layer(x)
        return self.head(x)
