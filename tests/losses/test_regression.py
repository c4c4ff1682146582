"""Regression losses: reference values (numpy, scipy, the papers), properties, quantiles.

Parametrised over ``list_losses(kind="regression")``, so a newly registered
regression loss is covered by the properties without editing this file.
"""

import numpy as np
import pytest
import torch
from scipy.stats import norm

from skloss.losses import (
    LOSSES,
    AbsoluteError,
    HLGauss,
    Huber,
    Poisson,
    Quantile,
    SquaredError,
    get_loss,
    list_losses,
    reduce_loss,
)
from skloss.losses.histogram import histogram_targets

# Losses of one value per row and target; the bag losses (values per bag, needing
# ``bags``) have their own properties in tests/losses/test_aggregate.py.
REGRESSION = [name for name in list_losses(kind="regression") if not LOSSES[name]().requires]


def fitted(name, n_targets=1, **params):
    loss = get_loss(name, **params)
    rng = np.random.default_rng(0)
    loss.fit_targets(rng.normal(size=(50, n_targets)))
    return loss


def outputs_for(loss, n=7, n_targets=1, scale=1.0, shift=0.0, dtype=torch.float64):
    rng = np.random.default_rng(1)
    values = rng.normal(size=(n, loss.n_outputs(n_targets))) * scale + shift
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def targets_for(n=7, n_targets=1, dtype=torch.float64, non_negative=False):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(n, n_targets))
    return torch.tensor(np.abs(values) if non_negative else values, dtype=dtype)


# ---- reference values ------------------------------------------------------------------
def test_pointwise_losses_match_numpy():
    f = np.array([0.5, -1.0, 3.0, 0.0])
    y = np.array([0.0, 1.0, -1.0, 2.0])
    r = f - y
    cases = [
        (SquaredError(), 0.5 * r**2),
        (AbsoluteError(), np.abs(r)),
        (Huber(delta=1.0), np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)),
        (Huber(delta=0.25), np.where(np.abs(r) <= 0.25, 0.5 * r**2, 0.25 * (np.abs(r) - 0.125))),
        (Quantile(alpha=0.9), np.maximum(0.9 * (y - f), -0.1 * (y - f))),
        (Poisson(), np.exp(f) - np.abs(y) * f),
    ]
    for loss, expected in cases:
        target = np.abs(y) if isinstance(loss, Poisson) else y
        values = loss(torch.tensor(f)[:, None], torch.tensor(target), reduction="none")
        np.testing.assert_allclose(values.numpy(), expected, rtol=1e-12, err_msg=repr(loss))


def test_hl_gauss_targets_are_the_papers_reference_values():
    edges = torch.arange(5.0, dtype=torch.float64)  # [0, 4], 4 bins, w = 1, sigma = 0.75
    p = histogram_targets(torch.tensor([2.0, 1.3], dtype=torch.float64), edges, 0.75).numpy()
    np.testing.assert_allclose(p[0], [0.088055, 0.411945, 0.411945, 0.088055], atol=1e-6)
    np.testing.assert_allclose(p[1], [0.316240, 0.500977, 0.170734, 0.012048], atol=1e-6)
    centres = np.array([0.5, 1.5, 2.5, 3.5])
    assert float(p[1] @ centres) == pytest.approx(1.378591, abs=1e-6)
    # The same from scipy's normal distribution, independently.
    cdf = norm.cdf((np.arange(5.0) - 1.3) / 0.75)
    np.testing.assert_allclose(p[1], np.diff(cdf) / (cdf[-1] - cdf[0]), rtol=1e-10)


def test_hl_gauss_cross_entropy_reference():
    loss = HLGauss(n_bins=4, sigma_ratio=0.75, padding=0.0)
    loss.fit_targets(np.array([[0.0], [4.0]]))
    np.testing.assert_allclose(loss.edges_[0].numpy(), np.arange(5.0))
    logits = torch.tensor([[0.0, 1.0, 2.0, 1.0]], dtype=torch.float64)
    assert loss(logits, torch.tensor([2.0])).item() == pytest.approx(1.302634, abs=1e-6)


def test_padding_shrinks_the_bias_of_the_histogram_mean_at_the_edges():
    y_train = np.linspace(0.0, 4.0, 50)[:, None]
    biases = []
    for padding in (0.0, 0.1, 0.3):
        loss = HLGauss(n_bins=20, padding=padding)
        loss.fit_targets(y_train)
        edges = loss.edges_[0]
        sigma = 0.75 * float(edges[1] - edges[0])
        p = histogram_targets(torch.tensor([0.0], dtype=torch.float64), edges, sigma)
        centres = (edges[1:] + edges[:-1]) / 2
        biases.append(float(p[0] @ centres) - 0.0)  # the target sits at the lowest value
    assert biases[0] > abs(biases[1]) > abs(biases[2])
    assert abs(biases[2]) < 0.01 * 4.0


def test_hl_gauss_prediction_is_the_histogram_mean_and_cannot_leave_the_outer_centres():
    loss = HLGauss(n_bins=4, padding=0.0)
    loss.fit_targets(np.array([[0.0], [4.0]]))
    logits = torch.tensor([[0.0, 1.0, 2.0, 1.0], [50.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 50.0]])
    softmax = torch.softmax(logits.double(), dim=1).numpy()
    expected = softmax @ np.array([0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(loss.predict(logits.double())[:, 0], expected, rtol=1e-12)
    assert 0.5 - 1e-9 <= loss.predict(logits)[:, 0].min() <= loss.predict(logits)[:, 0].max()
    assert loss.predict(logits)[:, 0].max() <= 3.5 + 1e-6


def test_hl_gauss_quantiles_invert_the_histogram_distribution():
    loss = HLGauss(n_bins=4, padding=0.0)
    loss.fit_targets(np.array([[0.0], [4.0]]))
    logits = torch.tensor([[0.0, 1.0, 2.0, 1.0]], dtype=torch.float64)
    q = np.array([0.05, 0.25, 0.5, 0.9])
    got = loss.quantiles(logits, q)[0, 0].numpy()
    # Independently: the piecewise-linear CDF through the edges, inverted with numpy.
    p = torch.softmax(logits, dim=1)[0].numpy()
    cdf = np.concatenate([[0.0], np.cumsum(p)])
    np.testing.assert_allclose(got, np.interp(q, cdf, np.arange(5.0)), rtol=1e-10)


def test_quantile_levels_are_trained_jointly_and_read_back_without_crossing():
    loss = Quantile(alpha=[0.9, 0.1, 0.5])
    assert loss.n_outputs(2) == 6 and loss.levels.tolist() == [0.1, 0.5, 0.9]
    # Column-major layout: target 0's levels, then target 1's (sorted levels).
    outputs = torch.tensor([[1.0, 0.0, 2.0, 10.0, 11.0, 12.0]], dtype=torch.float64)
    median = loss.predict(outputs)
    np.testing.assert_allclose(median.numpy(), [[1.0, 11.0]])  # [1, 0, 2] sorted: 0, 1, 2
    at = loss.quantiles(outputs, np.array([0.1, 0.3, 0.9]))
    np.testing.assert_allclose(at[0, 0].numpy(), [0.0, 0.5, 2.0])
    np.testing.assert_allclose(at[0, 1].numpy(), [10.0, 10.5, 12.0])
    with pytest.raises(ValueError, match="outside them"):
        loss.quantiles(outputs, np.array([0.05]))
    y = torch.tensor([[3.0, 9.0]], dtype=torch.float64)
    f = np.array([[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]])  # by target, sorted levels
    r = y.numpy().T - f
    levels = np.array([0.1, 0.5, 0.9])
    expected = np.maximum(levels * r, (levels - 1) * r).mean(axis=1).mean()
    ordered = torch.tensor([[0.0, 1.0, 2.0, 10.0, 11.0, 12.0]], dtype=torch.float64)
    assert loss(ordered, y).item() == pytest.approx(expected, rel=1e-12)


def test_poisson_refuses_negative_targets_naming_the_rows():
    with pytest.raises(ValueError, match=r"'poisson'.*2 row\(s\).*\[1, 3\]"):
        Poisson().check_targets(np.array([[0.0], [-1.0], [2.0], [-0.5]]))


# ---- properties over the regression registry ------------------------------------------
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("n_targets", [1, 3])
def test_gradient_matches_finite_differences(name, n_targets):
    loss = fitted(name, n_targets)
    outputs = outputs_for(loss, n_targets=n_targets)
    target = targets_for(n_targets=n_targets, non_negative=name == "poisson")
    # Away from the kinks of absolute/pinball/Huber losses: the random draws avoid them.
    assert torch.autograd.gradcheck(lambda o: loss(o, target), (outputs,))


@pytest.mark.parametrize("name", REGRESSION)
def test_several_target_columns_average_the_columns(name):
    loss = fitted(name, 2)
    outputs = outputs_for(loss, n_targets=2).detach()
    target = targets_for(n_targets=2, non_negative=name == "poisson")
    joint = loss(outputs, target, reduction="none")
    per_column = []
    for column in range(2):
        single = get_loss(name)
        single.fit_targets(np.random.default_rng(0).normal(size=(50, 2))[:, [column]])
        width = loss.n_outputs(1)
        block = outputs[:, column * width : (column + 1) * width]
        per_column.append(single(block, target[:, column], reduction="none"))
    torch.testing.assert_close(joint, (per_column[0] + per_column[1]) / 2)


@pytest.mark.parametrize("name", REGRESSION)
def test_integer_weights_equal_repetition(name):
    loss = fitted(name)
    outputs = outputs_for(loss).detach()
    target = targets_for(non_negative=name == "poisson")
    weights = torch.tensor([1.0, 2.0, 0.0, 3.0, 1.0, 1.0, 2.0], dtype=torch.float64)
    weighted = loss(outputs, target, sample_weight=weights)
    repeat = weights.long()
    repeated = loss(outputs.repeat_interleave(repeat, 0), target.repeat_interleave(repeat, 0))
    torch.testing.assert_close(weighted, repeated)
    values = loss(outputs, target, reduction="none")
    torch.testing.assert_close(weighted, reduce_loss(values, sample_weight=weights))


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shift, scale", [(0.0, 30.0), (200.0, 1.0), (-200.0, 1.0)])
def test_far_outputs_give_finite_values_and_gradients(name, dtype, shift, scale):
    if name == "poisson" and shift > 0:
        pytest.skip("exp(200) is beyond float32 and the loss grows like it: inf is right")
    loss = fitted(name)
    outputs = outputs_for(loss, scale=scale, shift=shift, dtype=dtype)
    target = targets_for(dtype=dtype, non_negative=name == "poisson")
    value = loss(outputs, target)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(outputs.grad).all()


@pytest.mark.parametrize("name", REGRESSION)
def test_perfect_prediction_is_the_minimum_of_the_pointwise_losses(name):
    if name in ("hl_gauss", "poisson", "quantile"):
        pytest.skip("its minimum is a distribution or a log-rate, not the target itself")
    loss = fitted(name)
    target = targets_for()
    at_target = loss(target.clone(), target[:, 0])
    assert at_target.item() == 0.0
    assert loss(target + 0.1, target[:, 0]).item() > 0.0


@pytest.mark.parametrize("name", REGRESSION)
def test_parameters_clone_and_kind(name):
    from sklearn.base import clone

    loss = get_loss(name)
    assert loss.target_kind == "regression"
    assert clone(loss) == loss and clone(loss) is not loss
    with pytest.raises(TypeError, match="regression loss"):
        loss.link(torch.zeros(2, 1))


def test_regression_losses_refuse_class_indices_and_wrong_widths():
    with pytest.raises(TypeError, match="real values"):
        SquaredError()(torch.zeros(3, 1), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="needs 2 output"):
        SquaredError()(torch.zeros(3, 1), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="'n_bins' must be an int >= 2"):
        get_loss("hl_gauss", n_bins=1)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        get_loss("quantile", alpha=[0.5, 1.0])
    with pytest.raises(RuntimeError, match="fit_targets"):
        HLGauss()(torch.zeros(2, 100), torch.zeros(2))


# ---- the squared error's closed-form gradient (the lean training step uses it) -----------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_squared_error_closed_form_matches_numpy(n_targets, weighted):
    rng = np.random.default_rng(4)
    f = rng.normal(size=(6, n_targets))
    y = rng.normal(size=(6, n_targets))
    w = rng.uniform(0.2, 2.0, size=6) if weighted else np.ones(6)
    # By hand: l_i = mean_j (f_ij - y_ij)^2 / 2; L = mean_i w_i l_i; dL/df_ij = w_i (f - y) / (n m).
    expected_loss = np.mean(w * np.mean(0.5 * (f - y) ** 2, axis=1))
    expected_grad = w[:, None] * (f - y) / (6 * n_targets)
    target = torch.tensor(y[:, 0] if n_targets == 1 else y)  # (n,) is accepted too
    loss, grad = SquaredError().batch_loss_and_gradient(
        torch.tensor(f), target, sample_weight=torch.tensor(w) if weighted else None
    )
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-12)


def test_closed_form_only_for_the_squared_error_itself():
    outputs, target = torch.zeros(3, 1), torch.ones(3)

    class Doubled(SquaredError):
        def elementwise(self, outputs, target):
            return 2 * super().elementwise(outputs, target)

    assert Doubled().batch_loss_and_gradient(outputs, target) is None
    assert Huber().batch_loss_and_gradient(outputs, target) is None  # autograd's
    assert SquaredError().batch_loss_and_gradient(outputs, target) is not None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_fits_through_the_closed_form_as_through_autograd(monkeypatch):
    from skloss import RobustLossRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(200, 4).astype(np.float32)
    y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] ** 2])

    def fit():
        return RobustLossRegressor(
            hidden_layer_sizes=(16,), max_iter=4, batch_size=50, random_state=0
        ).fit(X, y)

    calls = []
    closed = SquaredError.batch_loss_and_gradient

    def counted(self, *args, **kwargs):
        calls.append(1)
        return closed(self, *args, **kwargs)

    monkeypatch.setattr(SquaredError, "batch_loss_and_gradient", counted)
    lean = fit()
    assert len(calls) == 4 * 4  # 4 epochs of 4 batches, every one in closed form
    monkeypatch.setattr(SquaredError, "batch_loss_and_gradient", lambda self, *a, **k: None)
    plain = fit()
    np.testing.assert_allclose(lean.loss_curve_, plain.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(lean.predict(X), plain.predict(X), rtol=1e-4, atol=1e-5)
