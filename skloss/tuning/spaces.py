"""Search spaces of skloss estimators: the estimator's part and each loss's own part.

A classifier's search offers classification losses (those that can train its
number of classes), a regressor's the regression losses; a name of the other kind
is refused before any draw.
"""

from numbers import Integral

from skloss.tuning._locate import locate
from skloss.tuning._specs import (
    check_spec,
    hidden_sizes,
    suggest_value,
    to_distribution,
)

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
    return {name: check_spec(name, spec) for name, spec in space.items() if name not in fixed}


def _target_kind(estimator):
    """``"classification"`` or ``"regression"``: the kind of losses ``estimator`` trains."""
    from sklearn.base import is_regressor

    kind = getattr(estimator, "_target_kind", None)
    if kind is None:
        kind = "regression" if is_regressor(estimator) else "classification"
    return kind


def _entry_kind(entry):
    return getattr(entry, "cls", entry).target_kind


def loss_choices(estimator, n_classes=None, *, step=None):
    """Registry names of the losses a search may choose for ``estimator``.

    Parameters
    ----------
    estimator : skloss estimator or Pipeline
        An estimator with a ``loss`` parameter (:class:`skloss.RobustLossClassifier`,
        :class:`skloss.RobustLossRegressor`), or a Pipeline (any meta-estimator)
        holding one. A regressor is offered the regression losses, a classifier
        the classification ones.
    n_classes : int, default=None
        Classes of the problem (classifiers only). A loss is offered when it can
        train that many classes (``Loss.why_cannot_train(n_classes)`` is None:
        no ``z_loss`` for two classes, no ``anyloss_accuracy`` for five or
        more); without it, binary-only losses are left out, as they would fail
        on more classes.
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

    Returns
    -------
    list of str
        Sorted registry names, without the losses that are not
        ``Loss.searchable`` by their defaults (those needing supervision beyond
        ``y``, and ``forward``/``backward``, plain cross-entropy without a
        transition matrix).

    Raises
    ------
    TypeError
        If the estimator has no ``loss`` parameter.
    ValueError
        If ``n_classes`` is given for a regressor, or is not an int >= 2.

    Examples
    --------
    >>> from skloss import RobustLossClassifier, RobustLossRegressor
    >>> "gce" in loss_choices(RobustLossClassifier())
    True
    >>> "z_loss" in loss_choices(RobustLossClassifier(), n_classes=2)
    False
    >>> loss_choices(RobustLossRegressor())
    ['absolute_error', 'hl_gauss', 'huber', 'poisson', 'quantile', 'squared_error']
    """
    from skloss.losses import LOSSES

    estimator = locate(estimator, step).estimator
    if not _loss_param(estimator):
        raise TypeError(
            f"{type(estimator).__name__} has no 'loss' parameter to choose; its loss "
            "parameters are tuned by suggest_params directly."
        )
    kind = _target_kind(estimator)
    _check_n_classes(n_classes, kind, estimator)
    # Loss.searchable: not a loss that needs supervision beyond y (bags, teacher
    # scores), nor a correction without its transition matrix (plain cross-entropy).
    names = sorted(
        name for name, entry in LOSSES.items() if _entry_kind(entry) == kind and entry().searchable
    )
    if kind == "regression":
        return names
    if n_classes is None:
        return [name for name in names if not LOSSES[name].binary_only]
    return [name for name in names if LOSSES[name]().why_cannot_train(n_classes) is None]


def _check_n_classes(n_classes, kind, estimator):
    if n_classes is None:
        return
    if kind == "regression":
        raise ValueError(
            f"n_classes={n_classes!r} was given, but {type(estimator).__name__} is a "
            "regressor; leave n_classes out (None)."
        )
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2 (the classes of y), got {n_classes!r}.")


def _check_loss_names(names, estimator, n_classes=None):
    """Refuse names that are unknown, of the other kind of target, or cannot train ``n_classes``."""
    from skloss.losses import LOSSES

    kind = _target_kind(estimator)
    _check_n_classes(n_classes, kind, estimator)
    for name in names:
        _check_kind(name, estimator)
        if n_classes is not None and kind == "classification":
            reason = LOSSES[name]().why_cannot_train(n_classes)
            if reason is not None:
                raise ValueError(f"losses names {name!r}, which cannot train here: {reason}")


def _check_kind(loss, estimator):
    """Refuse a loss (name or object) of the other kind of target than ``estimator``'s."""
    from skloss.losses import list_losses

    entry, _ = _loss_class(loss)
    kind = _target_kind(estimator)
    if entry is not None and _entry_kind(entry) != kind:
        shown = repr(loss) if isinstance(loss, str) else type(loss).__name__
        raise ValueError(
            f"loss {shown} is a {_entry_kind(entry)} loss, and {type(estimator).__name__} "
            f"trains {kind} losses: choose from {list_losses(kind=kind)}."
        )


def _estimator_space(estimator, space, prefix=""):
    own = estimator.get_params(deep=False)
    merged = dict(ESTIMATOR_SPACE)
    if space is not None:
        if not isinstance(space, dict):
            raise TypeError(
                f"space must be a dict param -> spec (or None for the default), got "
                f"{type(space).__name__}."
            )
        # The skloss step's own names, with or without its prefix in the Pipeline.
        space = {
            name[len(prefix) :] if prefix and name.startswith(prefix) else name: spec
            for name, spec in space.items()
        }
        merged.update(space)
    unknown = sorted(name for name in merged if name not in own and "__" not in name)
    if space is not None and any(name in space for name in unknown):
        raise ValueError(
            f"space names {[n for n in unknown if n in space]}, which "
            f"{type(estimator).__name__} does not have; valid parameters are {sorted(own)}."
        )
    return {
        name: check_spec(name, spec)
        for name, spec in merged.items()
        if name in own and spec is not None
    }


def search_space(estimator, *, loss=None, space=None, step=None):
    """The flat search space of ``estimator`` with one loss, as specs.

    Parameters
    ----------
    estimator : skloss estimator or Pipeline
        :class:`skloss.RobustLossClassifier`, :class:`skloss.RobustLossRegressor`
        or :class:`skloss.AnyLossClassifier` (a subclass too), or a Pipeline (any
        meta-estimator) holding one: the names then carry its step prefix
        (``clf__loss__q``).
    loss : str or Loss, default=None
        The loss whose parameters join the space (``loss__<param>``); None uses
        the estimator's own ``loss``. It must be of the estimator's kind
        (a regression loss for a regressor). Ignored by estimators without
        ``loss`` (AnyLossClassifier: its loss parameters are its own parameters).
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE`; a value of None
        removes an entry. Names are the skloss estimator's own (the step prefix
        may be left out).
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

    Returns
    -------
    dict
        Parameter name (as ``set_params`` of ``estimator`` takes it) -> spec.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import RobustLossClassifier
    >>> pipe = make_pipeline(StandardScaler(), RobustLossClassifier(loss="gce"))
    >>> search_space(pipe)["robustlossclassifier__loss__q"]
    ('float', 0.1, 1.0)
    >>> from skloss import RobustLossRegressor
    >>> search_space(RobustLossRegressor(), loss="hl_gauss")["loss__sigma_ratio"]
    ('float', 0.25, 2.0, 'log')
    """
    estimator, prefix = locate(estimator, step)
    specs = _own_search_space(estimator, loss, space, prefix)
    return {prefix + name: spec for name, spec in specs.items()}


def _own_search_space(estimator, loss, space, prefix):
    specs = _estimator_space(estimator, space, prefix)
    if _loss_param(estimator):
        chosen = estimator.get_params(deep=False)["loss"] if loss is None else loss
        _check_kind(chosen, estimator)
        for name, spec in _loss_space(chosen).items():
            specs[f"loss__{name}"] = spec
    else:
        from skloss.losses import AnyLoss

        own = estimator.get_params(deep=False)
        for name, spec in _loss_space(AnyLoss()).items():
            if name in own:
                specs.setdefault(name, spec)
    return specs


def suggest_params(trial, estimator, *, losses=None, n_classes=None, space=None, step=None):
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
    estimator : skloss estimator or Pipeline
        :class:`skloss.RobustLossClassifier`, :class:`skloss.RobustLossRegressor`
        or :class:`skloss.AnyLossClassifier`, or a Pipeline (any meta-estimator)
        holding one: the returned names then carry its step prefix
        (``clf__loss``); the trial's own names do not.
    losses : list of str, default=None
        Registry names to choose from (estimators with a ``loss`` parameter),
        each of the estimator's kind (regression losses for a regressor) and,
        with ``n_classes``, able to train that many classes; None is
        :func:`loss_choices`, one name fixes the loss.
    n_classes : int, default=None
        Classes of the problem (classifiers only), for :func:`loss_choices`.
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE` (None removes one).
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

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

    A Pipeline's names carry the step's prefix:

    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = Pipeline([("scale", StandardScaler()), ("clf", RobustLossClassifier())])
    >>> suggest_params(trial, pipe, losses=["ce", "gce"])["clf__loss__q"]
    0.5

    A regressor draws among regression losses:

    >>> from skloss import RobustLossRegressor
    >>> trial = optuna.trial.FixedTrial({"loss": "huber", "huber__delta": 0.5,
    ...     "learning_rate_init": 1e-3, "alpha": 1e-4, "hidden_layer_sizes": "64",
    ...     "early_stopping": True})
    >>> params = suggest_params(trial, RobustLossRegressor(), losses=["squared_error", "huber"])
    >>> params["loss"], params["loss__delta"]
    ('huber', 0.5)
    """
    estimator, prefix = locate(estimator, step)
    params = _suggest_own(trial, estimator, losses, n_classes, space, prefix)
    return {prefix + name: value for name, value in params.items()}


def _suggest_own(trial, estimator, losses, n_classes, space, prefix):
    # Everything is checked before the first draw, so a bad call leaves the trial untouched.
    estimator_space = _estimator_space(estimator, space, prefix)
    if _loss_param(estimator):
        names = loss_choices(estimator, n_classes) if losses is None else list(losses)
        if not names or not all(isinstance(name, str) for name in names):
            raise ValueError(
                f"losses must be a non-empty list of registry names, got {losses!r}; see "
                "skloss.losses.list_losses()."
            )
        _check_loss_names(names, estimator, n_classes)
    params = {}
    for name, spec in estimator_space.items():
        params[name] = suggest_value(trial, name, spec)
    if _loss_param(estimator):
        # Drawn also when there is one name: the trial then records its loss, which
        # params_from_trial needs to map "<loss>__<param>" back.
        loss = trial.suggest_categorical("loss", names)
        params["loss"] = loss
        for name, spec in _loss_space(loss).items():
            params[f"loss__{name}"] = suggest_value(trial, f"{loss}__{name}", spec)
    else:
        from skloss.losses import AnyLoss

        own = estimator.get_params(deep=False)
        for name, spec in _loss_space(AnyLoss()).items():
            if name in own and name not in params:
                params[name] = suggest_value(trial, name, spec)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = hidden_sizes(params["hidden_layer_sizes"])
    return params


def params_from_trial(trial_or_params, estimator=None, *, step=None):
    """``set_params`` arguments from a finished trial's parameters.

    Undoes :func:`suggest_params`'s naming (``"gce__q"`` -> ``"loss__q"``,
    ``"64-32"`` -> ``(64, 32)``) and turns the lists a persistent storage
    returns for tuple choices (``OptunaSearchCV``) back into tuples.

    Parameters
    ----------
    trial_or_params : optuna.trial.FrozenTrial, optuna.Study or dict
        A trial, a study (its best trial) or a ``params`` dict.
    estimator : skloss estimator or Pipeline, default=None
        The estimator the parameters are for: a Pipeline (any meta-estimator)
        holding a skloss estimator gives names with its step prefix
        (``clf__loss``); None or a skloss estimator gives the estimator's own
        names.
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

    Returns
    -------
    dict
        Arguments for ``estimator.set_params``.

    Examples
    --------
    >>> params_from_trial({"loss": "gce", "gce__q": 0.5, "hidden_layer_sizes": [64, 64]})
    {'loss': 'gce', 'loss__q': 0.5, 'hidden_layer_sizes': (64, 64)}
    """
    step_prefix = "" if estimator is None else locate(estimator, step).prefix
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
            result[name] = hidden_sizes(value)
        else:
            result[name] = value
    return {step_prefix + name: value for name, value in result.items()}


def param_distributions(estimator, *, loss=None, space=None, step=None):
    """The search space as Optuna distributions, for ``OptunaSearchCV``.

    ``OptunaSearchCV`` samples a flat space (no parameter conditional on the
    loss), so this is the space of one loss: the estimator's own or ``loss``
    (then included as a one-choice ``"loss"`` entry). To choose among losses as
    well, use :func:`suggest_params` in an objective, or one search per loss.

    Parameters
    ----------
    estimator : skloss estimator or Pipeline
        The estimator to be searched, or a Pipeline (any meta-estimator) holding
        one: the names then carry its step prefix (``clf__loss__q``).
    loss : str or Loss, default=None
        The loss whose parameters are searched, of the estimator's kind; None
        keeps the estimator's.
    space : dict, default=None
        Entries that replace or add to :data:`ESTIMATOR_SPACE` (None removes one).
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

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
    estimator, prefix = locate(estimator, step)
    if loss is not None and _loss_param(estimator) and not isinstance(loss, str):
        raise TypeError(
            "loss must be a registry name here (OptunaSearchCV stores its choices); set "
            f"a loss object on the estimator instead, got {type(loss).__name__}."
        )
    specs = _own_search_space(estimator, loss, space, prefix)
    if loss is not None and _loss_param(estimator):
        specs["loss"] = ("categorical", [loss])
    return {prefix + name: to_distribution(spec) for name, spec in specs.items()}
