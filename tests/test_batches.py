"""Batches: every row once per epoch, extras travelling with their rows, whole groups."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skloss._training.batches import TrainingData


def data(n=103, sparse=False, groups=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    extras = {
        "teacher_scores": rng.normal(size=(n, 3)),
        "bags": groups if groups is not None else rng.integers(0, 10, size=n),
    }
    X = sp.csr_matrix(X) if sparse else torch.from_numpy(X)
    return TrainingData(X, y, np.linspace(0.5, 1.5, n), "cpu", extras), extras


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("stratified", [False, True])
def test_extras_travel_with_their_rows(shuffle, sparse, stratified):
    training, extras = data(sparse=sparse)
    generator = torch.Generator().manual_seed(0) if shuffle else None
    seen = []
    for batch in training.batches(16, generator=generator, stratified=stratified):
        rows = batch.index.numpy()
        seen.extend(rows.tolist())
        np.testing.assert_allclose(
            batch.extras["teacher_scores"].numpy(), extras["teacher_scores"][rows], rtol=1e-6
        )
        np.testing.assert_array_equal(batch.extras["bags"].numpy(), extras["bags"][rows])
        assert batch.extras["bags"].dtype == torch.int64
    if not stratified:  # stratified batches may lend a row to a batch lacking its class
        assert sorted(seen) == list(range(103))


@pytest.mark.parametrize("shuffle", [False, True])
def test_grouped_batches_hold_whole_groups(shuffle):
    sizes = [1, 5, 2, 30, 7, 7, 3, 12, 1, 4]
    groups = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)  # ids need not be 0..k-1
    np.random.default_rng(1).shuffle(groups)
    training, _ = data(n=len(groups), groups=groups)
    generator = torch.Generator().manual_seed(0) if shuffle else None
    batches = list(training.batches(10, generator=generator, groups="bags"))
    seen = np.concatenate([b.index.numpy() for b in batches])
    assert sorted(seen.tolist()) == list(range(len(groups)))
    for i, batch in enumerate(batches):
        ids = batch.extras["bags"].numpy()
        for group in np.unique(ids):  # a group's rows are all in this batch
            assert (ids == group).sum() == (groups == group).sum()
        if i < len(batches) - 1:
            assert len(ids) >= 10  # closed once it holds batch_size rows
            assert len(ids) - max(sizes) < 10  # ... and not before
