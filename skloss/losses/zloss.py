"""Z-loss of de Brebisson and Vincent (2016): a loss of the standardised target logit."""

import torch.nn.functional as F

from ._base import Loss
from ._fused_form import StatisticsForm
from ._validation import real_parameter

__all__ = ["ZLoss"]

#: Added to the logits' variance so that a row of equal logits has a finite score.
_VAR_EPS = 1e-6


class ZLoss(Loss):
    """Z-loss ``softplus(a (b - z~_y)) / a`` with ``z~_y = (z_y - mean(z)) / std(z)``.

    Parameters
    ----------
    a : float, default=1.0
        ``> 0``, the sharpness of the softplus.
    b : float, default=0.0
        The standardised score beyond which the loss flattens out.

    Notes
    -----
    ``std`` is the population standard deviation over the classes, computed as
    ``sqrt(var + 1e-6)``. The loss is invariant to shifting and (up to that
    ``1e-6``) scaling the logits: it only asks the labelled logit to stand out
    from the others, which makes it bounded (``z~_y <= sqrt(K - 1)``) and cheap
    to compute for many classes; its fused form needs the ``target``, ``mean``
    and ``var`` statistics. This is not PaLM's ``log(Z)^2`` auxiliary penalty.

    It needs three classes or more: two logits standardise to ``+-1``, a step
    without gradient, so the estimators refuse two classes before training
    (:meth:`why_cannot_train`).

    References
    ----------
    .. [1] A. de Brebisson and P. Vincent, "The Z-loss: a shift and scale
       invariant classification loss belonging to the Spherical Family",
       arXiv:1604.08859, 2016.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    >>> ZLoss()(z, torch.tensor([0, 2]), reduction="none")
    tensor([0.2576, 1.4824])
    """

    name = "z_loss"
    search_space = {
        "a": ("float", 0.1, 10.0, "log"),
        "b": ("float", -1.0, 3.0),
    }

    def __init__(self, a=1.0, b=0.0):
        self.a = a
        self.b = b

    def validate(self):
        """Check ``a > 0`` and ``b`` finite."""
        if real_parameter(self, "a") <= 0:
            raise ValueError(f"ZLoss parameter 'a' must be > 0, got {self.a!r}.")
        real_parameter(self, "b")

    def why_cannot_train(self, n_classes):
        """Refuse two classes, where the standardised score is a step.

        Two logits standardise to ``+-1``: ``z~_y`` is the sign of
        ``z_y - z_other``, smoothed only where the two logits are within ``~1e-3``
        of each other (by the ``1e-6`` added to the variance), so the loss stops
        giving a gradient within the first steps.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.

        Returns
        -------
        str or None
            The reason for two classes, else None.
        """
        if n_classes == 2:
            return (
                f"loss {self!r} needs three classes or more: with two, the standardised "
                "score (z_y - mean z) / std z is +1 or -1 (the sign of z_y - z_other), so the "
                "loss is a step and gives no gradient once the two logits differ by more than "
                "~1e-3. Use another loss (e.g. 'ce' or 'gce') for a binary problem."
            )
        return super().why_cannot_train(n_classes)

    def _from_score(self, score):
        a, b = float(self.a), float(self.b)
        return F.softplus(a * (b - score)) / a

    def per_sample(self, logits, target, **context):
        """Per-sample Z-loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            Per-sample loss values.
        """
        centred = logits - logits.mean(dim=1, keepdim=True)
        std = ((centred**2).mean(dim=1) + _VAR_EPS).sqrt()
        return self._from_score(centred.gather(1, target[:, None])[:, 0] / std)

    def fused_form(self, n_classes):
        """``softplus(a (b - (z_y - mean) / sqrt(var + eps))) / a``.

        Parameters
        ----------
        n_classes : int
            Logit columns (unused).

        Returns
        -------
        StatisticsForm
            Reads ``target``, ``mean`` and ``var``.

        Examples
        --------
        >>> ZLoss().fused_form(n_classes=10).statistics
        ('target', 'mean', 'var')
        """
        self.validate()

        def row_loss(stats, target):
            score = (stats["target"] - stats["mean"]) / (stats["var"] + _VAR_EPS).sqrt()
            return self._from_score(score)

        return StatisticsForm(("target", "mean", "var"), row_loss, description=repr(self))
