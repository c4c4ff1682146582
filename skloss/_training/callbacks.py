"""The callbacks skloss adds to every net: the stopping rule and a progress display."""

import copy

import numpy as np
from skorch.callbacks import Callback

__all__ = ["StoppingRule", "ProgressBar", "RESERVED_CALLBACK_NAMES"]

#: Names of the callbacks skloss's net adds itself (a user's callback may not take them).
RESERVED_CALLBACK_NAMES = frozenset(
    {"epoch_timer", "train_loss", "valid_loss", "stopping", "progress"}
)


class StoppingRule(Callback):
    """``MLPClassifier``'s stopping rule, epoch by epoch.

    With ``early_stopping`` the score is the validation score (``score_name`` in the
    history: accuracy for classifiers): training stops once it has not improved by
    ``tol`` for more than ``n_iter_no_change`` epochs, and the weights of the best
    epoch are restored. Without it, the training loss must fall by ``tol``; the
    weights are those of the last epoch.

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
        # early_stopping restored them (None otherwise).
        self.kept_best_ = None

    def on_train_begin(self, net, **kwargs):
        self.no_improvement_ = 0
        self.converged_ = False
        self.best_state_ = None
        self.continued_ = self.enabled and self.early_stopping and self.kept_best_ is not None
        if self.continued_:
            self.best_ = self.kept_best_
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        else:
            self.best_ = -np.inf if self.early_stopping else np.inf

    def on_epoch_end(self, net, **kwargs):
        if not self.enabled:
            return
        if self.early_stopping:
            score = net.history[-1, self.score_name]
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
        self.discard()

    def discard(self):
        """Drop the copy of the best weights (kept only while training)."""
        self.best_state_ = None


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the latest losses (``verbose=True``)."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.discard()
        self.bar_ = tqdm(total=self.total, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        shown = {k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss", "valid_acc") if k in row}
        self.bar_.set_postfix(shown, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.discard()

    def discard(self):
        """Close the bar: tqdm objects neither outlive training nor pickle."""
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()
