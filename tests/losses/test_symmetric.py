"""Tests of the symmetric losses (``skloss.losses.symmetric``): SCE and NCE+RCE.

Reference values computed by hand for ``z = [2, 1, 0]`` and each loss against an
independent numpy float64 implementation of its paper's formula
(tests/losses/_reference.py).
"""

import numpy as np
import pytest
import torch

from skloss.losses import NCERCE, SCE

from ._reference import (
    _LOG_1E4,
    REFERENCE_Y,
    REFERENCE_Z,
    _stable_id,
    np_ce,
    np_mae,
    np_nce,
    np_p_y,
    np_reverse_ce,
)

pytestmark = pytest.mark.usefixtures("single_torch_thread")


# ---- reference values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, expected",
    [
        (NCERCE(alpha=1, beta=0), [0.096525, 0.570142]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_values(loss, expected, dtype):
    logits = torch.tensor(REFERENCE_Z, dtype=dtype)
    values = loss(logits, torch.tensor(REFERENCE_Y), reduction="none")
    # The references have 6 decimals; float32 also rounds at about 1e-7 relative.
    rtol = 1e-6 if dtype == torch.float32 else 0.0
    np.testing.assert_allclose(values.double().numpy(), expected, rtol=rtol, atol=1e-6)


# ---- each formula against numpy ---------------------------------------------------------


FORMULA_CASES = [
    (SCE(), 4, lambda z, y: 0.1 * np_ce(z, y) + np_reverse_ce(z, y, -4.0)),
    (
        SCE(alpha=0.5, beta=2.0, A=_LOG_1E4),
        4,
        lambda z, y: 0.5 * np_ce(z, y) + 2.0 * np_reverse_ce(z, y, _LOG_1E4),
    ),
    (NCERCE(), 4, lambda z, y: np_nce(z, y) + np_reverse_ce(z, y, _LOG_1E4)),
    (
        NCERCE(alpha=10.0, beta=0.1),
        4,
        lambda z, y: 10.0 * np_nce(z, y) + 0.1 * np_reverse_ce(z, y, _LOG_1E4),
    ),
    (NCERCE(), 2, lambda z, y: np_nce(z, y) + np_reverse_ce(z, y, _LOG_1E4)),
]


@pytest.mark.parametrize("loss, n_classes, formula", FORMULA_CASES, ids=_stable_id)
def test_matches_numpy_formula(loss, n_classes, formula):
    generator = torch.Generator().manual_seed(1)
    logits = 3.0 * torch.randn(12, n_classes, generator=generator, dtype=torch.float64)
    target = torch.arange(12) % n_classes
    values = loss(logits, target, reduction="none")
    expected = formula(logits.numpy(), target.numpy())
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_sce_rce_term_is_scaled_mae():
    # Wang et al.'s RCE with the label clipped at exp(A) is -A * (1 - p_y).
    z = np.array(REFERENCE_Z)
    y = np.array(REFERENCE_Y)
    np.testing.assert_allclose(np_reverse_ce(z, y, -4.0), 4.0 * np_mae(z, y), rtol=1e-12)
    values = SCE(alpha=0.0, beta=1.0)(torch.tensor(z), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(values.numpy(), 4.0 * (1.0 - np_p_y(z, y)), rtol=1e-12)


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "cls, params, culprit",
    [
        (SCE, {"A": 0.0}, "A"),
        (SCE, {"A": 2.0}, "A"),
        (SCE, {"alpha": -1.0}, "alpha"),
        (SCE, {"beta": -1.0}, "beta"),
        (SCE, {"alpha": 0.0, "beta": 0.0}, "alpha"),
        (NCERCE, {"alpha": -1.0}, "alpha"),
        (NCERCE, {"beta": float("nan")}, "beta"),
        (NCERCE, {"alpha": 0.0, "beta": 0.0}, "beta"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(cls, params, culprit):
    loss = cls(**params)  # construction stores, never checks (scikit-learn rule)
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]))
