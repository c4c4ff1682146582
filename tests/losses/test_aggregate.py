"""The bag losses of :mod:`skloss.losses.aggregate` (issue 21): reference values.

Reference values come from the formulas of Javanmard et al. (ICLR 2024) and of
DLLP computed with numpy and from scikit-learn (``log_loss``); gradients against
finite differences, weights against repeated rows. Fitting with ``bags`` is in
``tests/test_aggregate_responses.py``.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import log_loss

from skloss.losses import BagBCE, BagSquaredError, SquaredError, get_loss, list_losses

from ._reference import bag_mean_of, random_bags

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


# ---- helpers -----------------------------------------------------------------------------
def numpy_bag_squared_error(f, ybar, bags, rho, weight=None):
    """Per-bag ``W (ybar - fbar)^2 + rho sum w (f - fbar)^2``, bags in sorted id order."""
    weight = np.ones(len(f)) if weight is None else weight
    values = []
    for bag in np.unique(bags):
        rows = bags == bag
        w, fb = weight[rows], f[rows]
        size = w.sum()
        mean_f = (w * fb).sum() / size
        values.append(size * (ybar[rows][0] - mean_f) ** 2 + rho * (w * (fb - mean_f) ** 2).sum())
    return np.array(values)


def bce(share, p):
    return -share * np.log(p) - (1 - share) * np.log(1 - p)


def numpy_bag_bce(logits, share, bags, rho):
    p = 1 / (1 + np.exp(-logits))
    values = []
    for bag in np.unique(bags):
        rows = bags == bag
        a = share[rows][0]
        values.append((1 - rho) * rows.sum() * bce(a, p[rows].mean()) + rho * bce(a, p[rows]).sum())
    return np.array(values)


# ---- the losses: reference values ----------------------------------------------------------
def test_bag_squared_error_reference_value_of_the_issue():
    f = torch.tensor([[1.5], [2.0]], dtype=torch.float64)
    ybar = torch.tensor([2.0, 2.0], dtype=torch.float64)
    value = BagSquaredError(rho=0.5).bag_losses(f, ybar, bags=torch.tensor([0, 0]))
    # 2 * (2 - 1.75)^2 + 0.5 * (0.25^2 + 0.25^2)
    assert value.tolist() == [0.1875]


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
def test_bag_squared_error_matches_the_numpy_formula_with_weights(rho):
    rng = np.random.default_rng(0)
    bags = random_bags(23, 5, seed=1)
    f = rng.normal(size=23)
    ybar = bag_mean_of(rng.normal(size=23), bags)
    weight = rng.uniform(0.2, 3.0, size=23)
    expected = numpy_bag_squared_error(f, ybar, bags, rho, weight)
    loss = BagSquaredError(rho=rho)
    as_tensor = torch.tensor
    got = loss.bag_losses(
        as_tensor(f[:, None]), as_tensor(ybar), as_tensor(bags), sample_weight=as_tensor(weight)
    )
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    # The batch objective: half the bags' sum per unit of weight.
    batch = loss(
        as_tensor(f[:, None]),
        as_tensor(ybar),
        bags=as_tensor(bags),
        sample_weight=as_tensor(weight),
    )
    np.testing.assert_allclose(batch.item(), expected.sum() / (2 * weight.sum()), rtol=1e-12)


def test_rho_one_is_the_summed_instance_squared_error_and_trains_like_squared_error():
    rng = np.random.default_rng(2)
    bags = random_bags(30, 4)
    f = rng.normal(size=30)
    ybar = bag_mean_of(rng.normal(size=30), bags)
    weight = rng.uniform(0.5, 2.0, size=30)
    per_bag = BagSquaredError(rho=1.0).bag_losses(
        torch.tensor(f[:, None]), torch.tensor(ybar), torch.tensor(bags)
    )
    instance = [((ybar - f)[bags == bag] ** 2).sum() for bag in np.unique(bags)]
    np.testing.assert_allclose(per_bag.numpy(), instance, rtol=1e-12)
    outputs = torch.tensor(f[:, None], requires_grad=True)
    objective = BagSquaredError(rho=1.0)(
        outputs, torch.tensor(ybar), bags=torch.tensor(bags), sample_weight=torch.tensor(weight)
    )
    (gradient,) = torch.autograd.grad(objective, outputs)
    reference_outputs = torch.tensor(f[:, None], requires_grad=True)
    reference = SquaredError()(
        reference_outputs, torch.tensor(ybar), sample_weight=torch.tensor(weight)
    )
    (reference_gradient,) = torch.autograd.grad(reference, reference_outputs)
    np.testing.assert_allclose(objective.item(), reference.item(), rtol=1e-12)
    np.testing.assert_allclose(gradient.numpy(), reference_gradient.numpy(), rtol=1e-10)


def test_rho_zero_is_the_bag_level_loss():
    rng = np.random.default_rng(3)
    bags = random_bags(20, 5)
    f = rng.normal(size=20)
    ybar = bag_mean_of(rng.normal(size=20), bags)
    got = BagSquaredError(rho=0.0).bag_losses(
        torch.tensor(f[:, None]), torch.tensor(ybar), torch.tensor(bags)
    )
    expected = [5 * (ybar[bags == b][0] - f[bags == b].mean()) ** 2 for b in np.unique(bags)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_several_target_columns_average_the_columns():
    rng = np.random.default_rng(4)
    bags = random_bags(12, 3)
    f = rng.normal(size=(12, 2))
    ybar = np.stack([bag_mean_of(rng.normal(size=12), bags) for _ in range(2)], axis=1)
    got = BagSquaredError(rho=0.4).bag_losses(torch.tensor(f), torch.tensor(ybar), bags)
    expected = (
        numpy_bag_squared_error(f[:, 0], ybar[:, 0], bags, 0.4)
        + numpy_bag_squared_error(f[:, 1], ybar[:, 1], bags, 0.4)
    ) / 2
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_the_scaled_responses_give_the_scaled_loss():
    # The regressor standardises y, an affine map: the bag mean of scaled responses is
    # the scaled bag mean, so the loss in scaled units is the loss divided by scale^2.
    rng = np.random.default_rng(5)
    bags = random_bags(16, 4)
    y = rng.normal(50.0, 20.0, size=16)
    ybar, f = bag_mean_of(y, bags), rng.normal(50.0, 20.0, size=16)
    offset, scale = y.mean(), y.std()
    np.testing.assert_allclose(bag_mean_of((y - offset) / scale, bags), (ybar - offset) / scale)
    loss = BagSquaredError(rho=0.7)
    raw = loss.bag_losses(torch.tensor(f[:, None]), torch.tensor(ybar), bags)
    scaled = loss.bag_losses(
        torch.tensor((f[:, None] - offset) / scale), torch.tensor((ybar - offset) / scale), bags
    )
    np.testing.assert_allclose(scaled.numpy(), raw.numpy() / scale**2, rtol=1e-10)


@pytest.mark.parametrize("rho", [0.0, 0.25, 1.0])
def test_bag_bce_matches_the_numpy_formula(rho):
    rng = np.random.default_rng(6)
    bags = random_bags(21, 4)
    logits = rng.normal(scale=2.0, size=21)
    share = bag_mean_of(rng.integers(0, 2, size=21).astype(float), bags)
    got = BagBCE(rho=rho).bag_losses(
        torch.tensor(logits[:, None]), torch.tensor(share), torch.tensor(bags)
    )
    np.testing.assert_allclose(got.numpy(), numpy_bag_bce(logits, share, bags, rho), rtol=1e-10)


def test_bag_bce_of_single_rows_is_the_logistic_loss():
    rng = np.random.default_rng(7)
    logits = rng.normal(scale=2.0, size=15)
    labels = rng.integers(0, 2, size=15)
    p = 1 / (1 + np.exp(-logits))
    for rho in (0.0, 0.6, 1.0):
        value = BagBCE(rho=rho)(
            torch.tensor(logits[:, None]), torch.tensor(labels.astype(float)), bags=np.arange(15)
        )
        np.testing.assert_allclose(value.item(), log_loss(labels, p), rtol=1e-10)


# ---- the losses: properties ------------------------------------------------------------------
def _problem(loss, n=14, dtype=torch.float64, seed=8):
    rng = np.random.default_rng(seed)
    bags = torch.tensor(random_bags(n, 4, seed=seed))
    if isinstance(loss, BagBCE):
        target = bag_mean_of(rng.integers(0, 2, size=n).astype(float), bags.numpy())
    else:
        target = bag_mean_of(rng.normal(size=n), bags.numpy())
    outputs = torch.tensor(rng.normal(scale=2.0, size=(n, 1)), dtype=dtype, requires_grad=True)
    return outputs, torch.tensor(target, dtype=dtype), bags


LOSSES_AT_RHO = [
    pytest.param(cls(rho=rho), id=f"{cls.name}-rho{rho}")
    for cls in (BagSquaredError, BagBCE)
    for rho in (0.0, 0.5, 1.0)
]


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_gradient_matches_finite_differences(loss):
    outputs, target, bags = _problem(loss)
    weight = torch.linspace(0.5, 2.0, outputs.shape[0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda o: loss(o, target, bags=bags, sample_weight=weight), (outputs,)
    )


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_integer_weights_equal_repeated_rows_in_their_bag(loss):
    outputs, target, bags = _problem(loss)
    outputs = outputs.detach()
    weight = torch.tensor([1, 2, 0, 3, 1, 1, 2, 1, 0, 1, 2, 1, 1, 3], dtype=torch.float64)
    weighted = loss(outputs, target, bags=bags, sample_weight=weight)
    repeat = weight.long()
    repeated = loss(
        outputs.repeat_interleave(repeat, 0),
        target.repeat_interleave(repeat, 0),
        bags=bags.repeat_interleave(repeat, 0),
    )
    torch.testing.assert_close(weighted, repeated)
    summed = loss(outputs, target, bags=bags, sample_weight=weight, reduction="sum")
    torch.testing.assert_close(summed, weighted * weight.sum())


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shift, scale", [(0.0, 1e3), (200.0, 1.0), (-200.0, 1.0)])
def test_far_outputs_give_finite_values_and_gradients(loss, dtype, shift, scale):
    outputs, target, bags = _problem(loss, dtype=dtype)
    far = (outputs.detach() * scale + shift).requires_grad_(True)
    value = loss(far, target, bags=bags)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(far.grad).all()


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_predicting_every_bag_response_is_a_stationary_minimum(loss):
    _, target, bags = _problem(loss)
    if isinstance(loss, BagBCE):
        target = target.clamp(0.05, 0.95)  # a finite logit for each share
        at = torch.log(target / (1 - target))
    else:
        at = target.clone()
    at = at[:, None].requires_grad_(True)
    value = loss(at, target, bags=bags)
    (gradient,) = torch.autograd.grad(value, at)
    assert gradient.abs().max() < 1e-12
    nudged = at.detach() + torch.linspace(-0.3, 0.3, at.shape[0], dtype=at.dtype)[:, None]
    assert loss(nudged, target, bags=bags) > value


def test_registry_kinds_parameters_and_search_space():
    assert "bag_squared_error" in list_losses(kind="regression")
    assert "bag_bce" in list_losses(kind="classification")
    for name in ("bag_squared_error", "bag_bce"):
        loss = get_loss(name, rho=0.2)
        assert loss.requires == ("bags",) and loss.batch_groups == "bags"
        assert clone(loss) == loss and loss.get_params() == {"rho": 0.2}
        assert type(loss).search_space == {"rho": ("float", 0.0, 1.0)}
    assert get_loss("bag_bce").binary_only and get_loss("bag_bce").n_outputs(2) == 1
