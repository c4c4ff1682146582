"""Building what a fit trains: the module, the skorch net around it, and the checks on both.

The estimators hold parameters; these functions turn them into torch and skorch
objects, and check each before any training: a module that does not map the
features to the loss's outputs, or a callback that is not a skorch callback, is
reported with the fix.
"""

import copy
import threading

import numpy as np
import torch
from skorch.callbacks import Callback

from skloss._devices import resolve_device
from skloss._training.callbacks import RESERVED_CALLBACK_NAMES, EpochLog, StoppingRule
from skloss._training.net import LossModule, SklossNet
from skloss.modules import MLP

__all__ = [
    "build_module",
    "build_net",
    "check_callbacks",
    "check_module_output",
    "default_mlp",
    "hidden_sizes",
    "module_device",
]

# Building a user's module seeds the global torch RNG: one build at a time, so that
# fits in concurrent threads each get the initialisation their seed gives.
_GLOBAL_RNG_LOCK = threading.Lock()


def hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of positive ints, or a ``ValueError`` naming it."""
    sizes = tuple(int(h) for h in np.atleast_1d(hidden_layer_sizes))
    if any(h < 1 for h in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes}.")
    return sizes


def default_mlp(n_features, n_outputs, hidden, activation, seed, batch_norm=False):
    """The default :class:`~skloss.modules.MLP`, initialised from ``seed`` alone.

    Built on the meta device (no draws), then initialised on the CPU from a
    generator of its own: the same weights on every device and in every thread,
    and the global torch RNG untouched.
    """
    with torch.device("meta"):
        module = MLP(n_features, n_outputs, hidden, activation, batch_norm=batch_norm)
    module = module.to_empty(device="cpu")
    module.reset_parameters(torch.Generator().manual_seed(seed))
    return module


def build_module(module, n_features, n_outputs, seed, default):
    """The network of a fit: ``default()`` when ``module`` is None.

    An instance is deep-copied (trained from its current weights); a class or
    callable is called as ``module(n_features_in=..., n_outputs=...)`` with the
    global torch RNG seeded from ``seed``, under a lock.
    """
    if module is None:
        return default()
    if isinstance(module, torch.nn.Module):
        return copy.deepcopy(module)
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        built = module(n_features_in=n_features, n_outputs=n_outputs)
    if not isinstance(built, torch.nn.Module):
        raise TypeError(
            f"module must build a torch.nn.Module when called as module(n_features_in="
            f"{n_features}, n_outputs={n_outputs}); it returned {type(built).__name__}."
        )
    return built


def module_device(module):
    """The device of a module's first parameter (the CPU for a module without any)."""
    parameter = next(module.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def check_module_output(module, n_features, n_outputs, loss):
    """The module maps ``(n, n_features)`` to ``(n, n_outputs)``, checked on a probe batch."""
    probe = torch.zeros(2, n_features, device=module_device(module))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(probe)
    except Exception as error:
        raise ValueError(
            f"module failed on a batch of shape (2, {n_features}): {error}. It must map "
            f"(n_samples, n_features_in) to (n_samples, {n_outputs})."
        ) from error
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_outputs):
        raise ValueError(
            f"module must map (n_samples, {n_features}) inputs to (n_samples, {n_outputs}) "
            f"outputs for loss {loss!r}; it returned shape "
            f"{tuple(getattr(out, 'shape', ()))}."
        )


def _is_named_pair(entry):
    return isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)


def check_callbacks(callbacks):
    """Every entry of ``callbacks`` is a skorch callback (or a named one) with a free name."""
    for position, entry in enumerate(callbacks or []):
        name, callback = entry if _is_named_pair(entry) else (None, entry)
        if not (
            isinstance(callback, Callback)
            or (isinstance(callback, type) and issubclass(callback, Callback))
        ):
            raise TypeError(
                f"callbacks[{position}] is {callback!r} ({type(callback).__name__}), not a "
                "skorch callback: pass instances of skorch.callbacks.Callback (or "
                "(name, callback) pairs)."
            )
        if name in RESERVED_CALLBACK_NAMES:
            raise ValueError(
                f"callbacks[{position}] is named {name!r}, which skloss uses for its own "
                f"callback; choose another name (taken: {sorted(RESERVED_CALLBACK_NAMES)})."
            )


def build_net(estimator, module, loss, n_targets, backend, optimizer, batch_size, extra):
    """The initialised :class:`SklossNet` of a fresh fit.

    Parameters
    ----------
    estimator : BaseLossEstimator
        Read for ``early_stopping``, ``tol``, ``n_iter_no_change``, ``max_iter``,
        ``verbose``, ``learning_rate_init`` and the user's ``callbacks``.
    module : torch.nn.Module
        The network, on its device.
    loss : skloss.losses.Loss
    n_targets : int
        Classes (or target columns) the loss is told about.
    backend : str or None
        The fused backend (None: logits, then the loss).
    optimizer : callable
        ``optimizer(module) -> (torch optimiser, weight penalty or None)``.
    batch_size : int
    extra : list of (str, Callback)
        Callbacks the estimator adds for itself (e.g. a learning-rate schedule).
    """
    callbacks = [
        (
            "stopping",
            StoppingRule(
                estimator.early_stopping,
                estimator.tol,
                estimator.n_iter_no_change,
                score_name=estimator._target_codec.score_name,
            ),
        ),
    ]
    if estimator.verbose:
        callbacks.append(("progress", EpochLog(int(estimator.verbose))))
    callbacks.extend(copy.deepcopy(estimator.callbacks or []))
    callbacks.extend(extra)
    net = SklossNet(
        module=module,
        criterion=LossModule(loss, n_targets, backend, kind=estimator._target_codec),
        optimizer=optimizer,
        lr=estimator.learning_rate_init,
        max_epochs=estimator.max_iter,
        batch_size=batch_size,
        train_split=None,
        callbacks=callbacks,
        verbose=int(bool(estimator.verbose)),
        device=resolve_device(estimator.device),
    )
    net.initialize()
    return net
