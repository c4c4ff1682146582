"""Distillation losses: the student learns from a teacher's scores as well as the label.

Both losses require ``teacher_scores``, the teacher's scores of the batch's rows,
shape ``(n_samples, n_classes)``: logits, log-probabilities or any scores whose
softmax is the teacher's class distribution (both losses are unchanged when a
constant is added to a row of scores). The estimators pass them from
``fit(..., teacher_scores=...)`` or from a teacher model
(:class:`skloss.DistillationClassifier`).

- :class:`PLD` (Bassam, Zhu and Bian, 2025) reads the teacher as a ranking of the
  classes: true label first, then the others by falling teacher score, and fits
  the student's Plackett-Luce likelihood of that ranking, each step weighted by
  the teacher's probability of the class chosen there.
- :class:`KD` (Hinton, Vinyals and Dean, 2015) mixes cross-entropy with the
  divergence of the student's softened distribution from the teacher's.
"""

import torch
import torch.nn.functional as F

from ._base import Loss
from ._validation import real_parameter

__all__ = ["PLD", "KD", "cumulative_logsumexp"]


def cumulative_logsumexp(values):
    """``logsumexp(values[:, :k + 1])`` for every column ``k``, row by row.

    ``torch.logcumsumexp``, except on the CPU, where its backward is slow (it
    was most of a PLD training step there): there the sums are one cumulative
    sum of ``exp(values - row max)``, accurate to rounding as long as every
    partial sum is at least ``tiny / eps`` of the dtype (any term that underflows
    is then below the rounding of the sum). A batch with a smaller one (a row
    whose first logits lie more than about 70 below its largest in float32, 670
    in float64) takes the ``logcumsumexp`` path.

    Parameters
    ----------
    values : torch.Tensor of shape (n_rows, n_columns)
        Floating-point values.

    Returns
    -------
    torch.Tensor of shape (n_rows, n_columns)
        Column ``k`` holds ``log(sum(exp(values[:, :k + 1])))``.

    Examples
    --------
    >>> import torch
    >>> cumulative_logsumexp(torch.tensor([[0.0, 0.0, 0.0]])).exp()
    tensor([[1., 2., 3.]])
    """
    if values.device.type == "cpu":
        shift = values.detach().amax(dim=1, keepdim=True)
        sums = torch.exp(values - shift).cumsum(dim=1)
        finfo = torch.finfo(values.dtype)
        if bool((sums.detach()[:, 0] >= finfo.tiny / finfo.eps).all()):
            return torch.log(sums) + shift
    return torch.logcumsumexp(values, dim=1)


def _checked_teacher(teacher_scores, logits, name):
    """The teacher's scores in the logits' dtype, or an error saying what they must be.

    Only shapes are checked here (no device synchronisation: this runs every
    training step); finiteness is checked when the loss is called directly and by
    the estimators before training.
    """
    if not isinstance(teacher_scores, torch.Tensor):
        raise TypeError(
            f"{name} requires teacher_scores as a torch.Tensor of shape (n_samples, "
            f"n_classes); got {type(teacher_scores).__name__}."
        )
    if teacher_scores.shape != logits.shape:
        raise ValueError(
            f"teacher_scores must have the shape of the logits, one score per class for "
            f"each row: expected {tuple(logits.shape)}, got {tuple(teacher_scores.shape)}."
        )
    return teacher_scores.detach().to(dtype=logits.dtype)


def _check_temperature(loss):
    temperature = real_parameter(loss, "temperature")
    if temperature <= 0:
        raise ValueError(
            f"{type(loss).__name__} parameter 'temperature' must be > 0, got {loss.temperature!r}."
        )
    return temperature


class _TeacherLoss(Loss):
    """What the distillation losses share: the requirement and its checks."""

    requires = ("teacher_scores",)

    def _check_context(self, context):
        super()._check_context(context)
        scores = context["teacher_scores"]
        if isinstance(scores, torch.Tensor) and not bool(torch.isfinite(scores).all()):
            raise ValueError(
                "teacher_scores must be finite: a log-probability of 0 is -inf; floor the "
                "probabilities first (the estimators floor them at the smallest normal "
                "float32)."
            )


class PLD(_TeacherLoss):
    """Plackett-Luce distillation: the teacher's ranking of the classes, label first.

    For a row with student logits ``s``, teacher scores ``t`` and label ``y``, the
    classes are put in the order ``pi = (y, then the other classes by falling t)``
    and ::

        L = sum_k alpha_k (logsumexp(s[pi_k], ..., s[pi_K]) - s[pi_k]),
        alpha = softmax(t / temperature), read at class pi_k.

    Each term is the negative log-probability, under the student's
    Plackett-Luce model, of choosing ``pi_k`` among the classes not yet chosen;
    the first is the cross-entropy of the label, weighted by the teacher's
    probability of the label. The student's logits are not temperature-scaled.
    The loss is convex in ``s`` and unchanged by adding a constant to ``s`` or
    to ``t``. With two classes it is ``softmax(t/T)_y`` times the cross-entropy.

    Parameters
    ----------
    temperature : float, default=1.0
        ``T > 0`` softens the teacher's weights ``alpha`` (not the ranking):
        larger values spread the weight over the later steps of the ranking.

    Notes
    -----
    Classes with equal teacher scores keep the order of their columns. The
    log-sum-exps over the rest of the ranking come from one cumulative sum over
    the ranking read backwards (:func:`cumulative_logsumexp`), finite for logits
    of any size.

    References
    ----------
    .. [1] E. Bassam, D. Zhu and K. Bian, "PLD: A Choice-Theoretic List-Wise
       Knowledge Distillation", 2025 (arXiv:2506.12542).

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[2.0, 1.0, 0.0]])
    >>> t = torch.tensor([[0.5, 2.0, 1.0]])
    >>> round(PLD()(s, torch.tensor([0]), teacher_scores=t).item(), 6)
    0.254059
    """

    name = "pld"
    search_space = {"temperature": ("float", 0.25, 8.0, "log")}

    def __init__(self, temperature=1.0):
        self.temperature = temperature

    def validate(self):
        """Check ``temperature > 0``."""
        _check_temperature(self)

    def per_sample(self, logits, target, teacher_scores=None, **context):
        """Per-sample PLD values.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Student logits.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        teacher_scores : torch.Tensor of shape (n_samples, n_classes)
            Teacher scores (logits or log-probabilities).
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss of each row, ``>= 0``.
        """
        teacher = _checked_teacher(teacher_scores, logits, "PLD")
        # The label goes first whatever the teacher says; the rest by falling score.
        key = teacher.scatter(1, target[:, None], float("inf"))
        order = torch.sort(key, dim=1, descending=True, stable=True).indices
        # The ranking read backwards: the log-sum-exp over positions k..K of the
        # ranking is then a cumulative one, and the sum over k does not mind the order.
        backwards = order.flip(1)
        ranked = logits.gather(1, backwards)
        weights = torch.softmax(teacher / float(self.temperature), dim=1).gather(1, backwards)
        return (weights * (cumulative_logsumexp(ranked) - ranked)).sum(dim=1)


class KD(_TeacherLoss):
    """Knowledge distillation (Hinton et al.): cross-entropy plus a softened KL term.

    ::

        L = (1 - alpha) CE(s, y) + alpha T^2 KL(softmax(t / T) || softmax(s / T))

    with student logits ``s``, teacher scores ``t`` and temperature ``T``. The
    ``T^2`` keeps the gradient of the second term on the scale of the first as
    ``T`` grows.

    Parameters
    ----------
    temperature : float, default=4.0
        ``T > 0``, the temperature of both softmaxes in the KL term (4 is the
        usual choice in the distillation literature, e.g. Tian et al.'s CRD
        benchmark code).
    alpha : float, default=0.9
        Weight of the KL term, in ``[0, 1]``; 0 is plain cross-entropy, 1 learns
        from the teacher alone.

    Notes
    -----
    The KL term is computed from log-softmaxes, ``sum p_t (log p_t - log q_s)``,
    so a teacher probability that underflows contributes 0, not NaN.

    References
    ----------
    .. [1] G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a
       Neural Network", 2015 (arXiv:1503.02531).

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[2.0, 1.0, 0.0]])
    >>> t = torch.tensor([[2.0, 1.0, 0.0]])
    >>> # The teacher agrees with the student: the KL term is 0, CE is weighted by 0.1.
    >>> round(KD()(s, torch.tensor([0]), teacher_scores=t).item(), 6)
    0.040761
    """

    name = "kd"
    search_space = {
        "temperature": ("float", 1.0, 8.0, "log"),
        "alpha": ("float", 0.0, 1.0),
    }

    def __init__(self, temperature=4.0, alpha=0.9):
        self.temperature = temperature
        self.alpha = alpha

    def validate(self):
        """Check ``temperature > 0`` and ``0 <= alpha <= 1``."""
        _check_temperature(self)
        alpha = real_parameter(self, "alpha")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"KD parameter 'alpha' must be in [0, 1], got {self.alpha!r}.")

    def per_sample(self, logits, target, teacher_scores=None, **context):
        """Per-sample KD values.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Student logits.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        teacher_scores : torch.Tensor of shape (n_samples, n_classes)
            Teacher scores (logits or log-probabilities).
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss of each row, ``>= 0``.
        """
        teacher = _checked_teacher(teacher_scores, logits, "KD")
        temperature, alpha = float(self.temperature), float(self.alpha)
        ce = F.cross_entropy(logits, target, reduction="none")
        log_teacher = F.log_softmax(teacher / temperature, dim=1)
        log_student = F.log_softmax(logits / temperature, dim=1)
        kl = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=1)
        return (1.0 - alpha) * ce + (alpha * temperature**2) * kl
