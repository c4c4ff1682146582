"""Tests of the comp-sum family (``skloss.losses.compsum``): cross-entropy, comp-sum,
GCE, MAE and the sum-exponential loss.

Reference values computed by hand for ``z = [2, 1, 0]``, and every loss against an
independent numpy float64 implementation of its paper's formula
(tests/losses/_reference.py). The properties every registered loss shares are in
tests/losses/test_properties.py. Expected values never come from the implementation
under test.
"""

import numpy as np
import pytest
import torch

from skloss.losses import GCE, MAE, CompSum, CrossEntropy, SumExp, get_loss

from ._reference import (
    REFERENCE_Y,
    REFERENCE_Z,
    _stable_id,
    np_ce,
    np_comp_sum,
    np_gce,
    np_mae,
    np_p_y,
    np_smoothed_ce,
    np_softmax,
)

pytestmark = pytest.mark.usefixtures("single_torch_thread")


# ---- reference values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, expected",
    [
        (CrossEntropy(), [0.407606, 2.407606]),
        (CompSum(tau=0), [0.503215, 10.107338]),
        (CompSum(tau=2), [0.334759, 0.909969]),
        (GCE(q=0.7), [0.354614, 1.163737]),
        (CrossEntropy(label_smoothing=0.1), [0.507606, 2.307606]),
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
    (CrossEntropy(), 4, np_ce),
    (CrossEntropy(label_smoothing=0.1), 4, lambda z, y: np_smoothed_ce(z, y, 0.1)),
    (CrossEntropy(label_smoothing=1.0), 4, lambda z, y: np_smoothed_ce(z, y, 1.0)),
    # comp-sum against its own formula, then against the loss it reduces to.
    (CompSum(tau=0.0), 4, lambda z, y: np_comp_sum(z, y, 0.0)),
    (CompSum(tau=0.5), 4, lambda z, y: np_comp_sum(z, y, 0.5)),
    (CompSum(tau=1.5), 4, lambda z, y: np_comp_sum(z, y, 1.5)),
    (CompSum(tau=3.0), 4, lambda z, y: np_comp_sum(z, y, 3.0)),
    (CompSum(tau=1.0), 4, np_ce),
    # Near tau = 1, Phi = L - d L^2 / 2 + d^2 L^3 / 6 + ... with d = tau - 1 and L = -log p_y:
    # the closed form would cancel catastrophically in numpy, the series does not.
    (
        CompSum(tau=1.0 + 1e-9),
        4,
        lambda z, y: np_ce(z, y) - 1e-9 * np_ce(z, y) ** 2 / 2 + 1e-18 * np_ce(z, y) ** 3 / 6,
    ),
    (CompSum(tau=1.3), 4, lambda z, y: np_gce(z, y, 0.3)),
    (CompSum(tau=2.0), 4, np_mae),
    (CompSum(tau=0.0), 4, lambda z, y: 1.0 / np_p_y(z, y) - 1.0),
    (GCE(q=0.7), 4, lambda z, y: np_gce(z, y, 0.7)),
    (GCE(q=1.0), 4, np_mae),
    (GCE(q=0.05), 4, lambda z, y: np_gce(z, y, 0.05)),
    (MAE(), 4, np_mae),
    (SumExp(), 4, lambda z, y: np_comp_sum(z, y, 0.0)),
]


@pytest.mark.parametrize("loss, n_classes, formula", FORMULA_CASES, ids=_stable_id)
def test_matches_numpy_formula(loss, n_classes, formula):
    generator = torch.Generator().manual_seed(1)
    logits = 3.0 * torch.randn(12, n_classes, generator=generator, dtype=torch.float64)
    target = torch.arange(12) % n_classes
    values = loss(logits, target, reduction="none")
    expected = formula(logits.numpy(), target.numpy())
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-9, atol=1e-12)


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "cls, params, culprit",
    [
        (CrossEntropy, {"label_smoothing": -0.1}, "label_smoothing"),
        (CrossEntropy, {"label_smoothing": 1.5}, "label_smoothing"),
        (CrossEntropy, {"label_smoothing": "0.1"}, "label_smoothing"),
        (CompSum, {"tau": -0.5}, "tau"),
        (CompSum, {"tau": float("nan")}, "tau"),
        (CompSum, {"tau": float("inf")}, "tau"),
        (GCE, {"q": 0.0}, "q"),
        (GCE, {"q": -0.3}, "q"),
        (GCE, {"q": 1.5}, "q"),
        (GCE, {"q": True}, "q"),
        (GCE, {"q": None}, "q"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(cls, params, culprit):
    loss = cls(**params)  # construction stores, never checks (scikit-learn rule)
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]))


# ---- cross-entropy's closed-form gradient (the lean training step uses it) ---------------


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_closed_form_gradient_matches_numpy(label_smoothing, weighted):
    rng = np.random.RandomState(3)
    n, k = 7, 4
    z = rng.randn(n, k) * 3
    y = rng.randint(0, k, size=n)
    w = rng.uniform(0.1, 2.0, size=n) if weighted else np.ones(n)
    # By hand, float64: q = (1 - eps) one_hot + eps / K; l = -sum_k q_k log p_k.
    q = (1 - label_smoothing) * np.eye(k)[y] + label_smoothing / k
    p = np_softmax(z)
    expected_loss = np.mean(w * -(q * np.log(p)).sum(axis=1))
    expected_grad = (w / n)[:, None] * (p - q)
    loss, grad = CrossEntropy(label_smoothing=label_smoothing).batch_loss_and_gradient(
        torch.tensor(z, dtype=torch.float32),
        torch.tensor(y),
        sample_weight=torch.tensor(w, dtype=torch.float32) if weighted else None,
    )
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-6)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-5, atol=1e-7)
    # The same value batch_loss (what autograd would differentiate) returns.
    reference = CrossEntropy(label_smoothing=label_smoothing).batch_loss(
        torch.tensor(z, dtype=torch.float32),
        torch.tensor(y),
        sample_weight=torch.tensor(w, dtype=torch.float32) if weighted else None,
    )
    torch.testing.assert_close(loss, reference)


def test_cross_entropys_closed_form_only_for_cross_entropy_itself():
    z, y = torch.zeros(2, 3), torch.tensor([0, 2])
    assert get_loss("dco").batch_loss_and_gradient(z, y) is None  # autograd's

    class Tempered(CrossEntropy):  # a subclass that changes the loss
        def per_sample(self, logits, target, **context):
            return super().per_sample(logits / 2, target)

    assert Tempered().batch_loss_and_gradient(z, y) is None
    assert CrossEntropy().batch_loss_and_gradient(z, y) is not None
