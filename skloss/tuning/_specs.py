"""Search-space specs: the format each loss declares, checked, drawn and made distributions.

A spec is ``("float", low, high)``, ``("float", low, high, "log")``,
``("int", low, high)`` or ``("categorical", [choices...])``: pure data, so that a
loss declares its space without importing Optuna.
"""

import warnings
from numbers import Integral

import numpy as np

_KINDS = ("float", "int", "categorical")


def import_optuna():
    try:
        import optuna
    except ImportError as error:  # pragma: no cover - optuna is in the test extra
        raise ImportError("skloss.tuning needs optuna: pip install 'skloss[tune]'.") from error
    return optuna


def check_spec(name, spec):
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


def hidden_label(sizes):
    """``(64, 32)`` -> ``"64-32"``: a storage-safe categorical choice for a tuple."""
    return "-".join(str(int(size)) for size in np.atleast_1d(sizes))


def hidden_sizes(value):
    """Back from a label, a list (persistent storages return lists) or a tuple."""
    if isinstance(value, str):
        return tuple(int(part) for part in value.split("-"))
    return tuple(int(size) for size in np.atleast_1d(value))


def encode_choice(choice):
    # Optuna's persistent storages keep None, bool, int, float and str choices only.
    if isinstance(choice, (list, tuple)):
        return hidden_label(choice)
    return choice


def suggest_value(trial, name, spec):
    kind = spec[0]
    if kind == "float":
        return trial.suggest_float(name, spec[1], spec[2], log=len(spec) == 4)
    if kind == "int":
        return trial.suggest_int(name, spec[1], spec[2], log=len(spec) == 4)
    choices = list(spec[1])
    encoded = [encode_choice(choice) for choice in choices]
    picked = trial.suggest_categorical(name, encoded)
    return choices[encoded.index(picked)]


def to_distribution(spec):
    optuna = import_optuna()
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
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Choices for a categorical distribution")
            return optuna.distributions.CategoricalDistribution(choices)
    return optuna.distributions.CategoricalDistribution(choices)
