"""The skorch net every skloss estimator trains with, and its training callbacks.

``SklossNet`` keeps skorch's structure (initialisation, callbacks, history,
checkpointing, devices) and replaces its per-batch machinery with a tight loop:
batches come pre-sliced from :class:`skloss._batches.TrainingData`, the epoch
loss is accumulated on the device and read once, and per-batch callback
notifications happen only when a callback actually listens to them.
"""

import copy

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

from skloss._batches import evaluation_rows

__all__ = ["SklossNet", "StoppingRule", "ProgressBar"]


def _overrides(callback, method):
    return getattr(type(callback), method) is not getattr(Callback, method)


class SklossNet(NeuralNet):
    """A skorch ``NeuralNet`` that trains on :class:`~skloss._batches.TrainingData`.

    ``module`` and ``criterion`` are passed initialised; ``criterion`` is a
    :class:`LossModule`. ``optimizer`` is a callable taking the module and
    returning a torch optimiser and a weight penalty (or None), as
    :class:`skloss._optim.OptimizerFactory` does. Call
    ``partial_fit(data, epochs=..., generator=...)``
    where ``data`` is a ``(train, valid)`` pair of ``TrainingData`` (``valid`` may
    be None); skorch's ``fit`` on arrays is not used.
    """

    def get_default_callbacks(self):
        # The estimator passes the callbacks it wants (timer, stopping, progress)
        # explicitly; skorch's per-batch scorers and print log are not used.
        return []

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

    def fit_loop(self, X, y=None, epochs=None, generator=None, **fit_params):
        train, valid = X
        epochs = self.max_epochs if epochs is None else epochs
        on_epoch_kwargs = {"dataset_train": train, "dataset_valid": valid}
        for _ in range(epochs):
            self.notify("on_epoch_begin", **on_epoch_kwargs)
            self.run_single_epoch(train, training=True, prefix="train", generator=generator)
            if valid is not None:
                self.run_single_epoch(valid, training=False, prefix="valid")
            self.notify("on_epoch_end", **on_epoch_kwargs)
            if self.stop_requested:
                break
        return self

    def run_single_epoch(self, iterator, training, prefix, step_fn=None, generator=None, **kw):
        data = iterator
        self.module_.train(training)
        loss = self.criterion_.loss
        # Batch losses are kept on the device and summed once per epoch: reading
        # each one (.item()) would synchronise and cost a host round trip per batch.
        batch_losses, batch_sizes = [], []
        n_correct = torch.zeros((), device=data.device, dtype=torch.long)
        batch_size = self.batch_size if training else evaluation_rows(
            loss.n_outputs(self.criterion_.n_classes), max(self.batch_size, 4096)
        )
        stratified = training and "stratified" in loss.requires
        with torch.set_grad_enabled(training):
            for batch in data.batches(
                batch_size, generator=generator if training else None, stratified=stratified
            ):
                if self._batch_listeners:
                    self.notify("on_batch_begin", batch=batch, training=training)
                if training:
                    batch_loss = self.train_step(batch)
                else:
                    logits = self.module_(batch.X)
                    n_correct += (self.criterion_.predict_codes(logits) == batch.y).sum()
                    batch_loss = (
                        self.criterion_.forward(logits, batch, net=self)
                        if not loss.requires
                        else torch.zeros((), device=data.device)
                    )
                batch_losses.append(batch_loss.detach())
                batch_sizes.append(batch.y.shape[0])
                if self._batch_listeners:
                    self.notify("on_batch_end", batch=batch, training=training, loss=batch_loss)
        sizes = torch.tensor(batch_sizes, dtype=torch.float32, device=data.device)
        mean_loss = (torch.stack(batch_losses).float() @ sizes / sizes.sum()).item()
        epoch = len(self.history)
        if training and not np.isfinite(mean_loss):
            raise FloatingPointError(
                f"Training stopped at epoch {epoch}: the {loss!r} loss became {mean_loss}. "
                "Lower learning_rate_init, scale the features (e.g. StandardScaler), or "
                "choose a bounded loss."
            )
        if training or not loss.requires:
            self.history.record(f"{prefix}_loss", mean_loss)
        if not training:
            self.history.record(f"{prefix}_acc", n_correct.item() / len(data))

    def train_step(self, batch, **fit_params):
        optimizer = self.optimizer_
        # What zero_grad(set_to_none=True) does, without its profiler hook (~15 µs a step).
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = None
        batch_loss = self.criterion_.training_loss(self.module_, batch, net=self)
        batch_loss.backward()
        if self.weight_penalty_ is not None:
            self.weight_penalty_(optimizer)
        if self._grad_listeners:
            self.notify(
                "on_grad_computed",
                named_parameters=list(self.module_.named_parameters()),
                batch=batch,
                training=True,
            )
        if isinstance(optimizer, torch.optim.LBFGS):
            # LBFGS re-evaluates the objective several times per step.
            def closure():
                optimizer.zero_grad()
                value = self.criterion_.training_loss(self.module_, batch, net=self)
                value.backward()
                return value

            optimizer.step(closure)
        else:
            optimizer.step()
        return batch_loss


class LossModule(torch.nn.Module):
    """Adapts a skloss loss to a batch: passes the context it requires and
    applies the batch's sample weights.

    The batch loss is ``mean(w * l)`` with weights normalised to mean 1 over the
    training data, so that minibatch gradients are unbiased for the weighted
    objective and a constant rescaling of ``sample_weight`` changes nothing.
    """

    def __init__(self, loss, n_classes, fused_backend=None):
        super().__init__()
        self.loss = loss
        self.n_classes = n_classes
        # None: logits then loss. Otherwise the skloss.fused backend that computes
        # the training loss from module.features(X) and module.head (set by the
        # estimator, which checked that the module and the loss allow it).
        self.fused_backend = fused_backend

    def training_loss(self, module, batch, net=None):
        """The batch's training loss, through the fused head when enabled."""
        if self.fused_backend is None:
            return self.forward(module(batch.X), batch, net=net)
        from skloss.fused import linear_loss

        head = module.head
        # reduction="none" returns w * l per row: the same mean(w * l) as forward.
        values = linear_loss(
            module.features(batch.X), head.weight, head.bias, batch.y, loss=self.loss,
            reduction="none", sample_weight=batch.weight, backend=self.fused_backend,
        )
        return values.mean()

    def forward(self, logits, batch, net=None):
        context = {}
        requires = self.loss.requires
        if requires:
            if "index" in requires:
                context["index"] = batch.index
                context["n_samples"] = net.n_training_samples
            if "epoch" in requires:
                context["epoch"] = len(net.history) - 1
            if "model" in requires:
                context["model"] = net.module_
            if "inputs" in requires:
                context["inputs"] = batch.X
        # per_sample, not __call__: the estimator validated the loss and its
        # requirements before training, so the per-call checks are skipped here.
        if self.loss.batch_level and batch.weight is not None:
            context["count_weight"] = batch.weight
        values = self.loss.per_sample(logits, batch.y, **context)
        if batch.weight is not None:
            values = values * batch.weight
        return values.mean()

    def predict_codes(self, logits):
        """Encoded class predictions from logits (argmax of the loss's link)."""
        if logits.shape[1] == 1:
            return (logits[:, 0] > 0).long()
        return logits.argmax(dim=1)


class StoppingRule(Callback):
    """``MLPClassifier``'s stopping rule, epoch by epoch.

    With ``early_stopping`` the score is the validation accuracy: training stops
    once it has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and the
    weights of the best epoch are restored. Without it, the training loss must
    fall by ``tol``; the weights are those of the last epoch.
    """

    def __init__(self, early_stopping, tol, n_iter_no_change):
        self.early_stopping = early_stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        # partial_fit trains one epoch per call: no rule applies there, so the
        # estimator switches the rule off for those calls.
        self.enabled = True

    def on_train_begin(self, net, **kwargs):
        self.best_ = -np.inf if self.early_stopping else np.inf
        self.no_improvement_ = 0
        self.best_state_ = None
        self.converged_ = False

    def on_epoch_end(self, net, **kwargs):
        if not self.enabled:
            return
        if self.early_stopping:
            score = net.history[-1, "valid_acc"]
            improved = score > self.best_ + self.tol
            if score > self.best_:
                self.best_ = score
                self.best_state_ = copy.deepcopy(net.module_.state_dict())
        else:
            loss = net.history[-1, "train_loss"]
            improved = loss < self.best_ - self.tol
            self.best_ = min(self.best_, loss)
        self.no_improvement_ = 0 if improved else self.no_improvement_ + 1
        if self.no_improvement_ > self.n_iter_no_change:
            self.converged_ = True
            net.stop_requested = True

    def on_train_end(self, net, **kwargs):
        if self.enabled and self.early_stopping and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
            self.best_state_ = None  # not kept: the net would carry a second copy


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the latest losses (``verbose=True``)."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        shown = {k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss", "valid_acc") if k in row}
        self.bar_.set_postfix(shown, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_  # tqdm objects do not pickle
