"""The frozen backbone: what maps ``X`` to the embeddings the buffer layer expands.

A backbone is one of

- ``None``: the raw features, as float64 (no statistic of the data is taken:
  one would make the feature map depend on the stream);
- a torch module: run on a deep copy, in eval mode, without gradients;
- any fitted object with ``transform`` (a scikit-learn transformer, a
  ``Pipeline``, a fitted skloss estimator, whose ``transform`` returns its last
  hidden layer), which gets ``X`` as given;
- a fitted skloss estimator without ``transform``: a deep copy of its network's
  hidden layers, ``net_.module_.features``.

Here they are resolved (checked and frozen), applied to a batch of rows, and
compared (estimators to be merged need the same one).
"""

import copy
import io
import pickle

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import _num_samples, check_is_fitted

__all__ = ["embed", "is_transformer", "resolve", "same_backbone"]


def is_transformer(backbone):
    """Whether ``X`` goes to ``backbone.transform`` as given (it then validates ``X``).

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> is_transformer(StandardScaler()), is_transformer(None)
    (True, False)
    """
    return (
        backbone is not None
        and not isinstance(backbone, torch.nn.Module)
        and hasattr(backbone, "transform")
    )


def resolve(backbone, device):
    """The backbone to use, frozen: None, the fitted transformer itself, or a torch module.

    Parameters
    ----------
    backbone : None, object with ``transform``, torch.nn.Module or fitted skloss estimator
        The estimator's ``backbone`` parameter.
    device : torch.device
        Where a torch backbone runs.

    Returns
    -------
    None, object with ``transform`` or torch.nn.Module
        A transformer is used as given (it is fitted and frozen); a torch module
        is a deep copy, in eval mode, on ``device``, so the caller's module is
        neither moved nor changed.

    Examples
    --------
    >>> import torch
    >>> module = torch.nn.Linear(3, 2)
    >>> frozen = resolve(module, torch.device("cpu"))
    >>> frozen is module, frozen.training
    (False, False)
    """
    if backbone is None:
        return None
    if isinstance(backbone, type):
        raise TypeError(
            f"backbone is the class {backbone.__name__}, not an instance of it: pass a fitted "
            f"instance, e.g. {backbone.__name__}().fit(X)."
        )
    if isinstance(backbone, torch.nn.Module):
        return copy.deepcopy(backbone).to(device).eval()
    if is_transformer(backbone):
        _check_transformer_fitted(backbone)
        return backbone
    if hasattr(backbone, "net_"):
        # A fitted skloss estimator without a public transform: its hidden layers.
        module = getattr(backbone.net_, "module_", None)
        features = getattr(module, "features", None)
        if not isinstance(features, torch.nn.Module):
            raise ValueError(
                f"backbone is a fitted {type(backbone).__name__} whose network "
                f"({type(module).__name__}) has no `.features` module (its hidden layers). "
                "Pass the torch module of the layers to use as backbone instead."
            )
        return copy.deepcopy(features).to(device).eval()
    raise TypeError(
        f"backbone must be None, a fitted transformer (an object with transform), a "
        f"torch.nn.Module or a fitted skloss estimator; got an unfitted or unknown "
        f"{type(backbone).__name__}. Fit it first."
    )


def _transform(backbone, rows):
    name = type(backbone).__name__
    try:
        embedded = backbone.transform(rows)
    except Exception as error:
        raise ValueError(
            f"backbone {name}.transform failed on a batch of {_num_samples(rows)} rows: "
            f"{error}. It must accept X as given to this classifier and return "
            "(n_samples, n_embedding) numbers."
        ) from error
    if sp.issparse(embedded):
        embedded = embedded.toarray()
    if isinstance(embedded, torch.Tensor):
        return embedded.detach()
    if embedded is None:
        return None
    try:
        return torch.as_tensor(np.asarray(embedded, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"backbone {name}.transform must return numbers; it returned "
            f"{type(embedded).__name__} that cannot be read as float64 ({error})."
        ) from error


def _check_transformer_fitted(backbone):
    if not hasattr(backbone, "fit"):
        return  # a plain object with transform: nothing to fit
    try:
        check_is_fitted(backbone)
    except Exception as error:
        raise ValueError(
            f"backbone {type(backbone).__name__} is not fitted: fit it first. If it was "
            "fitted and this classifier was cloned (clone, GridSearchCV, "
            "cross_val_score), the clone got an unfitted copy: wrap the backbone in "
            "sklearn.frozen.FrozenEstimator so that clone keeps it fitted."
        ) from error


def embed(backbone, rows, device):
    """The backbone's output on a batch of rows: a float64 tensor on ``device``.

    Parameters
    ----------
    backbone : None, object with ``transform`` or torch.nn.Module
        A resolved backbone (see :func:`resolve`).
    rows : {array-like, sparse matrix} of shape (n_rows, n_features)
        The batch; with a transformer, anything it accepts.
    device : torch.device
        Where the result lives.

    Returns
    -------
    torch.Tensor of shape (n_rows, n_embedding), float64
        A new tensor: the caller's array is never written.

    Examples
    --------
    >>> import numpy as np
    >>> embed(None, np.array([[1, 2]], dtype=np.float32), "cpu")
    tensor([[1., 2.]], dtype=torch.float64)
    """
    if backbone is None:
        dense = rows.toarray() if sp.issparse(rows) else rows
        # A copy: a read-only array (a memory map) would make torch warn.
        return torch.tensor(np.asarray(dense, dtype=np.float64), device=device)
    if isinstance(backbone, torch.nn.Module):
        dense = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
        inputs = torch.tensor(dense, dtype=_module_dtype(backbone), device=device)
        try:
            with torch.no_grad():
                embedded = backbone(inputs)
        except Exception as error:
            raise ValueError(
                f"backbone failed on a batch of shape {tuple(inputs.shape)}: {error}. It must "
                "map (n_samples, n_features) to (n_samples, n_embedding)."
            ) from error
    else:
        embedded = _transform(backbone, rows)
    n_rows = rows.shape[0] if hasattr(rows, "shape") else len(rows)
    if not isinstance(embedded, torch.Tensor) or embedded.ndim != 2:
        raise ValueError(
            "backbone must return a 2-D array (n_samples, n_embedding); it returned shape "
            f"{tuple(getattr(embedded, 'shape', ()))}. Flatten its output, e.g. append "
            "torch.nn.Flatten() to the module."
        )
    if embedded.shape[0] != n_rows:
        raise ValueError(
            f"backbone returned {embedded.shape[0]} rows for a batch of {n_rows}; it must map "
            "each row to one embedding, (n_samples, n_features) to (n_samples, n_embedding)."
        )
    embedded = embedded.to(device=device, dtype=torch.float64)
    if not torch.isfinite(embedded).all():
        raise ValueError("backbone returned NaN or infinite features; check its input and weights.")
    return embedded


def same_backbone(first, second):
    """Whether two resolved backbones compute the same function (for merging).

    Torch modules compare by type and weights; other objects by identity, else
    by their pickled state (separately unpickled copies of one fitted
    transformer, as federated sites hold, are different objects).

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) is not None
    True
    >>> module = torch.nn.Linear(3, 2)
    >>> same_backbone(module, copy.deepcopy(module)), same_backbone(module, torch.nn.Linear(3, 2))
    (True, False)
    """
    if first is second:
        return True
    if (first is None) != (second is None):
        return False
    if isinstance(first, torch.nn.Module) or isinstance(second, torch.nn.Module):
        if type(first) is not type(second):
            return False
        a, b = first.state_dict(), second.state_dict()
        return a.keys() == b.keys() and all(torch.equal(a[key].cpu(), b[key].cpu()) for key in a)
    try:
        return _pickled(first) == _pickled(second)
    except Exception:  # an object that cannot be pickled is only equal to itself
        return False


def _module_dtype(module):
    for tensor in module.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _pickled(obj):
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=4)
    return buffer.getvalue()
