"""The core every trained skloss estimator shares, whatever its kind of target.

Data flows one way: array in → :meth:`BaseLossEstimator._plan_fit` (parameters,
``validate_data``, the targets encoded by the kind of target, weights, seed,
batches, and on a fresh start the net) → :func:`~skloss._core.epochs.run_epochs`
(the epochs, interrupts, roll-back) → fitted attributes. What differs per kind of
target (labels and ``classes_``, or target scaling; the outputs; ``predict``)
lives in :mod:`skloss._targets`, which subclasses this; the public estimators
subclass those and say which loss they train (:meth:`_make_loss`).
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from skloss._atomic import unchanged_on_error
from skloss._core.epochs import run_epochs
from skloss._core.fit_mode import FitMode, FitPlan
from skloss._core.mlp_attributes import MLPAttributes
from skloss._core.outputs import NetworkOutputs
from skloss._devices import resolve_device
from skloss._input_checks import check_float32_range, check_no_categorical
from skloss._training.batches import (
    TrainingData,
    as_feature_tensor,
)
from skloss._training.build import (
    build_module,
    build_net,
    check_callbacks,
    check_module_output,
    default_mlp,
    hidden_sizes,
)
from skloss._training.net import LossModule
from skloss._training.optim import OptimizerFactory
from skloss._training.precision import PRECISIONS
from skloss.fused import choose_backend
from skloss.modules import ACTIVATIONS

__all__ = ["BaseLossEstimator"]

_EXTRA_HINTS = {
    "teacher_scores": "train with skloss.DistillationClassifier (or pass teacher_scores=... "
    "to fit where the estimator takes it).",
    "bags": "pass bags=... (a bag id per row) to fit.",
}

_UNUSED_HINTS = {
    "bags": "Train on bag-level responses with a loss of bags: 'bag_squared_error' "
    "(RobustLossRegressor) or 'bag_bce' (label proportions, RobustLossClassifier); or drop "
    "bags.",
}


class BaseLossEstimator(
    MLPAttributes,
    NetworkOutputs,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared machinery of the trained skloss estimators; not for direct use.

    A kind of target (:mod:`skloss._targets`) implements the hooks of the
    "kind of target" section; a public estimator adds ``__init__`` with its
    parameters and :meth:`_make_loss`.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adamw", "sgd"}), callable],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "module": [None, callable],
        "device": [str, torch.device],
        "callbacks": [list, None],
        "precision": [StrOptions(set(PRECISIONS))],
        "inference_precision": [StrOptions(set(PRECISIONS))],
    }

    # ---- what a public estimator provides -------------------------------------------
    def _make_loss(self):
        """Return a fresh, validated :class:`skloss.losses.Loss` for this fit."""
        raise NotImplementedError

    # ---- what a kind of target provides (skloss._targets) ----------------------------
    #: The ``target_kind`` of the losses this estimator trains.
    _target_kind = None
    #: What the net knows of the targets (validation score, encoded predictions):
    #: see :class:`skloss._training.net.LossModule`'s ``kind``.
    _target_codec = None

    def _encode_targets(self, y, mode, incremental, classes, loss, sample_weight):
        """Check ``y`` (for ``loss``) and return its :class:`~skloss._core.fit_mode.Targets`.

        ``sample_weight`` is the checked array (or None), for statistics of the
        targets that weights should count in (a weight is a repetition).
        """
        raise NotImplementedError

    def _prepare_loss(self, loss, targets, mode):
        """Fit what ``loss`` takes from the training targets, before training (if anything)."""

    def _check_targets(self, targets, loss, n_samples, mode):
        """Refuse, before training, targets the loss cannot train on."""
        raise NotImplementedError

    def _target_weights(self, targets, incremental):
        """Per-sample weights the kind of target adds (class weights), or None."""
        return None

    def _validation_split(self, targets, seed):
        """``(train_rows, valid_rows)`` for ``early_stopping``."""
        index = np.arange(len(targets.values))
        return self._checked_split(index, seed, stratify=None)

    def _training_targets(self, targets, rows):
        """The targets of ``rows`` as :class:`TrainingData` holds them."""
        return targets.values[rows]

    # ---- fitting ----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, classes=None, incremental=False, extras=None):
        """``fit`` (``incremental=False``) and ``partial_fit``: one pipeline.

        Everything that can be wrong with the input is reported before the first
        epoch; a call that fails leaves the estimator as it was; an interrupted
        call keeps its completed epochs and re-raises. ``extras`` maps names to
        per-row supervision beyond ``y`` (``teacher_scores``, ``bags``), which
        travels with the rows to the losses that require it.
        """
        mode = FitMode.of(hasattr(self, "net_"), incremental, self.warm_start)
        with unchanged_on_error(self):
            plan = self._plan_fit(X, y, sample_weight, classes, mode, incremental, extras)
            if mode is FitMode.FRESH:
                for name, value in plan.targets.fitted.items():
                    setattr(self, name, value)
                self._seed = plan.seed
                self.n_iter_ = 0
                self.t_ = 0
                self.loss_curve_ = []
                self.net_ = plan.net
            self.loss_function_ = plan.loss
            run_epochs(self, plan)
        return self

    def _plan_fit(self, X, y, sample_weight, classes, mode, incremental, extras=None):
        """Everything before the first epoch; only ``validate_data`` touches the estimator."""
        self._validate_params()
        check_callbacks(self.callbacks)
        if mode is FitMode.FRESH:
            if self.module is None:
                hidden_sizes(self.hidden_layer_sizes)
            loss = self._checked_loss()
        else:
            loss = self._continued_loss()
        check_no_categorical(X, type(self).__name__)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype="numeric",
            reset=mode is FitMode.FRESH,
            **self._target_validation(),
        )
        check_float32_range(X)
        extras = self._checked_extras(extras, len(y))
        self._check_extras_for_loss(loss, extras)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        targets = self._encode_targets(y, mode, incremental, classes, loss, sample_weight)
        self._prepare_loss(loss, targets, mode)
        if mode is FitMode.FRESH:
            # partial_fit accepts one-row chunks; fit needs two samples.
            self._check_targets(targets, loss, None if incremental else len(y), mode)
        weight = self._combined_weights(X, targets, sample_weight, incremental)
        seed = self._call_seed(mode, incremental)
        train_rows = np.arange(len(y))
        valid_data = None
        if self.early_stopping and not incremental:
            train_rows, valid_rows = self._validation_split(targets, seed)
            valid_data = self._training_data(X, targets, None, valid_rows, extras)
        train_data = self._training_data(X, targets, weight, train_rows, extras)
        batch_size = self._resolved_batch_size(len(train_data))
        if mode is FitMode.FRESH:
            net = self._build_net(X.shape[1], batch_size, seed, loss, targets.n_targets)
            module, backend = net.module_, net.criterion_.fused_backend
        else:
            net, module = None, self.net_.module_
            backend = choose_backend(loss, module, batch_size, self._fused(), targets.n_targets)
        return FitPlan(
            mode, incremental, loss, backend, targets, seed, batch_size, train_data, valid_data, net
        )

    def _target_validation(self):
        """Extra ``validate_data`` arguments for ``y`` (e.g. several target columns)."""
        return {}

    def _continued_loss(self):
        """The loss that continues a fitted model.

        ``loss_function_`` itself (with its per-sample state) while the ``loss`` parameters
        still describe it; after ``set_params`` changed them, the new loss (fresh
        state), as ``MLPClassifier`` takes changed parameters on a ``warm_start``
        fit. A new loss needing another number of outputs is refused.
        """
        new = self._checked_loss()
        if new == self.loss_function_:  # Loss equality: same type and hyperparameters
            return self.loss_function_
        n_targets = self.net_.criterion_.n_targets
        have, need = self.loss_function_.n_outputs(n_targets), new.n_outputs(n_targets)
        if have != need:
            raise ValueError(
                f"loss {new!r} needs {need} network output(s) for {n_targets} "
                f"{self._target_noun()}, but the fitted network has {have} (trained with "
                f"{self.loss_function_!r}), so it cannot continue it. Set warm_start=False "
                "to train afresh with the new loss."
            )
        self._check_loss_continues(new, n_targets)
        return new

    def _check_loss_continues(self, loss, n_targets):
        """A check the kind of target makes on a loss that continues a fitted net."""

    def _target_noun(self):
        return "targets"

    def _checked_loss(self):
        loss = self._make_loss()
        loss.check_requires()
        kind = getattr(loss, "target_kind", "classification")
        if kind != self._target_kind:
            raise ValueError(
                f"loss {loss!r} trains {kind} targets, but {type(self).__name__} learns "
                f"{self._target_kind} targets; choose a {self._target_kind} loss "
                f"(skloss.losses.list_losses(kind={self._target_kind!r}))."
            )
        return loss

    def _combined_weights(self, X, targets, sample_weight, incremental):
        weight = sample_weight
        extra = self._target_weights(targets, incremental)
        if extra is not None:
            weight = extra if weight is None else weight * extra
        if weight is None:
            return None
        total = weight.sum()
        if not total > 0:
            raise ValueError(
                "sample_weight (times class_weight) sums to zero: at least one sample must "
                "have a positive weight."
            )
        # Normalised to mean 1 so a constant rescaling changes nothing and the
        # learning rate keeps its meaning.
        return weight * (len(weight) / total)

    def _call_seed(self, mode, incremental):
        if mode is FitMode.CONTINUE:
            # Each partial_fit call draws its stream from the base seed and the epochs
            # so far: a sequence of calls is reproducible without storing a generator.
            return (self._seed + self.n_iter_) % (2**31 - 1)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _checked_split(self, index, seed, stratify):
        train_index, valid_index = train_test_split(
            index, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        if len(train_index) == 0 or len(valid_index) == 0:
            raise ValueError(
                f"early_stopping needs data for both training and validation: with "
                f"{len(index)} samples and validation_fraction={self.validation_fraction} "
                "one side is empty. Use more data or early_stopping=False."
            )
        return np.sort(train_index), np.sort(valid_index)

    def _device(self):
        return resolve_device(self.device)

    def _checked_extras(self, extras, n_samples):
        """Per-row extras as arrays of ``n_samples`` rows, or a ``ValueError`` naming one."""
        checked = {}
        for name, values in (extras or {}).items():
            if values is None:
                continue
            array = np.asarray(values)
            if array.ndim == 0 or array.shape[0] != n_samples:
                raise ValueError(
                    f"{name} must have one entry per row of X ({n_samples} rows); got shape "
                    f"{array.shape}."
                )
            if array.dtype.kind not in "iufb" or (
                array.dtype.kind == "f" and not np.isfinite(array).all()
            ):
                raise ValueError(f"{name} must hold finite numbers; got dtype {array.dtype}.")
            checked[name] = array
        return checked

    def _check_extras_for_loss(self, loss, extras):
        """Refuse per-row supervision the loss needs but lacks, or was given but ignores."""
        missing = [name for name in loss.supervision_beyond_y if name not in extras]
        if missing:
            raise ValueError(
                f"loss {loss!r} requires {missing[0]} for every training row, which this "
                f"call to {type(self).__name__} was not given: "
                + _EXTRA_HINTS.get(missing[0], f"pass {missing[0]}=... to fit.")
            )
        unused = [name for name in extras if name not in loss.supervision_beyond_y]
        if unused:
            raise ValueError(
                f"{unused[0]} were given, but loss {loss!r} does not use them. "
                + _UNUSED_HINTS.get(unused[0], f"Drop {unused[0]} or choose a loss that uses it.")
            )

    def _training_data(self, X, targets, weight, rows, extras=None):
        device = self._device()
        X_rows = X if len(rows) == X.shape[0] else X[rows]
        return TrainingData(
            as_feature_tensor(X_rows, device),
            self._training_targets(targets, rows),
            None if weight is None else weight[rows],
            device,
            {name: values[rows] for name, values in (extras or {}).items()},
        )

    def _resolved_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return max(1, min(200, n_samples))
        return max(1, min(self.batch_size, n_samples))

    # ---- building ---------------------------------------------------------------------
    def _default_module(self, n_features, n_outputs, seed):
        hidden = hidden_sizes(self.hidden_layer_sizes)
        return default_mlp(n_features, n_outputs, hidden, self.activation, seed)

    def _build_module(self, n_features, n_outputs, seed):
        """The network, initialised from ``seed`` without the global torch RNG when skloss
        builds it; a user's class or callable is built under the lock that seeds it."""
        return build_module(
            self.module,
            n_features,
            n_outputs,
            seed,
            default=lambda: self._default_module(n_features, n_outputs, seed),
        )

    def _optimizer_factory(self, batch_size):
        # MLPClassifier's penalty, alpha / (2 * batch_size) * ||W||^2 on each batch's loss.
        return OptimizerFactory(self.optimizer, self.learning_rate_init, self.alpha / batch_size)

    def _fused(self):
        """The ``fused`` setting (estimators without the parameter never fuse)."""
        return getattr(self, "fused", False)

    def _extra_callbacks(self):
        """``(name, callback)`` pairs an estimator adds to every net it builds."""
        return []

    def _build_net(self, n_features, batch_size, seed, loss, n_targets):
        n_outputs = loss.n_outputs(n_targets)
        module = self._build_module(n_features, n_outputs, seed).to(self._device())
        check_module_output(module, n_features, n_outputs, loss)
        backend = choose_backend(loss, module, batch_size, self._fused(), n_targets)
        return build_net(
            self,
            module,
            loss,
            n_targets,
            backend,
            self._optimizer_factory(batch_size),
            batch_size,
            self._extra_callbacks(),
        )

    # ---- parameters and pickling ----------------------------------------------------
    def set_params(self, **params):
        """Set parameters; ``loss__<name>`` also works where ``loss`` is a registry name.

        A nested loss parameter on a loss given by name (``loss="gce"``,
        ``loss__q=0.5``) replaces the name by a new instance of that loss, then
        sets the parameter on it, so grid searches over ``loss__q`` work with
        ``loss="gce"`` as with ``loss=GCE()``.

        Parameters
        ----------
        **params : dict
            Estimator parameters, nested ones as ``loss__q``.

        Returns
        -------
        self : object
            The estimator.
        """
        if any(key.startswith("loss__") for key in params) and "loss" in self.get_params(False):
            loss = params.get("loss", self.get_params(False)["loss"])
            if isinstance(loss, str):
                from skloss.losses import get_loss

                params = {**params, "loss": get_loss(loss)}
        return super().set_params(**params)

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch pickles its criterion on its own (torch.save), which breaks the
        # identity of ``loss_function_`` and the loss the net trains with; a loss with
        # per-sample state (ALDR-KL's lam_) must stay one object, so that warm_start
        # and partial_fit after unpickling update the fitted state.
        net = self.__dict__.get("net_")
        criterion = getattr(net, "criterion_", None)
        if "loss_function_" in self.__dict__ and isinstance(criterion, LossModule):
            criterion.loss = self.loss_function_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        # transform returns the last hidden layer, always as float64.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags
