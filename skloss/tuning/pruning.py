"""Clone-safe pruning: a skorch callback that reports to an Optuna trial by key."""

import threading
import uuid
import weakref

from skorch.callbacks import Callback

from skloss.tuning._specs import import_optuna


class _TrialEntry:
    # A weak reference: a strong one here would keep every trial, and through it
    # its study and storage, alive for the life of the process.
    def __init__(self, trial):
        self._trial = weakref.ref(trial)
        self.lock = threading.Lock()
        self.n_fits = 0
        self.pruned_step = None

    @property
    def trial(self):
        return self._trial()


#: key -> _TrialEntry of the trials that PruningCallback copies report to. An entry
#: goes with its trial (weakref.finalize): a finished study leaves nothing behind.
#: Readers iterate over a copy (``_TRIALS.copy()``): a finalizer may pop an entry
#: at any allocation, in any thread.
_TRIALS = {}


def _register(trial):
    key = f"skloss-trial-{uuid.uuid4().hex}"
    _TRIALS[key] = _TrialEntry(trial)
    weakref.finalize(trial, _TRIALS.pop, key, None)
    return key


class PruningCallback(Callback):
    """Report each epoch's validation score to an Optuna trial, and prune.

    Made with :meth:`for_trial`; holds only a key into a process-wide table of
    trials, so ``sklearn.base.clone`` (``cross_val_score``, ``GridSearchCV``) and
    the deep copy each skloss fit makes of its callbacks all report to the one
    trial. (optuna-integration's ``SkorchPruningCallback`` holds the trial
    itself: ``clone`` fails on its ``_trial`` argument, and a deep copy of an
    in-memory trial reports into a copy of the storage, where it is lost.)

    **One value per step.** The fits of a trial are numbered in the order they
    start (the folds of ``cross_val_score``, then ``GridSearchCV``'s candidates
    and refit); epoch ``e`` (0-based) of fit ``i`` is reported at step
    ``i * max_iter + e``, with that fit's score. Sequential folds make the same
    step mean the same fold and epoch in every trial, which is what pruners
    compare (optuna#3203, optuna#4946). Folds run in parallel threads are numbered
    by start order, which may differ between trials: prune with folds in sequence.

    **Pruning** raises :class:`optuna.TrialPruned` out of ``fit`` (skloss's
    interrupt handling catches ``KeyboardInterrupt`` only), and every later fit
    of the same trial raises it at its start. scikit-learn turns an exception in
    a fit into a ``NaN`` score unless ``error_score="raise"``: pass
    ``error_score="raise"`` to ``cross_val_score``/``GridSearchCV`` so that the
    prune reaches Optuna, or call :meth:`raise_if_pruned` after the search.

    The table lives in the process that made the callback: fits in threads
    (``n_jobs`` with threads, Optuna's ``n_jobs``) report; fits in other
    processes (loky, Dask) raise a ``RuntimeError`` that says so.

    Parameters
    ----------
    trial_key : str
        The key :meth:`for_trial` registered the trial under.
    monitor : str, default="valid_acc"
        The history column reported: ``"valid_acc"`` (classifiers) or
        ``"valid_r2"`` (regressors), both with ``early_stopping=True``;
        ``"valid_loss"`` or ``"train_loss"``. The study's direction must match
        (maximise an accuracy or R^2, minimise a loss).

    Examples
    --------
    >>> import optuna
    >>> from sklearn.base import clone
    >>> study = optuna.create_study(direction="maximize")
    >>> trial = study.ask()
    >>> callback = PruningCallback.for_trial(trial)
    >>> clone(callback).trial_key == callback.trial_key
    True
    """

    def __init__(self, trial_key, monitor="valid_acc"):
        self.trial_key = trial_key
        self.monitor = monitor

    @classmethod
    def for_trial(cls, trial, monitor="valid_acc"):
        """Register ``trial`` and return a callback reporting to it.

        Parameters
        ----------
        trial : optuna.trial.Trial
            The running trial.
        monitor : str, default="valid_acc"
            The history column reported.

        Returns
        -------
        PruningCallback
            A callback holding the trial's key.
        """
        if not (hasattr(trial, "report") and hasattr(trial, "should_prune")):
            raise TypeError(
                f"trial must be an optuna.trial.Trial (with report and should_prune), got "
                f"{type(trial).__name__}."
            )
        return cls(_register(trial), monitor=monitor)

    @staticmethod
    def raise_if_pruned(trial):
        """Raise ``optuna.TrialPruned`` if a fit of ``trial`` was pruned.

        For searches that caught the prune (``error_score=np.nan``, the
        scikit-learn default) and went on.

        Parameters
        ----------
        trial : optuna.trial.Trial
            The trial given to :meth:`for_trial`.
        """
        optuna = import_optuna()
        entries = [entry for entry in _TRIALS.copy().values() if entry.trial is trial]
        for entry in entries:
            if entry.pruned_step is not None:
                raise optuna.TrialPruned(f"Trial was pruned at step {entry.pruned_step}.")

    def _entry(self):
        entry = _TRIALS.get(self.trial_key)
        if entry is None or entry.trial is None:
            raise RuntimeError(
                f"PruningCallback: no live trial registered under {self.trial_key!r} in "
                "this process (a finished trial is dropped once it is freed). The callback "
                "reports to running trials of the process that created it "
                "(fits in threads); run the search with n_jobs=1 or a threading backend, "
                "or create the callback with PruningCallback.for_trial in this process."
            )
        return entry

    def on_train_begin(self, net, **kwargs):
        optuna = import_optuna()
        entry = self._entry()
        with entry.lock:
            if entry.pruned_step is not None:
                raise optuna.TrialPruned(
                    f"Trial was pruned at step {entry.pruned_step}; no further fits."
                )
            # partial_fit calls on_train_begin on every call: a fit keeps its number.
            if not hasattr(self, "fit_index_"):
                self.fit_index_ = entry.n_fits
                entry.n_fits += 1

    def on_epoch_end(self, net, **kwargs):
        optuna = import_optuna()
        entry = self._entry()
        row = net.history[-1]
        if self.monitor not in row:
            raise ValueError(
                f"PruningCallback(monitor={self.monitor!r}): the history has no such column "
                f"(it has {sorted(k for k in row if not k.endswith('_best'))}). "
                "'valid_acc' (classifiers), 'valid_r2' (regressors) and 'valid_loss' need "
                "early_stopping=True; or use monitor='train_loss'."
            )
        value = float(row[self.monitor])
        step = self.fit_index_ * int(net.max_epochs) + len(net.history) - 1
        trial = entry.trial
        trial.report(value, step=step)
        if trial.should_prune():
            with entry.lock:
                entry.pruned_step = step
            raise optuna.TrialPruned(
                f"Trial was pruned at step {step} (fit {self.fit_index_}, epoch "
                f"{len(net.history) - 1}, {self.monitor}={value:.4g})."
            )
