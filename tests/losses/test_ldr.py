"""Tests of LDR-KL and ALDR-KL (``skloss.losses.ldr``): reference values, formulas,
limits, the softplus transform at shifted logits, and ALDR-KL's adaptive lam_i and
its state through fit, pickle, warm start and ``partial_fit``.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris

from skloss import RobustLossClassifier
from skloss.losses import ALDRKL, LDRKL, get_loss

pytestmark = pytest.mark.usefixtures("single_torch_thread")

Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
Y = [0, 2]


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_ldr_kl(z, y, lam, margin, softplus=True):
    f = np.logaddexp(0.0, z) if softplus else z
    if softplus:
        f = f / f.mean(axis=1, keepdims=True)
    out = []
    for row, label in zip(f, y, strict=True):
        a = margin * (np.arange(len(row)) != label) + row - row[label]
        out.append(lam * np.log(np.mean(np.exp(a / lam))))
    return np.array(out)


@pytest.mark.parametrize(
    "loss, expected",
    [
        (LDRKL(), [-0.469688, 0.574428]),
        (LDRKL(lam=1.0), [-0.404138, 0.669910]),
        (LDRKL(lam=1.0, margin=2.0), [0.943083, 2.413174]),
        (
            LDRKL(lam=1.0, margin=0.0, transform=None),
            [0.407606 - math.log(3), 2.407606 - math.log(3)],
        ),
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
        (LDRKL(), lambda z, y: np_ldr_kl(z, y, 10.0, 0.1)),
        (LDRKL(lam=0.3, margin=0.5), lambda z, y: np_ldr_kl(z, y, 0.3, 0.5)),
        (LDRKL(lam=2.0, transform=None), lambda z, y: np_ldr_kl(z, y, 2.0, 0.1, False)),
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


def test_ldr_kl_limits():
    generator = torch.Generator().manual_seed(6)
    z = torch.randn(10, 5, generator=generator, dtype=torch.float64)
    y = torch.arange(10) % 5
    f = z.numpy()
    a = 0.2 * (np.arange(5)[None, :] != y.numpy()[:, None]) + f - f[np.arange(10), y][:, None]
    hinge = LDRKL(lam=1e-4, margin=0.2, transform=None)(z, y, reduction="none")
    np.testing.assert_allclose(hinge.numpy(), a.max(axis=1), atol=1e-3)
    mean = LDRKL(lam=1e6, margin=0.2, transform=None)(z, y, reduction="none")
    np.testing.assert_allclose(mean.numpy(), a.mean(axis=1), atol=1e-5)


def np_aldr_kl_first_step(z, y, lam0, alpha, margin):
    """ALDR-KL at its first step (every lam_i = lam0), softplus transform, in float64."""
    f = np.logaddexp(0.0, z)
    f = f / f.mean(axis=1, keepdims=True)
    n_classes = z.shape[1]
    p_hat = np_softmax(f / lam0) + 1e-5
    p_hat /= p_hat.sum(axis=1, keepdims=True)
    kl = (p_hat * np.log(n_classes * p_hat)).sum(axis=1)
    lam = lam0 - lam0 * kl / (alpha * math.log(n_classes))
    a = margin * (np.arange(n_classes) != y[:, None]) + f - f[np.arange(len(y)), y][:, None]
    tempered = lam * np.log(np.mean(np.exp(a / lam[:, None]), axis=1))
    return tempered - alpha * math.log(n_classes) / (2.0 * lam0) * (lam - lam0) ** 2


def np_gradient(function, z, step=1e-6):
    """Central finite differences of ``sum(function(z))`` in float64."""
    gradient = np.zeros_like(z)
    for i, j in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[i, j] += step
        down[i, j] -= step
        gradient[i, j] = (function(up).sum() - function(down).sum()) / (2.0 * step)
    return gradient


# Shifts of every logit of a row (a drifting bias): at -90 and below, float32's softplus
# underflows for every logit and the old quotient softplus / mean(softplus) was 0 / 0.
# float64 still resolves the formula directly at all of them (softplus(-600) ~ 1e-261).
SHIFTS = [0.0, 20.0, 200.0, -20.0, -90.0, -110.0, -200.0, -600.0]


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 5e-5), (torch.float64, 1e-11)])
@pytest.mark.parametrize("shift", SHIFTS)
def test_ldr_kl_softplus_transform_holds_at_shifted_logits(shift, dtype, atol):
    generator = torch.Generator().manual_seed(5)
    z = (2.0 * torch.randn(8, 4, generator=generator, dtype=torch.float64) + shift).to(dtype)
    y = torch.arange(8) % 4
    # The reference reads the same (rounded) logits, in float64.
    z64, y_np = z.double().numpy(), y.numpy()
    z.requires_grad_(True)
    values = LDRKL()(z, y, reduction="none")
    expected = np_ldr_kl(z64, y_np, 10.0, 0.1)
    np.testing.assert_allclose(values.detach().double().numpy(), expected, rtol=0, atol=atol)
    (gradient,) = torch.autograd.grad(values.sum(), z)
    expected_gradient = np_gradient(lambda v: np_ldr_kl(v, y_np, 10.0, 0.1), z64)
    np.testing.assert_allclose(
        gradient.double().numpy(), expected_gradient, rtol=0, atol=max(atol, 1e-7)
    )

    aldr = ALDRKL()(z, y, reduction="none", index=torch.arange(8), n_samples=8)
    expected = np_aldr_kl_first_step(z64, y_np, 10.0, 2.0, 0.1)
    np.testing.assert_allclose(aldr.detach().double().numpy(), expected, rtol=0, atol=atol)


# ---- ALDR-KL: the adaptive lam and its state ----------------------------------------------


def test_aldr_kl_first_step_matches_the_reference():
    z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    loss = ALDRKL(lam0=10.0, alpha=2.0, margin=0.1, transform=None)
    index = torch.tensor([3, 7])
    values = loss(z, torch.tensor(Y), reduction="none", index=index, n_samples=10)
    np.testing.assert_allclose(values.detach().numpy(), [-0.903275, 1.103380], atol=1e-6)
    assert not hasattr(loss, "lam_")  # calling the loss never moves the state
    loss.batch_loss(z, torch.tensor(Y), index=index, n_samples=10)
    # KL(p_hat || uniform) = 3.324820e-03 and lam = lam0 - lam0 KL / (alpha log 3).
    # f = z / (sum |z| / K) = [2, 1, 0]; p_hat = softmax(f / lam0), floored at 1e-5.
    p_hat = np_softmax(np.array([[2.0, 1.0, 0.0]]) / 10.0)[0] + 1e-5
    p_hat /= p_hat.sum()
    kl = float((p_hat * np.log(3 * p_hat)).sum())
    assert kl == pytest.approx(3.324820e-03, rel=1e-6)
    lam = 10.0 - 10.0 * kl / (2.0 * math.log(3))
    assert lam == pytest.approx(9.984868, abs=1e-6)
    expected_state = np.full(10, 10.0)
    expected_state[[3, 7]] = lam
    np.testing.assert_allclose(loss.lam_.numpy(), expected_state, rtol=1e-12)


def test_aldr_kl_lam_stays_in_its_interval_and_ignores_evaluation():
    loss = ALDRKL(lam0=4.0, alpha=1.5)
    generator = torch.Generator().manual_seed(0)
    target = torch.arange(50) % 5
    for _ in range(5):
        z = (20.0 * torch.randn(50, 5, generator=generator)).requires_grad_(True)
        loss.batch_loss(z, target, index=torch.arange(50), n_samples=50)
    state = loss.lam_.clone()
    assert torch.all(state >= 4.0 * (1 - 1 / 1.5) - 1e-6) and torch.all(state <= 4.0)
    assert torch.any(state < 4.0 - 1e-3)
    with torch.no_grad():
        loss.batch_loss(z, target, index=torch.arange(50), n_samples=50)
    loss.batch_loss(z.detach(), target, index=torch.arange(50), n_samples=50)
    assert torch.equal(loss.lam_, state)


def test_aldr_kl_gradient_is_ldr_kl_at_the_updated_lam():
    # The gradient holds lam_i fixed: it is LDR-KL's at temperature lam_i (per row),
    # checked against finite differences of that function.
    generator = torch.Generator().manual_seed(2)
    z = 2.0 * torch.randn(6, 3, generator=generator, dtype=torch.float64)
    y = torch.arange(6) % 3
    loss = ALDRKL(transform=None)
    index = torch.arange(6)
    lam = loss._values_and_lam(z, y, index, 6)[1]

    def at_fixed_lam(logits):
        f = logits / logits.abs().mean(dim=1, keepdim=True)
        values = [
            LDRKL(lam=float(lam[i]), margin=0.1, transform=None)(
                f[i : i + 1], y[i : i + 1], reduction="none"
            )
            for i in range(6)
        ]
        return torch.cat(values)

    z.requires_grad_(True)
    got = torch.autograd.grad(loss(z, y, reduction="sum", index=index, n_samples=6), z)[0]
    want = torch.autograd.grad(at_fixed_lam(z).sum(), z)[0]
    torch.testing.assert_close(got, want)
    assert torch.autograd.gradcheck(at_fixed_lam, (z,), eps=1e-6, atol=1e-6)


def fit_quietly(clf, *args, partial=False, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.partial_fit(*args, **kwargs) if partial else clf.fit(*args, **kwargs)


def test_aldr_kl_state_is_fitted_state():
    X, y = load_iris(return_X_y=True)
    clf = RobustLossClassifier(loss="aldr_kl", hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    fit_quietly(clf, X, y)
    lam = clf.loss_function_.lam_.clone()
    assert lam.shape == (len(y),)
    assert torch.all(lam < 10.0) and torch.all(lam >= 5.0)
    assert clf.net_.criterion_.loss is clf.loss_function_  # the training step updates loss_ itself
    # A copy of the fitted loss (what a new fit makes of it) starts without state.
    assert not hasattr(get_loss(clf.loss_function_), "lam_")

    restored = pickle.loads(pickle.dumps(clf))
    assert torch.equal(restored.loss_function_.lam_, lam)
    assert restored.net_.criterion_.loss is restored.loss_function_
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))

    # warm_start continues from the stored lam_i: the pickled copy, trained on, moves
    # on from them, exactly as the original does.
    clf.set_params(warm_start=True, max_iter=2)
    restored.set_params(warm_start=True, max_iter=2)
    fit_quietly(clf, X, y)
    fit_quietly(restored, X, y)
    assert not torch.equal(clf.loss_function_.lam_, lam)
    torch.testing.assert_close(restored.loss_function_.lam_, clf.loss_function_.lam_)
    assert clf.n_iter_ == 5

    # A cold refit starts again from lam0 and gives the first fit's state.
    cold = RobustLossClassifier(loss="aldr_kl", hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    fit_quietly(cold, X, y)
    torch.testing.assert_close(cold.loss_function_.lam_, lam)


def test_aldr_kl_state_continues_through_partial_fit():
    X, y = load_iris(return_X_y=True)
    user_loss = ALDRKL(lam0=5.0)
    clf = RobustLossClassifier(loss=user_loss, hidden_layer_sizes=(8,), random_state=0)
    fit_quietly(clf, X, y, partial=True, classes=np.unique(y))
    first = clf.loss_function_.lam_.clone()
    # The estimator trains a copy: the user's loss object, and a clone, hold no state.
    assert not hasattr(user_loss, "lam_") and not hasattr(clone(clf).loss, "lam_")
    fit_quietly(clf, X, y, partial=True)
    second = clf.loss_function_.lam_
    assert second is not None and not torch.equal(first, second)
    # The second call starts from the first call's lam_i, not from lam0: its update
    # reads them (p_hat at the stored temperature), so it differs from a fresh one.
    fresh = ALDRKL(lam0=5.0)
    with torch.no_grad():
        logits = clf.net_.module_(torch.as_tensor(X, dtype=torch.float32))
    fitted = clf.loss_function_
    from_stored = fitted._values_and_lam(logits, torch.as_tensor(y), torch.arange(150), 150)
    from_lam0 = fresh._values_and_lam(logits, torch.as_tensor(y), torch.arange(150), 150)
    assert not torch.allclose(from_stored[1], from_lam0[1])


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (LDRKL(lam=0.0), "lam"),
        (LDRKL(margin=-1.0), "margin"),
        (LDRKL(transform="relu"), "transform"),
        (ALDRKL(alpha=1.0), "alpha"),
        (ALDRKL(lam0=-1.0), "lam0"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
