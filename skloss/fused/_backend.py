"""Which fused backend runs: for one call of ``linear_loss``, and for an estimator's fit.

One rule decides whether logits are worth fusing away, :func:`logits_fit`: the
float32 logits of a batch either fit the byte budget of one block of logits
(then materialising them costs less than recomputing them) or they do not.
:func:`resolve_backend` applies it to one ``linear_loss`` call and
:func:`choose_backend` to an estimator's training loss; the estimator asks
nothing else.
"""

import numbers
import warnings

import torch

from skloss.losses import get_loss

from ._stats import fused_form

__all__ = [
    "BACKENDS",
    "DEFAULT_CHUNK_BYTES",
    "choose_backend",
    "has_fused_head",
    "logits_fit",
    "resolve_backend",
    "triton_available",
    "why_not_fused",
]

#: Default budget for one block of logits: 16 MiB, 2048 x 2048 float32 logits. The
#: chunked backend holds one or two such blocks, whatever the class count; larger
#: blocks do not run faster on a CPU and smaller ones are not cheaper
#: (docs/user_guide/fused.rst, "Benchmark", has the measurements).
DEFAULT_CHUNK_BYTES = 16 * 2**20

#: Values accepted by ``linear_loss(backend=...)``.
BACKENDS = ("auto", "naive", "chunked", "triton")

_TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def triton_available():
    """Whether the optional Triton package can be imported (``backend="triton"``).

    Returns
    -------
    bool
        True when ``import triton`` succeeds.

    Examples
    --------
    >>> isinstance(triton_available(), bool)
    True
    """
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def logits_fit(n_rows, n_classes, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Whether ``n_rows x n_classes`` float32 logits fit the budget of one block.

    Parameters
    ----------
    n_rows : int
        Rows of the batch.
    n_classes : int
        Logit columns.
    chunk_bytes : int, default=DEFAULT_CHUNK_BYTES
        Byte budget of one block of logits.

    Returns
    -------
    bool
        True when ``4 * n_rows * n_classes <= chunk_bytes``: such logits cost
        less to materialise than to recompute, on any device.

    Examples
    --------
    >>> logits_fit(256, 10), logits_fit(8192, 32768)
    (True, False)
    """
    return n_rows * n_classes * 4 <= chunk_bytes


def resolve_backend(backend, h, n_classes, chunk_bytes=DEFAULT_CHUNK_BYTES, fusable=True):
    """The backend ``linear_loss`` runs for ``backend`` on these inputs.

    Parameters
    ----------
    backend : {"auto", "naive", "chunked", "triton"}
        The requested backend.
    h : torch.Tensor of shape (n_samples, n_features)
        The features (only their shape, dtype and device are read).
    n_classes : int
        Number of classes.
    chunk_bytes : int, default=DEFAULT_CHUNK_BYTES
        The byte budget of one block of logits.
    fusable : bool, default=True
        Whether the loss has a fused form; "auto" picks "naive" when it has not.

    Returns
    -------
    str
        ``backend`` itself unless it is "auto", which materialises the logits
        ("naive") when they fit (:func:`logits_fit`). Larger logits go to
        "triton" for CUDA tensors of a Triton dtype when Triton is installed,
        else to "chunked".

    Examples
    --------
    >>> import torch
    >>> resolve_backend("auto", torch.zeros(8192, 16), n_classes=32768)
    'chunked'
    >>> resolve_backend("auto", torch.zeros(200, 16), n_classes=10)
    'naive'
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
    if backend != "auto":
        return backend
    if not fusable:
        return "naive"
    n_rows = h.numel() // h.shape[-1] if h.shape[-1] else 0
    if logits_fit(n_rows, n_classes, chunk_bytes):
        return "naive"
    if h.is_cuda and h.dtype in _TRITON_DTYPES and triton_available():
        return "triton"
    return "chunked"


def choose_backend(loss, module, batch_size, fused, n_classes):
    """The fused backend an estimator trains with, or None for logits then loss.

    Parameters
    ----------
    loss : str or Loss
        The training loss (a registry name or a loss instance).
    module : torch.nn.Module
        The network. A fused head needs ``module.features`` (a module) and
        ``module.head`` (an ``nn.Linear``) with
        ``module(x) == module.head(module.features(x))``, checked on a probe
        batch (see :func:`has_fused_head`).
    batch_size : int
        Rows of a training batch.
    fused : {"auto", True, False}
        The estimator's ``fused`` parameter. ``False`` never fuses. ``"auto"``
        fuses when the batch's float32 logits exceed
        :data:`DEFAULT_CHUNK_BYTES` and the loss and the module allow it.
        ``True`` fuses whatever the size, and raises where it cannot.
    n_classes : int
        Number of classes; the model has ``loss.n_outputs(n_classes)`` outputs.

    Returns
    -------
    None or str
        None: compute the logits, then the loss. ``"auto"``: let
        ``linear_loss(backend="auto")`` pick per batch (large batches are
        fused, a small last batch may be materialised). ``"triton"`` or
        ``"chunked"`` (for ``fused=True``): that backend, Triton on CUDA when it
        is installed.

    Raises
    ------
    ValueError
        For ``fused=True`` where it is impossible, with the reason of
        :func:`why_not_fused` (a loss that needs context, has no fused form or
        is not one logit per class; a module without ``features`` and ``head``,
        or whose probe fails), chained to the error behind it when there is one
        (``raise ... from error``: the probe's own exception); or for a bad
        argument.

    Warns
    -----
    UserWarning
        For ``fused="auto"`` with logits too large to materialise cheaply and a
        module that declares a fused head (``features`` and a ``head``
        nn.Linear) whose probe fails: it trains unfused, and the warning says why.

    Examples
    --------
    >>> from skloss.modules import MLP
    >>> mlp = MLP(8, 5000, (16,), "relu")
    >>> choose_backend("ce", mlp, batch_size=2000, fused="auto", n_classes=5000)
    'auto'
    >>> print(choose_backend("ce", mlp, batch_size=64, fused="auto", n_classes=5000))
    None
    >>> choose_backend("gce", mlp, batch_size=64, fused=True, n_classes=5000)
    'chunked'
    """
    if not (isinstance(fused, bool) or (isinstance(fused, str) and fused == "auto")):
        raise ValueError(f"fused must be 'auto', True or False, got {fused!r}.")
    _check_positive_integer("batch_size", batch_size)
    _check_module_and_classes(module, n_classes)
    loss = get_loss(loss)
    n_outputs = loss.n_outputs(int(n_classes))
    if fused is False or (fused == "auto" and logits_fit(batch_size, n_outputs)):
        return None  # the plain path: no probe, no overhead

    reason, error = _loss_obstacle(loss, n_classes, n_outputs)
    module_fails = False
    if reason is None:
        reason, error = _probe_fused_head(module)
        module_fails = reason is not None
    if reason is not None:
        if fused is True:
            raise ValueError(f"fused=True is not possible: {reason}. Use fused='auto'.") from error
        if module_fails and _declares_fused_head(module):
            # The module was built for a fused head (it has `features` and a `head`
            # nn.Linear) and the logits are large, yet it will train unfused: say why.
            # A loss without a fused form is a documented choice, not a surprise.
            warnings.warn(
                f"fused='auto' trains without a fused head, materialising "
                f"{batch_size} x {n_outputs} logits per batch: {reason}. Pass fused=False to "
                "silence this, or fix the module and pass fused=True to be told at once.",
                UserWarning,
                stacklevel=2,
            )
        return None
    if fused is True:
        # Fused even where the logits would fit: Triton on CUDA when installed,
        # the chunked backend otherwise.
        on_cuda = _module_device(module).type == "cuda"
        return "triton" if on_cuda and triton_available() else "chunked"
    return "auto"


def why_not_fused(loss, module, n_classes):
    """Why an estimator cannot train ``module`` with ``loss`` through a fused head.

    ``fused=True`` raises with this reason; ``fused="auto"`` trains unfused and
    warns with it only for a module that declares a fused head (``features`` and
    a ``head`` nn.Linear) whose probe fails.

    Parameters
    ----------
    loss : str or Loss
        The training loss (a registry name or a loss instance).
    module : torch.nn.Module
        The network (see :func:`has_fused_head`).
    n_classes : int
        Number of classes.

    Returns
    -------
    str or None
        None when a fused head is possible, else the reason: the loss needs
        context, is batch-level, is not one logit per class or has no fused form;
        or the module has no ``features`` / ``head``, its probe raised (the
        error is named) or its forward is not ``head(features(x))``.

    Raises
    ------
    ValueError
        If ``n_classes`` is not a positive integer, or for a bad ``loss``
        (as :func:`skloss.losses.get_loss`).
    TypeError
        If ``module`` is not a torch module.

    Examples
    --------
    >>> import torch
    >>> from skloss.modules import MLP
    >>> print(why_not_fused("gce", MLP(8, 50, (16,), "relu"), n_classes=50))
    None
    >>> print(why_not_fused("gce", torch.nn.Linear(8, 50), n_classes=50))
    the module has no `features` submodule (a fused head needs `features` and a
    `head` nn.Linear with forward(x) == head(features(x)))
    """
    _check_module_and_classes(module, n_classes)
    loss = get_loss(loss)
    reason, _ = _loss_obstacle(loss, n_classes, loss.n_outputs(int(n_classes)))
    return reason if reason is not None else _probe_fused_head(module)[0]


def _check_positive_integer(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_module_and_classes(module, n_classes):
    _check_positive_integer("n_classes", n_classes)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}.")


def _loss_obstacle(loss, n_classes, n_outputs):
    """``(reason, error)``: why ``loss`` cannot be fused (None if it can), and the
    exception behind it, if any."""
    if loss.requires:
        reason = (
            f"loss {loss!r} requires context {list(loss.requires)}, which a fused head cannot pass"
        )
        return reason, None
    if loss.batch_level:
        return f"loss {loss!r} is a batch-level loss, without per-row values to fuse", None
    if n_outputs != n_classes:
        reason = f"loss {loss!r} has {n_outputs} outputs for {n_classes} classes, not one per class"
        return reason, None
    try:
        fused_form(loss, n_outputs)
    except (TypeError, ValueError) as error:
        return f"loss {loss!r} has no fused form ({error})", error
    return None, None


def has_fused_head(module):
    """Whether ``module(x) == module.head(module.features(x))``, checked on a probe batch.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    bool
        True when ``module.features`` is a module, ``module.head`` an
        ``nn.Linear``, and they compose to ``module`` on a random batch of 3
        rows (drawn from a generator of its own, so the fit's random stream is
        not consumed). :func:`why_not_fused` says why not.

    Examples
    --------
    >>> import torch
    >>> from skloss.modules import MLP
    >>> has_fused_head(MLP(4, 3, (8,), "relu")), has_fused_head(torch.nn.Linear(4, 3))
    (True, False)
    """
    return _probe_fused_head(module)[0] is None


_PROTOCOL = (
    "a fused head needs `features` and a `head` nn.Linear with forward(x) == head(features(x))"
)


def _declares_fused_head(module):
    features, head = getattr(module, "features", None), getattr(module, "head", None)
    return isinstance(features, torch.nn.Module) and isinstance(head, torch.nn.Linear)


def _probe_fused_head(module):
    """``(reason, error)`` for a module that is not ``head(features(x))``, else ``(None, None)``.

    ``error`` is the exception the probe raised, if it raised one.
    """
    features, head = getattr(module, "features", None), getattr(module, "head", None)
    if not isinstance(features, torch.nn.Module):
        return f"the module has no `features` submodule ({_PROTOCOL})", None
    if not isinstance(head, torch.nn.Linear):
        return f"module.head is {type(head).__name__}, not an nn.Linear ({_PROTOCOL})", None
    first = next((m for m in features.modules() if isinstance(m, torch.nn.Linear)), head)
    shape = (3, first.in_features)
    probe = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    probe = probe.to(device=_module_device(module), dtype=head.weight.dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            whole, composed = module(probe), head(features(probe))
    except Exception as error:  # noqa: BLE001 - any failure of user code is a reason, named
        reason = (
            f"the probe of module(x) and module.head(module.features(x)) on a random batch of "
            f"shape {shape} (the width of the first nn.Linear in `features`) raised "
            f"{type(error).__name__}: {error}"
        )
        return reason, error
    finally:
        module.train(was_training)
    if whole.shape != composed.shape or not torch.allclose(whole, composed, atol=1e-6):
        return (
            "module(x) differs from module.head(module.features(x)) on a random probe batch "
            f"({_PROTOCOL})"
        ), None
    return None, None


def _module_device(module):
    parameter = next(module.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device
