"""The loss base class: a small value object with scikit-learn style parameters.

Every skloss loss maps an ``(n_samples, n_outputs)`` logits tensor and an
``(n_samples,)`` tensor of class indices to one value per sample. Reduction and
sample weights are applied here, once, for every loss.

Losses are pure torch: nothing in this package imports scikit-learn or skorch,
so a loss can be used in any training loop.
"""

import inspect

import numpy as np
import torch
import torch.nn.functional as F

from ._fused_form import StatisticsForm, nll_of
from ._validation import check_sample_weight, check_target_range

__all__ = [
    "Loss",
    "OneLogitBinary",
    "ProbabilityLoss",
    "reduce_loss",
    "weighted_batch_mean",
    "KNOWN_REQUIREMENTS",
    "SUPERVISION_BEYOND_Y",
]

#: Context a loss may ask the training step for, through ``Loss.requires``. Each
#: entry names what the training step passes as keyword arguments to the loss:
#:
#: - ``"index"``: ``index`` (row positions of the batch in the training data) and
#:   ``n_samples`` (rows in the training data), for losses with per-sample state
#:   (ALDR-KL, truncated GCE);
#: - ``"epoch"``: ``epoch``, the 0-based epoch count, for scheduled losses;
#: - ``"model"`` and ``"inputs"``: the torch module and the batch's input tensor,
#:   for losses that probe the model (adversarial losses);
#: - ``"generator"``: ``generator``, a :class:`torch.Generator` on the model's
#:   device owned by the fit and seeded from its ``random_state``, for losses
#:   with random draws (EnsLoss): drawing from it keeps fits reproducible, also
#:   when several run at once in threads.
#:
#: - ``"teacher_scores"``: ``teacher_scores``, the batch rows' scores from a
#:   teacher model, shape ``(n_samples, n_classes)``, for distillation losses;
#: - ``"bags"``: ``bags``, the batch rows' bag ids (int64), for losses of
#:   aggregate responses (a bag's rows share one response).
#:
#: The last two are supervision ``fit`` receives beyond ``y`` (metadata, routed
#: like ``groups``): the estimator carries them with the rows of every batch.
#:
#: That every training batch holds each class is a promise about batches, not a
#: context value: a loss asks for it with ``stratified_batches = True``; that a
#: batch holds whole bags, with ``batch_groups = "bags"``.
KNOWN_REQUIREMENTS = ("index", "epoch", "model", "inputs", "generator", "teacher_scores", "bags")

#: The requirements that are per-row supervision ``fit`` receives beyond ``y``.
SUPERVISION_BEYOND_Y = ("teacher_scores", "bags")

_REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(values, reduction="mean", sample_weight=None):
    """Reduce per-sample loss values, optionally weighted.

    Parameters
    ----------
    values : torch.Tensor of shape (n_samples,)
        Per-sample loss values.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``"mean"`` is the weighted mean ``sum(w * l) / sum(w)`` (the plain mean
        without weights), so that an integer weight equals repeating the sample.
        ``"none"`` returns ``w * l``.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Finite, non-negative per-sample weights; with ``reduction="mean"`` at
        least one must be positive.

    Returns
    -------
    torch.Tensor
        A scalar, or the weighted values for ``reduction="none"``.

    Raises
    ------
    ValueError
        For an unknown reduction, or weights of the wrong shape, negative,
        non-finite, or all zero with ``reduction="mean"``.

    Examples
    --------
    >>> import torch
    >>> reduce_loss(torch.tensor([1.0, 3.0]), sample_weight=torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
    sample_weight = check_sample_weight(
        sample_weight, values.shape, reduction, values.dtype, values.device
    )
    return _reduce(values, reduction, sample_weight)


def weighted_batch_mean(values, sample_weight):
    """``mean(w * l)``, the batch objective of per-sample losses (see ``Loss.batch_loss``).

    Parameters
    ----------
    values : torch.Tensor of shape (n_samples,)
        Per-sample loss values.
    sample_weight : torch.Tensor of shape (n_samples,) or None
        Weights with mean 1 over the training data (None: the plain mean).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    if sample_weight is None:
        return values.mean()
    if sample_weight.shape != values.shape:
        raise ValueError(
            "sample_weight must have one value per sample: expected shape "
            f"{tuple(values.shape)}, got {tuple(sample_weight.shape)}."
        )
    return (values * sample_weight).mean()


def _reduce(values, reduction, sample_weight):
    # reduce_loss without its checks, for callers that made them already.
    if sample_weight is not None:
        values = values * sample_weight
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if sample_weight is None:
        return values.mean()
    return values.sum() / sample_weight.sum()


class Loss:
    """Base class of skloss losses.

    Subclasses store their ``__init__`` arguments unchanged under the same
    names (the scikit-learn rule), which gives ``get_params``, ``set_params``,
    ``sklearn.base.clone`` support and nested grid search (``loss__q``), and
    implement :meth:`per_sample` (or, for a batch-level loss, :meth:`batch_loss`).
    ``docs/user_guide/custom_losses.rst`` walks through writing one.

    Attributes
    ----------
    name : str
        The registry name (``get_loss(name)``).
    requires : tuple of str
        Context the training step must pass (see ``KNOWN_REQUIREMENTS``).
    binary_only : bool
        Whether the loss is defined for two classes only.
    stratified_batches : bool
        Whether every training batch must hold at least one sample of each
        class (pairwise losses); the training step then stratifies its batches.
    batch_level : bool
        Whether the loss is a statistic of the whole batch (a metric of its soft
        confusion matrix, say) rather than a mean over samples. Such a loss
        overrides :meth:`batch_loss`, has no per-sample values
        (:meth:`per_sample` and ``reduction="none"`` raise) and receives the
        batch's sample weights in :meth:`batch_loss`, where they weight what it
        counts.
    batch_groups : str or None
        The name of a per-row extra holding group ids (``"bags"``) when every
        training batch must hold whole groups; None otherwise.
    stops_on_validation_loss : bool
        Whether ``early_stopping`` monitors minus the loss on the validation split
        instead of the accuracy: for a loss whose value on noisy validation labels
        is a consistent estimate of its clean objective while the accuracy on those
        labels is not (the forward correction, given its transition matrix). Only
        for a loss bounded below and without ``requires`` (the validation pass
        computes the loss of such losses only).
    target_kind : str
        The kind of target the loss trains: ``"classification"`` (class indices)
        or ``"regression"`` (real values); an estimator refuses a loss of
        another kind before training.
    search_space : dict
        The loss's tuning space, param -> spec, pure data (no optuna here):
        ``("float", low, high)``, ``("float", low, high, "log")``,
        ``("int", low, high)`` or ``("categorical", [choices...])``.
        :mod:`skloss.tuning` turns it into Optuna suggestions as ``loss__<param>``.
    """

    name = None
    requires = ()
    binary_only = False
    stratified_batches = False
    batch_level = False
    search_space = {}
    target_kind = "classification"
    batch_groups = None
    stops_on_validation_loss = False

    # ---- scikit-learn style parameters -------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        names = []
        for param in params:
            if param.name == "self":
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"{cls.__name__}.__init__ must list its parameters explicitly "
                    "(no *args or **kwargs) so that get_params and clone work."
                )
            names.append(param.name)
        return sorted(names)

    def get_params(self, deep=True):
        """Return the loss's hyperparameters as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return ``self`` (scikit-learn protocol)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                own = repr(self.name) if self.name else "..."
                raise ValueError(
                    f"Invalid parameter {key!r} for loss {type(self).__name__}. "
                    f"Valid parameters are: {valid}. A search over several losses whose "
                    "parameters differ needs one grid per loss, a list of dicts such as "
                    f"[{{'loss': [{own}]}}, {{'loss': [...], 'loss__{key}': [...]}}] "
                    "(add the Pipeline step's prefix, e.g. 'clf__loss'); "
                    "skloss.tuning.loss_grid builds it."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        mine, theirs = self.get_params(), other.get_params()
        return all(_same_value(mine[key], theirs[key]) for key in mine)

    def __hash__(self):
        return hash((type(self), tuple(sorted(map(repr, self.get_params().items())))))

    # ---- the loss ----------------------------------------------------------------------
    def validate(self):
        """Check hyperparameters; raise ``ValueError`` naming the bad one.

        Called before training starts and on every call. Subclasses with
        hyperparameters override it.
        """

    @property
    def supervision_beyond_y(self):
        """The per-row supervision beyond ``y`` this loss needs from ``fit``.

        A loss that needs some (``teacher_scores``, ``bags``) cannot train a
        plain ``fit(X, y)``: searches leave it out, and the estimators refuse it
        before training when the data is missing.

        Returns
        -------
        tuple of str
            The requirements among ``SUPERVISION_BEYOND_Y``; empty for most losses.
        """
        return tuple(name for name in self.requires if name in SUPERVISION_BEYOND_Y)

    @property
    def searchable(self):
        """Whether a search over losses may draw this loss by its name and defaults.

        Not a loss that needs supervision beyond ``y`` (it cannot train a plain
        ``fit(X, y)``), nor one whose defaults make it another loss (the forward
        and backward corrections without a transition matrix are plain
        cross-entropy): such a loss is chosen with what it needs, not drawn.

        Returns
        -------
        bool
            True unless the loss needs supervision beyond ``y``.
        """
        return not self.supervision_beyond_y

    def why_cannot_train(self, n_classes):
        """Why the loss cannot train a classifier of ``n_classes`` classes, or None.

        The default refuses more than two classes for a ``binary_only`` loss. A
        loss that is degenerate for some class counts (no gradient whatever the
        network) overrides it; :meth:`check_n_classes` raises with the reason,
        and a search can leave such a loss out for that problem.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.

        Returns
        -------
        str or None
            None when the loss can train on ``n_classes`` classes, else a
            message naming the loss and what to do instead.

        Examples
        --------
        >>> from skloss.losses import get_loss
        >>> print(get_loss("gce").why_cannot_train(10))
        None
        >>> get_loss("mw_auc").why_cannot_train(3) is not None
        True
        """
        if self.binary_only and n_classes != 2:
            return (
                f"loss {self!r} is defined for two classes only, but y has {n_classes} "
                "classes. Choose another loss or wrap the estimator in "
                "sklearn.multiclass.OneVsRestClassifier."
            )
        return None

    def check_n_classes(self, n_classes, from_scratch=True):
        """Check, before training, that the loss can train on ``n_classes``.

        The estimators call it before any training, so that a setting that
        cannot work fails (or warns) up front. It raises with the reason of
        :meth:`why_cannot_train`; a loss whose hyperparameters give no gradient
        at a uniform start for some ``n_classes`` warns with
        :class:`skloss.exceptions.NoGradientWarning` when ``from_scratch``.

        Parameters
        ----------
        n_classes : int
            The number of classes in ``y``.
        from_scratch : bool, default=True
            Whether training starts from a new network; False when it continues
            a fitted one (``warm_start``, ``partial_fit``) with this loss.

        Raises
        ------
        ValueError
            If :meth:`why_cannot_train` gives a reason (a ``binary_only`` loss
            and ``n_classes != 2``, say).
        """
        reason = self.why_cannot_train(n_classes)
        if reason is not None:
            raise ValueError(reason)

    def n_outputs(self, n_classes):
        """How many logits the model must output for ``n_classes`` classes."""
        return n_classes

    def link(self, logits):
        """Map logits to class probabilities (rows sum to 1)."""
        return torch.softmax(logits, dim=1)

    def per_sample(self, logits, target, **context):
        """Per-sample loss values, shape ``(n_samples,)``.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        **context
            What the loss declared in ``requires``.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement per_sample(logits, target, **context), "
            "or set batch_level = True and implement batch_loss."
        )

    def batch_loss(self, logits, target, sample_weight=None, **context):
        """The training objective of one batch, a scalar tensor.

        The training step calls this for every loss. For a per-sample loss it
        is ``mean(w * per_sample(logits, target))`` (the plain mean without
        weights); the estimators pass weights normalised to mean 1 over the
        training data, so that minibatch gradients are unbiased for the
        weighted objective. Batch-level losses override it.

        Nothing is validated here beyond the weights' shape: it runs once per
        training step, after the estimator has checked the loss, its context and
        the data. Call the loss itself for a checked value.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices, integer dtype.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights.
        **context
            What the loss declared in ``requires``.

        Returns
        -------
        torch.Tensor
            A scalar in the dtype of the loss values.

        Examples
        --------
        >>> import torch
        >>> from skloss.losses import CrossEntropy
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> target = torch.tensor([0, 0])
        >>> weight = torch.tensor([1.5, 0.5])  # mean 1 over the training data
        >>> # (1.5 * 0.1269 + 0.5 * 2.1269) / 2, the mean of w * l
        >>> round(CrossEntropy().batch_loss(logits, target, sample_weight=weight).item(), 4)
        0.6269
        """
        return weighted_batch_mean(self.per_sample(logits, target, **context), sample_weight)

    def reported_loss(self, logits, target, sample_weight=None):
        """What the training history records for a batch, when not the objective.

        The training step records the value of :meth:`batch_loss` as the batch's
        ``train_loss`` (and the stopping rule, the progress bar and
        ``loss_curve_`` follow it). A loss whose objective is only a vehicle for
        its gradient (EnsLoss: ``mean(g.detach() * z)``, a number without meaning
        across batches) returns a real loss of the batch here instead; it is
        computed without gradient and does not change training. This default
        returns None: the objective itself is recorded.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            The batch's logits (detached).
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights, as :meth:`batch_loss` gets them.

        Returns
        -------
        torch.Tensor or None
            A scalar, or None to record the objective.
        """
        return None

    def batch_loss_and_gradient(self, logits, target, sample_weight=None):
        """The batch objective and its gradient with respect to ``logits``, in closed form.

        The training step of the default MLP (:mod:`skloss._training.mlp_step`)
        writes the network's backward pass out; for the loss's own part it asks
        here first and runs autograd on :meth:`batch_loss` only where the loss
        gives no closed form. A closed form saves autograd's graph of the loss
        on every batch. The step asks only losses that ``require`` nothing.
        This default gives none.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            The batch's logits (no graph).
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights, as :meth:`batch_loss` gets them.

        Returns
        -------
        tuple of (torch.Tensor, torch.Tensor) or None
            ``(loss, gradient)``: the scalar :meth:`batch_loss` would return and
            its gradient, shaped as ``logits``; None to let autograd
            differentiate :meth:`batch_loss`.
        """
        return None

    def fused_form(self, n_classes):
        """The loss as a function of per-row logit statistics, for fused heads.

        A fused head (:mod:`skloss.fused`) computes the loss of ``h @ W.T + b``
        without the logits; it can do so for a loss that returns its
        :class:`~skloss.losses.StatisticsForm` here. This default has none.

        Parameters
        ----------
        n_classes : int
            Logit columns; per-class hyperparameters are checked against it.

        Returns
        -------
        StatisticsForm

        Raises
        ------
        TypeError
            If the loss has no fused form (this default).
        ValueError
            If a hyperparameter does not fit ``n_classes``.
        """
        raise TypeError(
            f"{self!r} has no fused form: it is not a function of a few per-row logit "
            "statistics that it declares. Use backend='naive', or give the loss a "
            "fused_form(n_classes) method returning a skloss.losses.StatisticsForm (see "
            "skloss.losses.STATISTICS)."
        )

    def __call__(self, logits, target, *, reduction="mean", sample_weight=None, **context):
        """Compute the loss, checking the inputs and the context first.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.
        target : torch.Tensor of shape (n_samples,)
            Class indices in ``[0, n_classes)``, integer dtype (0 or 1 when the
            logits have one column).
        reduction : {"mean", "sum", "none"}, default="mean"
            See :func:`reduce_loss`. A batch-level loss has no per-sample
            values: ``"mean"`` is its value on the (weighted) batch, ``"sum"``
            that times the total weight, and ``"none"`` raises.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Finite, non-negative per-sample weights.
        **context
            What the loss declared in ``requires`` (e.g. ``index``).

        Returns
        -------
        torch.Tensor
        """
        self.validate()
        self._check_inputs(logits, target)
        if not self.batch_level:
            self._check_context(context)
            values = self.per_sample(logits, target, **context)
            return reduce_loss(values, reduction, sample_weight)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
        if reduction == "none":
            raise ValueError(
                f"{type(self).__name__} is a batch-level loss: it has one value per batch, "
                "not per sample, so reduction='none' is undefined; use reduction='mean' "
                "(the batch loss) or 'sum'."
            )
        self._check_context(context)
        weight = check_sample_weight(
            sample_weight, target.shape, reduction, logits.dtype, logits.device
        )
        value = self.batch_loss(logits, target, sample_weight=weight, **context)
        if reduction == "sum":
            # The total weight times the loss: what repeating the samples gives.
            value = value * (target.shape[0] if weight is None else weight.sum())
        return value

    def _check_inputs(self, logits, target):
        """Refuse outputs and targets of the wrong shape or dtype (class indices here)."""
        _check_logits_target(logits, target)

    def check_requires(self):
        """Check that every entry of ``requires`` is context a training step provides.

        The estimators call it before training; calling the loss checks it too.

        Raises
        ------
        ValueError
            Naming the unknown requirement and the known ones (``KNOWN_REQUIREMENTS``).
        """
        if "stratified" in self.requires:
            raise ValueError(
                f"{type(self).__name__} lists 'stratified' in requires; stratified batches "
                "are a promise about batches, not context: set stratified_batches = True "
                "instead."
            )
        unknown = [key for key in self.requires if key not in KNOWN_REQUIREMENTS]
        if unknown:
            raise ValueError(
                f"loss {self!r} requires {unknown}, which no training step provides; "
                f"known requirements are {list(KNOWN_REQUIREMENTS)}."
            )

    def _check_context(self, context):
        try:
            self.check_requires()
        except ValueError as error:  # at call time a missing context is a TypeError
            raise TypeError(str(error)) from None
        missing = [key for key in self.requires if key not in context]
        if "index" in self.requires and "n_samples" not in context:
            missing.append("n_samples")
        if missing:
            raise TypeError(
                f"{type(self).__name__} requires the context {missing}; pass them as "
                "keyword arguments (the skloss estimators do this for you)."
            )


class OneLogitBinary:
    """Mixin of losses that score two classes with one logit ``z`` (``p = sigmoid(z)``).

    More classes keep one logit each and a softmax. Placed before :class:`Loss`
    in the bases, it overrides :meth:`Loss.n_outputs` and :meth:`Loss.link`.
    """

    def n_outputs(self, n_classes):
        """One logit for two classes, one per class otherwise.

        Parameters
        ----------
        n_classes : int
            Number of classes.

        Returns
        -------
        int
            1 for two classes, else ``n_classes``.
        """
        return 1 if n_classes == 2 else n_classes

    def link(self, logits):
        """Sigmoid of a single logit (probability of the second class), else softmax.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_outputs)
            Probabilities; rows of several columns sum to 1.
        """
        if logits.shape[1] == 1:
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=1)


class ProbabilityLoss(Loss):
    """A loss that depends on the logits only through ``p_y``, the probability
    of the labelled class.

    Subclasses implement :meth:`from_nll`, a function of
    ``nll = -log p_y = cross_entropy(logits, target)``. Working from ``nll``
    keeps every member finite where ``p_y`` underflows: ``p_y = exp(-nll)`` and
    ``1 - p_y = -expm1(-nll)``. Fused heads (``skloss.fused``) rely on this form:
    they compute ``nll`` without materialising the logits and differentiate
    ``from_nll`` alone.
    """

    def from_nll(self, nll):
        """Per-sample loss as a function of ``nll = -log p_y``."""
        raise NotImplementedError

    def per_sample(self, logits, target, **context):
        nll = F.cross_entropy(logits, target, reduction="none")
        return self.from_nll(nll)

    def nll_derivative(self, nll):
        """``d from_nll / d nll``, per sample, in closed form; None to leave it to autograd.

        With it, :meth:`batch_loss_and_gradient` gives the training step the
        loss's gradient without autograd: ``from_nll'(nll) * (softmax(z) - one_hot(y))``
        (since ``d nll / d z = softmax(z) - one_hot(y)``). This default has none.

        Parameters
        ----------
        nll : torch.Tensor of shape (n_samples,)
            ``-log p_y`` per sample, non-negative.

        Returns
        -------
        torch.Tensor of shape (n_samples,) or None
        """
        return None

    def batch_loss_and_gradient(self, logits, target, sample_weight=None):
        """``mean(w * from_nll(nll))`` and its gradient, from :meth:`nll_derivative`.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            The batch's logits.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Per-sample weights, as :meth:`batch_loss` gets them.

        Returns
        -------
        tuple of (torch.Tensor, torch.Tensor) or None
            The batch loss and its gradient with respect to ``logits``; None when
            the loss has no :meth:`nll_derivative`, or a subclass changed
            ``from_nll`` (or ``per_sample``, ``batch_loss``) without giving its
            own: autograd then differentiates what it computes.
        """
        cls = type(self)
        derivative_from = _defined_by(cls, "nll_derivative")
        if (
            derivative_from is ProbabilityLoss
            or not inherits_unchanged(cls, derivative_from, ("from_nll",))
            or not inherits_unchanged(cls, ProbabilityLoss, ("per_sample", "batch_loss"))
        ):
            return None
        log_p, nll = log_softmax_and_nll(logits, target)
        scale = self.nll_derivative(nll) / logits.shape[0]
        return loss_and_gradient_of_nll(log_p, target, self.from_nll(nll), scale, sample_weight)

    def fused_form(self, n_classes):
        """``from_nll(lse - z_y)``: the fused form of every loss of ``p_y`` alone.

        Parameters
        ----------
        n_classes : int
            Logit columns (unused here; subclasses with per-class
            hyperparameters check them against it).

        Returns
        -------
        StatisticsForm
            Reads the ``lse`` and ``target`` statistics.

        Examples
        --------
        >>> from skloss.losses import GCE
        >>> GCE(q=0.5).fused_form(n_classes=10).statistics
        ('lse', 'target')
        """
        # A subclass's from_nll may raise in some configurations; probing it now
        # gives that error before any kernel runs, with the loss's own message.
        self.from_nll(torch.zeros(1))

        def row_loss(stats, target):
            return self.from_nll(nll_of(stats))

        return StatisticsForm(("lse", "target"), row_loss, description=repr(self))


def log_softmax_and_nll(logits, target):
    """``(log softmax(z), -log p_y)``: what closed-form gradients of losses of ``p`` start from.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        The logits.
    target : torch.Tensor of shape (n_samples,)
        Class indices.

    Returns
    -------
    log_p : torch.Tensor of shape (n_samples, n_classes)
        The log-probabilities.
    nll : torch.Tensor of shape (n_samples,)
        ``-log p_y`` per sample.
    """
    log_p = torch.log_softmax(logits, dim=1)
    return log_p, log_p.gather(1, target[:, None]).squeeze(1).neg()


def softmax_minus_target(log_p, target, smoothing=0.0):
    """``softmax(z) - q``, written over ``log_p`` (which it consumes).

    ``q = (1 - smoothing) * one_hot(target) + smoothing / n_classes``: the
    result is the gradient, with respect to the logits, of the cross-entropy
    against ``q``.

    Parameters
    ----------
    log_p : torch.Tensor of shape (n_samples, n_classes)
        Log-probabilities; overwritten with the result.
    target : torch.Tensor of shape (n_samples,)
        Class indices.
    smoothing : float, default=0.0
        Label smoothing ``eps`` in ``[0, 1]``.

    Returns
    -------
    torch.Tensor of shape (n_samples, n_classes)
    """
    grad = log_p.exp_()
    grad.scatter_add_(1, target[:, None], torch.full_like(grad[:, :1], smoothing - 1.0))
    if smoothing:
        grad.sub_(smoothing / grad.shape[1])
    return grad


def loss_and_gradient_of_nll(log_p, target, values, scale, sample_weight):
    """The batch loss and gradient of a per-sample loss of ``nll = -log p_y``.

    ``(mean(w * values), w * scale * (softmax(z) - one_hot(y)))``, by the chain
    rule through ``d nll / d z = softmax(z) - one_hot(y)``.

    Parameters
    ----------
    log_p : torch.Tensor of shape (n_samples, n_classes)
        Log-probabilities (consumed, as by :func:`softmax_minus_target`).
    target : torch.Tensor of shape (n_samples,)
        Class indices.
    values : torch.Tensor of shape (n_samples,)
        The loss per sample.
    scale : torch.Tensor of shape (n_samples,)
        ``d values / d nll`` per sample, divided by the batch size.
    sample_weight : torch.Tensor of shape (n_samples,) or None
        Per-sample weights, as :meth:`Loss.batch_loss` gets them.

    Returns
    -------
    loss : torch.Tensor
        The scalar batch loss.
    gradient : torch.Tensor of shape (n_samples, n_classes)
        Its gradient with respect to the logits.
    """
    if sample_weight is not None:
        scale = scale * sample_weight
    loss = weighted_batch_mean(values, sample_weight)
    return loss, softmax_minus_target(log_p, target).mul_(scale[:, None])


def _defined_by(cls, name):
    """The class of ``cls``'s method resolution order that defines ``name``."""
    return next(klass for klass in cls.__mro__ if name in vars(klass))


def inherits_unchanged(cls, owner, names):
    """Whether ``cls`` has ``owner``'s own method for each of ``names``.

    A closed-form gradient written for ``owner``'s loss holds for a subclass
    only if the subclass computes the same loss: one that redefines any of the
    methods the loss is computed by gets autograd instead.

    Parameters
    ----------
    cls : type
        The loss's class.
    owner : type
        The class whose closed form is asked for.
    names : tuple of str
        The methods the loss's value is computed by.

    Returns
    -------
    bool
    """
    # Identity of the functions, not a walk of the MRO: this runs on every batch.
    return all(getattr(cls, name) is getattr(owner, name) for name in names)


def _same_value(a, b):
    # Hyperparameters may be arrays or tensors (per-class weights), whose == is
    # element-wise, or torch modules (a wrapped torch loss), whose == is identity.
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return _same_module(a, b)
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(torch.equal(a, b))
        )
    try:
        return bool(a == b)
    except (ValueError, TypeError, RuntimeError):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _same_module(a, b):
    """Whether two torch modules are copies: same type, settings and state."""
    if type(a) is not type(b):
        return False
    if a is b:
        return True
    state_a, state_b = a.state_dict(), b.state_dict()
    if state_a.keys() != state_b.keys():
        return False
    if not all(_same_value(state_a[key], state_b[key]) for key in state_a):
        return False

    def settings(module):
        # Public attributes: reduction, label_smoothing, ignore_index, ...; torch's
        # own bookkeeping (hooks, parameters, submodules) is private.
        return {k: v for k, v in vars(module).items() if not k.startswith("_") and k != "training"}

    mine, theirs = settings(a), settings(b)
    return mine.keys() == theirs.keys() and all(_same_value(mine[k], theirs[k]) for k in mine)


def _check_logits_target(logits, target):
    if isinstance(logits, torch.Tensor) and not logits.dtype.is_floating_point:
        raise TypeError(f"logits must be a floating-point tensor, got {logits.dtype}.")
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError(
            "logits must be a 2-D tensor of shape (n_samples, n_outputs); got "
            f"{type(logits).__name__} with shape {tuple(getattr(logits, 'shape', ()))}."
        )
    if not isinstance(target, torch.Tensor) or target.ndim != 1:
        raise ValueError(
            "target must be a 1-D tensor of class indices; got "
            f"{type(target).__name__} with shape {tuple(getattr(target, 'shape', ()))}."
        )
    if target.shape[0] != logits.shape[0]:
        raise ValueError(
            f"logits has {logits.shape[0]} rows but target has {target.shape[0]}; "
            "they must describe the same samples."
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise TypeError(
            f"target must hold integer class indices (torch.long), got {target.dtype}; "
            "use target.long()."
        )
    if logits.shape[1] < 1:
        raise ValueError("logits must have at least one column (n_outputs >= 1).")
    check_target_range(target, logits.shape[1])
