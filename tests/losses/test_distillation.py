"""Tests of the distillation losses ``pld`` and ``kd`` (``skloss.losses.distillation``).

Expected values come from the issue's hand-computed references, from numpy
implementations of the papers' formulas written out here (the PLD ranking built
by an explicit loop) and from scipy, never from the implementation under test.
The estimator that uses them is tested in ``tests/test_distillation.py``.
"""

import math

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, logsumexp

from skloss.losses import KD, LOSSES, PLD, get_loss
from skloss.losses.distillation import cumulative_logsumexp

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

#: log of the smallest normal float32, the floor of the teacher log-probabilities.
FLOOR = math.log(np.finfo(np.float32).tiny)


# ---- independent numpy formulas --------------------------------------------------------
def np_pld(s, t, y, temperature):
    """The issue's PLD formula, the ranking built one row and one position at a time."""
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    values = []
    for row in range(len(y)):
        others = [k for k in range(s.shape[1]) if k != y[row]]
        # Falling teacher score; equal scores keep the column order.
        others.sort(key=lambda k: (-t[row, k], k))
        ranking = [y[row]] + others
        weight = np.exp(t[row] / temperature)
        weight /= weight.sum()
        total = 0.0
        for position, k in enumerate(ranking):
            rest = s[row, ranking[position:]]
            total += weight[k] * (logsumexp(rest) - s[row, k])
        values.append(total)
    return np.array(values)


def np_kd(s, t, y, temperature, alpha):
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    ce = -log_softmax(s, axis=1)[np.arange(len(y)), y]
    p = np.exp(log_softmax(t / temperature, axis=1))
    kl = np.sum(p * (np.log(p) - log_softmax(s / temperature, axis=1)), axis=1)
    return (1 - alpha) * ce + alpha * temperature**2 * kl


def random_problem(n=7, k=5, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(n, k, generator=generator, dtype=dtype)
    teacher = 3.0 * torch.randn(n, k, generator=generator, dtype=dtype)
    target = torch.arange(n) % k
    return logits, teacher, target


LOSS_CASES = [PLD(), PLD(temperature=4.0), KD(), KD(temperature=1.0, alpha=0.5)]


def numpy_formula(loss, s, t, y):
    if isinstance(loss, PLD):
        return np_pld(s, t, y, loss.temperature)
    return np_kd(s, t, y, loss.temperature, loss.alpha)


# ---- the losses: reference values --------------------------------------------------------
@pytest.mark.parametrize(
    "label, temperature, expected",
    [(0, 1.0, 0.254059), (0, 4.0, 0.240626), (2, 1.0, 1.382123)],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pld_reference_values_of_the_issue(label, temperature, expected, dtype):
    s = torch.tensor([[2.0, 1.0, 0.0]], dtype=dtype)
    t = torch.tensor([[0.5, 2.0, 1.0]], dtype=dtype)
    value = PLD(temperature=temperature)(s, torch.tensor([label]), teacher_scores=t)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_kd_reference_value_by_hand():
    # s = [2, 1, 0], t = [0.5, 2, 1], y = 0, T = 4, alpha = 0.9, written out term by term.
    ce = math.log(math.exp(2) + math.exp(1) + 1) - 2
    p = [math.exp(v / 4) for v in (0.5, 2.0, 1.0)]
    p = [v / sum(p) for v in p]
    q = [math.exp(v / 4) for v in (2.0, 1.0, 0.0)]
    q = [v / sum(q) for v in q]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    expected = 0.1 * ce + 0.9 * 16 * kl
    value = KD()(
        torch.tensor([[2.0, 1.0, 0.0]]),
        torch.tensor([0]),
        teacher_scores=torch.tensor([[0.5, 2.0, 1.0]]),
    )
    assert value.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_matches_the_numpy_formula(loss):
    logits, teacher, target = random_problem()
    values = loss(logits, target, reduction="none", teacher_scores=teacher)
    expected = numpy_formula(loss, logits.numpy(), teacher.numpy(), target.numpy())
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("spread", [5.0, 60.0, 200.0, 2000.0])
def test_cumulative_logsumexp_matches_scipy_on_both_paths(dtype, spread, monkeypatch):
    # Small spreads take the cumulative-sum path on the CPU, large ones the
    # logcumsumexp path; both must give scipy's values and finite gradients.
    generator = torch.Generator().manual_seed(9)
    values = (spread * torch.rand(6, 7, generator=generator, dtype=torch.float64)).to(dtype)
    values.requires_grad_(True)
    calls = []
    original = torch.logcumsumexp
    monkeypatch.setattr(torch, "logcumsumexp", lambda *a, **k: calls.append(1) or original(*a, **k))
    got = cumulative_logsumexp(values)
    limit = 70 if dtype == torch.float32 else 670
    assert bool(calls) == (spread > limit)
    rows = values.detach().double().numpy()
    expected = [[logsumexp(row[: k + 1]) for k in range(7)] for row in rows]
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(got.detach().double().numpy(), expected, rtol=tolerance)
    got.sum().backward()
    assert torch.isfinite(values.grad).all()


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_pld_matches_the_numpy_formula_for_widely_spread_logits(scale):
    logits, teacher, target = random_problem(seed=10)
    values = PLD()(scale * logits, target, reduction="none", teacher_scores=teacher)
    expected = np_pld(scale * logits.numpy(), teacher.numpy(), target.numpy(), 1.0)
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_pld_breaks_teacher_ties_by_column_order():
    logits, _, target = random_problem(n=6, k=4, seed=1)
    teacher = torch.tensor([[1.0, 1.0, 0.0, 0.0]] * 6, dtype=torch.float64)
    values = PLD()(logits, target, reduction="none", teacher_scores=teacher)
    np.testing.assert_allclose(
        values.numpy(), np_pld(logits.numpy(), teacher.numpy(), target.numpy(), 1.0), rtol=1e-12
    )


def test_pld_with_two_classes_is_teacher_weighted_cross_entropy():
    logits, teacher, target = random_problem(n=8, k=2, seed=2)
    values = PLD(temperature=2.0)(logits, target, reduction="none", teacher_scores=teacher)
    s, t, y = logits.numpy(), teacher.numpy(), target.numpy()
    weight = np.exp(log_softmax(t / 2.0, axis=1))[np.arange(8), y]
    ce = -log_softmax(s, axis=1)[np.arange(8), y]
    np.testing.assert_allclose(values.numpy(), weight * ce, rtol=1e-12)


def test_kd_limits_are_cross_entropy_and_the_scaled_kl():
    logits, teacher, target = random_problem(seed=3)
    s, t, y = logits.numpy(), teacher.numpy(), target.numpy()
    ce = KD(alpha=0.0)(logits, target, reduction="none", teacher_scores=teacher)
    np.testing.assert_allclose(ce.numpy(), -log_softmax(s, axis=1)[np.arange(7), y], rtol=1e-12)
    kl = KD(alpha=1.0, temperature=1.0)(logits, target, reduction="none", teacher_scores=teacher)
    p = np.exp(log_softmax(t, axis=1))
    expected = np.sum(p * (log_softmax(t, axis=1) - log_softmax(s, axis=1)), axis=1)
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_adding_a_constant_to_a_row_changes_nothing(loss):
    logits, teacher, target = random_problem(seed=4)
    shift = torch.arange(7, dtype=torch.float64)[:, None] * 13.0 - 40.0
    base = loss(logits, target, reduction="none", teacher_scores=teacher)
    moved = loss(logits + shift, target, reduction="none", teacher_scores=teacher - 2 * shift)
    torch.testing.assert_close(moved, base, rtol=1e-10, atol=1e-10)


def test_pld_is_near_zero_for_a_student_that_ranks_like_the_teacher_with_the_label_first():
    _, teacher, target = random_problem(n=5, k=4, seed=5)
    ranking = teacher.scatter(1, target[:, None], float("inf")).argsort(dim=1, descending=True)
    logits = torch.empty_like(teacher)
    # Position j gets logit -100 j: every choice of the ranking is near certain.
    logits.scatter_(1, ranking, -100.0 * torch.arange(4, dtype=teacher.dtype).expand(5, 4))
    values = PLD()(logits, target, reduction="none", teacher_scores=teacher)
    assert torch.all(values >= 0) and torch.all(values < 1e-40)
    # Any other order of the non-label classes costs more.
    swapped = logits.clone()
    swapped.scatter_(1, ranking[:, 1:3], logits.gather(1, ranking[:, [2, 1]]))
    assert torch.all(PLD()(swapped, target, reduction="none", teacher_scores=teacher) > values)


# ---- the losses: gradients and numerics -------------------------------------------------
@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_gradient_matches_finite_differences(loss):
    logits, teacher, target = random_problem(n=5, k=4, seed=6)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: loss(z, target, reduction="none", teacher_scores=teacher),
        (logits,),
        eps=1e-6,
        atol=1e-6,
        rtol=1e-5,
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
@pytest.mark.parametrize(
    "shift, scale, teacher_scale",
    [(1e4, 1.0, 1.0), (-1e4, 1.0, 1.0), (0.0, 1e3, 1.0), (0.0, 1.0, 1e3), (0.0, 1e3, 1e3)],
)
def test_shifted_and_scaled_logits_give_finite_values_and_gradients(
    loss, dtype, shift, scale, teacher_scale
):
    logits, teacher, target = random_problem(n=6, k=4, seed=7, dtype=dtype)
    logits = (scale * logits + shift).detach().requires_grad_(True)
    teacher = teacher_scale * teacher
    teacher[0] = torch.tensor([0.0, FLOOR, FLOOR, FLOOR])  # a floored teacher row
    values = loss(logits, target, reduction="none", teacher_scores=teacher)
    assert torch.isfinite(values).all() and torch.all(values >= -1e-3 * scale)
    values.sum().backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repetition(loss, reduction):
    logits, teacher, target = random_problem(n=6, k=3, seed=8)
    counts = torch.tensor([0, 1, 2, 3, 1, 2])
    weighted = loss(
        logits, target, reduction=reduction, sample_weight=counts, teacher_scores=teacher
    )
    repeated = loss(
        logits.repeat_interleave(counts, dim=0),
        target.repeat_interleave(counts),
        reduction=reduction,
        teacher_scores=teacher.repeat_interleave(counts, dim=0),
    )
    torch.testing.assert_close(weighted, repeated, rtol=1e-12, atol=1e-12)


def test_teacher_scores_get_no_gradient_and_follow_the_logits_dtype():
    logits, teacher, target = random_problem(dtype=torch.float32)
    teacher = teacher.double().requires_grad_(True)
    for loss in (PLD(), KD()):
        value = loss(logits, target, teacher_scores=teacher)
        assert value.dtype == torch.float32 and not value.requires_grad


def test_registry_and_search_spaces():
    assert LOSSES["pld"] is PLD and LOSSES["kd"] is KD
    assert get_loss("kd", alpha=0.3) == KD(alpha=0.3)
    for cls in (PLD, KD):
        assert cls.requires == ("teacher_scores",)
        for name, spec in cls.search_space.items():
            for value in spec[1:3]:
                get_loss(cls.name, **{name: value}).validate()
