"""Per-row statistics of the logits, and losses written as functions of them.

A fused head never holds the ``(n_samples, n_classes)`` logits ``z = h W^T + b``.
It streams over blocks of classes and keeps a few numbers per row, the
*statistics* of :data:`STATISTICS`; a loss then only has to say which
statistics it needs and how its per-row value follows from them. That is the
whole per-loss interface, :class:`StatisticsForm`:

- ``statistics``: the names it reads;
- ``row_loss(stats, target)``: the per-row loss from those statistics, written
  in plain torch on ``(n_samples,)`` tensors.

Autograd differentiates ``row_loss`` on those tiny tensors, which gives one
coefficient ``c_s = dL/ds`` per row and statistic. Every statistic ``s`` has a
known derivative ``ds/dz_k`` (see :data:`STATISTICS`), so a kernel's backward
pass rebuilds the logit gradient block by block as
``dL/dz_k = sum_s c_s * ds/dz_k`` without knowing which loss it serves. A new
loss therefore plugs in without a new kernel, and a new *statistic* is the only
thing that needs kernel work.

Each loss gives its own form (:meth:`skloss.losses.Loss.fused_form`), and
:class:`StatisticsForm` is defined beside the losses: this package reads the
protocol and never names a loss class.
"""

import numbers

import torch

from skloss.losses import STATISTICS, StatisticsForm, get_loss

__all__ = ["STATISTICS", "StatisticsForm", "fused_form", "logit_statistics", "supports"]


def logit_statistics(logits, target, statistics, temperature=None):
    """Compute statistics from materialised logits (the reference definition).

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        The logits ``z``.
    target : torch.Tensor of shape (n_samples,)
        Class indices.
    statistics : iterable of str
        Names from :data:`STATISTICS`.
    temperature : float, default=None
        The ``t`` of ``lse_t``.

    Returns
    -------
    dict of str to torch.Tensor
        One ``(n_samples,)`` tensor per requested statistic, differentiable.

    Examples
    --------
    >>> import torch
    >>> stats = logit_statistics(torch.tensor([[1.0, 3.0]]), torch.tensor([1]),
    ...                          ["target", "mean", "var"])
    >>> [round(stats[k].item(), 3) for k in ("target", "mean", "var")]
    [3.0, 2.0, 1.0]
    """
    result = {}
    for name in statistics:
        if name == "lse":
            result[name] = torch.logsumexp(logits, dim=1)
        elif name == "target":
            result[name] = logits.gather(1, target.unsqueeze(1)).squeeze(1)
        elif name == "mean":
            result[name] = logits.mean(dim=1)
        elif name == "var":
            result[name] = logits.var(dim=1, correction=0)
        elif name == "lse_t":
            if temperature is None:
                raise ValueError("The 'lse_t' statistic needs a temperature.")
            result[name] = torch.logsumexp(logits / temperature, dim=1)
        else:
            raise ValueError(f"Unknown statistic {name!r}; known: {STATISTICS}.")
    return result


def fused_form(loss, n_classes):
    """Return the :class:`StatisticsForm` of a loss, or raise if it has none.

    Parameters
    ----------
    loss : str or Loss
        A registry name or a loss instance.
    n_classes : int
        Number of classes (logit columns); per-class hyperparameters such as
        ``Focal(alpha=[...])`` are checked against it.

    Returns
    -------
    StatisticsForm

    Raises
    ------
    TypeError
        If the loss depends on the logits through more than the statistics
        (e.g. ``nce_rce``, which needs every ``log p_k``).
    ValueError
        If a hyperparameter does not fit ``n_classes``.

    Notes
    -----
    The form is the loss's own, from :meth:`Loss.fused_form
    <skloss.losses.Loss.fused_form>`: ``from_nll(lse - z_y)`` for every
    :class:`~skloss.losses.ProbabilityLoss`, with overrides for label-smoothed
    cross-entropy (``(1 - eps) (lse - z_y) + eps (lse - mean)``) and
    class-weighted focal loss (``alpha_y`` times the focal term). A new loss
    plugs in by defining that method, without editing this module.

    Examples
    --------
    >>> fused_form("gce", n_classes=10).statistics
    ('lse', 'target')
    >>> fused_form("ce", n_classes=10).statistics
    ('lse', 'target')
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    loss = get_loss(loss)
    form = loss.fused_form(int(n_classes))
    if not isinstance(form, StatisticsForm):
        raise TypeError(
            f"{type(loss).__name__}.fused_form must return a skloss.losses.StatisticsForm "
            f"(or raise TypeError when there is none), got {type(form).__name__}."
        )
    return form


def supports(loss, n_classes=2):
    """Whether ``loss`` can be computed by a fused head.

    Parameters
    ----------
    loss : str or Loss
        A registry name or a loss instance.
    n_classes : int, default=2
        Number of classes, for losses with per-class hyperparameters.

    Returns
    -------
    bool

    Examples
    --------
    >>> supports("sce"), supports("nce_rce")
    (True, False)
    """
    try:
        fused_form(loss, n_classes)
    except (TypeError, ValueError):
        return False
    return True
