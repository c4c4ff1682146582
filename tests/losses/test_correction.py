"""Tests of the loss corrections (``skloss.losses.correction``, Patrini et al. 2017):
forward and backward against values by hand and by numpy, unbiasedness, gradients,
finiteness and the registry. The classifier that estimates T is tested in
``tests/test_loss_correction.py``.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skloss import RobustLossClassifier
from skloss.losses import BackwardCorrection, ForwardCorrection, get_loss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

T3 = np.array([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.3, 0.1, 0.6]])


def _logits(n=7, k=3, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(n, k, generator=generator, dtype=dtype), torch.arange(n) % k


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- reference values -----------------------------------------------------------------


def test_forward_by_hand():
    # p = (0.5, 0.5); q = T^T p = (0.6, 0.4); the loss of label 1 is -log 0.4.
    T = [[0.8, 0.2], [0.4, 0.6]]
    value = ForwardCorrection(T)(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    assert value.item() == pytest.approx(-np.log(0.4), rel=1e-6)


def test_backward_by_hand():
    # T^-1 = [[4/3, -1/3], [-1/3, 4/3]]; p = softmax(log 3, 0) = (3/4, 1/4):
    # label 0 -> -(4/3 log 3/4 - 1/3 log 1/4) = 4/3 log 4/3 - 1/3 log 4.
    T = [[0.8, 0.2], [0.2, 0.8]]
    logits = torch.tensor([[np.log(3.0), 0.0]], dtype=torch.float64)
    value = BackwardCorrection(T)(logits, torch.tensor([0]))
    assert value.item() == pytest.approx(4 / 3 * np.log(4 / 3) - 1 / 3 * np.log(4), rel=1e-12)


def test_forward_matches_numpy():
    logits, target = _logits()
    p = _softmax(logits.numpy())
    expected = -np.log((p @ T3)[np.arange(7), target.numpy()])
    got = ForwardCorrection(T3)(logits, target, reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_backward_matches_numpy():
    logits, target = _logits()
    log_p = np.log(_softmax(logits.numpy()))
    expected = -(np.linalg.inv(T3)[target.numpy()] * log_p).sum(axis=1)
    got = BackwardCorrection(T3)(logits, target, reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_backward_is_unbiased_for_the_clean_cross_entropy():
    # E over the noisy label j ~ T[y] of the corrected loss = CE against y, whatever z.
    logits, _ = _logits(n=3)
    loss = BackwardCorrection(T3)
    ce = -np.log(_softmax(logits.numpy()))  # ce[n, y]
    for y in range(3):
        expected = sum(
            T3[y, j] * loss(logits, torch.full((3,), j), reduction="none").numpy() for j in range(3)
        )
        np.testing.assert_allclose(expected, ce[:, y], rtol=1e-10)


def test_forward_minimum_is_the_clean_posterior():
    # The forward loss's expectation over noisy labels drawn from T^T p* is the
    # cross-entropy of T^T p against T^T p*, minimal at p = p*.
    p_star = np.array([0.6, 0.3, 0.1])
    noisy = p_star @ T3
    z = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [z], max_iter=500, tolerance_grad=1e-14, tolerance_change=0, line_search_fn="strong_wolfe"
    )
    loss = ForwardCorrection(T3)

    def closure():
        optimiser.zero_grad()
        value = sum(noisy[j] * loss(z, torch.tensor([j]), reduction="sum") for j in range(3))
        value.backward()
        return value

    optimiser.step(closure)
    np.testing.assert_allclose(torch.softmax(z, 1).detach().numpy()[0], p_star, atol=1e-5)


def test_identity_and_none_are_cross_entropy():
    logits, target = _logits(dtype=torch.float32)
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    for cls in (ForwardCorrection, BackwardCorrection):
        torch.testing.assert_close(cls()(logits, target, reduction="none"), ce)
        torch.testing.assert_close(cls(np.eye(3))(logits, target, reduction="none"), ce)


@pytest.mark.parametrize("cls", [ForwardCorrection, BackwardCorrection])
def test_gradient_matches_finite_differences(cls):
    logits, target = _logits()
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: cls(T3)(z, target, reduction="none"), (logits,), eps=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("shift", [200.0, -200.0, 1e3])
def test_forward_stays_finite_far_out_and_where_t_has_zeros(shift):
    # T3[1, 0] = 0: a sample labelled 0 gets nothing from class 1's probability.
    logits, target = _logits(dtype=torch.float32)
    logits = (logits * shift if shift == 1e3 else logits + shift).requires_grad_(True)
    values = ForwardCorrection(T3)(logits, target, reduction="none")
    (grad,) = torch.autograd.grad(values.sum(), logits)
    assert torch.isfinite(values).all() and torch.isfinite(grad).all()


def test_registered_and_cloned_with_their_matrix():
    loss = get_loss("forward", transition=T3)
    assert isinstance(loss, ForwardCorrection)
    np.testing.assert_array_equal(loss.transition, T3)
    clf = RobustLossClassifier(loss=loss)
    copy = clone(clf)
    np.testing.assert_array_equal(copy.loss.transition, T3)
    assert copy.loss == loss


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["forward", "backward"])
def test_a_correction_without_its_matrix_warns_before_training(name):
    import warnings

    rng = np.random.RandomState(0)
    X = rng.randn(60, 3).astype(np.float32)
    y = rng.randint(0, 3, size=60)
    plain = RobustLossClassifier(loss=name, hidden_layer_sizes=(4,), max_iter=1)
    with pytest.warns(UserWarning, match="corrects for no noise"):
        plain.fit(X, y)
    given = RobustLossClassifier(loss=get_loss(name, transition=T3), hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*corrects for no noise")
        given.set_params(max_iter=1).fit(X, y)
