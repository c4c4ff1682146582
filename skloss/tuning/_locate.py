"""Finding the skloss estimator to tune: the estimator itself, or a step inside a Pipeline.

Every tuning function takes what the user searches over (a skloss estimator, a
``Pipeline`` or another meta-estimator holding one) and works on the skloss
estimator inside, with its ``set_params`` prefix (``"clf__"``): the names it returns
are the names the search sets.
"""

from collections import namedtuple

#: The skloss estimator a search tunes and the prefix of its parameters in the
#: searched object ("" for the estimator itself, "clf__" for a Pipeline step "clf").
Located = namedtuple("Located", "estimator prefix")

# Parameters that make an estimator tunable here: its loss, or its training ones.
_TUNABLE = ("loss", "learning_rate_init", "alpha", "hidden_layer_sizes")


def _is_skloss_estimator(obj):
    """Whether ``obj`` is an estimator of skloss's (a subclass included) with a tunable part."""
    if not (hasattr(obj, "fit") and hasattr(obj, "get_params")) or isinstance(obj, type):
        return False
    if not any(cls.__module__.partition(".")[0] == "skloss" for cls in type(obj).__mro__):
        return False
    own = obj.get_params(deep=False)
    return any(name in own for name in _TUNABLE)


def _skloss_steps(estimator):
    """``{name: estimator}`` of the skloss estimators among ``estimator``'s nested parameters."""
    if not hasattr(estimator, "get_params") or isinstance(estimator, type):
        return {}
    return {
        name: value
        for name, value in estimator.get_params(deep=True).items()
        if _is_skloss_estimator(value)
    }


def locate(estimator, step=None):
    """Return the :data:`Located` skloss estimator of ``estimator``.

    Parameters
    ----------
    estimator : estimator
        A skloss estimator, or a Pipeline (any meta-estimator) holding one.
    step : str, default=None
        The nested parameter name of the skloss step (``"clf"``, or
        ``"outer__clf"`` for a pipeline in a pipeline); needed only when
        ``estimator`` holds several skloss estimators.

    Returns
    -------
    Located
        The skloss estimator and the prefix of its parameter names.

    Raises
    ------
    TypeError
        If ``estimator`` holds no skloss estimator.
    ValueError
        If ``step`` names no skloss estimator, or several are held and ``step``
        is None.
    """
    if step is None and _is_skloss_estimator(estimator):
        return Located(estimator, "")
    steps = _skloss_steps(estimator)
    if step is not None:
        if not isinstance(step, str) or step not in steps:
            raise ValueError(
                f"step={step!r} names no skloss estimator in {type(estimator).__name__}; "
                f"its skloss steps are {sorted(steps)}."
            )
        return Located(steps[step], f"{step}__")
    if not steps:
        raise TypeError(
            f"{type(estimator).__name__} holds no skloss estimator to tune. Pass a skloss "
            "estimator (RobustLossClassifier, RobustLossRegressor, ...) or a Pipeline with "
            "one as a step, e.g. make_pipeline(StandardScaler(), RobustLossClassifier())."
        )
    if len(steps) > 1:
        raise ValueError(
            f"{type(estimator).__name__} holds several skloss estimators "
            f"({', '.join(sorted(steps))}); pass step=NAME to choose the one to tune."
        )
    ((name, found),) = steps.items()
    return Located(found, f"{name}__")
