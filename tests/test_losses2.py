"""Tests of the second wave of losses: LDR-KL, ALDR-KL, truncated GCE, Dice, Z-loss,
DCO and the pairwise AUC loss.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
The registry-wide properties (gradients, weights, dtypes, extremes) run over these
losses in tests/test_losses.py and their fused forms in tests/test_fused.py.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning

from skloss import RobustLossClassifier
from skloss.exceptions import NoGradientWarning
from skloss.losses import ALDRKL, DCO, LDRKL, MWAUC, TGCE, Dice, ZLoss, get_loss
from skloss.losses.dco import log1mexp

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


def np_dice(z, y, alpha, smooth):
    p = np_softmax(z)
    adjusted = (1.0 - p) ** alpha * p
    t = np.eye(p.shape[1])[y]
    return (1.0 - (2.0 * adjusted * t + smooth) / (adjusted**2 + t + smooth)).sum(axis=1)


def np_z_loss(z, y, a, b):
    score = (z[np.arange(len(y)), y] - z.mean(axis=1)) / np.sqrt(z.var(axis=1) + 1e-6)
    return np.logaddexp(0.0, a * (b - score)) / a


def np_dco(z, y, n):
    p_y = np_softmax(z)[np.arange(len(y)), y]
    return -np.log(1.0 - (1.0 - p_y) ** n)


def np_tgce(z, y, q, k):
    p_y = np_softmax(z)[np.arange(len(y)), y]
    return np.minimum((1.0 - p_y**q) / q, (1.0 - k**q) / q)


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
        (TGCE(prune_start=None), [0.354614, 0.549183]),
        (ZLoss(), [0.257609, 1.482354]),
        (ZLoss(a=1.0, b=1.0), [0.587075, 2.327387]),
        (DCO(n=4), [0.0126378, 1.15727]),
        (DCO(n=1), [0.407606, 2.407606]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_values(loss, expected, dtype):
    values = loss(torch.tensor(Z, dtype=dtype), torch.tensor(Y), reduction="none")
    np.testing.assert_allclose(values.double().numpy(), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("alpha, expected", [(0.01, 0.112309), (0.0, 0.110428)])
def test_dice_reference_values(alpha, expected):
    value = Dice(alpha=alpha, smooth=1.0)(torch.tensor(Z[:1]), torch.tensor([0]))
    assert value.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("tau, expected", [(1.0, 0.356391), (0.5, 0.303777)])
def test_mw_auc_reference_values(tau, expected):
    scores = torch.tensor([[2.0], [0.5], [1.0], [-1.0], [0.0]], dtype=torch.float64)
    target = torch.tensor([1, 1, 0, 0, 0])
    value = MWAUC(tau=tau)(scores, target, generator=torch.Generator())
    assert value.item() == pytest.approx(expected, abs=1e-6)
    # Two logits per sample are read as the score z_1 - z_0.
    two = torch.cat([torch.zeros_like(scores), scores], dim=1)
    assert MWAUC(tau=tau).batch_loss(two, target).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "loss, formula",
    [
        (LDRKL(), lambda z, y: np_ldr_kl(z, y, 10.0, 0.1)),
        (LDRKL(lam=0.3, margin=0.5), lambda z, y: np_ldr_kl(z, y, 0.3, 0.5)),
        (LDRKL(lam=2.0, transform=None), lambda z, y: np_ldr_kl(z, y, 2.0, 0.1, False)),
        (Dice(), lambda z, y: np_dice(z, y, 0.01, 1.0)),
        (Dice(alpha=0.5, smooth=0.1), lambda z, y: np_dice(z, y, 0.5, 0.1)),
        (ZLoss(a=2.0, b=0.5), lambda z, y: np_z_loss(z, y, 2.0, 0.5)),
        (DCO(n=3), lambda z, y: np_dco(z, y, 3)),
        (DCO(n=16), lambda z, y: np_dco(z, y, 16)),
        (TGCE(q=0.4, k=0.3, prune_start=None), lambda z, y: np_tgce(z, y, 0.4, 0.3)),
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


def test_anyloss_accuracy_is_refused_from_five_classes():
    # The soft one-vs-rest accuracy of a row is A_y - sum_{k != y} A_k up to a
    # constant: 1 - K/2 for an uncertain row (every A_k = 1/2), -1 for a confidently
    # wrong one, so from K = 5 a wrong answer beats an uncertain one.
    for n_classes in (2, 3, 4, 5, 10):
        uncertain, wrong = 1 - n_classes / 2, -1
        reason = get_loss("anyloss_accuracy").why_cannot_train(n_classes)
        assert (reason is not None) == (wrong > uncertain), n_classes
    assert get_loss("anyloss_f1").why_cannot_train(10) is None


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


# ---- TGCE pruning ------------------------------------------------------------------------


def test_tgce_pruning_freezes_weights_between_refreshes():
    loss = TGCE(q=0.7, k=0.5, prune_start=2, prune_every=3)
    assert loss.requires == ("index", "epoch")
    assert TGCE(prune_start=None).requires == ()
    target = torch.tensor([0, 0])
    index = torch.tensor([0, 1])
    floor = (1 - 0.5**0.7) / 0.7

    def gce(z):
        p = np_softmax(z.detach().numpy())[:, 0]
        return (1 - p**0.7) / 0.7

    confident = torch.tensor([[3.0, 0.0], [-3.0, 0.0]], requires_grad=True)
    # Before prune_start: plain GCE, nothing stored.
    values = loss(confident, target, reduction="none", index=index, n_samples=2, epoch=1)
    np.testing.assert_allclose(values.detach().numpy(), gce(confident), rtol=1e-6)
    loss.batch_loss(confident, target, index=index, n_samples=2, epoch=1)
    assert not hasattr(loss, "weights_")
    # A refresh epoch: the second sample (p_y < k) is pruned.
    loss.batch_loss(confident, target, index=index, n_samples=2, epoch=2)
    np.testing.assert_array_equal(loss.weights_.numpy(), [1.0, 0.0])
    # Between refreshes the weights hold even when the predictions change.
    flipped = torch.tensor([[-3.0, 0.0], [3.0, 0.0]], requires_grad=True)
    values = loss(flipped, target, reduction="none", index=index, n_samples=2, epoch=3)
    np.testing.assert_allclose(values.detach().numpy(), [gce(flipped)[0], floor], rtol=1e-6)
    loss.batch_loss(flipped, target, index=index, n_samples=2, epoch=4)
    np.testing.assert_array_equal(loss.weights_.numpy(), [1.0, 0.0])
    # The next refresh (epoch 5) re-reads p_y >= k.
    loss.batch_loss(flipped, target, index=index, n_samples=2, epoch=5)
    np.testing.assert_array_equal(loss.weights_.numpy(), [0.0, 1.0])
    with pytest.raises(TypeError, match="no fused form"):
        loss.fused_form(2)


def test_tgce_trains_from_scratch_only_with_a_warm_up():
    # At a uniform start p_y = 1/3 < k: the stateless form truncates every sample (no
    # gradient); the pruning schedule trains plain GCE until prune_start.
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    settings = dict(hidden_layer_sizes=(16,), batch_size=16, max_iter=40, random_state=0)
    stateless = fit_quietly(RobustLossClassifier(loss=TGCE(prune_start=None), **settings), X, y)
    assert stateless.score(X, y) < 0.5
    pruned = fit_quietly(RobustLossClassifier(loss=TGCE(prune_start=30), **settings), X, y)
    assert 0 < pruned.loss_function_.weights_.sum() < len(y)
    assert pruned.score(X, y) > 0.8


@pytest.mark.parametrize(
    ("loss", "n_classes", "warns"),
    [
        # 1/3 < k = 0.5: every sample truncated at a uniform start
        (TGCE(prune_start=None), 3, True),
        (TGCE(k=0.4, prune_start=None), 3, True),
        (TGCE(k=0.3, prune_start=None), 3, False),  # 1/3 > k
        (TGCE(prune_start=None), 2, False),  # 1/2 is not below k = 0.5
        (TGCE(prune_start=10), 3, False),  # plain GCE until epoch 10
        (TGCE(), 3, False),  # the default: plain GCE until epoch 40
    ],
)
def test_tgce_warns_before_a_fit_that_cannot_start(loss, n_classes, warns):
    X, y = make_classification(
        n_samples=60,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=0,
    )
    clf = RobustLossClassifier(loss=loss, hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", NoGradientWarning)
        if not warns:
            clf.fit(X, y)
            return
        with pytest.raises(NoGradientWarning, match=r"prune_start.*1/3|1/3.*prune_start"):
            clf.fit(X, y)
    # Raised before any training: nothing was fitted.
    assert not hasattr(clf, "net_") and not hasattr(clf, "classes_")


def test_tgce_fine_tuning_with_warm_start_does_not_warn():
    X, y = load_iris(return_X_y=True)
    settings = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    clf = fit_quietly(RobustLossClassifier(loss="ce", **settings), X, y)
    clf.set_params(loss=TGCE(prune_start=None), warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", NoGradientWarning)
        clf.fit(X, y)
    assert clf.loss_function_.name == "tgce"


def test_tgce_pruning_trains_an_estimator_and_pickles():
    X, y = load_iris(return_X_y=True)
    clf = RobustLossClassifier(
        loss=TGCE(prune_start=1, prune_every=1), hidden_layer_sizes=(8,), max_iter=3, random_state=0
    )
    fit_quietly(clf, X, y)
    weights = clf.loss_function_.weights_
    assert weights.shape == (150,) and set(weights.tolist()) <= {0.0, 1.0}
    restored = pickle.loads(pickle.dumps(clf))
    assert torch.equal(restored.loss_function_.weights_, weights)


# ---- the pairwise AUC loss in an estimator -------------------------------------------


class RecordingAUC(MWAUC):
    """MWAUC that records the classes of every training batch it sees."""

    def batch_loss(self, logits, target, sample_weight=None, generator=None, **context):
        self.seen = getattr(self, "seen", []) + [torch.unique(target).tolist()]
        return super().batch_loss(logits, target, sample_weight, generator, **context)


def test_mw_auc_trains_on_batches_holding_both_classes():
    X, y = make_classification(n_samples=400, weights=[0.97], random_state=0)
    assert 0 < y.sum() < 20  # fewer positives than batches
    clf = RobustLossClassifier(
        loss=RecordingAUC(), hidden_layer_sizes=(8,), batch_size=32, max_iter=2, random_state=0
    )
    fit_quietly(clf, X, y)
    assert clf.net_.module_(torch.zeros(1, 20)).shape == (1, 1)  # one score per sample
    seen = clf.loss_function_.seen
    assert len(seen) >= 2 * (400 // 32) and all(classes == [0, 1] for classes in seen)
    scores = clf.decision_function(X)
    assert scores.shape == (400,)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6)


def test_mw_auc_bounds_its_pairs_with_the_generator():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(200, 1, generator=generator, dtype=torch.float64)
    target = (torch.arange(200) % 2).long()
    full = MWAUC(max_pairs=10**6).batch_loss(scores, target)
    sampled = MWAUC(max_pairs=4000)
    first = sampled.batch_loss(scores, target, generator=torch.Generator().manual_seed(1))
    again = sampled.batch_loss(scores, target, generator=torch.Generator().manual_seed(1))
    assert first.item() == again.item()
    # 4,000 of the 10,000 pairs: within a few standard errors of the full mean.
    assert abs(first.item() - full.item()) < 0.05
    with pytest.raises(ValueError, match="max_pairs"):
        sampled.batch_loss(scores, target)


def test_mw_auc_is_binary_only():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="two classes only"):
        RobustLossClassifier(loss="mw_auc", max_iter=1).fit(X, y)


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (LDRKL(lam=0.0), "lam"),
        (LDRKL(margin=-1.0), "margin"),
        (LDRKL(transform="relu"), "transform"),
        (ALDRKL(alpha=1.0), "alpha"),
        (ALDRKL(lam0=-1.0), "lam0"),
        (TGCE(k=1.0), "k"),
        (TGCE(q=0.0), "q"),
        (TGCE(prune_start=-1), "prune_start"),
        (TGCE(prune_every=0), "prune_every"),
        (Dice(alpha=-0.1), "alpha"),
        (Dice(smooth=0.0), "smooth"),
        (ZLoss(a=0.0), "a"),
        (ZLoss(b=float("nan")), "b"),
        (DCO(n=0.5), "n"),
        (MWAUC(tau=0.0), "tau"),
        (MWAUC(max_pairs=0), "max_pairs"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()


def test_search_spaces_name_real_parameters():
    for loss in (LDRKL(), ALDRKL(), TGCE(), Dice(), ZLoss(), DCO(), MWAUC()):
        space = loss.search_space
        assert space and set(space) <= set(loss.get_params())
        for spec in space.values():
            assert spec[0] in {"float", "int", "categorical"}
