"""Loss correction for class-conditional label noise (Patrini et al., CVPR 2017).

Under class-conditional noise a sample of true class ``i`` is labelled ``j`` with
probability ``T[i, j]``, the transition matrix (rows: true classes, columns: noisy
labels, both in the order of ``classes_``; every row sums to 1). Knowing ``T``, a
loss can be corrected so that training on the noisy labels targets the clean
classes:

- forward: the cross-entropy of the *noisy-label* distribution the model implies,
  ``-log (T^T softmax(z))_y``; its minimiser is the clean posterior pushed through
  ``T``, so ``softmax(z)`` estimates the clean one;
- backward: ``sum_j (T^-1)[y, j] * CE(z, j)``, whose expectation over the noisy
  label equals the clean cross-entropy (an unbiased estimate; it can be negative
  and needs ``T`` well conditioned).

``T`` can be given, or estimated from the data by
:func:`skloss.noise.estimate_transition`; :class:`skloss.noise.LossCorrectionClassifier`
estimates it inside ``fit``. Pure numpy and torch, like every loss module.
"""

import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ._base import Loss

__all__ = ["BackwardCorrection", "ForwardCorrection", "MAX_CONDITION", "check_transition"]

#: The largest condition number of ``T`` that is inverted (backward correction, the
#: clean-accuracy estimate of :mod:`skloss.noise`). The relative error of what is
#: recovered through ``T^-1`` can reach the condition number times the relative error
#: of what is observed: past 100, a 1% sampling error of the noisy counts can swamp
#: the estimate. Symmetric noise at rate r on K classes has condition number
#: ``1 / (1 - r K / (K - 1))`` (3 at 60% on 10 classes, 5 at 40% on 2); pair-flip
#: noise at rate r on an even number of classes, ``1 / (1 - 2 r)`` (5 at 40%).
MAX_CONDITION = 100.0


def check_transition(transition, n_classes=None, *, name="transition", invertible=False):
    """Return a transition matrix as a float64 array after checking it.

    Parameters
    ----------
    transition : array-like of shape (n_classes, n_classes)
        ``T[i, j]``: the probability that a sample of true class ``i`` carries the
        noisy label ``j``.
    n_classes : int, default=None
        The number of classes it must describe; None accepts any square size >= 2.
    name : str, default="transition"
        The argument's name, for error messages.
    invertible : bool, default=False
        Also refuse a matrix whose condition number exceeds :data:`MAX_CONDITION`.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        A float64 copy.

    Raises
    ------
    ValueError
        If it is not a square row-stochastic matrix of finite, non-negative
        entries (of ``n_classes`` rows when given), if a noisy label has
        probability 0 under every true class, or (``invertible=True``) if it is
        near-singular.

    Examples
    --------
    >>> from skloss.losses.correction import check_transition
    >>> check_transition([[0.8, 0.2], [0.3, 0.7]], n_classes=2)
    array([[0.8, 0.2],
           [0.3, 0.7]])
    """
    if isinstance(transition, (str, bytes)) or isinstance(transition, numbers.Number):
        raise ValueError(
            f"{name} must be an (n_classes, n_classes) array of probabilities, got {transition!r}."
        )
    try:
        matrix = np.array(transition, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an (n_classes, n_classes) array of probabilities, got "
            f"{type(transition).__name__}."
        ) from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(
            f"{name} must be a square (n_classes, n_classes) matrix with n_classes >= 2, "
            f"got shape {matrix.shape}."
        )
    if n_classes is not None and matrix.shape[0] != n_classes:
        raise ValueError(
            f"{name} is {matrix.shape[0]} x {matrix.shape[0]}, but there are {n_classes} "
            "classes: give one row and one column per class, in the order of classes_ "
            "(skloss.noise.estimate_transition(X, y) returns it so)."
        )
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ValueError(f"{name} must hold finite, non-negative probabilities.")
    row_sums = matrix.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(
            f"{name} must be row-stochastic: row {bad[0]} (true class {bad[0]}) sums to "
            f"{row_sums[bad[0]]:.6g}, not 1. T[i, j] is P(noisy label j | true class i)."
        )
    silent = np.flatnonzero(matrix.sum(axis=0) == 0)
    if silent.size:
        raise ValueError(
            f"{name} gives noisy label {silent[0]} probability 0 under every true class, "
            "so a sample labelled so would have an infinite loss; every column needs a "
            "positive entry."
        )
    if invertible:
        condition = np.linalg.cond(matrix)
        if not condition <= MAX_CONDITION:
            raise ValueError(
                f"{name} is near-singular (condition number {condition:.3g} > "
                f"{MAX_CONDITION:g}): its inverse would amplify sampling errors beyond "
                "use. This happens when the noise nearly erases the labels (symmetric "
                "noise near (K - 1) / K, pair-flip noise near 50%). Use the forward "
                "correction, which does not invert T."
            )
    return matrix


class _TransitionLoss(Loss):
    """What the forward and backward corrections share: the checks of ``transition``."""

    def _matrix(self):
        return None if self.transition is None else check_transition(self.transition)

    def validate(self):
        """Check that ``transition`` is None or a valid transition matrix."""
        self._matrix()

    @property
    def searchable(self):
        """Only with a transition matrix: without one the correction is plain cross-entropy.

        Returns
        -------
        bool
            True when ``transition`` is set.
        """
        return self.transition is not None and super().searchable

    def why_cannot_train(self, n_classes):
        """Why the loss cannot train ``n_classes`` classes: ``transition`` of another size.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.

        Returns
        -------
        str or None
            None when ``transition`` is None or ``n_classes x n_classes``.
        """
        reason = super().why_cannot_train(n_classes)
        if reason is None and self.transition is not None:
            size = np.shape(self.transition)[0]
            if size != n_classes:
                reason = (
                    f"loss {type(self).__name__} has a {size} x {size} transition matrix, "
                    f"but y has {n_classes} classes; give one row and one column per class "
                    "in the order of classes_ (skloss.noise.estimate_transition(X, y))."
                )
        return reason

    def check_n_classes(self, n_classes, from_scratch=True):
        """Check the size of ``transition``, and warn when there is none.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.
        from_scratch : bool, default=True
            Whether training starts from a new network.

        Warns
        -----
        UserWarning
            Without ``transition``: the correction corrects for no noise, so the
            estimator trains plain cross-entropy under this loss's name.
        """
        super().check_n_classes(n_classes, from_scratch)
        if self.transition is None:
            warnings.warn(
                f"{type(self).__name__} without a transition matrix corrects for no noise: "
                "it trains plain cross-entropy. Pass transition=T (T[i, j] = P(noisy label "
                "j | true class i), classes in the order of classes_), e.g. "
                "skloss.noise.estimate_transition(X, y), or use "
                "skloss.noise.LossCorrectionClassifier, which estimates T inside fit.",
                UserWarning,
                stacklevel=2,
            )

    def _check_inputs(self, logits, target):
        super()._check_inputs(logits, target)
        if self.transition is not None and logits.shape[1] != np.shape(self.transition)[0]:
            size = np.shape(self.transition)[0]
            raise ValueError(
                f"logits have {logits.shape[1]} columns but transition is {size} x {size}; "
                "they must describe the same classes."
            )


class ForwardCorrection(_TransitionLoss):
    """Forward-corrected cross-entropy ``-log (T^T softmax(z))_y`` (Patrini et al., 2017).

    The model's clean class probabilities ``p = softmax(z)`` are pushed through the
    noise, ``q_j = sum_i p_i T[i, j]``, and scored against the noisy label. The
    network keeps predicting the *clean* classes (``predict_proba`` is ``p``). The
    value is computed in log space, ``-logsumexp_i(log p_i + log T[i, y])``, finite
    wherever ``T[:, y]`` has a positive entry.

    Parameters
    ----------
    transition : array-like of shape (n_classes, n_classes), default=None
        ``T[i, j]``, the probability that a sample of true class ``i`` is labelled
        ``j``, classes in the order of ``classes_``; rows sum to 1. None is the
        identity (no noise): plain cross-entropy, and the estimators warn so
        before training. Estimate it with
        :func:`skloss.noise.estimate_transition`, or let
        :class:`skloss.noise.LossCorrectionClassifier` do so inside ``fit``.

    Notes
    -----
    Forward correction does not invert ``T``, so it tolerates an ill-conditioned
    estimate better than :class:`BackwardCorrection`; it is bounded below by 0.

    With ``early_stopping`` an estimator monitors minus this loss on the (noisy)
    validation split rather than the accuracy there (``stops_on_validation_loss``):
    the loss is the log-loss of the noisy labels under the model's clean
    probabilities pushed through ``T``, a proper score whose minimum is the clean
    posterior (Patrini et al., Theorem 2), whereas the accuracy of clean predictions
    on noisy labels rewards epochs that reproduce the flips.

    References
    ----------
    .. [1] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach",
       CVPR 2017.

    Examples
    --------
    >>> import torch
    >>> from skloss.losses import ForwardCorrection
    >>> T = [[0.8, 0.2], [0.4, 0.6]]
    >>> logits = torch.tensor([[0.0, 0.0]])  # p = (0.5, 0.5)
    >>> # q_1 = 0.5 * 0.2 + 0.5 * 0.6 = 0.4, so the loss is -log 0.4
    >>> round(ForwardCorrection(T)(logits, torch.tensor([1])).item(), 4)
    0.9163
    """

    name = "forward"

    def __init__(self, transition=None):
        self.transition = transition

    @property
    def stops_on_validation_loss(self):
        """Whether ``early_stopping`` monitors this loss rather than the accuracy.

        Returns
        -------
        bool
            True when ``transition`` is set (without it the loss is plain
            cross-entropy, which stops on the accuracy as ``MLPClassifier`` does).
        """
        return self.transition is not None

    def per_sample(self, logits, target, **context):
        """Per-sample ``-log sum_i softmax(z)_i T[i, y]``.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Noisy class indices, integer dtype.
        **context
            Unused; accepted for the common loss interface.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``logits``.
        """
        if self.transition is None:
            return F.cross_entropy(logits, target, reduction="none")
        with np.errstate(divide="ignore"):
            log_transition = np.log(self._matrix())  # -inf where T is 0: no path
        log_transition = torch.as_tensor(log_transition, dtype=logits.dtype, device=logits.device)
        # Row n: log p_i + log T[i, y_n] over the true classes i.
        paths = F.log_softmax(logits, dim=1) + log_transition[:, target].T
        return -torch.logsumexp(paths, dim=1)


class BackwardCorrection(_TransitionLoss):
    """Backward-corrected cross-entropy ``sum_j (T^-1)[y, j] CE(z, j)`` (Patrini et al., 2017).

    For every noisy label ``y`` the cross-entropies against each class are mixed
    with the row ``y`` of ``T^-1``; averaged over the noise, this equals the
    cross-entropy against the clean label, whatever the model: the corrected loss
    is an unbiased estimate of the clean one.

    Parameters
    ----------
    transition : array-like of shape (n_classes, n_classes), default=None
        ``T[i, j]``, the probability that a sample of true class ``i`` is labelled
        ``j``, classes in the order of ``classes_``; rows sum to 1. It must be
        invertible with condition number at most
        :data:`~skloss.losses.correction.MAX_CONDITION`. None is the identity:
        plain cross-entropy, and the estimators warn so before training.

    Notes
    -----
    ``T^-1`` has negative entries, so the loss is unbounded below: a flexible
    network can drive it down by pushing some probabilities to 0. Patrini et al.
    found it weaker than forward correction with deep networks; early stopping
    helps. Early stopping monitors the accuracy, not this loss: its validation
    value is unbounded below too, and keeps falling as the network overfits.

    References
    ----------
    .. [1] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach",
       CVPR 2017.

    Examples
    --------
    >>> import torch
    >>> from skloss.losses import BackwardCorrection
    >>> T = [[0.8, 0.2], [0.2, 0.8]]  # T^-1 = [[4/3, -1/3], [-1/3, 4/3]]
    >>> logits = torch.tensor([[0.0, 0.0]])  # CE(z, 0) = CE(z, 1) = log 2
    >>> # (4/3 - 1/3) * log 2
    >>> round(BackwardCorrection(T)(logits, torch.tensor([0])).item(), 4)
    0.6931
    """

    name = "backward"

    def __init__(self, transition=None):
        self.transition = transition

    def _matrix(self):
        if self.transition is None:
            return None
        return check_transition(self.transition, invertible=True)

    def per_sample(self, logits, target, **context):
        """Per-sample ``-sum_j (T^-1)[y, j] log softmax(z)_j``.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Noisy class indices, integer dtype.
        **context
            Unused; accepted for the common loss interface.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            The loss per sample, in the dtype of ``logits``.
        """
        if self.transition is None:
            return F.cross_entropy(logits, target, reduction="none")
        inverse = torch.as_tensor(
            np.linalg.inv(self._matrix()), dtype=logits.dtype, device=logits.device
        )
        return -(inverse[target] * F.log_softmax(logits, dim=1)).sum(dim=1)
