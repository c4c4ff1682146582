"""Training data held as tensors and cut into batches by slicing.

skorch's default path builds every batch from per-sample ``Dataset.__getitem__``
calls plus a collate step, which dominates the cost on tabular data. Here the
whole table is one tensor (kept in its own dtype and cast per batch) and each
epoch is one permutation followed by contiguous slices.
Sparse input stays a CSR matrix and only one batch at a time is densified.
"""

import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset

#: A batch without per-row extras.
NO_EXTRAS = MappingProxyType({})


class Batch(NamedTuple):
    """One training batch: inputs, targets, weights (or None), row positions and extras.

    ``extras`` maps names to per-row tensors that travel with the rows (teacher
    scores, bag ids): the supervision ``fit`` was given beyond ``y``.
    """

    X: torch.Tensor
    y: torch.Tensor
    weight: Optional[torch.Tensor]
    index: torch.Tensor
    extras: Mapping = NO_EXTRAS


def as_feature_tensor(X, device):
    """Hold validated features as a tensor on ``device`` (CSR matrices stay as they are).

    On the CPU the array is shared, not copied (cast to float32 per batch); on an
    accelerator it is copied once, as float32, to keep device memory and transfers small.
    """
    if sp.issparse(X):
        return X.tocsr()
    X = np.asarray(X)
    if X.dtype == np.bool_:
        X = X.astype(np.float32)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps, pandas buffers) are fine: nothing here writes to them.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        try:
            tensor = torch.from_numpy(X)
        except (ValueError, TypeError):
            tensor = torch.from_numpy(np.ascontiguousarray(X))
    if torch.device(device).type != "cpu":
        tensor = tensor.to(device=device, dtype=torch.float32)
    return tensor


def rows_as_float(X, rows, device, dtype=torch.float32):
    """The given rows of ``X`` (tensor or CSR) as a dense ``dtype`` tensor on ``device``."""
    if sp.issparse(X):
        dense = X[rows.cpu().numpy() if isinstance(rows, torch.Tensor) else rows].toarray()
        return torch.from_numpy(dense).to(device=device, dtype=dtype)
    return X[rows].to(device=device, dtype=dtype)


def slice_as_float(X, start, stop, device, dtype=torch.float32):
    """Rows ``start:stop`` of ``X`` as a dense ``dtype`` tensor on ``device``."""
    if sp.issparse(X):
        return torch.from_numpy(X[start:stop].toarray()).to(device=device, dtype=dtype)
    return X[start:stop].to(device=device, dtype=dtype)


class TrainingData(Dataset):
    """Features, targets, weights and extras of one call to ``fit``/``partial_fit``.

    A skorch ``Dataset`` (``X`` and ``y`` as skorch's callbacks read them), served
    in whole batches by :meth:`batches` rather than per sample.

    Parameters
    ----------
    X : torch.Tensor or scipy.sparse.csr_matrix
        Features, from :func:`as_feature_tensor`.
    y : numpy.ndarray
        Targets as the loss sees them: integer class indices (held as int64) or
        real values (held as float32).
    weight : numpy.ndarray of float or None
        Per-sample weights with mean 1, or None for equal weights.
    device : torch.device
    extras : dict of str to numpy.ndarray, default=None
        Per-row supervision beyond ``y`` (teacher scores, bag ids), held as
        int64 (integers) or float32 and sliced with the rows.
    """

    def __init__(self, X, y, weight, device, extras=None):
        self.X = X
        self.device = torch.device(device)
        self.y = _as_row_tensor(y, self.device)
        self.weight = (
            None
            if weight is None
            else torch.as_tensor(np.asarray(weight, dtype=np.float32), device=self.device)
        )
        self.extras = {
            name: _as_row_tensor(values, self.device) for name, values in (extras or {}).items()
        }
        self.n_samples = self.y.shape[0]

    def __len__(self):
        return self.n_samples

    def __getitem__(self, i):
        return rows_as_float(self.X, [i], self.device)[0], self.y[i]

    def batches(self, batch_size, generator=None, stratified=False, groups=None):
        """Yield :class:`Batch` es covering every row once.

        Parameters
        ----------
        batch_size : int
        generator : torch.Generator or None
            Shuffles the rows when given; keeps their order when None.
        stratified : bool
            Every batch holds at least one row of each class present (pairwise
            losses need a positive and a negative in each batch).
        groups : str or None
            The name of an extra holding a group id per row (``"bags"``): every
            batch then holds whole groups, about ``batch_size`` rows (a group
            larger than that is a batch of its own).
        """
        if stratified:
            yield from self._stratified_batches(batch_size, generator)
            return
        if groups is not None:
            yield from self._grouped_batches(batch_size, generator, self.extras[groups])
            return
        if generator is None:
            for start in range(0, self.n_samples, batch_size):
                stop = min(start + batch_size, self.n_samples)
                index = torch.arange(start, stop, device=self.device)
                yield self._batch_from_slice(start, stop, index)
            return
        order = torch.randperm(self.n_samples, generator=generator).to(self.device)
        if sp.issparse(self.X):
            for start in range(0, self.n_samples, batch_size):
                yield self._batch_from_rows(order[start : start + batch_size])
            return
        # One gather per epoch, then views: cheaper than a gather per batch
        # (index_select: a few times faster than advanced indexing on the CPU).
        X, y = self.X.index_select(0, order), self.y.index_select(0, order)
        weight = None if self.weight is None else self.weight.index_select(0, order)
        extras = {name: values.index_select(0, order) for name, values in self.extras.items()}
        for start in range(0, self.n_samples, batch_size):
            stop = start + batch_size
            yield Batch(
                X[start:stop].to(dtype=torch.float32),
                y[start:stop],
                None if weight is None else weight[start:stop],
                order[start:stop],
                _extras_slice(extras, slice(start, stop)),
            )

    def _batch_from_slice(self, start, stop, index):
        return Batch(
            slice_as_float(self.X, start, stop, self.device),
            self.y[start:stop],
            None if self.weight is None else self.weight[start:stop],
            index,
            _extras_slice(self.extras, slice(start, stop)),
        )

    def _batch_from_rows(self, rows):
        return Batch(
            rows_as_float(self.X, rows, self.device),
            self.y[rows],
            None if self.weight is None else self.weight[rows],
            rows,
            _extras_slice(self.extras, rows),
        )

    def _grouped_batches(self, batch_size, generator, group_ids):
        # Whole groups per batch: groups in random order (fixed order without a
        # generator), each group's rows together, a batch closed once it holds
        # batch_size rows or more.
        ids = group_ids.cpu()
        labels, inverse = torch.unique(ids, return_inverse=True)
        n_groups = labels.numel()
        group_order = (
            torch.randperm(n_groups, generator=generator)
            if generator is not None
            else torch.arange(n_groups)
        )
        rank = torch.empty(n_groups, dtype=torch.long)
        rank[group_order] = torch.arange(n_groups)
        row_rank = rank[inverse]
        order = torch.argsort(row_rank * self.n_samples + torch.arange(self.n_samples))
        sizes = torch.bincount(row_rank, minlength=n_groups).tolist()
        start = taken = 0
        for size in sizes:
            taken += size
            if taken - start >= batch_size:
                yield self._batch_from_rows(order[start:taken].to(self.device))
                start = taken
        if taken > start:
            yield self._batch_from_rows(order[start:taken].to(self.device))

    def _stratified_batches(self, batch_size, generator):
        # Spread each class evenly over the epoch: a row's sort key is its rank
        # within its class (in shuffled order) divided by the class size, so every
        # batch gets about batch_size * share of each class. A class too small to
        # reach every batch that way lends one random row to each batch lacking it.
        y = self.y.cpu()
        n = self.n_samples
        keys = torch.empty(n, dtype=torch.float64)
        noise = torch.rand(n, generator=generator, dtype=torch.float64)
        members = []
        for label in torch.unique(y):
            rows = torch.nonzero(y == label).flatten()
            rows = rows[torch.randperm(rows.numel(), generator=generator)]
            members.append(rows)
            rank = torch.arange(rows.numel(), dtype=torch.float64)
            keys[rows] = (rank + noise[rows]) / rows.numel()
        order = torch.argsort(keys)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            present = set(torch.unique(y[rows]).tolist())
            extra = [
                class_rows[torch.randint(class_rows.numel(), (1,), generator=generator)]
                for class_rows in members
                if int(y[class_rows[0]]) not in present
            ]
            if extra:
                rows = torch.cat([rows, *extra])
            yield self._batch_from_rows(rows.to(self.device))


def _as_row_tensor(values, device):
    """Per-row values as a tensor: integers as int64, anything else as float32."""
    array = np.asarray(values)
    dtype = np.int64 if array.dtype.kind in "iub" else np.float32
    return torch.as_tensor(array.astype(dtype, copy=False), device=device)


def _extras_slice(extras, rows):
    return {name: values[rows] for name, values in extras.items()} if extras else NO_EXTRAS


#: Bytes the logits of one evaluation block may take (as float64): prediction and
#: validation run in blocks of rows this small, so that their memory does not grow
#: with the number of classes (4,096 rows up to 512 classes, 104 rows at 20,000).
EVALUATION_BLOCK_BYTES = 16 * 2**20


def evaluation_rows(n_outputs, preferred=4096):
    """Rows of one inference block: ``preferred``, fewer when the logits are wide.

    Examples
    --------
    >>> evaluation_rows(10), evaluation_rows(20_000)
    (4096, 104)
    """
    return max(1, min(preferred, EVALUATION_BLOCK_BYTES // (8 * max(1, n_outputs))))


def iterate_rows(X, batch_size, device):
    """Yield dense float32 tensors of consecutive rows of ``X``, for inference."""
    n_samples = X.shape[0]
    for start in range(0, n_samples, batch_size):
        yield slice_as_float(X, start, min(start + batch_size, n_samples), device)
