"""The callbacks skloss adds to every net: the stopping rule and the ``verbose`` log."""

import copy

import numpy as np
from skorch.callbacks import Callback

__all__ = ["StoppingRule", "EpochLog", "RESERVED_CALLBACK_NAMES"]

#: Names of the callbacks skloss's net adds itself (a user's callback may not take them).
RESERVED_CALLBACK_NAMES = frozenset(
    {"epoch_timer", "train_loss", "valid_loss", "stopping", "progress"}
)


class StoppingRule(Callback):
    """``MLPClassifier``'s stopping rule, epoch by epoch.

    With ``early_stopping`` the score is the validation score (``score_name`` in the
    history: accuracy for classifiers, R^2 for regressors; ``"valid_loss"``, scored
    as minus the validation loss, for a loss that stops on it): training stops once
    it has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and the
    weights of the best epoch are restored. Without it, the training loss must fall
    by ``tol``; the weights are those of the last epoch.

    A warm start with ``early_stopping`` continues the comparison where the last
    call left it: that call restored its best weights, which are where the warm
    start begins, so they compete with the new epochs and the weights kept at the
    end are the best of the whole training (``MLPClassifier`` keeps its best
    weights across warm starts too). ``continued_`` says whether a call did so.
    """

    def __init__(self, early_stopping, tol, n_iter_no_change, score_name="valid_acc"):
        self.early_stopping = early_stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.score_name = score_name
        # partial_fit trains one epoch per call: no rule applies there, so the
        # estimator switches the rule off for those calls.
        self.enabled = True
        # The score of the weights the net holds, when a call with the rule and
        # early_stopping restored them (None otherwise), and the score it is.
        self.kept_best_ = None
        self.kept_score_name_ = None

    def on_train_begin(self, net, **kwargs):
        self.no_improvement_ = 0
        self.converged_ = False
        self.best_state_ = None
        # A best kept by another score (a warm start onto another loss) cannot compete.
        self.continued_ = (
            self.enabled
            and self.early_stopping
            and self.kept_best_ is not None
            and self.kept_score_name_ == self.score_name
        )
        if self.continued_:
            self.best_ = self.kept_best_
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        else:
            self.best_ = -np.inf if self.early_stopping else np.inf

    def score_of(self, row):
        """The validation score of one history row (higher is better)."""
        if self.score_name == "valid_loss":
            return -row["valid_loss"]
        return row[self.score_name]

    def on_epoch_end(self, net, **kwargs):
        if not self.enabled:
            return
        if self.early_stopping:
            score = self.score_of(net.history[-1])
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
        self.kept_best_ = None
        if self.enabled and self.early_stopping and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
            self.kept_best_ = self.best_
            self.kept_score_name_ = self.score_name
        self.discard()

    def discard(self):
        """Drop the copy of the best weights (kept only while training)."""
        self.best_state_ = None


class EpochLog(Callback):
    """What ``verbose`` prints, as scikit-learn's ``MLPClassifier`` prints it.

    ``verbose=1`` (or True): ``Iteration 3, loss = 0.41230000`` after every epoch,
    ``Validation score: 0.962963`` with ``early_stopping``, and why training
    stopped (``... did not improve more than tol=... for 10 consecutive epochs.
    Stopping.``). ``verbose >= 2`` adds, per call, how it trains (rows, batch
    size, fused backend) and, per epoch, the validation loss and the epoch's time.
    Lines go to standard output, so they land in logs as they are.
    """

    def __init__(self, level=1):
        self.level = level

    def on_train_begin(self, net, X=None, **kwargs):
        if self.level >= 2:
            backend = net.criterion_.fused_backend
            print(
                f"Training {getattr(net, 'n_training_samples', '?')} rows in batches of "
                f"{net.batch_size}, loss {net.criterion_.loss!r}"
                + (f", fused head ({backend})" if backend else ""),
                flush=True,
            )

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        line = f"Iteration {row['epoch']}, loss = {row['train_loss']:.8f}"
        if self.level >= 2:
            if row.get("valid_loss") is not None:
                line += f", validation loss = {row['valid_loss']:.8f}"
            line += f" ({row['dur']:.2f} s)"
        print(line, flush=True)
        stopping = dict(net.callbacks_).get("stopping")
        if stopping is not None and stopping.score_name in row:
            print(f"Validation score: {stopping.score_of(row):f}", flush=True)

    def on_train_end(self, net, **kwargs):
        stopping = dict(net.callbacks_).get("stopping")
        if stopping is None or not getattr(stopping, "converged_", False):
            return
        what = "Validation score" if stopping.early_stopping else "Training loss"
        print(
            f"{what} did not improve more than tol={stopping.tol:f} for "
            f"{stopping.n_iter_no_change} consecutive epochs. Stopping.",
            flush=True,
        )
