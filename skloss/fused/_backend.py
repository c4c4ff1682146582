"""Which fused backend runs: for one call of ``linear_loss``, and for an estimator's fit.

One rule decides whether logits are worth fusing away, :func:`logits_fit`: the
float32 logits of a batch either fit the byte budget of one block of logits
(then materialising them costs less than recomputing them) or they do not.
:func:`resolve_backend` applies it to one ``linear_loss`` call and
:func:`choose_backend` to an estimator's training loss; the estimator asks
nothing else.
"""

import numbers

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
        For ``fused=True`` where it is impossible (a loss that needs context,
        has no fused form or is not one logit per class; a module without
        ``features`` and ``head``), with the reason, or for a bad argument.

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
    for name, value in (("batch_size", batch_size), ("n_classes", n_classes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}.")
    loss = get_loss(loss)
    n_outputs = loss.n_outputs(int(n_classes))
    if fused is False or (fused == "auto" and logits_fit(batch_size, n_outputs)):
        return None  # the plain path: no probe, no overhead

    reason = _why_not_fused(loss, module, n_classes, n_outputs)
    if reason is not None:
        if fused is True:
            raise ValueError(f"fused=True is not possible: {reason}. Use fused='auto'.")
        return None
    if fused is True:
        # Fused even where the logits would fit: Triton on CUDA when installed,
        # the chunked backend otherwise.
        on_cuda = _module_device(module).type == "cuda"
        return "triton" if on_cuda and triton_available() else "chunked"
    return "auto"


def _why_not_fused(loss, module, n_classes, n_outputs):
    if loss.requires:
        return (
            f"loss {loss!r} requires context {list(loss.requires)}, which a fused head cannot pass"
        )
    if loss.batch_level:
        return f"loss {loss!r} is a batch-level loss, without per-row values to fuse"
    if n_outputs != n_classes:
        return f"loss {loss!r} has {n_outputs} outputs for {n_classes} classes, not one per class"
    try:
        fused_form(loss, n_outputs)
    except (TypeError, ValueError) as error:
        return f"loss {loss!r} has no fused form ({error})"
    if not has_fused_head(module):
        return (
            "the module does not expose `features` and a `head` nn.Linear with "
            "forward(x) == head(features(x))"
        )
    return None


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
        not consumed).

    Examples
    --------
    >>> import torch
    >>> from skloss.modules import MLP
    >>> has_fused_head(MLP(4, 3, (8,), "relu")), has_fused_head(torch.nn.Linear(4, 3))
    (True, False)
    """
    features, head = getattr(module, "features", None), getattr(module, "head", None)
    if not isinstance(features, torch.nn.Module) or not isinstance(head, torch.nn.Linear):
        return False
    first = next((m for m in features.modules() if isinstance(m, torch.nn.Linear)), head)
    probe = torch.randn(3, first.in_features, generator=torch.Generator().manual_seed(0))
    probe = probe.to(device=_module_device(module), dtype=head.weight.dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return bool(torch.allclose(module(probe), head(features(probe)), atol=1e-6))
    except Exception:  # noqa: BLE001 - a module whose parts do not compose this way
        return False
    finally:
        module.train(was_training)


def _module_device(module):
    parameter = next(module.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device
