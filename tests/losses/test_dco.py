"""Tests of the DCO loss (``skloss.losses.dco``) and its stable ``log1mexp``.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import math

import numpy as np
import pytest
import torch

from skloss.losses import DCO
from skloss.losses.dco import log1mexp

pytestmark = pytest.mark.usefixtures("single_torch_thread")

Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
Y = [0, 2]


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_dco(z, y, n):
    p_y = np_softmax(z)[np.arange(len(y)), y]
    return -np.log(1.0 - (1.0 - p_y) ** n)


@pytest.mark.parametrize(
    "loss, expected",
    [
        (DCO(n=4), [0.0126378, 1.15727]),
        (DCO(n=1), [0.407606, 2.407606]),
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
        (DCO(n=3), lambda z, y: np_dco(z, y, 3)),
        (DCO(n=16), lambda z, y: np_dco(z, y, 16)),
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


def test_dco_is_stable_where_the_naive_formula_overflows():
    for dtype in (torch.float32, torch.float64):
        z = torch.tensor([[0.0, 40.0, 40.0]], dtype=dtype, requires_grad=True)
        value = DCO(n=8)(z, torch.tensor([0]))
        ce = 40.0 + math.log(2.0 + math.exp(-40.0))
        assert value.item() == pytest.approx(ce - math.log(8), abs=1e-5)
        assert value.item() == pytest.approx(38.613706, abs=1e-5)
        value.backward()
        assert torch.isfinite(z.grad).all()
    # Across the switch to the asymptotic form the loss is continuous.
    nll = torch.tensor([39.999, 40.0, 40.001], dtype=torch.float64)
    values = DCO(n=8).from_nll(nll).numpy()
    np.testing.assert_allclose(values, nll.numpy() - math.log(8), rtol=1e-12)


def test_log1mexp_matches_its_definition():
    x = torch.tensor([1e-30, 1e-8, 0.1, math.log(2), 1.0, 20.0, 800.0], dtype=torch.float64)
    expected = [
        math.log(-math.expm1(-v)) if v < 1 else math.log1p(-math.exp(-v)) for v in x.tolist()
    ]
    np.testing.assert_allclose(log1mexp(x).numpy(), expected, rtol=1e-12)
    x.requires_grad_(True)
    log1mexp(x).sum().backward()
    assert torch.isfinite(x.grad).all()


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (DCO(n=0.5), "n"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
