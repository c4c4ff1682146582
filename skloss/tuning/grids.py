"""Grids over several losses for scikit-learn's searches: one grid per loss.

A single grid ``{"loss": ["ce", "gce"], "loss__q": [0.5, 0.7]}`` crosses every
loss with every value, and sets ``q`` on the cross-entropy, which has none: the
search stops at its first candidate. :func:`loss_grid` builds the list of grids
that ``GridSearchCV`` and ``ParameterGrid`` take instead, each loss with its own
parameters.
"""

from skloss.tuning._locate import locate
from skloss.tuning.spaces import _check_kind


def _check_losses(losses):
    """``losses`` as ``{name: {param: list of values}}``, or a ValueError saying the format."""
    fmt = (
        'a dict of registry names to their parameter values, e.g. {"ce": {}, "gce": '
        '{"q": [0.5, 0.7]}}, or a list of names'
    )
    if isinstance(losses, (list, tuple)):
        losses = {name: {} for name in losses}
    if not isinstance(losses, dict) or not losses:
        raise ValueError(f"losses must be {fmt}; got {losses!r}.")
    checked = {}
    for name, params in losses.items():
        if not isinstance(name, str):
            raise ValueError(f"losses must be {fmt}; got the key {name!r}, not a name.")
        if not isinstance(params, dict):
            raise ValueError(
                f"losses[{name!r}] must be a dict of parameter -> list of values, got {params!r}."
            )
        checked[name] = {
            param: _check_values(name, param, values) for param, values in params.items()
        }
    return checked


def _check_values(name, param, values):
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise ValueError(
            f"losses[{name!r}][{param!r}] must be a list of values to try, got {values!r}; "
            f"write [{values!r}] for one value."
        )
    values = list(values)
    if not values:
        raise ValueError(f"losses[{name!r}][{param!r}] is empty; give at least one value.")
    return values


def loss_grid(losses, estimator=None, *, step=None):
    """A list of parameter grids, one per loss, for ``GridSearchCV`` and ``ParameterGrid``.

    Each grid sets the loss by name and only that loss's own parameters, so a
    search over losses with different parameters never sets a parameter on a
    loss that lacks it. Every name, parameter and value is checked here (as
    :func:`skloss.losses.get_loss` checks it), before any search starts.

    Parameters
    ----------
    losses : dict or list of str
        Registry name -> ``{parameter: list of values}`` (``{}`` for none), or
        a list of names without parameters.
    estimator : skloss estimator or Pipeline, default=None
        What the search fits. A Pipeline (any meta-estimator) holding a skloss
        estimator gives names with its step prefix (``clf__loss``); None or a
        skloss estimator gives ``loss`` and ``loss__<param>``. When given, every
        loss must be of its kind (regression losses for
        :class:`skloss.RobustLossRegressor`).
    step : str, default=None
        The skloss step's name, when ``estimator`` holds several.

    Returns
    -------
    list of dict
        One grid per loss, in the order given: ``{"loss": [name],
        "loss__<param>": values, ...}``. Add grid entries shared by every loss
        with ``[{**grid, "alpha": [1e-4, 1e-3]} for grid in ...]``.

    Raises
    ------
    ValueError
        For an unknown loss name, a loss of another kind than ``estimator``'s,
        a parameter the loss does not have, a value the loss refuses, or a
        value that is not a list.
    TypeError
        If ``estimator`` holds no skloss estimator, or the one it holds has no
        ``loss`` parameter.

    Examples
    --------
    >>> from skloss.tuning import loss_grid
    >>> loss_grid({"ce": {}, "gce": {"q": [0.5, 0.7]}})
    [{'loss': ['ce']}, {'loss': ['gce'], 'loss__q': [0.5, 0.7]}]

    For a Pipeline, the names carry the step's prefix:

    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import RobustLossClassifier
    >>> pipe = Pipeline([("scale", StandardScaler()), ("clf", RobustLossClassifier())])
    >>> loss_grid({"ce": {}, "gce": {"q": [0.5, 0.7]}}, pipe)
    [{'clf__loss': ['ce']}, {'clf__loss': ['gce'], 'clf__loss__q': [0.5, 0.7]}]

    Regression losses, for ``GridSearchCV`` over ``loss__delta`` and
    ``loss__sigma_ratio``:

    >>> from skloss import RobustLossRegressor
    >>> grids = loss_grid({"huber": {"delta": [0.5, 1.0]}, "hl_gauss": {"sigma_ratio": [0.5, 1.0]}},
    ...                   RobustLossRegressor())
    >>> grids[0]
    {'loss': ['huber'], 'loss__delta': [0.5, 1.0]}
    >>> grids[1]
    {'loss': ['hl_gauss'], 'loss__sigma_ratio': [0.5, 1.0]}
    """
    from skloss.losses import get_loss

    prefix = ""
    if estimator is not None:
        located = locate(estimator, step)
        if "loss" not in located.estimator.get_params(deep=False):
            raise TypeError(
                f"{type(located.estimator).__name__} has no 'loss' parameter to choose; "
                "search its own parameters with a plain grid."
            )
        prefix = located.prefix
    grids = []
    for name, params in _check_losses(losses).items():
        get_loss(name)  # an unknown name says which names exist
        if estimator is not None:
            _check_kind(name, located.estimator)
        for param, values in params.items():
            for value in values:
                get_loss(name, **{param: value})
        grid = {f"{prefix}loss": [name]}
        grid.update({f"{prefix}loss__{param}": values for param, values in params.items()})
        grids.append(grid)
    return grids
