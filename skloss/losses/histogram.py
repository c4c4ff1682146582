"""HL-Gauss: regression by classification on a Gaussian-smoothed histogram of the target.

Imani and White (ICML 2018) and Farebrother et al. ("Stop Regressing", ICML
2024): the target range is cut into ``n_bins`` bins of width ``w``; a target
``y`` becomes the probabilities a normal distribution ``N(y, sigma^2)``,
``sigma = sigma_ratio * w``, puts on each bin (renormalised to the binned
range); the network outputs one logit per bin and is trained by the
cross-entropy between those probabilities and the softmax of its logits. The
prediction is the mean of the predicted histogram, ``sum_i softmax_i *
centre_i``; its quantiles come from the histogram's distribution function.

The bins span the range of the (scaled) training targets widened by
``padding`` times that range on each side, fitted once per fresh fit
(``edges_``). A prediction cannot leave the outer bin centres, and a histogram
mean is pulled toward the inside near the edges (a target at the lowest
training value reads above it): ``padding`` exists to shrink that bias.
Targets outside the bins during training (a later ``partial_fit`` chunk) are
clipped to the outer edges.
"""

import numbers

import numpy as np
import torch

from ._validation import real_parameter
from .regression import RegressionLoss

__all__ = ["HLGauss", "histogram_targets"]


def histogram_targets(y, edges, sigma):
    """The bin probabilities of targets ``y``: ``N(y, sigma^2)`` on the bins, renormalised.

    Parameters
    ----------
    y : torch.Tensor of shape (n_samples,)
        Targets (clipped to ``[edges[0], edges[-1]]`` first).
    edges : torch.Tensor of shape (n_bins + 1,)
        Increasing bin edges.
    sigma : float
        The smoothing's standard deviation.

    Returns
    -------
    torch.Tensor of shape (n_samples, n_bins)
        Rows sum to 1.

    Examples
    --------
    >>> import torch
    >>> p = histogram_targets(torch.tensor([2.0]), torch.arange(5.0), sigma=0.75)
    >>> [round(v, 6) for v in p[0].tolist()]
    [0.088055, 0.411945, 0.411945, 0.088055]
    """
    y = torch.clamp(y, edges[0], edges[-1]).unsqueeze(1)
    cdf = torch.special.ndtr((edges.unsqueeze(0) - y) / sigma)
    mass = cdf[:, 1:] - cdf[:, :-1]
    return mass / (cdf[:, -1:] - cdf[:, :1])


class HLGauss(RegressionLoss):
    """Regression by cross-entropy on a Gaussian-smoothed histogram (HL-Gauss).

    Parameters
    ----------
    n_bins : int, default=100
        Bins per target column (network outputs per column).
    sigma_ratio : float, default=0.75
        ``sigma / w``: the smoothing's standard deviation in bin widths (the
        value "Stop Regressing" recommends).
    padding : float, default=0.1
        How far the bins reach beyond the training targets, as a share of their
        range, on each side.
    tail : float, default=0.0
        Share of the training targets left outside the bins at each end: the
        bins span the ``tail`` and ``1 - tail`` quantiles of the scaled training
        targets (widened by ``padding``) instead of their whole range. With gross
        errors among the targets, a few percent keeps the bins on the bulk of
        the data; the targets beyond are clipped to the outer edges, so they pull
        the fit with a bounded force, as Huber's loss does.

    Attributes
    ----------
    edges_ : torch.Tensor of shape (n_targets, n_bins + 1)
        The bin edges in scaled target units, fitted by :meth:`fit_targets`.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> loss = HLGauss(n_bins=4, padding=0.0)
    >>> loss.fit_targets(np.array([[0.0], [4.0]]))
    >>> round(loss(torch.tensor([[0.0, 1.0, 2.0, 1.0]]), torch.tensor([2.0])).item(), 6)
    1.302634
    """

    name = "hl_gauss"
    out_activation = "softmax"
    search_space = {
        "n_bins": ("int", 20, 200),
        "sigma_ratio": ("float", 0.25, 2.0, "log"),
        "tail": ("float", 0.0, 0.1),
    }

    def __init__(self, n_bins=100, sigma_ratio=0.75, padding=0.1, tail=0.0):
        self.n_bins = n_bins
        self.sigma_ratio = sigma_ratio
        self.padding = padding
        self.tail = tail

    def validate(self):
        """Check ``n_bins >= 2``, ``sigma_ratio > 0`` and ``padding >= 0``."""
        if (
            isinstance(self.n_bins, bool)
            or not isinstance(self.n_bins, numbers.Integral)
            or self.n_bins < 2
        ):
            raise ValueError(
                f"HLGauss parameter 'n_bins' must be an int >= 2, got {self.n_bins!r}."
            )
        if real_parameter(self, "sigma_ratio") <= 0:
            raise ValueError(
                f"HLGauss parameter 'sigma_ratio' must be > 0, got {self.sigma_ratio!r}."
            )
        if real_parameter(self, "padding") < 0:
            raise ValueError(f"HLGauss parameter 'padding' must be >= 0, got {self.padding!r}.")
        if not 0 <= real_parameter(self, "tail") < 0.5:
            raise ValueError(f"HLGauss parameter 'tail' must be in [0, 0.5), got {self.tail!r}.")

    def n_outputs(self, n_targets):
        """Count the outputs: ``n_bins`` logits per target column.

        Parameters
        ----------
        n_targets : int
            Number of target columns.

        Returns
        -------
        int
            Number of network outputs.
        """
        return n_targets * int(self.n_bins)

    def fit_targets(self, y):
        """Place the bins on the scaled training targets' range (or quantiles), plus ``padding``.

        Parameters
        ----------
        y : numpy.ndarray of shape (n_samples, n_targets)
            The scaled training targets.
        """
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        low, high = np.quantile(y, [self.tail, 1 - self.tail], axis=0)
        span = np.where(high > low, high - low, 1.0)
        low, high = low - self.padding * span, high + self.padding * span
        steps = np.linspace(0.0, 1.0, int(self.n_bins) + 1)
        self.edges_ = torch.as_tensor(low[:, None] + (high - low)[:, None] * steps[None, :])

    def _edges(self, like):
        if not hasattr(self, "edges_"):
            raise RuntimeError(
                "HLGauss has no bins yet: call fit_targets(y) with the training targets first "
                "(the estimators do)."
            )
        return self.edges_.to(dtype=like.dtype, device=like.device)

    def _logits_by_target(self, outputs):
        return outputs.reshape(outputs.shape[0], -1, int(self.n_bins))

    def elementwise(self, outputs, target):
        edges = self._edges(outputs)
        logits = self._logits_by_target(outputs)
        log_p = torch.log_softmax(logits, dim=-1)
        losses = []
        for column in range(logits.shape[1]):
            width = edges[column, 1] - edges[column, 0]
            p = histogram_targets(target[:, column], edges[column], self.sigma_ratio * width)
            losses.append(-(p * log_p[:, column]).sum(dim=1))
        return torch.stack(losses, dim=1)

    def _centres(self, like):
        edges = self._edges(like)
        return (edges[:, 1:] + edges[:, :-1]) / 2

    def predict(self, outputs):
        """Predict the histogram means, ``sum_i softmax_i * centre_i``, per target column.

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets)
            Predictions in scaled target units.
        """
        probabilities = torch.softmax(self._logits_by_target(outputs), dim=-1)
        return (probabilities * self._centres(outputs).unsqueeze(0)).sum(dim=-1)

    def quantiles(self, outputs, q):
        """Compute the quantiles of the predicted histograms (uniform within a bin).

        Parameters
        ----------
        outputs : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        q : numpy.ndarray of float
            Levels in (0, 1).

        Returns
        -------
        torch.Tensor of shape (n_samples, n_targets, len(q))
            In scaled target units.
        """
        edges = self._edges(outputs)
        probabilities = torch.softmax(self._logits_by_target(outputs), dim=-1)
        cdf = torch.cumsum(probabilities, dim=-1)
        cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], dim=-1)  # at each edge
        levels = torch.as_tensor(np.asarray(q, dtype=float), dtype=cdf.dtype, device=cdf.device)
        # The bin where the distribution function crosses each level, then linear inside it.
        grid = levels.expand(*cdf.shape[:2], -1).contiguous()
        index = torch.searchsorted(cdf.contiguous(), grid)
        index = index.clamp(1, cdf.shape[-1] - 1)
        low_cdf, high_cdf = cdf.gather(-1, index - 1), cdf.gather(-1, index)
        edge_grid = edges.unsqueeze(0).expand(cdf.shape[0], -1, -1)
        low_edge, high_edge = edge_grid.gather(-1, index - 1), edge_grid.gather(-1, index)
        share = ((levels - low_cdf) / (high_cdf - low_cdf).clamp_min(1e-12)).clamp(0, 1)
        return low_edge + share * (high_edge - low_edge)
