"""The epoch driver: one call's epochs on the estimator's net, and the attributes they leave.

A call trains its epochs through skorch (``net.partial_fit``) and then records
them (``n_iter_``, ``loss_curve_``, the validation scores). Two ways it can end
early, each with one rule:

- **Ctrl-C** (``KeyboardInterrupt``): the net rolls back to the last completed
  epoch, the estimator records the epochs completed, warns
  (:class:`~skloss.exceptions.TrainingInterruptedWarning`) and re-raises, so that
  a search, a study or a script stops; a notebook that catches it holds a usable
  model.
- **An error** (a non-finite loss, a failing callback): everything the call
  changed in place is put back (:class:`CallSnapshot`) before the error
  reaches the caller, so the estimator predicts as before the call.
"""

import copy
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning

from skloss._core.fit_mode import FitMode
from skloss._training.optim import set_weight_decay
from skloss._training.precision import autocast_dtype
from skloss.exceptions import TrainingInterruptedWarning

__all__ = ["CallSnapshot", "run_epochs"]

# The net's attributes a call may rebind (a warm start makes a new optimiser).
_NET_ATTRIBUTES = ("optimizer", "optimizer_", "weight_penalty_", "lr", "batch_size")


class CallSnapshot:
    """What a call on a fitted net may change in place, to put back if the call fails.

    The weights, the optimiser's state, the criterion's loss and backend, the loss's
    own state (ALDR-KL's per-sample scales, ...) and the history rows.
    """

    def __init__(self, net, loss):
        self.weights = copy.deepcopy(net.module_.state_dict())
        self.optimizer_state = copy.deepcopy(net.optimizer_.state_dict())
        self.attributes = {name: getattr(net, name) for name in _NET_ATTRIBUTES}
        self.n_training_samples = getattr(net, "n_training_samples", None)
        self.criterion = (net.criterion_.loss, net.criterion_.fused_backend)
        self.loss = loss
        self.loss_state = copy.deepcopy(loss.__dict__)
        self.history_rows = len(net.history)

    def restore(self, net):
        """Put the net (and the loss) back as they were when the snapshot was taken."""
        with torch.no_grad():
            net.module_.load_state_dict(self.weights)
        for name, value in self.attributes.items():
            setattr(net, name, value)
        net.optimizer_.load_state_dict(self.optimizer_state)
        net.n_training_samples = self.n_training_samples
        net.criterion_.loss, net.criterion_.fused_backend = self.criterion
        self.loss.__dict__.clear()
        self.loss.__dict__.update(self.loss_state)
        del net.history[self.history_rows :]


def run_epochs(estimator, plan):
    """Train the epochs of one call on ``estimator.net_`` and record them.

    Parameters
    ----------
    estimator : BaseLossEstimator
        The estimator, whose ``net_`` and ``loss_function_`` are those of the call.
    plan : FitPlan
        What the call prepared.

    Raises
    ------
    KeyboardInterrupt
        After recording the completed epochs, when training was interrupted.
    """
    net = estimator.net_
    snapshot = None if plan.mode is FitMode.FRESH else CallSnapshot(net, net.criterion_.loss)
    n_before = len(net.history)
    try:
        _configure(estimator, net, plan)
        generator = torch.Generator().manual_seed(plan.seed)
        loss_generator = None
        if "generator" in plan.loss.requires:
            device = plan.train_data.device
            loss_generator = torch.Generator(device=device).manual_seed(plan.seed + 1)
        # Training needs gradients even inside a caller's torch.no_grad() block.
        with torch.enable_grad():
            net.partial_fit(
                (plan.train_data, plan.valid_data),
                epochs=1 if plan.incremental else estimator.max_iter,
                generator=generator,
                loss_generator=loss_generator,
            )
    except Exception:
        for _, callback in net.callbacks_:
            if hasattr(callback, "discard"):
                callback.discard()
        if snapshot is not None:
            snapshot.restore(net)
        raise
    _record(estimator, net, net.history[n_before:], plan)
    name = type(estimator).__name__
    if net.interrupted_:
        try:
            warnings.warn(
                f"{name}: training was interrupted (KeyboardInterrupt); the estimator is "
                f"fitted as of the last completed epoch: its weights, n_iter_="
                f"{estimator.n_iter_} and loss_curve_ describe that epoch. The interrupt "
                "is raised again.",
                TrainingInterruptedWarning,
            )
        except TrainingInterruptedWarning:
            pass  # a filter made the warning an error: the interrupt still reaches the caller
        raise KeyboardInterrupt
    if not plan.incremental and not dict(net.callbacks_)["stopping"].converged_:
        warnings.warn(
            f"{name}: max_iter={estimator.max_iter} epochs reached and the optimisation has "
            "not converged yet.",
            ConvergenceWarning,
        )


def _configure(estimator, net, plan):
    """Set what this call trains with: loss, backend, stopping rule, batches, penalty."""
    net.criterion_.loss = plan.loss
    net.criterion_.fused_backend = plan.backend
    named = dict(net.callbacks_)
    # Reconfigured on every call: a warm start may follow set_params, and
    # partial_fit (one epoch per call) applies no stopping rule at all.
    stopping = named["stopping"]
    stopping.set_params(
        early_stopping=estimator.early_stopping,
        tol=estimator.tol,
        n_iter_no_change=estimator.n_iter_no_change,
        score_name=(
            "valid_loss"
            if plan.loss.stops_on_validation_loss
            else estimator._target_codec.score_name
        ),
    )
    stopping.enabled = not plan.incremental
    if "progress" in named:
        named["progress"].level = int(estimator.verbose)
    net.autocast_dtype_ = autocast_dtype(estimator.precision, plan.train_data.device)
    net.n_training_samples = len(plan.train_data)
    net.batch_size = plan.batch_size
    if plan.mode is FitMode.WARM:
        # A warm_start fit starts a new optimiser from the current parameters, as
        # MLPClassifier does: set_params(learning_rate_init=...) takes effect.
        net.optimizer = estimator._optimizer_factory(plan.batch_size)
        net.lr = estimator.learning_rate_init
        net.initialize_optimizer()
        # skorch's LRScheduler resumes at the epoch count (last_epoch >= 0), for which
        # torch's schedulers read each group's starting rate: the new one.
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])
    # MLPClassifier's penalty is alpha / (2 * batch_size) * ||W||^2 on each batch:
    # the batch size, and alpha, of this call (each partial_fit chunk has its own).
    set_weight_decay(net.optimizer_, net.weight_penalty_, estimator.alpha / plan.batch_size)


def _record(estimator, net, rows, plan):
    """``MLPClassifier``'s fitted attributes of training, after a call's epochs.

    ``n_iter_``, ``loss_curve_`` and ``t_`` (samples seen) span every call since
    the last fresh start; ``loss_`` is the last epoch's training loss. A call with
    a validation split (``early_stopping``) records ``validation_scores_`` and
    ``best_validation_score_`` and sets ``best_loss_`` to None; a call without one
    records ``best_loss_`` and sets the validation attributes to None.
    """
    estimator.n_iter_ += len(rows)
    estimator.t_ = getattr(estimator, "t_", 0) + len(rows) * len(plan.train_data)
    estimator.loss_curve_.extend(row["train_loss"] for row in rows)
    estimator.loss_ = estimator.loss_curve_[-1] if estimator.loss_curve_ else None
    if plan.valid_data is None:
        estimator.best_loss_ = min(estimator.loss_curve_, default=None)
        estimator.validation_scores_ = None
        estimator.best_validation_score_ = None
        return
    stopping = dict(net.callbacks_)["stopping"]
    scores = [stopping.score_of(row) for row in rows]
    if stopping.continued_:
        # The warm start competed with the last call's best: one training, one record.
        scores = list(estimator.validation_scores_) + scores
    estimator.best_loss_ = None
    estimator.validation_scores_ = scores
    estimator.best_validation_score_ = max(scores, default=None)
