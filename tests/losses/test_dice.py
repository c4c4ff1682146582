"""Tests of the self-adjusting Dice loss (``skloss.losses.dice``).

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import numpy as np
import pytest
import torch

from skloss.losses import Dice

pytestmark = pytest.mark.usefixtures("single_torch_thread")

Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_dice(z, y, alpha, smooth):
    p = np_softmax(z)
    adjusted = (1.0 - p) ** alpha * p
    t = np.eye(p.shape[1])[y]
    return (1.0 - (2.0 * adjusted * t + smooth) / (adjusted**2 + t + smooth)).sum(axis=1)


@pytest.mark.parametrize("alpha, expected", [(0.01, 0.112309), (0.0, 0.110428)])
def test_dice_reference_values(alpha, expected):
    value = Dice(alpha=alpha, smooth=1.0)(torch.tensor(Z[:1]), torch.tensor([0]))
    assert value.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "loss, formula",
    [
        (Dice(), lambda z, y: np_dice(z, y, 0.01, 1.0)),
        (Dice(alpha=0.5, smooth=0.1), lambda z, y: np_dice(z, y, 0.5, 0.1)),
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


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (Dice(alpha=-0.1), "alpha"),
        (Dice(smooth=0.0), "smooth"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
