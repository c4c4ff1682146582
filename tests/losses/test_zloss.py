"""Tests of the Z-loss (``skloss.losses.zloss``), and why it refuses two classes.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import math

import numpy as np
import pytest
import torch

from skloss.losses import ZLoss

pytestmark = pytest.mark.usefixtures("single_torch_thread")

Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
Y = [0, 2]


def np_z_loss(z, y, a, b):
    score = (z[np.arange(len(y)), y] - z.mean(axis=1)) / np.sqrt(z.var(axis=1) + 1e-6)
    return np.logaddexp(0.0, a * (b - score)) / a


@pytest.mark.parametrize(
    "loss, expected",
    [
        (ZLoss(), [0.257609, 1.482354]),
        (ZLoss(a=1.0, b=1.0), [0.587075, 2.327387]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_values(loss, expected, dtype):
    values = loss(torch.tensor(Z, dtype=dtype), torch.tensor(Y), reduction="none")
    np.testing.assert_allclose(values.double().numpy(), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "loss, formula",
    [
        (ZLoss(a=2.0, b=0.5), lambda z, y: np_z_loss(z, y, 2.0, 0.5)),
    ],
    # Ids from the loss only: a function's repr holds an address, which differs
    # between xdist workers.
    ids=lambda value: (
        repr(value) if not callable(value) or hasattr(value, "get_params") else "formula"
    ),
)
def test_matches_numpy_formula(loss, formula):
    generator = torch.Generator().manual_seed(5)
    z = 2.0 * torch.randn(16, 4, generator=generator, dtype=torch.float64)
    y = torch.arange(16) % 4
    np.testing.assert_allclose(
        loss(z, y, reduction="none").numpy(), formula(z.numpy(), y.numpy()), rtol=1e-9, atol=1e-12
    )


def test_z_loss_of_two_classes_is_a_step_and_is_refused():
    # Two logits standardise to +-1 whatever their gap: past a gap of ~1e-3 the loss
    # is flat (numpy, from the definition), so an estimator refuses two classes.
    gaps = np.array([0.1, 1.0, 10.0, 100.0])
    z = np.stack([np.zeros_like(gaps), gaps], axis=1)
    y = np.zeros(len(gaps), dtype=int)
    values = np_z_loss(z, y, 1.0, 0.0)
    np.testing.assert_allclose(values, math.log1p(math.e), rtol=1e-3)
    logits = torch.tensor(z, requires_grad=True)
    ZLoss()(logits, torch.tensor(y), reduction="sum").backward()
    # Cross-entropy's gradient is 0.5 to 1 at these wrong predictions.
    assert logits.grad.abs().max() < 5e-3
    assert "three classes or more" in ZLoss().why_cannot_train(2)
    assert ZLoss().why_cannot_train(3) is None


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (ZLoss(a=0.0), "a"),
        (ZLoss(b=float("nan")), "b"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
