"""Tests of the focal loss (``skloss.losses.focal``).

Reference values computed by hand for ``z = [2, 1, 0]``, the loss against an
independent numpy float64 implementation of its formula (tests/losses/_reference.py),
its gradient at perfect predictions and its per-class weights ``alpha``.
"""

import numpy as np
import pytest
import torch

from skloss.losses import Focal

from ._reference import REFERENCE_Y, REFERENCE_Z, _stable_id, np_ce, np_focal

pytestmark = pytest.mark.usefixtures("single_torch_thread")


# ---- reference values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, expected",
    [
        (Focal(gamma=2), [0.045678, 1.993605]),
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
    (Focal(), 4, lambda z, y: np_focal(z, y, 2.0)),
    (Focal(gamma=0.0), 4, np_ce),
    (Focal(gamma=0.5), 4, lambda z, y: np_focal(z, y, 0.5)),
    (
        Focal(gamma=1.0, alpha=[0.1, 0.2, 0.3, 0.4]),
        4,
        lambda z, y: np_focal(z, y, 1.0, [0.1, 0.2, 0.3, 0.4]),
    ),
    (Focal(gamma=2.0, alpha=0.25), 2, lambda z, y: np_focal(z, y, 2.0, 0.25)),
]


@pytest.mark.parametrize("loss, n_classes, formula", FORMULA_CASES, ids=_stable_id)
def test_matches_numpy_formula(loss, n_classes, formula):
    generator = torch.Generator().manual_seed(1)
    logits = 3.0 * torch.randn(12, n_classes, generator=generator, dtype=torch.float64)
    target = torch.arange(12) % n_classes
    values = loss(logits, target, reduction="none")
    expected = formula(logits.numpy(), target.numpy())
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-9, atol=1e-12)


# ---- loss-specific behaviour ----------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_focal_gradient_finite_for_perfect_predictions(gamma, dtype):
    # Rows with nll exactly 0, with nll below float32 resolution, and a normal row:
    # d/dx x^gamma is infinite at 0 for gamma < 1, which must not leak as NaN.
    logits = torch.tensor(
        [[1e4, 0.0, 0.0], [40.0, 0.0, 0.0], [1e4, -1e4, -1e4], [1.0, 0.5, 0.0]],
        dtype=dtype,
        requires_grad=True,
    )
    target = torch.tensor([0, 0, 0, 1])
    Focal(gamma=gamma)(logits, target, reduction="sum").backward()
    assert torch.isfinite(logits.grad).all()
    # A perfect prediction is a minimum: its gradient vanishes.
    assert torch.all(logits.grad[[0, 2]] == 0)


def test_focal_alpha_must_match_number_of_classes():
    logits, target = torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=0.25)(logits, target)
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=[0.5, 0.5])(logits, target)


def test_focal_alpha_accepts_numpy_and_tensor_weights():
    z = np.array(REFERENCE_Z)
    y = np.array(REFERENCE_Y)
    expected = np_focal(z, y, 2.0, [0.2, 0.3, 0.5])
    for alpha in (np.array([0.2, 0.3, 0.5]), torch.tensor([0.2, 0.3, 0.5]), (0.2, 0.3, 0.5)):
        values = Focal(alpha=alpha)(torch.tensor(z), torch.tensor(y), reduction="none")
        np.testing.assert_allclose(values.numpy(), expected, rtol=1e-6)


def test_fused_form_checks_per_class_parameters():
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=[0.5, 0.5]).fused_form(3)
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=0.25).fused_form(3)


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "cls, params, culprit",
    [
        (Focal, {"gamma": -1.0}, "gamma"),
        (Focal, {"alpha": 0.0}, "alpha"),
        (Focal, {"alpha": 1.0}, "alpha"),
        (Focal, {"alpha": 1.5}, "alpha"),
        (Focal, {"alpha": True}, "alpha"),
        (Focal, {"alpha": "balanced"}, "alpha"),
        (Focal, {"alpha": []}, "alpha"),
        (Focal, {"alpha": [[0.5, 0.5]]}, "alpha"),
        (Focal, {"alpha": [-0.5, 1.0]}, "alpha"),
        (Focal, {"alpha": [float("nan"), 1.0]}, "alpha"),
        (Focal, {"alpha": [0.5, "x"]}, "alpha"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(cls, params, culprit):
    loss = cls(**params)  # construction stores, never checks (scikit-learn rule)
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]))
