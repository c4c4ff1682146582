"""Optuna tuning for skloss estimators: search spaces and clone-safe pruning.

Three pieces, all on top of Optuna's and scikit-learn's own machinery:

- :func:`suggest_params` (define-by-run, inside an Optuna objective) and
  :func:`param_distributions` (for :class:`optuna_integration.OptunaSearchCV`)
  draw from one search space: the loss among the registry's names, each loss's
  own parameters from its ``search_space`` class attribute (declared next to
  the loss), a log-uniform learning rate and ``alpha``, hidden layer sizes and
  early stopping on or off. :func:`params_from_trial` turns a finished trial's
  parameters (from any storage) back into ``set_params`` arguments.
- :class:`PruningCallback`: a skorch callback that reports each fit's
  validation score to an Optuna trial and prunes, and that survives
  :func:`sklearn.base.clone` and deep copies, so it works inside
  ``cross_val_score`` and ``GridSearchCV``.
- :class:`OptunaSearchCV`: ``optuna_integration.OptunaSearchCV`` with guards
  against two of its pitfalls (see its docstring).

Optuna and optuna-integration are optional dependencies (the ``tune`` extra):
they are imported when these functions are called, not when skloss is.
"""

import json
import threading
import uuid
import weakref
from numbers import Integral

import numpy as np
from skorch.callbacks import Callback

__all__ = [
    "ESTIMATOR_SPACE",
    "HIDDEN_LAYER_CHOICES",
    "OptunaSearchCV",
    "PruningCallback",
    "expected_noisy_accuracy",
    "loss_choices",
    "param_distributions",
    "params_from_trial",
    "search_space",
    "select_by_noisy_scores",
    "suggest_params",
]

#: Hidden layer sizes the default space chooses from.
HIDDEN_LAYER_CHOICES = ((32,), (64,), (128,), (64, 64), (128, 64))

#: The estimator's own part of the default space, spec per parameter (the format of
#: ``Loss.search_space``). ``max_iter`` is not tuned: it is the pruning budget.
ESTIMATOR_SPACE = {
    "learning_rate_init": ("float", 1e-4, 3e-2, "log"),
    "alpha": ("float", 1e-6, 1e-1, "log"),
    "hidden_layer_sizes": ("categorical", list(HIDDEN_LAYER_CHOICES)),
    "early_stopping": ("categorical", [False, True]),
}

_KINDS = ("float", "int", "categorical")


def _import_optuna():
    try:
        import optuna
    except ImportError as error:  # pragma: no cover - optuna is in the test extra
        raise ImportError("skloss.tuning needs optuna: pip install 'skloss[tune]'.") from error
    return optuna


# ---- search spaces ----------------------------------------------------------------------
def _check_spec(name, spec):
    """A spec of the ``search_space`` protocol, or a ValueError that shows the format."""
    fmt = (
        '("float", low, high), ("float", low, high, "log"), ("int", low, high) or '
        '("categorical", [choices...])'
    )
    if not isinstance(spec, tuple) or not spec or spec[0] not in _KINDS:
        raise ValueError(f"search space entry {name!r} = {spec!r} must be one of {fmt}.")
    kind = spec[0]
    if kind == "categorical":
        if len(spec) != 2 or len(list(spec[1])) == 0:
            raise ValueError(
                f"search space entry {name!r} = {spec!r}: a categorical spec is "
                "('categorical', [choices...]) with at least one choice."
            )
        return spec
    if len(spec) not in (3, 4) or (len(spec) == 4 and spec[3] != "log"):
        raise ValueError(f"search space entry {name!r} = {spec!r} must be one of {fmt}.")
    low, high = spec[1], spec[2]
    if not low <= high or (len(spec) == 4 and not low > 0):
        raise ValueError(
            f"search space entry {name!r} = {spec!r}: needs low <= high (and low > 0 "
            "for a log scale)."
        )
    if kind == "int" and not (isinstance(low, Integral) and isinstance(high, Integral)):
        raise ValueError(f"search space entry {name!r} = {spec!r}: int bounds must be ints.")
    return spec


def _hidden_label(sizes):
    """``(64, 32)`` -> ``"64-32"``: a storage-safe categorical choice for a tuple."""
    return "-".join(str(int(size)) for size in np.atleast_1d(sizes))


def _hidden_sizes(value):
    """Back from a label, a list (persistent storages return lists) or a tuple."""
    if isinstance(value, str):
        return tuple(int(part) for part in value.split("-"))
    return tuple(int(size) for size in np.atleast_1d(value))


def _encode_choice(choice):
    # Optuna's persistent storages keep None, bool, int, float and str choices only.
    if isinstance(choice, (list, tuple)):
        return _hidden_label(choice)
    return choice


def _suggest(trial, name, spec):
    kind = spec[0]
    if kind == "float":
        return trial.suggest_float(name, spec[1], spec[2], log=len(spec) == 4)
    if kind == "int":
        return trial.suggest_int(name, spec[1], spec[2], log=len(spec) == 4)
    choices = list(spec[1])
    encoded = [_encode_choice(choice) for choice in choices]
    picked = trial.suggest_categorical(name, encoded)
    return choices[encoded.index(picked)]


def _distribution(spec):
    optuna = _import_optuna()
    kind = spec[0]
    if kind == "float":
        return optuna.distributions.FloatDistribution(spec[1], spec[2], log=len(spec) == 4)
    if kind == "int":
        return optuna.distributions.IntDistribution(spec[1], spec[2], log=len(spec) == 4)
    choices = tuple(spec[1])
    if any(isinstance(choice, (list, tuple)) for choice in choices):
        # OptunaSearchCV passes the choice itself to set_params, so tuples stay
        # tuples here (in-memory storage); Optuna's warning about persistent
        # storage is answered by params_from_trial, which accepts lists back.
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Choices for a categorical distribution")
            return optuna.distributions.CategoricalDistribution(choices)
    return optuna.distributions.CategoricalDistribution(choices)


def _loss_param(estimator):
    """Whether the estimator chooses its loss by a ``loss`` parameter."""
    return "loss" in estimator.get_params(deep=False)


def _loss_class(loss):
    from skloss.losses import LOSSES, Loss, Preset

    if isinstance(loss, str):
        entry = LOSSES.get(loss)
        if entry is None:
            from skloss.losses import list_losses

            raise ValueError(f"Unknown loss {loss!r}. Valid names are: {list_losses()}.")
        return entry, (entry.fixed if isinstance(entry, Preset) else {})
    if isinstance(loss, Loss):
        return type(loss), {}
    return None, {}


def _loss_space(loss):
    """The loss's own ``search_space`` without the parameters a preset fixes."""
    entry, fixed = _loss_class(loss)
    if entry is None:
        return {}
    cls = entry.cls if hasattr(entry, "cls") else entry
    space = dict(getattr(cls, "search_space", {}) or {})
    return {name: _check_spec(name, spec) for name, spec in space.items() if name not in fixed}


def loss_choices(estimator, n_classes=None):
    """Registry names of the losses a search may choose for ``estimator``.

    Parameters
    ----------
    estimator : skloss estimator
        An estimator with a ``loss`` parameter (:class:`skloss.RobustLossClassifier`).
    n_classes : int, default=None
        Classes of the problem. Binary-only losses are offered only when it is 2:
        without it they are left out, as they would fail on more classes.

    Returns
    -------
    list of str
        Sorted registry names.

    Examples
    --------
    >>> from skloss import RobustLossClassifier
    >>> "gce" in loss_choices(RobustLossClassifier())
    True
    """
    from skloss.losses import LOSSES

    if not _loss_param(estimator):
        raise TypeError(
            f"{type(estimator).__name__} has no 'loss' parameter to choose; its loss "
            "parameters are tuned by suggest_params directly."
        )
    return sorted(name for name, entry in LOSSES.items() if not entry.binary_only or n_classes == 2)


def _estimator_space(estimator, space):
    own = estimator.get_params(deep=False)
    merged = dict(ESTIMATOR_SPACE)
    if space is not None:
        if not isinstance(space, dict):
            raise TypeError(
                f"space must be a dict param -> spec (or None for the default), got "
                f"{type(space).__name__}."
            )
        merged.update(space)
    unknown = sorted(name for name in merged if name not in own and "__" not in name)
    if space is not None and any(name in space for name in unknown):
        raise ValueError(
            f"space names {[n for n in unknown if n in space]}, which "
            f"{type(estimator).__name__} does not have; valid parameters are {sorted(own)}."
        )
    return {
        name: _check_spec(name, spec)
        for name, spec in merged.items()
        if name in own and spec is not None
    }


def search_space(estimator, *, loss=None, space=None):
    """The flat search space of ``estimator`` with one loss, as specs.

    Parameters
    ----------
    estimator : skloss estimator
        :class:`skloss.RobustLossClassifier` or :class:`skloss.AnyLossClassifier`
        (or any estimator with these parameter names).
    loss : str or Loss, default=None
        The loss whose parameters join the space (``loss__<param>``); None uses
        the estimator's own ``loss``. Ignored by estimators without ``loss``
        (AnyLossClassifier: its loss parameters are its own parameters).
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE`; a value of None
        removes an entry.

    Returns
    -------
    dict
        Parameter name (as ``set_params`` takes it) -> spec.
    """
    specs = _estimator_space(estimator, space)
    if _loss_param(estimator):
        chosen = estimator.get_params(deep=False)["loss"] if loss is None else loss
        for name, spec in _loss_space(chosen).items():
            specs[f"loss__{name}"] = spec
    else:
        from skloss.losses import AnyLoss

        own = estimator.get_params(deep=False)
        for name, spec in _loss_space(AnyLoss()).items():
            if name in own:
                specs.setdefault(name, spec)
    return specs


def suggest_params(trial, estimator, *, losses=None, n_classes=None, space=None):
    """Draw a parameter set for ``estimator.set_params(**params)`` from an Optuna trial.

    Define-by-run: the loss is chosen first (``trial.params["loss"]``), then the
    parameters of that loss only, under trial names ``"<loss>__<param>"``
    (``"gce__q"``), so that losses sharing a parameter name keep separate
    distributions. Hidden layer sizes are stored as labels such as ``"64-32"``
    (persistent storages keep no tuples).

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial to draw from (``FixedTrial`` works too).
    estimator : skloss estimator
        :class:`skloss.RobustLossClassifier` or :class:`skloss.AnyLossClassifier`.
    losses : list of str, default=None
        Registry names to choose from (RobustLossClassifier); None is
        :func:`loss_choices`, one name fixes the loss.
    n_classes : int, default=None
        Classes of the problem, for :func:`loss_choices`.
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE` (None removes one).

    Returns
    -------
    dict
        Arguments for ``estimator.set_params``; loss parameters as ``loss__<param>``.

    Examples
    --------
    >>> import optuna
    >>> from skloss import RobustLossClassifier
    >>> trial = optuna.trial.FixedTrial({"loss": "gce", "gce__q": 0.5,
    ...     "learning_rate_init": 1e-3, "alpha": 1e-4, "hidden_layer_sizes": "64-64",
    ...     "early_stopping": False})
    >>> params = suggest_params(trial, RobustLossClassifier(), losses=["ce", "gce"])
    >>> params["loss"], params["loss__q"], params["hidden_layer_sizes"]
    ('gce', 0.5, (64, 64))
    """
    # Everything is checked before the first draw, so a bad call leaves the trial untouched.
    estimator_space = _estimator_space(estimator, space)
    if _loss_param(estimator):
        names = loss_choices(estimator, n_classes) if losses is None else list(losses)
        if not names or not all(isinstance(name, str) for name in names):
            raise ValueError(
                f"losses must be a non-empty list of registry names, got {losses!r}; see "
                "skloss.losses.list_losses()."
            )
        for name in names:
            _loss_class(name)
    params = {}
    for name, spec in estimator_space.items():
        params[name] = _suggest(trial, name, spec)
    if _loss_param(estimator):
        # Drawn also when there is one name: the trial then records its loss, which
        # params_from_trial needs to map "<loss>__<param>" back.
        loss = trial.suggest_categorical("loss", names)
        params["loss"] = loss
        for name, spec in _loss_space(loss).items():
            params[f"loss__{name}"] = _suggest(trial, f"{loss}__{name}", spec)
    else:
        from skloss.losses import AnyLoss

        own = estimator.get_params(deep=False)
        for name, spec in _loss_space(AnyLoss()).items():
            if name in own and name not in params:
                params[name] = _suggest(trial, name, spec)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = _hidden_sizes(params["hidden_layer_sizes"])
    return params


def params_from_trial(trial_or_params, estimator=None):
    """``set_params`` arguments from a finished trial's parameters.

    Undoes :func:`suggest_params`'s naming (``"gce__q"`` -> ``"loss__q"``,
    ``"64-32"`` -> ``(64, 32)``) and turns the lists a persistent storage
    returns for tuple choices (``OptunaSearchCV``) back into tuples.

    Parameters
    ----------
    trial_or_params : optuna.trial.FrozenTrial, optuna.Study or dict
        A trial, a study (its best trial) or a ``params`` dict.
    estimator : skloss estimator, default=None
        Unused; accepted for symmetry with :func:`suggest_params`.

    Returns
    -------
    dict
        Arguments for ``estimator.set_params``.

    Examples
    --------
    >>> params_from_trial({"loss": "gce", "gce__q": 0.5, "hidden_layer_sizes": [64, 64]})
    {'loss': 'gce', 'loss__q': 0.5, 'hidden_layer_sizes': (64, 64)}
    """
    params = trial_or_params
    if hasattr(params, "best_trial"):
        params = params.best_trial
    if hasattr(params, "params"):
        params = params.params
    if not isinstance(params, dict):
        raise TypeError(
            "trial_or_params must be a FrozenTrial, a Study or a dict of trial parameters, "
            f"got {type(trial_or_params).__name__}."
        )
    loss = params.get("loss")
    result = {}
    for name, value in params.items():
        prefix, _, rest = name.partition("__")
        if rest and prefix != "loss":
            if loss is not None and prefix != loss:
                continue  # a parameter of another loss (not drawn in this trial)
            result[f"loss__{rest}"] = value
        elif name == "hidden_layer_sizes":
            result[name] = _hidden_sizes(value)
        else:
            result[name] = value
    return result


def param_distributions(estimator, *, loss=None, space=None):
    """The search space as Optuna distributions, for ``OptunaSearchCV``.

    ``OptunaSearchCV`` samples a flat space (no parameter conditional on the
    loss), so this is the space of one loss: the estimator's own or ``loss``
    (then included as a one-choice ``"loss"`` entry). To choose among losses as
    well, use :func:`suggest_params` in an objective, or one search per loss.

    Parameters
    ----------
    estimator : skloss estimator
        The estimator to be searched.
    loss : str or Loss, default=None
        The loss whose parameters are searched; None keeps the estimator's.
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE` (None removes one).

    Returns
    -------
    dict
        Parameter name -> ``optuna.distributions.BaseDistribution``.

    Examples
    --------
    >>> from skloss import RobustLossClassifier
    >>> sorted(param_distributions(RobustLossClassifier(loss="gce")))[-2:]
    ['learning_rate_init', 'loss__q']
    """
    distributions = {
        name: _distribution(spec)
        for name, spec in search_space(estimator, loss=loss, space=space).items()
    }
    if loss is not None and _loss_param(estimator):
        if not isinstance(loss, str):
            raise TypeError(
                "loss must be a registry name here (OptunaSearchCV stores its choices); set "
                f"a loss object on the estimator instead, got {type(loss).__name__}."
            )
        distributions["loss"] = _distribution(("categorical", [loss]))
    return distributions


# ---- pruning --------------------------------------------------------------------------
class _TrialEntry:
    def __init__(self, trial):
        self.trial = trial
        self.lock = threading.Lock()
        self.n_fits = 0
        self.pruned_step = None


#: key -> _TrialEntry of the trials that PruningCallback copies report to. An entry
#: goes with its trial (weakref.finalize): a finished study leaves nothing behind.
_TRIALS = {}
_TRIALS_LOCK = threading.Lock()


def _register(trial):
    key = f"skloss-trial-{uuid.uuid4().hex}"
    with _TRIALS_LOCK:
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
        The history column reported: ``"valid_acc"`` (needs
        ``early_stopping=True``), ``"valid_loss"`` or ``"train_loss"``. The
        study's direction must match (maximise an accuracy, minimise a loss).

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
        optuna = _import_optuna()
        with _TRIALS_LOCK:
            entries = [entry for entry in _TRIALS.values() if entry.trial is trial]
        for entry in entries:
            if entry.pruned_step is not None:
                raise optuna.TrialPruned(f"Trial was pruned at step {entry.pruned_step}.")

    def _entry(self):
        entry = _TRIALS.get(self.trial_key)
        if entry is None:
            raise RuntimeError(
                f"PruningCallback: no trial registered under {self.trial_key!r} in this "
                "process. The callback reports to trials of the process that created it "
                "(fits in threads); run the search with n_jobs=1 or a threading backend, "
                "or create the callback with PruningCallback.for_trial in this process."
            )
        return entry

    def on_train_begin(self, net, **kwargs):
        optuna = _import_optuna()
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
        optuna = _import_optuna()
        entry = self._entry()
        row = net.history[-1]
        if self.monitor not in row:
            raise ValueError(
                f"PruningCallback(monitor={self.monitor!r}): the history has no such column "
                f"(it has {sorted(k for k in row if not k.endswith('_best'))}). "
                "'valid_acc' and 'valid_loss' need early_stopping=True; or use "
                "monitor='train_loss'."
            )
        value = float(row[self.monitor])
        step = self.fit_index_ * int(net.max_epochs) + len(net.history) - 1
        entry.trial.report(value, step=step)
        if entry.trial.should_prune():
            with entry.lock:
                entry.pruned_step = step
            raise optuna.TrialPruned(
                f"Trial was pruned at step {step} (fit {self.fit_index_}, epoch "
                f"{len(net.history) - 1}, {self.monitor}={value:.4g})."
            )


# ---- OptunaSearchCV with guards -------------------------------------------------------
try:
    from optuna_integration import OptunaSearchCV as _BaseSearch
except ImportError:  # the tune extra is not installed
    _BaseSearch = None


def _random_state_object(cv):
    return isinstance(getattr(cv, "random_state", None), np.random.RandomState)


def _check_pruned_search(search, X, fit_params):
    sized = sorted(
        name
        for name, value in fit_params.items()
        if hasattr(value, "__len__") and not isinstance(value, str) and len(value) == len(X)
    )
    if sized:
        raise ValueError(
            f"OptunaSearchCV(enable_pruning=True) passes fit parameters {sized} to "
            "partial_fit unsliced, on every fold (optuna-integration #315): the weights "
            "would not match the fold's rows. Use class_weight on the estimator, or "
            "enable_pruning=False (then they are sliced by fold)."
        )
    if _random_state_object(search.cv):
        raise ValueError(
            f"cv={search.cv!r} is seeded with a RandomState object: with enable_pruning=True "
            "OptunaSearchCV calls cv.split once per epoch, and each call would draw other "
            "folds (optuna-integration #317). Seed the splitter with an int, e.g. "
            "KFold(5, shuffle=True, random_state=0)."
        )


if _BaseSearch is not None:

    class OptunaSearchCV(_BaseSearch):
        """``optuna_integration.OptunaSearchCV`` with guards for skloss users.

        Same parameters and attributes as :class:`optuna_integration.OptunaSearchCV`
        (use :func:`param_distributions` for ``param_distributions``). ``fit``
        refuses, with a ``ValueError`` before any trial, two set-ups that go silently
        wrong with ``enable_pruning=True``, where the search trains by ``partial_fit``:

        - per-sample fit parameters such as ``sample_weight``, which are passed to
          ``partial_fit`` unsliced, on every fold (optuna-integration #315): every
          fit would fail on the length mismatch and score ``error_score`` (NaN);
        - a ``cv`` splitter seeded with a ``RandomState`` object, which draws other
          folds on each of the ``max_iter`` calls to ``split`` (#317).

        Parameters
        ----------
        estimator : estimator
            As in ``optuna_integration.OptunaSearchCV``; every other parameter too.
        param_distributions : dict
            Parameter name -> Optuna distribution (:func:`param_distributions`).
        **kwargs
            The other parameters of ``optuna_integration.OptunaSearchCV``.
        """

        def fit(self, X, y=None, groups=None, **fit_params):
            """Run the search (after the guards above); see the base class.

            Parameters
            ----------
            X : array-like of shape (n_samples, n_features)
                Training data.
            y : array-like of shape (n_samples,), default=None
                Labels.
            groups : array-like, default=None
                Group labels for a group splitter.
            **fit_params : dict
                Passed to the estimator's ``fit`` (``partial_fit`` with pruning).

            Returns
            -------
            self : object
                The fitted search.
            """
            if self.enable_pruning:
                _check_pruned_search(self, X, fit_params)
            return super().fit(X, y, groups=groups, **fit_params)

else:  # pragma: no cover - the tune extra is installed in the test environment

    class OptunaSearchCV:
        """Placeholder: ``optuna-integration`` is not installed (``pip install 'skloss[tune]'``)."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                "skloss.tuning.OptunaSearchCV needs optuna-integration: pip install 'skloss[tune]'."
            )


# ---- selection under label noise -------------------------------------------------------
def expected_noisy_accuracy(clean_accuracy, rate, n_classes):
    """Expected accuracy on labels with symmetric noise, from the clean accuracy.

    A label is kept with probability ``1 - rate`` and otherwise replaced by one of
    the ``K - 1`` other classes uniformly: a correct prediction stays correct when
    its label is kept, a wrong one becomes correct when its label flips to exactly
    the predicted class (probability ``rate / (K - 1)``). So

    ``acc_noisy = (1 - rate) * acc + rate * (1 - acc) / (K - 1)``,

    an affine function of ``acc`` with slope ``1 - rate * K / (K - 1)``: increasing
    when ``rate < (K - 1) / K``. Below that rate, ranking models by their accuracy
    on noisy validation labels ranks them by clean accuracy in expectation, which
    is why cross-validation on noisy labels selects correctly (``skloss tune``).

    Parameters
    ----------
    clean_accuracy : float or array-like
        Accuracy on the true labels.
    rate : float
        Symmetric noise rate, in [0, 1].
    n_classes : int
        Number of classes ``K`` (at least 2).

    Returns
    -------
    float or ndarray
        The expected accuracy on the noisy labels.

    Examples
    --------
    >>> round(expected_noisy_accuracy(0.9, 0.4, 10), 4)
    0.5444
    """
    if not (isinstance(n_classes, Integral) and n_classes >= 2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}.")
    accuracy = np.asarray(clean_accuracy, dtype=float)
    result = (1 - rate) * accuracy + rate * (1 - accuracy) / (n_classes - 1)
    return float(result) if result.ndim == 0 else result


def select_by_noisy_scores(noisy_scores):
    """Leave-one-fold-out choice of a model from noisy-label scores.

    For each fold ``k``, the model with the best mean noisy-label score over the
    *other* folds: fold ``k``'s clean labels (and its noisy ones) take no part in
    choosing the model that fold ``k`` then scores, so the clean score of the
    choice is a nested estimate.

    Parameters
    ----------
    noisy_scores : dict
        Model name -> sequence of per-fold scores on noisy labels (all the same
        length, at least 2 folds).

    Returns
    -------
    list of str
        The model chosen for each fold.

    Examples
    --------
    >>> select_by_noisy_scores({"ce": [0.5, 0.6, 0.4], "gce": [0.6, 0.5, 0.6]})
    ['gce', 'gce', 'ce']
    """
    names = list(noisy_scores)
    table = np.asarray([list(noisy_scores[name]) for name in names], dtype=float)
    if table.ndim != 2 or table.shape[1] < 2 or not names:
        raise ValueError(
            "noisy_scores must map each model to the same number (>= 2) of fold scores."
        )
    chosen = []
    for fold in range(table.shape[1]):
        others = np.delete(table, fold, axis=1).mean(axis=1)
        chosen.append(names[int(np.argmax(others))])  # ties: the first name listed
    return chosen


def _json_ready(params):
    """Parameters as JSON values (tuples as lists), for reports."""
    return json.loads(json.dumps(params, default=lambda value: list(value)))
