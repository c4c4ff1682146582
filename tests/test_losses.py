"""Tests of ``skloss.losses``.

Three kinds of checks:

- reference values computed by hand for ``z = [2, 1, 0]``;
- every loss against an independent numpy float64 implementation of its paper's
  formula (softmax in numpy, clipped one-hot labels written out in full);
- properties every entry of ``LOSSES`` must have, parametrized over the registry
  so that a newly registered loss is covered without editing this file;
- the protocol every loss shares (``batch_loss``, ``fused_form``, requirements)
  and the adapter for torch losses (``TorchLoss``).

Expected values never come from the implementation under test.
"""

import inspect
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skloss.losses import (
    GCE,
    KNOWN_REQUIREMENTS,
    LOSSES,
    MAE,
    NCERCE,
    SCE,
    CompSum,
    CrossEntropy,
    Focal,
    Loss,
    Preset,
    ProbabilityLoss,
    StatisticsForm,
    SumExp,
    TorchLoss,
    get_loss,
    list_losses,
)
from skloss.losses.metric import AnyLoss

# The classification losses; regression losses have their own properties
# (tests/test_regression_losses.py).
REGISTERED = list_losses(kind="classification")

#: Registered losses that grow exponentially with the margin: for a confidently
#: wrong prediction their true value exceeds the float range, so ``inf`` (and a
#: non-finite gradient) is the correct floating-point answer there.
OVERFLOWING = {"sum_exp"}

#: Registered losses whose training objective is defined by its gradient, not its
#: value: EnsLoss's ``mean(g.detach() * z)`` draws the derivative ``g`` from the
#: batch's margin ranks (tests/test_ensloss.py checks that gradient against numpy).
#: Finite differences of its value, and weights as repetitions (a repeated row
#: takes another rank), do not apply.
GRADIENT_DEFINED = {"ensloss"}

#: Registered losses whose value depends on the logits also through a variable the
#: gradient holds constant by design: ALDR-KL's per-sample lam_i, moved in closed form
#: from the logits and detached, as in the reference. Finite differences see that
#: dependence; tests/test_losses2.py checks their gradient with lam_i held fixed.
HELD_CONSTANT = {"aldr_kl"}

#: Registered losses deliberately not minimised by a perfect prediction: the
#: self-adjusting Dice factor (1 - p)^alpha p vanishes at p_y = 1.
NOT_MINIMAL_AT_PERFECT = {"dice"}

_LOG_1E4 = math.log(1e-4)


# ---- helpers ------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def n_classes_for(loss):
    return 2 if loss.binary_only else 3


def overflows(loss):
    """Whether a confidently wrong prediction legitimately overflows ``loss``."""
    return loss.name in OVERFLOWING or (isinstance(loss, CompSum) and loss.tau < 1)


def context_for(loss, index, n_samples):
    """The context ``loss.requires``, or skip the test when it cannot be built here."""
    context = {}
    for requirement in loss.requires:
        if requirement == "index":
            context["index"] = index
            context["n_samples"] = n_samples
        elif requirement == "epoch":
            context["epoch"] = 0
        elif requirement == "generator":
            context["generator"] = torch.Generator().manual_seed(0)
        else:
            pytest.skip(f"{loss.name} requires {requirement!r}, which these tests cannot build")
    return context


def evaluate(loss, logits, target, index=None, **kwargs):
    """Call ``loss`` with whatever context it requires.

    A batch-level loss has no per-sample values; for the properties below its
    ``reduction="none"`` stands for the batch loss, shared by every sample.
    (Batches built here hold every class, which is what ``stratified_batches``
    promises.)
    """
    if index is None:
        index = torch.arange(logits.shape[0])
    n_samples = int(index.max()) + 1
    context = context_for(loss, index, n_samples)
    if loss.batch_level and kwargs.get("reduction") == "none":
        kwargs["reduction"] = "mean"
        return loss(logits, target, **kwargs, **context).expand(logits.shape[0])
    return loss(logits, target, **kwargs, **context)


def random_batch(loss, n_classes, n=6, dtype=torch.float64, scale=2.0, seed=0):
    """Random logits and labels holding every class (pairwise losses need that)."""
    generator = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, loss.n_outputs(n_classes), generator=generator)
    target = torch.arange(n) % n_classes
    return logits.to(dtype), target


def np_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_p_y(z, y):
    return np_softmax(z)[np.arange(len(y)), y]


def np_reverse_ce(z, y, log_clip):
    """``-sum_k p_k log q_k`` with the one-hot label ``q`` clipped at ``exp(log_clip)``."""
    p = np_softmax(z)
    clipped = np.clip(np.eye(p.shape[1])[y], math.exp(log_clip), 1.0)
    return -(p * np.log(clipped)).sum(axis=1)


def np_ce(z, y):
    return -np.log(np_p_y(z, y))


def np_comp_sum(z, y, tau):
    z = np.asarray(z, dtype=np.float64)
    rows = np.arange(len(y))
    u = np.exp(z - z[rows, y][:, None]).sum(axis=1) - 1.0  # drop the k = y term, exp(0)
    if tau == 1:
        return np.log1p(u)
    return ((1.0 + u) ** (1.0 - tau) - 1.0) / (1.0 - tau)


def np_gce(z, y, q):
    return (1.0 - np_p_y(z, y) ** q) / q


def np_mae(z, y):
    return 1.0 - np_p_y(z, y)


def np_focal(z, y, gamma, alpha=None):
    p = np_p_y(z, y)
    if alpha is None:
        weight = np.ones_like(p)
    elif np.isscalar(alpha):
        weight = np.where(y == 1, alpha, 1.0 - alpha)
    else:
        weight = np.asarray(alpha, dtype=np.float64)[y]
    return -weight * (1.0 - p) ** gamma * np.log(p)


def np_smoothed_ce(z, y, eps):
    n_classes = np.shape(z)[1]
    soft_target = (1.0 - eps) * np.eye(n_classes)[y] + eps / n_classes
    return -(soft_target * np.log(np_softmax(z))).sum(axis=1)


def np_nce(z, y):
    log_p = np.log(np_softmax(z))
    return log_p[np.arange(len(y)), y] / log_p.sum(axis=1)


# ---- reference values -------------------------------------------------------------------

REFERENCE_Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
REFERENCE_Y = [0, 2]


@pytest.mark.parametrize(
    "loss, expected",
    [
        (CrossEntropy(), [0.407606, 2.407606]),
        (CompSum(tau=0), [0.503215, 10.107338]),
        (CompSum(tau=2), [0.334759, 0.909969]),
        (GCE(q=0.7), [0.354614, 1.163737]),
        (Focal(gamma=2), [0.045678, 1.993605]),
        (CrossEntropy(label_smoothing=0.1), [0.507606, 2.307606]),
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


def _stable_id(value):
    # Functions' reprs hold memory addresses, which differ between xdist workers.
    if callable(value) and not isinstance(value, Loss):
        return getattr(value, "__name__", "callable")
    return repr(value)


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


def test_sce_rce_term_is_scaled_mae():
    # Wang et al.'s RCE with the label clipped at exp(A) is -A * (1 - p_y).
    z = np.array(REFERENCE_Z)
    y = np.array(REFERENCE_Y)
    np.testing.assert_allclose(np_reverse_ce(z, y, -4.0), 4.0 * np_mae(z, y), rtol=1e-12)
    values = SCE(alpha=0.0, beta=1.0)(torch.tensor(z), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(values.numpy(), 4.0 * (1.0 - np_p_y(z, y)), rtol=1e-12)


# ---- loss-specific behaviour ----------------------------------------------------------


def test_from_nll_refuses_what_is_not_a_function_of_p_y():
    nll = torch.tensor([0.5])
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropy(label_smoothing=0.1).from_nll(nll)
    with pytest.raises(ValueError, match="alpha"):
        Focal(alpha=[0.5, 0.5]).from_nll(nll)


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


# ---- properties of every registered loss (and some non-default settings) ---------------


def _case(loss, n_classes=None):
    n_classes = n_classes_for(loss) if n_classes is None else n_classes
    return pytest.param(loss, n_classes, id=f"{loss!r}-{n_classes}classes")


CASES = [_case(LOSSES[name]()) for name in REGISTERED] + [
    _case(CompSum(tau=0.0)),
    _case(CompSum(tau=0.5)),
    _case(CompSum(tau=1.0)),
    _case(CompSum(tau=1.3)),
    _case(CompSum(tau=3.0)),
    _case(GCE(q=0.1)),
    _case(GCE(q=1.0)),
    _case(CrossEntropy(label_smoothing=0.1)),
    _case(SCE(A=_LOG_1E4)),
    _case(NCERCE(alpha=1.0, beta=0.0)),
    _case(Focal(gamma=0.0)),
    _case(Focal(gamma=0.5)),
    _case(Focal(gamma=2.0, alpha=[0.2, 0.3, 0.5])),
    _case(Focal(gamma=2.0, alpha=0.25), n_classes=2),
]


@pytest.fixture(params=REGISTERED)
def loss(request):
    """A default instance of every registered loss."""
    return LOSSES[request.param]()


@pytest.mark.parametrize("loss, n_classes", CASES)
def test_gradient_matches_finite_differences(loss, n_classes):
    # Also catches a detached factor (e.g. focal's (1 - p_y)^gamma): the finite
    # differences see every term.
    if loss.name in GRADIENT_DEFINED:
        pytest.skip(f"{loss.name}'s objective is defined by its gradient")
    if loss.name in HELD_CONSTANT:
        pytest.skip(f"{loss.name}'s gradient holds a closed-form variable constant")
    logits, target = random_batch(loss, n_classes)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: evaluate(loss, z, target, reduction="none"),
        (logits,),
        eps=1e-6,
        atol=1e-6,
        rtol=1e-5,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repetition(loss, reduction):
    if loss.name in GRADIENT_DEFINED:
        pytest.skip(f"{loss.name} ranks the rows of a batch: a copy takes another rank")
    n_classes = n_classes_for(loss)
    logits, target = random_batch(loss, n_classes)
    counts = torch.tensor([0, 1, 2, 3, 1, 2])
    index = torch.arange(len(target))
    weighted = evaluate(
        loss, logits, target, index=index, reduction=reduction, sample_weight=counts
    )
    repeated = evaluate(
        loss,
        logits.repeat_interleave(counts, dim=0),
        target.repeat_interleave(counts),
        index=index.repeat_interleave(counts),
        reduction=reduction,
    )
    torch.testing.assert_close(weighted, repeated, rtol=1e-12, atol=1e-12)


def _extreme_batch(loss, n_classes, dtype, correct):
    """Rows with |z| up to 1e4: confidently right (``correct``) or confidently wrong.

    Each row is ``(labelled logit, logit of every other class)``.
    """
    if loss.n_outputs(n_classes) != n_classes:
        pytest.skip(f"{loss.name} does not output one logit per class")
    big = 1e4
    if correct:
        # The last pair is a tie at huge logits: p_y = 1 / n_classes.
        pairs = [(big, -big), (big, 0.0), (big, big)]
    else:
        # p_y underflows to 0 in both dtypes, except exp(-120) which is 0 in float32 only.
        pairs = [(-big, big), (-big, 0.0), (0.0, big), (-60.0, 60.0)]
    rows, target = [], []
    for label in range(n_classes):
        for labelled, other in pairs:
            row = [other] * n_classes
            row[label] = labelled
            rows.append(row)
            target.append(label)
    return torch.tensor(rows, dtype=dtype, requires_grad=True), torch.tensor(target)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss, n_classes", CASES)
def test_confident_correct_predictions_give_finite_values_and_gradients(loss, n_classes, dtype):
    logits, target = _extreme_batch(loss, n_classes, dtype, correct=True)
    values = evaluate(loss, logits, target, reduction="none")
    assert torch.isfinite(values).all(), values
    values.sum().backward()
    assert torch.isfinite(logits.grad).all(), logits.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss, n_classes", CASES)
def test_confident_wrong_predictions_give_finite_values_and_gradients(loss, n_classes, dtype):
    logits, target = _extreme_batch(loss, n_classes, dtype, correct=False)
    p_y = torch.softmax(logits.detach(), dim=1)[torch.arange(len(target)), target]
    assert (p_y == 0).any(), "the batch must make p_y underflow"
    if overflows(loss):
        values = evaluate(loss, logits.detach(), target, reduction="none")
        assert not torch.isnan(values).any()
        pytest.skip(f"{loss!r} grows like exp(margin): inf is its true float value here")
    values = evaluate(loss, logits, target, reduction="none")
    assert torch.isfinite(values).all(), values
    values.sum().backward()
    assert torch.isfinite(logits.grad).all(), logits.grad


def test_perfect_prediction_is_the_minimum(loss):
    if loss.name in NOT_MINIMAL_AT_PERFECT:
        pytest.skip(f"{loss.name} is by design not minimal at p_y = 1")
    n_classes = n_classes_for(loss)
    if loss.n_outputs(n_classes) != n_classes:
        pytest.skip(f"{loss.name} does not output one logit per class")
    n = 200
    generator = torch.Generator().manual_seed(3)
    logits = 3.0 * torch.randn(n, n_classes, generator=generator, dtype=torch.float64)
    target = torch.arange(n) % n_classes
    perfect = torch.zeros(n, n_classes, dtype=torch.float64)
    perfect[torch.arange(n), target] = 1e4
    perfect_values = evaluate(loss, perfect, target, reduction="none")
    values = evaluate(loss, logits, target, reduction="none")
    wrong = logits.argmax(dim=1) != target
    assert wrong.any()
    assert torch.all(perfect_values <= values)
    assert torch.all(perfect_values[wrong] < values[wrong])
    uniform = evaluate(loss, torch.zeros_like(perfect), target, reduction="none")
    assert torch.all(perfect_values < uniform)

    if isinstance(loss, ProbabilityLoss):
        at_zero = loss.from_nll(torch.zeros(1, dtype=torch.float64))
        positive = loss.from_nll(torch.logspace(-6, 1.5, 50, dtype=torch.float64))
        assert torch.all(at_zero < positive)
        torch.testing.assert_close(at_zero.expand(n), perfect_values)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype(loss, reduction, dtype):
    logits, target = random_batch(loss, n_classes_for(loss), n=5, dtype=dtype)
    weights = torch.ones(5, dtype=torch.float64)
    for sample_weight in (None, weights):
        if loss.batch_level and reduction == "none":
            with pytest.raises(ValueError, match="batch-level"):
                loss(
                    logits,
                    target,
                    reduction="none",
                    sample_weight=sample_weight,
                    **context_for(loss, torch.arange(5), 5),
                )
            continue
        values = evaluate(loss, logits, target, reduction=reduction, sample_weight=sample_weight)
        assert values.dtype == dtype
        assert values.shape == ((5,) if reduction == "none" else ())


def test_params_round_trip(loss):
    cls = type(loss)
    params = loss.get_params()
    signature = inspect.signature(cls).parameters
    assert sorted(params) == sorted(signature)
    # __init__ stores its arguments unchanged (what clone relies on); a preset
    # fixes some of them.
    fixed = next((e.fixed for e in LOSSES.values() if isinstance(e, Preset) and e() == loss), {})
    assert params == {name: fixed.get(name, p.default) for name, p in signature.items()}

    rebuilt = cls(**params)
    assert rebuilt == loss and rebuilt is not loss
    cloned = clone(loss)
    assert type(cloned) is cls
    assert cloned == loss and cloned is not loss
    assert cloned.get_params() == params

    assert loss.set_params() is loss
    assert loss.set_params(**params).get_params() == params
    with pytest.raises(ValueError, match="not_a_parameter"):
        loss.set_params(not_a_parameter=1)
    assert eval(repr(loss), {cls.__name__: cls}) == loss


@pytest.mark.parametrize(
    "loss, changes",
    [
        (GCE(), {"q": 0.3}),
        (CompSum(), {"tau": 0.0}),
        (SCE(), {"alpha": 1.0, "A": _LOG_1E4}),
        (Focal(), {"gamma": 0.5, "alpha": [0.2, 0.8]}),
    ],
    ids=repr,
)
def test_set_params_then_clone(loss, changes):
    loss.set_params(**changes)
    for name, value in changes.items():
        assert getattr(loss, name) is value
    cloned = clone(loss)
    assert cloned == loss and cloned is not loss
    assert cloned.get_params() == loss.get_params()


# ---- get_loss and the registry ---------------------------------------------------------


def test_registry_names_match_classes():
    for name, entry in LOSSES.items():
        assert entry.name == name
        if isinstance(entry, Preset):
            assert issubclass(entry.cls, Loss) and entry.cls.name in LOSSES
        else:
            assert issubclass(entry, Loss)
    assert list_losses() == sorted(LOSSES)
    assert {"ce", "comp_sum", "gce", "mae", "sum_exp", "sce", "nce_rce", "focal"} <= set(LOSSES)


@pytest.mark.parametrize("name", REGISTERED)
def test_get_loss_by_name(name):
    loss = get_loss(name)
    entry = LOSSES[name]
    assert type(loss) is (entry.cls if isinstance(entry, Preset) else entry)
    assert loss == entry()


@pytest.mark.parametrize(
    "name, metric",
    [
        ("anyloss_accuracy", "accuracy"),
        ("anyloss_f1", "f1"),
        ("anyloss_fbeta", "fbeta"),
        ("anyloss_gmean", "gmean"),
        ("anyloss_balanced_accuracy", "balanced_accuracy"),
        ("anyloss_mcc", "mcc"),
    ],
)
def test_presets_are_anyloss_with_the_metric_fixed(name, metric):
    loss = get_loss(name, amplification=20.0)
    assert type(loss) is AnyLoss
    assert loss.get_params() == {
        "metric": metric,
        "beta": 1.0,
        "amplification": 20.0,
        "average": "macro",
    }
    assert clone(loss) == loss
    with pytest.raises(ValueError, match="fixes 'metric'"):
        get_loss(name, metric="accuracy")


def test_preset_keeps_its_free_parameters():
    assert get_loss("anyloss_fbeta", beta=2.0) == AnyLoss(metric="fbeta", beta=2.0)
    with pytest.raises(ValueError, match="'q'"):
        get_loss("anyloss_f1", q=0.5)


def test_get_loss_with_params():
    assert get_loss("gce", q=0.3) == GCE(q=0.3)
    assert get_loss("focal", gamma=1.0, alpha=[0.5, 0.5]).alpha == [0.5, 0.5]


def test_get_loss_copies_objects():
    user = GCE(q=0.5)
    copy = get_loss(user)
    assert copy == user and copy is not user
    changed = get_loss(user, q=0.2)
    assert changed.q == 0.2
    assert user.q == 0.5


def test_get_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="not_a_loss") as info:
        get_loss("not_a_loss")
    for name in REGISTERED:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("loss", ["gce", GCE()], ids=repr)
def test_get_loss_unknown_parameter(loss):
    with pytest.raises(ValueError, match="'p'"):
        get_loss(loss, p=0.5)
    if isinstance(loss, Loss):
        assert loss == GCE()


@pytest.mark.parametrize("loss", ["gce", GCE()], ids=repr)
def test_get_loss_validates(loss):
    with pytest.raises(ValueError, match="'q'"):
        get_loss(loss, q=0.0)
    with pytest.raises(ValueError, match="'q'"):
        get_loss(GCE(q=2.0))


@pytest.mark.parametrize("bad", [None, 3, GCE, int, [GCE()]], ids=repr)
def test_get_loss_rejects_other_types(bad):
    with pytest.raises(TypeError, match="loss must be"):
        get_loss(bad)


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
        (SCE, {"A": 0.0}, "A"),
        (SCE, {"A": 2.0}, "A"),
        (SCE, {"alpha": -1.0}, "alpha"),
        (SCE, {"beta": -1.0}, "beta"),
        (SCE, {"alpha": 0.0, "beta": 0.0}, "alpha"),
        (NCERCE, {"alpha": -1.0}, "alpha"),
        (NCERCE, {"beta": float("nan")}, "beta"),
        (NCERCE, {"alpha": 0.0, "beta": 0.0}, "beta"),
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


def test_valid_boundary_values_pass():
    for loss in (
        CrossEntropy(0.0),
        CrossEntropy(1.0),
        CompSum(0),
        CompSum(np.float64(2.0)),
        GCE(1.0),
        GCE(1e-6),
        Focal(0.0, alpha=[0.0, 1.0]),
        Focal(alpha=np.float32(0.25)),
        SCE(alpha=0.0, beta=1.0),
        NCERCE(alpha=0.0, beta=1.0),
    ):
        loss.validate()


# ---- Loss.__call__ error paths ---------------------------------------------------------


def test_call_rejects_bad_inputs(loss):
    logits, target = random_batch(loss, n_classes_for(loss), n=4)
    with pytest.raises(ValueError, match="2-D"):
        evaluate(loss, logits[:, 0], target)
    with pytest.raises(ValueError, match="rows"):
        loss(logits, target[:3], **context_for(loss, torch.arange(4), 4))
    with pytest.raises(TypeError, match="integer"):
        evaluate(loss, logits, target.double())
    with pytest.raises(ValueError, match="reduction"):
        evaluate(loss, logits, target, reduction="average")
    with pytest.raises(ValueError, match="sample_weight"):
        evaluate(loss, logits, target, sample_weight=torch.ones(3))


# ---- the shared protocol: batch_loss, fused_form, requirements, target range -----------


def test_batch_loss_is_the_mean_of_weighted_per_sample_values(loss):
    if loss.batch_level:
        pytest.skip("a batch-level loss overrides batch_loss (tests/test_anyloss.py)")
    logits, target = random_batch(loss, n_classes_for(loss), n=6)
    context = context_for(loss, torch.arange(6), 6)
    weight = torch.tensor([0.5, 1.5, 0.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    values = loss(logits, target, reduction="none", **context).numpy()
    # mean(w * l), not sum(w l) / sum(w): the estimators normalise w to mean 1 over
    # the training data, so a batch's weights need not average 1.
    expected = np.mean(weight.numpy() * values)
    got = loss.batch_loss(logits, target, sample_weight=weight, **context)
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(
        loss.batch_loss(logits, target, **context).item(), values.mean(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="sample_weight"):
        loss.batch_loss(logits, target, sample_weight=weight[:, None], **context)


def test_every_loss_has_a_fused_form_or_says_it_has_none(loss):
    n_classes = n_classes_for(loss)
    try:
        form = loss.fused_form(n_classes)
    except TypeError as error:
        assert "no fused form" in str(error)
        # A loss of p_y alone has one, unless it keeps per-sample state (the
        # pruned truncated GCE), which a fused head cannot pass.
        assert not isinstance(loss, ProbabilityLoss) or loss.requires
        return
    assert isinstance(form, StatisticsForm)
    logits, target = random_batch(loss, n_classes, n=6)
    stats = {
        "lse": torch.logsumexp(logits, dim=1),
        "target": logits[torch.arange(6), target],
        "mean": logits.mean(dim=1),
        "var": logits.var(dim=1, unbiased=False),
    }
    if form.temperature is not None:
        stats["lse_t"] = torch.logsumexp(logits / form.temperature, dim=1)
    torch.testing.assert_close(
        form.row_loss(stats, target), evaluate(loss, logits, target, reduction="none")
    )


@pytest.mark.parametrize(
    "loss, n_classes",
    [
        (CrossEntropy(label_smoothing=0.2), 4),
        (Focal(gamma=1.0, alpha=[0.1, 0.2, 0.3, 0.4]), 4),
        (Focal(gamma=2.0, alpha=0.25), 2),
    ],
    ids=repr,
)
def test_fused_form_overrides_match_numpy(loss, n_classes):
    generator = torch.Generator().manual_seed(4)
    z = 2.0 * torch.randn(8, n_classes, generator=generator, dtype=torch.float64)
    y = torch.arange(8) % n_classes
    form = loss.fused_form(n_classes)
    stats = {
        "lse": torch.logsumexp(z, dim=1),
        "target": z[torch.arange(8), y],
        "mean": z.mean(dim=1),
    }
    if isinstance(loss, CrossEntropy):
        expected = np_smoothed_ce(z.numpy(), y.numpy(), 0.2)
    else:
        expected = np_focal(z.numpy(), y.numpy(), loss.gamma, loss.alpha)
    np.testing.assert_allclose(form.row_loss(stats, y).numpy(), expected, rtol=1e-10)


def test_fused_form_checks_per_class_parameters():
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=[0.5, 0.5]).fused_form(3)
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=0.25).fused_form(3)


def test_base_loss_has_no_fused_form_and_no_per_sample():
    class Bare(Loss):
        pass

    with pytest.raises(TypeError, match="no fused form"):
        Bare().fused_form(3)
    with pytest.raises(NotImplementedError, match="per_sample"):
        Bare()(torch.zeros(2, 3), torch.tensor([0, 1]))


def test_requirements_are_documented_context_and_stratified_is_an_attribute():
    assert KNOWN_REQUIREMENTS == (
        "index",
        "epoch",
        "model",
        "inputs",
        "generator",
        "teacher_scores",
        "bags",
    )
    assert Loss.stratified_batches is False
    for name in REGISTERED:
        assert "stratified" not in LOSSES[name]().requires

    class Pairwise(CrossEntropy):
        stratified_batches = True

    # A promise about batches, not context: the call needs nothing more.
    Pairwise()(torch.zeros(2, 2), torch.tensor([0, 1]))


def test_old_style_stratified_requirement_is_refused_with_the_fix():
    class OldStyle(CrossEntropy):
        requires = ("stratified",)

    with pytest.raises(TypeError, match="stratified_batches = True"):
        OldStyle()(torch.zeros(2, 2), torch.tensor([0, 1]))


def test_missing_generator_context_is_named():
    class Draws(CrossEntropy):
        requires = ("generator",)

        def per_sample(self, logits, target, *, generator, **context):
            noise = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
            return super().per_sample(logits + noise, target)

    logits, target = torch.zeros(3, 2), torch.tensor([0, 1, 0])
    with pytest.raises(TypeError, match="generator"):
        Draws()(logits, target)
    first = Draws()(logits, target, generator=torch.Generator().manual_seed(1))
    again = Draws()(logits, target, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, again)


@pytest.mark.parametrize(
    "logits, target, bound",
    [
        (torch.zeros(3, 3), torch.tensor([0, 3, 1]), r"index 3, outside the valid range \[0, 3"),
        (torch.zeros(3, 3), torch.tensor([0, -1, 1]), r"index -1, outside the valid range \[0, 3"),
        (torch.zeros(2, 1), torch.tensor([0, 2]), r"index 2, outside the valid range \[0, 2"),
    ],
)
def test_target_out_of_range_is_a_value_error(logits, target, bound):
    loss = AnyLoss() if logits.shape[1] == 1 else CrossEntropy()
    with pytest.raises(ValueError, match="target holds class " + bound):
        loss(logits, target)


def test_one_logit_binary_loss_accepts_both_classes():
    value = AnyLoss()(torch.tensor([[3.0], [-3.0]]), torch.tensor([1, 0]))
    assert 0.0 <= value.item() < 0.01


# ---- torch losses plug in (TorchLoss) ----------------------------------------------------


def hinge_per_sample(logits, target):
    """A module-level function: picklable, unlike a lambda."""
    return torch.nn.functional.multi_margin_loss(logits, target, reduction="none")


def test_torch_cross_entropy_with_smoothing_matches_skloss_and_numpy():
    generator = torch.Generator().manual_seed(2)
    z = 3.0 * torch.randn(12, 4, generator=generator, dtype=torch.float64)
    y = torch.arange(12) % 4
    user = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    adapter = get_loss(user)
    assert isinstance(adapter, TorchLoss)
    values = adapter(z, y, reduction="none")
    np.testing.assert_allclose(
        values.numpy(), np_smoothed_ce(z.numpy(), y.numpy(), 0.1), rtol=1e-12
    )
    torch.testing.assert_close(values, get_loss("ce", label_smoothing=0.1)(z, y, reduction="none"))
    assert user.reduction == "mean"  # the user's module is never modified


@pytest.mark.parametrize(
    "criterion, formula",
    [
        (torch.nn.CrossEntropyLoss, np_ce),
        (
            torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0])),
            lambda z, y: np.array([1.0, 2.0, 3.0])[y] * np_ce(z, y),
        ),
        (
            hinge_per_sample,
            lambda z, y: (
                np.maximum(0, 1 - z[np.arange(len(y)), y][:, None] + z).sum(axis=1) / z.shape[1]
                - 1 / z.shape[1]
            ),
        ),
    ],
    ids=["class", "weighted-module", "function"],
)
def test_torch_loss_kinds_give_per_sample_values(criterion, formula):
    generator = torch.Generator().manual_seed(3)
    z = torch.randn(9, 3, generator=generator, dtype=torch.float64)
    y = torch.arange(9) % 3
    loss = get_loss(criterion)
    np.testing.assert_allclose(
        loss(z, y, reduction="none").numpy(), formula(z.numpy(), y.numpy()), rtol=1e-6
    )
    weight = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    repeated = loss(
        z.repeat_interleave(weight, dim=0), y.repeat_interleave(weight), reduction="sum"
    )
    torch.testing.assert_close(loss(z, y, reduction="sum", sample_weight=weight), repeated)


def test_torch_loss_that_returns_a_scalar_is_refused_at_validation():
    class MeanOnly(torch.nn.Module):
        def forward(self, logits, target):
            return torch.nn.functional.cross_entropy(logits, target)

    for criterion in (MeanOnly(), lambda z, y: torch.nn.functional.cross_entropy(z, y)):
        with pytest.raises(ValueError, match="one loss per sample"):
            get_loss(criterion)


@pytest.mark.parametrize("criterion", [torch.nn.BCEWithLogitsLoss(), torch.nn.MSELoss])
def test_float_target_torch_losses_are_refused(criterion):
    with pytest.raises(TypeError, match="class indices"):
        get_loss(criterion)


def test_torch_loss_clone_equality_and_pickle():
    loss = get_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.1))
    cloned = clone(loss)
    assert cloned == loss and cloned.criterion is not loss.criterion
    assert cloned != get_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.2))
    assert loss != get_loss(torch.nn.CrossEntropyLoss(weight=torch.ones(3)))
    assert hash(cloned) == hash(loss)
    z, y = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.arange(5) % 3
    before = loss(z, y)  # builds the private per-sample copy, which pickling drops
    restored = pickle.loads(pickle.dumps(loss))
    assert restored == loss
    torch.testing.assert_close(restored(z, y), before)
    function = pickle.loads(pickle.dumps(get_loss(hinge_per_sample)))
    assert function.criterion is hinge_per_sample
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(get_loss(lambda z, y: hinge_per_sample(z, y)))


def test_torch_loss_refuses_parameters_and_skloss_losses():
    with pytest.raises(ValueError, match="set them on the torch object"):
        get_loss(torch.nn.CrossEntropyLoss(), label_smoothing=0.1)
    with pytest.raises(TypeError, match="pass it directly"):
        get_loss(TorchLoss(GCE()))
    with pytest.raises(TypeError, match="no fused form"):
        get_loss(torch.nn.CrossEntropyLoss()).fused_form(3)


def smoothed_ce_function(logits, target):
    return torch.nn.functional.cross_entropy(logits, target, reduction="none", label_smoothing=0.1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "torch_loss",
    [torch.nn.CrossEntropyLoss(label_smoothing=0.1), smoothed_ce_function],
    ids=["module", "function"],
)
def test_torch_loss_trains_an_estimator_like_the_skloss_loss(torch_loss):
    from sklearn.datasets import load_iris

    from skloss import RobustLossClassifier

    X, y = load_iris(return_X_y=True)
    weight = np.linspace(0.5, 2.0, len(y))
    settings = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    ours = RobustLossClassifier(loss=CrossEntropy(label_smoothing=0.1), **settings)
    ours.fit(X, y, sample_weight=weight)
    cloned = clone(RobustLossClassifier(loss=torch_loss, **settings))
    if isinstance(torch_loss, torch.nn.Module):
        assert cloned.loss is not torch_loss and cloned.loss.label_smoothing == 0.1
    cloned.fit(X, y, sample_weight=weight)
    assert isinstance(cloned.loss_function_, TorchLoss)
    # Same per-sample values, same weights: the same training curve.
    np.testing.assert_allclose(cloned.loss_curve_, ours.loss_curve_, rtol=1e-6)
    restored = pickle.loads(pickle.dumps(cloned))
    np.testing.assert_array_equal(restored.predict_proba(X), cloned.predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_torch_loss_class_is_accepted_by_the_estimator():
    from sklearn.datasets import load_iris

    from skloss import RobustLossClassifier

    X, y = load_iris(return_X_y=True)
    clf = RobustLossClassifier(
        loss=torch.nn.CrossEntropyLoss, hidden_layer_sizes=(8,), max_iter=2, random_state=0
    )
    clf.fit(X, y)
    assert clf.loss is torch.nn.CrossEntropyLoss  # the parameter is stored unchanged
    ref = RobustLossClassifier(loss="ce", hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    np.testing.assert_allclose(clf.loss_curve_, ref.fit(X, y).loss_curve_, rtol=1e-6)
