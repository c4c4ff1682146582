"""A pairwise AUC loss: the Mann-Whitney statistic with a softplus surrogate."""

import numbers

import torch
import torch.nn.functional as F

from skloss._scores import decision_scores

from ._base import Loss, OneLogitBinary
from ._validation import real_parameter

__all__ = ["MWAUC"]


class MWAUC(OneLogitBinary, Loss):
    """Pairwise AUC loss: mean over (positive, negative) pairs of ``softplus(-(s_i - s_j) / tau)``.

    ``1 - AUC`` is the share of (positive, negative) pairs ranked the wrong way
    (the Mann-Whitney statistic); this loss replaces the step by a softplus at
    temperature ``tau`` and averages it over the pairs of each batch.

    Parameters
    ----------
    tau : float, default=1.0
        ``> 0``; smaller values are closer to the 0/1 ranking error.
    max_pairs : int, default=65536
        Most pairs one batch computes. A batch with ``B+`` positives and ``B-``
        negatives has ``B+ B-`` pairs, and the loss holds one value per pair
        (memory ``O(B+ B-)``, a quarter of the batch size squared at worst);
        beyond ``max_pairs`` it draws ``max_pairs`` pairs uniformly with
        replacement from the fit's generator (an unbiased estimate of the batch
        loss). The default covers every pair of batches up to 512 rows.

    Notes
    -----
    Binary only (``binary_only``), with one score per sample: the network has
    one output (``n_outputs(2) == 1``, the score of ``classes_[1]``), and its
    sigmoid is what ``predict_proba`` returns. The loss only ranks: adding a
    constant to every score changes nothing, so the threshold of ``predict``
    (score 0) is not fitted; score with ROC AUC or average precision, or choose
    a threshold on held-out data. Every training batch holds both classes
    (``stratified_batches``); a batch without a pair has loss 0.

    A batch-level loss (``batch_level``): sample weights weight each pair by
    ``w_i w_j``, so an integer weight equals repeating the sample.

    References
    ----------
    .. [1] "Optimizing What Matters: AUC-Driven Learning for Robust Neural
       Retrieval", 2025; the Mann-Whitney / Wilcoxon form of the AUC.

    Examples
    --------
    >>> import torch
    >>> scores = torch.tensor([[2.0], [0.5], [1.0], [-1.0], [0.0]])
    >>> target = torch.tensor([1, 1, 0, 0, 0])
    >>> round(MWAUC()(scores, target, generator=torch.Generator()).item(), 6)
    0.356391
    """

    name = "mw_auc"
    requires = ("generator",)
    binary_only = True
    stratified_batches = True
    batch_level = True
    search_space = {"tau": ("float", 0.1, 5.0, "log")}

    def __init__(self, tau=1.0, max_pairs=65536):
        self.tau = tau
        self.max_pairs = max_pairs

    def validate(self):
        """Check ``tau > 0`` and ``max_pairs >= 1``."""
        if real_parameter(self, "tau") <= 0:
            raise ValueError(f"MWAUC parameter 'tau' must be > 0, got {self.tau!r}.")
        max_pairs = self.max_pairs
        if (
            isinstance(max_pairs, bool)
            or not isinstance(max_pairs, numbers.Integral)
            or max_pairs < 1
        ):
            raise ValueError(
                f"MWAUC parameter 'max_pairs' must be an integer >= 1, got {max_pairs!r}."
            )

    def batch_loss(self, logits, target, sample_weight=None, generator=None, **context):
        """The (weighted) mean pairwise loss of the batch.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, 1) or (n_samples, 2)
            One score per sample (two columns are read as ``z_1 - z_0``).
        target : torch.Tensor of shape (n_samples,)
            0 (negative) or 1 (positive).
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights; None weighs every sample equally.
        generator : torch.Generator, default=None
            Draws the pairs when there are more than ``max_pairs``; required then.
        **context
            Unused.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        scores = decision_scores(logits)  # one logit, or the difference of two
        positive, negative = target == 1, target == 0
        s_pos, s_neg = scores[positive], scores[negative]
        n_pos, n_neg = s_pos.shape[0], s_neg.shape[0]
        if n_pos == 0 or n_neg == 0:
            return scores.sum() * 0.0  # no pair: nothing to rank, and still a graph
        tau = float(self.tau)
        if sample_weight is not None:
            w_pos, w_neg = sample_weight[positive], sample_weight[negative]
        if n_pos * n_neg <= self.max_pairs:
            pair_losses = F.softplus((s_neg[None, :] - s_pos[:, None]) / tau)
            if sample_weight is None:
                return pair_losses.mean()
            weighted = (w_pos[:, None] * pair_losses * w_neg[None, :]).sum()
            total = w_pos.sum() * w_neg.sum()
            return weighted / total.clamp_min(torch.finfo(weighted.dtype).tiny)
        if generator is None:
            raise ValueError(
                f"MWAUC: this batch has {n_pos * n_neg} pairs, more than max_pairs="
                f"{self.max_pairs}; pass generator= (a torch.Generator) to draw a subset, "
                "or raise max_pairs."
            )
        device = generator.device
        i = torch.randint(n_pos, (self.max_pairs,), generator=generator, device=device)
        j = torch.randint(n_neg, (self.max_pairs,), generator=generator, device=device)
        i, j = i.to(scores.device), j.to(scores.device)
        pair_losses = F.softplus((s_neg[j] - s_pos[i]) / tau)
        if sample_weight is None:
            return pair_losses.mean()
        pair_weights = w_pos[i] * w_neg[j]
        weighted = (pair_weights * pair_losses).sum()
        return weighted / pair_weights.sum().clamp_min(torch.finfo(weighted.dtype).tiny)
