"""The skorch net every skloss estimator trains with, and the criterion it calls.

``SklossNet`` keeps skorch's structure and contracts (initialisation, default
``train_loss``/``valid_loss`` scoring with their ``_best`` flags, per-batch
history records, callbacks, checkpointing, devices, ``KeyboardInterrupt`` as the
way to stop) and replaces its per-sample data loading with a tight loop:
batches come pre-sliced from :class:`skloss._training.batches.TrainingData`, the batch
losses stay on the device and are read once per epoch, and callbacks are
notified per batch only when one of them listens (then exactly as skorch does).

The loss's context (what its ``requires`` asks for) is built in one place,
:meth:`SklossNet.get_loss`, skorch's hook for computing a batch's loss.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer, PassthroughScoring

from skloss._scores import probability_columns
from skloss._training.batches import (
    TrainingData,
    as_feature_tensor,
    evaluation_rows,
    iterate_rows,
)
from skloss._training.mlp_step import LeanStep, lean_layers
from skloss._training.optim import step_function
from skloss._training.precision import forward_precision
from skloss.losses import KNOWN_REQUIREMENTS, Loss

__all__ = ["SklossNet", "LossModule", "CONTEXT_PROVIDERS"]


def _overrides(callback, method):
    return getattr(type(callback), method) is not getattr(Callback, method)


# Where the training step finds each piece of context a loss may ask for: the
# names and their meaning are the losses' (``skloss.losses.KNOWN_REQUIREMENTS``).
CONTEXT_PROVIDERS = {
    "index": lambda net, batch: {"index": batch.index, "n_samples": net.n_training_samples},
    "epoch": lambda net, batch: {"epoch": len(net.history) - 1},
    "model": lambda net, batch: {"model": net.module_},
    "inputs": lambda net, batch: {"inputs": batch.X},
    "generator": lambda net, batch: {"generator": net.loss_generator_},
    # Per-row supervision beyond y, carried with the batch's rows.
    "teacher_scores": lambda net, batch: {"teacher_scores": batch.extras["teacher_scores"]},
    "bags": lambda net, batch: {"bags": batch.extras["bags"]},
}
if set(CONTEXT_PROVIDERS) != set(KNOWN_REQUIREMENTS):  # pragma: no cover - a coding error
    raise ImportError("CONTEXT_PROVIDERS must provide exactly skloss.losses.KNOWN_REQUIREMENTS")


class SklossNet(NeuralNet):
    """A skorch ``NeuralNet`` that trains on :class:`~skloss._batches.TrainingData`.

    ``module`` and ``criterion`` are passed initialised; ``criterion`` is a
    :class:`LossModule`. ``optimizer`` is a callable taking the module and
    returning a torch optimiser and a weight penalty (or None), as
    :class:`skloss._optim.OptimizerFactory` does.

    The estimators call ``partial_fit((train, valid), epochs=..., generator=...)``
    with a ``(train, valid)`` pair of ``TrainingData`` (``valid`` may be None).
    ``partial_fit(X, y)`` on arrays also works, with ``y`` holding encoded labels
    (indices into the estimator's ``classes_``). ``predict`` returns encoded labels
    and ``predict_proba`` the loss's probabilities, so skorch's scoring callbacks
    and scikit-learn scorers score the net as they would a ``NeuralNetClassifier``.

    An interrupt (``KeyboardInterrupt``, Ctrl-C) ends training after the last
    completed epoch: a partly trained epoch is rolled back (weights and history
    row) and ``interrupted_`` is set. skorch's ``EarlyStopping``, which raises
    ``KeyboardInterrupt`` at the end of an epoch to stop, is a plain stop.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_step", None)  # remade every epoch; holds a function pickle cannot name
        state.pop("_lean_step", None)  # remade every epoch
        state.pop("_asks_closed_form", None)  # decided every epoch
        return state

    def get_default_callbacks(self):
        # skorch's defaults but its PrintLog (the estimators print their own log;
        # a PrintLog passed in callbacks prints as on any skorch net).
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]

    def initialize_optimizer(self, *args, **kwargs):
        self.optimizer_, self.weight_penalty_ = self.optimizer(self.module_)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        callbacks = [cb for _, cb in self.callbacks_]
        self._batch_listeners = any(
            _overrides(cb, "on_batch_begin") or _overrides(cb, "on_batch_end") for cb in callbacks
        )
        self._grad_listeners = any(_overrides(cb, "on_grad_computed") for cb in callbacks)
        self.stop_requested = False
        self.interrupted_ = False

    # ---- the loop ---------------------------------------------------------------------
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, **fit_params)
        except KeyboardInterrupt:
            # Raised during an epoch (the end-of-epoch case is handled in
            # fit_loop): back to the weights and history of the last whole epoch.
            self._roll_back_epoch()
            self.interrupted_ = True
        except Exception:
            # A failed epoch (a non-finite loss, an error in a callback) leaves no
            # half-trained weights behind; the error is the caller's.
            self._roll_back_epoch()
            raise
        self.notify("on_train_end", X=X, y=y)
        return self

    def fit(self, X, y=None, **fit_params):
        if not self.warm_start or not self.initialized_:
            self.initialize()
        return self.partial_fit(X, y, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, generator=None, loss_generator=None, **fit_params):
        train, valid = self._training_pair(X, y)
        epochs = self.max_epochs if epochs is None else epochs
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        self.loss_generator_ = loss_generator
        on_epoch_kwargs = {"dataset_train": train, "dataset_valid": valid}
        for _ in range(epochs):
            self._remember_epoch_start()
            self.notify("on_epoch_begin", **on_epoch_kwargs)
            self.run_single_epoch(train, training=True, prefix="train", generator=generator)
            if valid is not None:
                self.run_single_epoch(valid, training=False, prefix="valid")
            self._epoch_start_state = None  # the epoch is complete: nothing to roll back
            if not self._notify_epoch_end(**on_epoch_kwargs) or self.stop_requested:
                break
        return self

    def _notify_epoch_end(self, **kwargs):
        """Notify ``on_epoch_end``; return False when a callback asked to stop.

        skorch's ``EarlyStopping`` raises ``KeyboardInterrupt`` to stop: a stop,
        not an interrupt. Any other ``KeyboardInterrupt`` here is one (Ctrl-C at an
        epoch boundary): the epoch is complete and kept, and ``interrupted_`` says so.
        """
        self.on_epoch_end(self, **kwargs)
        for _, callback in self.callbacks_:
            try:
                callback.on_epoch_end(self, **kwargs)
            except KeyboardInterrupt:
                if not isinstance(callback, EarlyStopping):
                    self.interrupted_ = True
                return False
        return True

    def _remember_epoch_start(self):
        # One copy of the weights per epoch, so an interrupt can return to the
        # last whole epoch; reused buffers, so no allocation after the first epoch.
        current = list(self.module_.state_dict().values())
        saved = getattr(self, "_saved_state", None)
        if saved is None or len(saved) != len(current):
            saved = [tensor.detach().clone() for tensor in current]
            self._saved_state = saved
        else:
            with torch.no_grad():
                for kept, tensor in zip(saved, current, strict=True):
                    kept.copy_(tensor)
        self._epoch_start_state = len(self.history)

    def _roll_back_epoch(self):
        n_rows = getattr(self, "_epoch_start_state", None)
        if n_rows is None:
            return
        with torch.no_grad():
            for tensor, kept in zip(
                self.module_.state_dict().values(), self._saved_state, strict=True
            ):
                tensor.copy_(kept)
        del self.history[n_rows:]
        self._epoch_start_state = None

    def _training_pair(self, X, y):
        """``(train, valid)`` TrainingData from what ``partial_fit`` was given."""
        if isinstance(X, tuple) and len(X) == 2 and isinstance(X[0], TrainingData):
            return X
        if y is None:
            raise ValueError(
                "SklossNet.partial_fit needs y: pass (X, y) with y holding encoded labels "
                "(indices into the estimator's classes_), or use the estimator's fit."
            )
        targets = self.criterion_.kind.check_encoded(np.asarray(y), self.criterion_.n_targets)
        device = self.device
        X = as_feature_tensor(X.cpu().numpy() if isinstance(X, torch.Tensor) else X, device)
        return TrainingData(X, targets, None, device), None

    def run_single_epoch(self, iterator, training, prefix, step_fn=None, generator=None, **kw):
        data = iterator
        self.module_.train(training)
        loss = self.criterion_.loss
        listening = self._batch_listeners
        batch_losses, batch_sizes = [], []
        score = None if training else self.criterion_.kind.new_score(data.device)
        batch_size = (
            self.batch_size
            if training
            else evaluation_rows(
                loss.n_outputs(self.criterion_.n_targets), max(self.batch_size, 4096)
            )
        )
        if training:
            self._step = step_function(self.optimizer_)
            self._lean_step = self._make_lean_step()
            # Whether the lean step asks the loss for its gradient in closed form: not a
            # loss that needs context, nor one that keeps Loss's default (never has one).
            self._asks_closed_form = not loss.requires and (
                type(loss).batch_loss_and_gradient is not Loss.batch_loss_and_gradient
            )
        # Checked once per epoch: a loss whose objective is not a loss value
        # (EnsLoss) reports another one per batch; the others cost nothing here.
        self._reports_loss = type(loss).reported_loss is not Loss.reported_loss
        with_loss = training or not loss.requires or self._reports_loss
        for batch in data.batches(
            batch_size,
            generator=generator if training else None,
            stratified=training and loss.stratified_batches,
            groups=loss.batch_groups if training else None,
        ):
            skorch_batch = (batch.X, batch.y)
            if listening:
                self.notify("on_batch_begin", batch=skorch_batch, training=training)
            step = self.train_step(batch) if training else self.validation_step(batch)
            if not training:
                score.update(step["y_pred"], batch.y, loss)
            if with_loss:
                batch_losses.append(step["loss"].detach())
            batch_sizes.append(batch.y.shape[0])
            if listening:
                if step["y_pred"] is None:  # fused training: logits only for the listener
                    with torch.no_grad():
                        step["y_pred"] = self.infer(batch.X)
                if with_loss:
                    self.history.record_batch(f"{prefix}_loss", step["loss"].item())
                self.history.record_batch(f"{prefix}_batch_size", batch_sizes[-1])
                self.notify("on_batch_end", batch=skorch_batch, training=training, **step)
        self.history.record(f"{prefix}_batch_count", len(batch_sizes))
        if with_loss:
            values = torch.stack(batch_losses).float().tolist()
            if training and not np.all(np.isfinite(values)):
                raise FloatingPointError(
                    f"Training stopped at epoch {len(self.history)}: the {loss!r} loss became "
                    f"{np.mean(values)}. Lower learning_rate_init, scale the features (e.g. "
                    "StandardScaler), or choose a bounded loss."
                )
            if not listening:
                # The batch records skorch's scoring callbacks read, written at once.
                for value, size in zip(values, batch_sizes, strict=True):
                    self.history.new_batch()
                    self.history.record_batch(f"{prefix}_loss", value)
                    self.history.record_batch(f"{prefix}_batch_size", size)
        if not training:
            self.history.record(self.criterion_.kind.score_name, score.result())

    def train_step(self, batch, **fit_params):
        optimizer = self.optimizer_
        step = self.train_step_single(batch)
        if getattr(self, "_reports_loss", False) and step["y_pred"] is not None:
            # Recorded (history, verbose log, loss_curve_) in place of the objective,
            # which backward has used already; the LBFGS closure below keeps the objective.
            with torch.no_grad():
                reported = self.criterion_.loss.reported_loss(
                    step["y_pred"].detach(), batch.y, sample_weight=batch.weight
                )
            if reported is not None:
                step["loss"] = reported
        if self.weight_penalty_ is not None:
            self.weight_penalty_(optimizer)
        if self._grad_listeners:
            self.notify(
                "on_grad_computed",
                named_parameters=list(self.module_.named_parameters()),
                batch=(batch.X, batch.y),
                training=True,
            )
        if isinstance(optimizer, torch.optim.LBFGS):
            # LBFGS re-evaluates the objective several times per step.
            def closure():
                optimizer.zero_grad()
                return self.train_step_single(batch)["loss"]

            optimizer.step(closure)
        else:
            self._step()
        return step

    def train_step_single(self, batch, **fit_params):
        # What zero_grad(set_to_none=True) does, without its profiler hook (~15 µs a step).
        for group in self.optimizer_.param_groups:
            for parameter in group["params"]:
                parameter.grad = None
        # The module is in training mode already: run_single_epoch sets the mode once
        # per pass (module.train() walks every submodule, a cost per step otherwise).
        lean = getattr(self, "_lean_step", None)
        if lean is not None:
            # The default MLP's chain rule written out (skloss._training.mlp_step):
            # the loss's gradient in closed form where it has one, else autograd's
            # on the loss alone.
            loss = self.criterion_.loss
            y_pred, batch_loss = lean(
                batch.X,
                lambda outputs: self.get_loss(outputs, batch.y, X=batch, training=True),
                (
                    lambda outputs: loss.batch_loss_and_gradient(
                        outputs, batch.y, sample_weight=batch.weight
                    )
                )
                if self._asks_closed_form
                else None,
            )
            return {"loss": batch_loss, "y_pred": y_pred}
        if self.criterion_.fused_backend is None:
            y_pred = self.infer(batch.X)
            batch_loss = self.get_loss(y_pred, batch.y, X=batch, training=True)
        else:
            y_pred = None
            dtype = getattr(self, "autocast_dtype_", None)
            batch_loss = self.criterion_.fused_loss(self.module_, batch, dtype)
        batch_loss.backward()
        return {"loss": batch_loss, "y_pred": y_pred}

    def _make_lean_step(self):
        """The :class:`~skloss._training.mlp_step.LeanStep` of this epoch, or None.

        Only for a plain MLP in float32 (no autocast), with an unfused loss that
        does not run the network itself; decided once per epoch, as the step function.
        """
        if (
            self.criterion_.fused_backend is not None
            or getattr(self, "autocast_dtype_", None) is not None
            or {"model", "inputs"} & set(self.criterion_.loss.requires)
        ):
            return None
        layers = lean_layers(self.module_)
        return None if layers is None else LeanStep(layers)

    def validation_step(self, batch, **fit_params):
        loss = self.criterion_.loss
        with torch.no_grad():
            y_pred = self.infer(batch.X)
            batch_loss = None
            if getattr(self, "_reports_loss", False):
                batch_loss = loss.reported_loss(y_pred, batch.y, sample_weight=batch.weight)
            if batch_loss is None and not loss.requires:
                batch_loss = self.get_loss(y_pred, batch.y, X=batch, training=False)
        return {"loss": batch_loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        # Mixed precision: the forward pass under autocast, the outputs back in
        # float32 for the loss (its numerics are float32's); the weights stay float32.
        dtype = getattr(self, "autocast_dtype_", None)
        if dtype is None:
            return self.module_(x)
        with forward_precision(dtype, x.device):
            out = self.module_(x)
        return out.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The batch's loss, with the context its loss ``requires``.

        ``X`` is the :class:`~skloss._batches.Batch` (its weights and row
        positions are part of the context).
        """
        batch = X
        context = {}
        for requirement in self.criterion_.loss.requires:
            context.update(CONTEXT_PROVIDERS[requirement](self, batch))
        # forward, not __call__: the criterion has no hooks, and Module.__call__'s
        # bookkeeping would be paid on every batch.
        return self.criterion_.forward(y_pred, y_true, sample_weight=batch.weight, **context)

    # ---- prediction, as skorch's scorers call it ----------------------------------------
    def forward_iter(self, X, training=False, device="cpu"):
        features = X.X if isinstance(X, TrainingData) else X
        if isinstance(features, torch.Tensor) and features.device.type == "cpu":
            features = features.numpy()
        if not isinstance(features, torch.Tensor):
            features = as_feature_tensor(features, self.device)
        rows = evaluation_rows(self.criterion_.loss.n_outputs(self.criterion_.n_targets))
        self.module_.train(training)
        with torch.set_grad_enabled(training):
            for block in iterate_rows(features, rows, self.device):
                yield self.infer(block).to(device)

    def _get_predict_nonlinearity(self):
        return self.criterion_.probabilities

    def predict(self, X):
        """Predictions in the space the loss trains in: encoded labels (positions in the
        estimator's ``classes_``) or scaled target values."""
        return self.criterion_.kind.net_predict(self, X)


class LossModule(torch.nn.Module):
    """The criterion of :class:`SklossNet`: a skloss loss and how it is computed.

    The batch loss is ``loss.batch_loss(logits, y, sample_weight=w, **context)``:
    for per-sample losses ``mean(w * l)`` with weights normalised to mean 1 over the
    training data, so that minibatch gradients are unbiased for the weighted
    objective and a constant rescaling of ``sample_weight`` changes nothing.

    Parameters
    ----------
    loss : skloss.losses.Loss
    n_targets : int
        What the loss's output count depends on: classes, or target columns.
    fused_backend : str or None
        None: logits then loss. Otherwise the :mod:`skloss.fused` backend that
        computes the training loss from ``module.features(X)`` and ``module.head``
        (the estimator checked that the module and the loss allow it).
    kind : object
        What the kind of target (:mod:`skloss._targets`) tells the net: the
        validation score (``score_name``, ``new_score(device)`` with
        ``update(outputs, y, loss)`` and ``result()``), ``net_predict(net, X)``
        and ``check_encoded(y, n_targets)``.
    """

    def __init__(self, loss, n_targets, fused_backend=None, kind=None):
        super().__init__()
        self.loss = loss
        self.n_targets = n_targets
        self.fused_backend = fused_backend
        self.kind = kind

    def forward(self, logits, target, sample_weight=None, **context):
        return self.loss.batch_loss(logits, target, sample_weight=sample_weight, **context)

    def fused_loss(self, module, batch, dtype=None):
        """The batch's training loss through the fused linear head (float32 head and loss;
        the layers before it under autocast to ``dtype`` when given)."""
        from skloss.fused import linear_loss

        head = module.head
        with forward_precision(dtype, batch.X.device):
            features = module.features(batch.X)
        # reduction="none" returns w * l per row: the same mean(w * l) as forward.
        values = linear_loss(
            features.float() if dtype is not None else features,
            head.weight,
            head.bias,
            batch.y,
            loss=self.loss,
            reduction="none",
            sample_weight=batch.weight,
            backend=self.fused_backend,
        )
        return values.mean()

    def probabilities(self, logits):
        """One probability column per class, through the loss's link."""
        return probability_columns(self.loss.link(logits))
