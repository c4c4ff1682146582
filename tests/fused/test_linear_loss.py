"""Tests of ``skloss.fused``: fused linear + loss heads.

Every expected value comes from the naive reference computed here, independently
of the code under test: the logits are materialised in float64 as
``h @ weight.T + bias`` and the registry loss is called on them (``Loss.__call__``
with its own reduction and sample weights), and its gradients come from autograd.
Low-precision results follow Cut Cross-Entropy's accuracy rule: an implementation
may differ from the float32/float64 reference by no more than the naive
computation in the same low precision does, plus a small tolerance.

The Triton kernels run on CPU tensors under ``TRITON_INTERPRET=1`` at tiny
float32/float16 shapes.
"""

import importlib
import math
import os
import re
import sys
import warnings

import pytest
import torch

if not torch.cuda.is_available():
    # Without a GPU the Triton kernels can only run in Triton's interpreter, which
    # is chosen when each @triton.jit function is defined -- Triton's own library
    # functions included, at Triton's first import, which torch triggers the first
    # time anything enters torch._dynamo (an optimiser, a dispatch mode). So the
    # variable is set here, while the tests are collected. On a CPU-only machine
    # no compiled Triton kernel can run anyway, so nothing else is affected.
    os.environ.setdefault("TRITON_INTERPRET", "1")
from torch.utils._python_dispatch import TorchDispatchMode

from skloss.fused import (
    DEFAULT_CHUNK_BYTES,
    STATISTICS,
    StatisticsForm,
    choose_backend,
    fused_form,
    has_fused_head,
    linear_loss,
    logit_statistics,
    plan_blocks,
    resolve_backend,
    supports,
)
from skloss.fused._chunked import MIN_ROWS, chunked_statistics
from skloss.losses import LOSSES, Loss, ProbabilityLoss, get_loss
from skloss.modules import MLP

# (name, params) of every loss with a fused form, at settings that exercise each
# branch: label smoothing (the "mean" statistic), tau below and above 1, focal
# with gamma < 1 (its clamped base) and with per-class weights.
N_CLASSES = 123
LOSS_CASES = [
    ("ce", {}),
    ("ce", {"label_smoothing": 0.1}),
    ("comp_sum", {"tau": 0.5}),
    ("comp_sum", {"tau": 1.5}),
    ("gce", {"q": 0.7}),
    ("mae", {}),
    ("sum_exp", {}),
    ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.5}),
    ("focal", {"gamma": 1.0, "alpha": [0.5 + (k % 3) / 2 for k in range(N_CLASSES)]}),
    ("sce", {"alpha": 0.1, "beta": 1.0, "A": -4.0}),
    ("tgce", {"q": 0.7, "k": 0.5, "prune_start": None}),
    ("dco", {"n": 4}),
    ("z_loss", {"a": 1.0, "b": 0.0}),
    ("z_loss", {"a": 2.0, "b": 1.0}),
    ("ldr_kl", {"transform": None}),
    ("ldr_kl", {"transform": None, "lam": 0.5, "margin": 0.3}),
]
CASE_IDS = [
    name + ("-" + "-".join(f"{k}" for k in params) if params else "") for name, params in LOSS_CASES
]

# Odd shapes, and a budget that forces blocks of 128 rows by 40 classes in
# float64 (2 row blocks, 4 class blocks, the last ones partial).
N, D, K = 252, 507, N_CLASSES
SMALL_BUDGET = 128 * 40 * 8


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def make_problem(n=N, d=D, k=K, seed=0, scale=0.15):
    """float64 features, weights, bias and labels with logits of order 1-5."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    weight = torch.randn(k, d, generator=g, dtype=torch.float64) * scale
    bias = torch.randn(k, generator=g, dtype=torch.float64) * 0.5
    target = torch.randint(0, k, (n,), generator=g)
    return h, weight, bias, target


def reference(
    h, weight, bias, target, loss, reduction="mean", sample_weight=None, ignore_index=None
):
    """Loss and gradients from materialised float64 logits and the registry loss."""
    leaves = [t.detach().double().requires_grad_() for t in (h, weight, bias)]
    logits = leaves[0] @ leaves[1].T + leaves[2]
    keep = torch.ones_like(target, dtype=torch.bool)
    if ignore_index is not None:
        keep = target != ignore_index
    weights = None if sample_weight is None else sample_weight.double()[keep]
    value = loss(logits[keep], target[keep], reduction=reduction, sample_weight=weights)
    if reduction == "none":
        value = torch.zeros(target.shape[0], dtype=value.dtype, device=value.device).index_put(
            (keep,), value
        )
    grads = torch.autograd.grad(value.sum(), leaves)
    return value.detach(), grads


def fused(h, weight, bias, target, loss, **kwargs):
    leaves = [t.detach().clone().requires_grad_() for t in (h, weight, bias)]
    value = linear_loss(leaves[0], leaves[1], leaves[2], target, loss=loss, **kwargs)
    grads = torch.autograd.grad(value.sum(), leaves)
    return value.detach(), grads


def assert_close(actual, expected, rtol=1e-9, atol=1e-11):
    torch.testing.assert_close(actual.double(), expected.double(), rtol=rtol, atol=atol)


# ---- the statistics interface --------------------------------------------------------------


def test_every_probability_loss_in_the_registry_has_a_fused_form():
    # ... unless it keeps per-sample state (requires), which a fused head cannot pass.
    for name, cls in LOSSES.items():
        loss = cls()
        if isinstance(loss, ProbabilityLoss) and not loss.requires:
            assert supports(loss, n_classes=3), name
            assert set(fused_form(loss, 3).statistics) <= set(STATISTICS)
        elif type(loss).fused_form is Loss.fused_form:
            # Without a fused form of its own, a loss of all the logits has none.
            assert not supports(loss, n_classes=3), name


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_registered_fused_loss_matches_naive(name):
    # Registry-wide, at default hyperparameters: a newly registered loss with a
    # fused form is covered without editing this file.
    loss = get_loss(name)
    if not supports(loss, n_classes=K):
        pytest.skip(f"{name} has no fused form")
    h, weight, bias, target = make_problem(n=140, d=33)
    expected, expected_grads = reference(h, weight, bias, target, loss)
    value, grads = fused(h, weight, bias, target, loss, backend="chunked", chunk_bytes=SMALL_BUDGET)
    assert_close(value, expected)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want)


def test_logit_statistics_match_their_definitions():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(5, 7, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 6, 3, 3, 1])
    stats = logit_statistics(z, y, STATISTICS, temperature=0.3)
    for i in range(5):
        row = z[i].tolist()
        mean = sum(row) / 7
        assert stats["lse"][i].item() == pytest.approx(math.log(sum(math.exp(v) for v in row)))
        assert stats["target"][i].item() == row[y[i]]
        assert stats["mean"][i].item() == pytest.approx(mean)
        assert stats["var"][i].item() == pytest.approx(sum((v - mean) ** 2 for v in row) / 7)
        assert stats["lse_t"][i].item() == pytest.approx(
            math.log(sum(math.exp(v / 0.3) for v in row))
        )


def test_statistics_form_checks_its_arguments():
    with pytest.raises(ValueError, match="subset"):
        StatisticsForm(("lse", "max"), lambda s, y: s["lse"])
    with pytest.raises(ValueError, match="temperature"):
        StatisticsForm(("lse_t",), lambda s, y: s["lse_t"])
    with pytest.raises(TypeError, match="callable"):
        StatisticsForm(("lse",), "not a function")
    form = StatisticsForm(("var", "target"), lambda s, y: s["var"])
    # canonical order, and the mean the variance's gradient needs
    assert form.statistics == ("target", "mean", "var")


class ZScoreLoss(Loss):
    """A test-only loss of the standardised target logit, ``softplus(1 - z_score)``.

    It defines ``fused_form``, the protocol a future z-loss or DCO plugs in
    through; ``per_sample`` is written independently on the materialised logits.
    """

    name = "zscore_test"

    def fused_form(self, n_classes):
        def row_loss(stats, target):
            score = (stats["target"] - stats["mean"]) / torch.sqrt(stats["var"] + 1e-3)
            return torch.nn.functional.softplus(1.0 - score)

        return StatisticsForm(("target", "mean", "var"), row_loss)

    def per_sample(self, logits, target, **context):
        centred = logits - logits.mean(dim=1, keepdim=True)
        std = torch.sqrt((centred**2).mean(dim=1) + 1e-3)
        score = centred.gather(1, target[:, None])[:, 0] / std
        return torch.nn.functional.softplus(1.0 - score)


class TemperedMarginLoss(Loss):
    """A test-only LDR-KL-like loss: ``lam * log sum_k exp((z_k - z_y + c [k != y]) / lam)``.

    Its fused form reads ``lse_t`` at temperature ``lam`` and ``target``, as LDR-KL
    would; ``per_sample`` materialises the margins.
    """

    name = "tempered_margin_test"

    def __init__(self, lam=0.5, margin=0.3):
        self.lam = lam
        self.margin = margin

    def fused_form(self, n_classes):
        return StatisticsForm(("lse_t", "target"), self.row_loss, temperature=self.lam)

    def row_loss(self, stats, target):
        lam, c = self.lam, self.margin
        # sum_k exp((z_k + c [k != y]) / lam) = e^{c/lam} S - (e^{c/lam} - 1) e^{z_y/lam}
        log_sum = (
            stats["lse_t"]
            + c / lam
            + torch.log1p(
                -(1 - math.exp(-c / lam)) * torch.exp(stats["target"] / lam - stats["lse_t"])
            )
        )
        return lam * log_sum - stats["target"]

    def per_sample(self, logits, target, **context):
        margins = torch.full_like(logits, self.margin)
        margins.scatter_(1, target[:, None], 0.0)
        z_y = logits.gather(1, target[:, None])
        return self.lam * torch.logsumexp((logits - z_y + margins) / self.lam, dim=1)


@pytest.mark.parametrize("loss", [ZScoreLoss(), TemperedMarginLoss()], ids=lambda loss: loss.name)
@pytest.mark.parametrize("budget", [SMALL_BUDGET, 2**30], ids=["blocks", "whole"])
def test_a_loss_plugs_in_through_its_fused_form(loss, budget):
    h, weight, bias, target = make_problem()
    expected, expected_grads = reference(h, weight, bias, target, loss, reduction="none")
    value, grads = fused(
        h, weight, bias, target, loss, backend="chunked", chunk_bytes=budget, reduction="none"
    )
    assert_close(value, expected)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want)


def test_losses_without_a_fused_form_are_refused_by_fused_backends():
    h, weight, bias, target = make_problem(n=10, d=4, k=5)
    with pytest.raises(TypeError, match="no fused form"):
        linear_loss(h, weight, bias, target, loss="nce_rce", backend="chunked")
    # "auto" falls back to the naive backend, which computes any logits loss.
    value = linear_loss(h, weight, bias, target, loss="nce_rce", backend="auto", chunk_bytes=8)
    expected, _ = reference(h, weight, bias, target, get_loss("nce_rce"))
    assert_close(value, expected)


# ---- every loss, every backend, every reduction ----------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "backend,budget",
    [("naive", None), ("chunked", SMALL_BUDGET), ("chunked", 2**30)],
    ids=["naive", "chunked-blocks", "chunked-whole"],
)
@pytest.mark.parametrize("name,params", LOSS_CASES, ids=CASE_IDS)
def test_matches_the_naive_reference(name, params, backend, budget, reduction):
    loss = get_loss(name, **params)
    h, weight, bias, target = make_problem()
    expected, expected_grads = reference(h, weight, bias, target, loss, reduction)
    kwargs = {} if budget is None else {"chunk_bytes": budget}
    value, grads = fused(
        h, weight, bias, target, loss, backend=backend, reduction=reduction, **kwargs
    )
    # sum_exp reaches values ~1e2 here; a relative tolerance covers it.
    assert_close(value, expected)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,params", LOSS_CASES, ids=CASE_IDS)
def test_sample_weights_and_ignored_rows(name, params, reduction):
    loss = get_loss(name, **params)
    h, weight, bias, target = make_problem(seed=3)
    g = torch.Generator().manual_seed(4)
    sample_weight = torch.rand(N, generator=g, dtype=torch.float64) * 2
    target = target.clone()
    target[::7] = -100  # padding rows, as with cross_entropy's ignore_index
    expected, expected_grads = reference(
        h, weight, bias, target, loss, reduction, sample_weight, ignore_index=-100
    )
    value, grads = fused(
        h,
        weight,
        bias,
        target,
        loss,
        backend="chunked",
        chunk_bytes=SMALL_BUDGET,
        reduction=reduction,
        sample_weight=sample_weight,
        ignore_index=-100,
    )
    assert_close(value, expected)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want)
    if reduction == "none":
        assert torch.all(value[::7] == 0)
    # ignored rows contribute no gradient at all
    assert torch.all(grads[0][::7] == 0)


def test_ignored_rows_with_an_overflowing_loss_stay_finite():
    # sum_exp overflows at the stand-in target of an ignored row; that row must
    # not poison the gradient with 0 * inf.
    h, weight, bias, target = make_problem(n=140, d=8, k=6)
    weight = weight * 400
    target = target.clone()
    target[:70] = -1
    keep = target != -1
    logits = h @ weight.T + bias
    safe = ~torch.isinf(get_loss("sum_exp").per_sample(logits[keep], target[keep]))
    rows = keep.nonzero()[:, 0][safe]
    target = torch.where(torch.isin(torch.arange(140), rows), target, -1)
    value, grads = fused(
        h, weight, bias, target, "sum_exp", backend="chunked", chunk_bytes=4096, ignore_index=-1
    )
    assert torch.isfinite(value)
    assert all(torch.isfinite(g).all() for g in grads)


def test_no_bias_and_leading_dimensions():
    h, weight, _, target = make_problem(n=3 * 84, d=20, k=17)
    loss = get_loss("gce")
    expected = loss.per_sample(h @ weight.T, target)
    value = linear_loss(
        h.reshape(3, 84, 20),
        weight,
        None,
        target.reshape(3, 84),
        loss=loss,
        backend="chunked",
        chunk_bytes=1024,
        reduction="none",
    )
    assert value.shape == (3, 84)
    assert_close(value.reshape(-1), expected)


def test_frozen_inputs_get_no_gradient_work():
    h, weight, bias, target = make_problem(n=150, d=9, k=11)
    weight = weight.clone().requires_grad_()
    value = linear_loss(h, weight, bias, target, backend="chunked", chunk_bytes=2048)
    (grad_weight,) = torch.autograd.grad(value, [weight])
    _, expected_grads = reference(h, weight, bias, target, get_loss("ce"))
    assert_close(grad_weight, expected_grads[1])


# ---- the chunked backend -------------------------------------------------------------------


def test_block_plan_respects_the_budget_and_the_row_minimum():
    for n_rows, n_classes, budget in [
        (8192, 131072, 32 * 2**20),
        (252, 123, SMALL_BUDGET),
        (300, 10**6, 2**16),
        (5000, 7, 1),
        (100, 10**5, 2**20),
    ]:
        rows, cols = plan_blocks(n_rows, n_classes, 8, budget)
        assert rows >= min(MIN_ROWS, n_rows) and 1 <= cols <= n_classes
        assert rows * cols * 8 <= budget or rows == min(MIN_ROWS, n_rows) or cols == 1
    assert plan_blocks(100, 50, 4, 10**9) == (100, 50)


@pytest.mark.parametrize("statistics", [("lse", "target"), STATISTICS], ids=["p_y", "all"])
def test_chunked_statistics_gradcheck_float64(statistics):
    # 130 rows (2 row blocks: 128 + 2) and 9 classes in blocks of 3.
    g = torch.Generator().manual_seed(5)
    h = torch.randn(130, 4, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(9, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 9, (130,), generator=g)
    budget = 128 * 3 * 8
    assert plan_blocks(130, 9, 8, budget) == (128, 3)

    def stats(h, weight, bias):
        return chunked_statistics(h, weight, bias, target, statistics, 0.7, budget)

    assert torch.autograd.gradcheck(stats, (h, weight, bias), fast_mode=True)
    expected = logit_statistics(h @ weight.T + bias, target, statistics, 0.7)
    for i, name in enumerate(statistics):
        assert_close(stats(h, weight, bias)[i], expected[name])


@pytest.mark.parametrize(
    "name,params",
    [LOSS_CASES[1], LOSS_CASES[6], LOSS_CASES[8]],
    ids=[CASE_IDS[1], CASE_IDS[6], CASE_IDS[8]],
)
def test_chunked_loss_gradcheck_float64(name, params):
    loss = get_loss(name, **params)
    h, weight, bias, target = make_problem(n=130, d=3, k=7, seed=6, scale=0.5)
    leaves = [t.clone().requires_grad_() for t in (h, weight, bias)]

    def value(h, weight, bias):
        return linear_loss(
            h,
            weight,
            bias,
            target,
            loss=loss,
            backend="chunked",
            chunk_bytes=128 * 2 * 8,
            reduction="none",
        )

    assert torch.autograd.gradcheck(value, leaves, fast_mode=True)


class _LargestOutput(TorchDispatchMode):
    """Records the largest tensor any operation produces (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in torch.utils._pytree.tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self.largest = max(self.largest, tensor.numel())
        return out


def test_chunked_never_materialises_the_logits():
    n, d, k = 512, 16, 2000
    h, weight, bias, target = make_problem(n=n, d=d, k=k)
    leaves = [t.float().requires_grad_() for t in (h, weight, bias)]
    budget = 256 * 256 * 4
    tracker = _LargestOutput()
    with tracker:
        value = linear_loss(*leaves, target, loss="sce", backend="chunked", chunk_bytes=budget)
        value.backward()
    # The biggest tensors are one block of logits and the weight gradient.
    assert tracker.largest <= max(budget // 4, k * d)
    assert tracker.largest < n * k // 4
    naive = _LargestOutput()
    with naive:
        linear_loss(*leaves, target, loss="sce", backend="naive").backward()
    assert naive.largest >= n * k


def test_low_precision_is_as_accurate_as_naive_low_precision():
    # Cut Cross-Entropy's rule: |impl - fp32 reference| <= |naive bf16 - fp32 reference| + tol.
    h, weight, bias, target = make_problem(n=300, d=64, k=1000, scale=0.3)
    loss = get_loss("focal", gamma=2.0)
    ref_value, ref_grads = reference(h.float(), weight.float(), bias.float(), target, loss)
    low = [t.bfloat16() for t in (h, weight, bias)]
    leaves = [t.clone().requires_grad_() for t in low]
    naive_value = loss(leaves[0] @ leaves[1].T + leaves[2], target)
    naive_grads = torch.autograd.grad(naive_value, leaves)
    value, grads = fused(*low, target, loss, backend="chunked", chunk_bytes=128 * 128 * 4)
    assert value.dtype == torch.float32 and grads[1].dtype == torch.bfloat16
    assert abs(value.double() - ref_value) <= abs(naive_value.double() - ref_value) + 1e-3
    for got, naive_grad, want in zip(grads, naive_grads, ref_grads, strict=True):
        err = (got.double() - want).abs().max()
        naive_err = (naive_grad.double() - want).abs().max()
        assert err <= naive_err + 1e-4 * want.abs().max()


# ---- dispatch and errors ---------------------------------------------------------------------


def test_auto_dispatch_happens_before_autograd():
    h, weight, bias, target = make_problem(n=200, d=8, k=300)
    assert resolve_backend("auto", h, 300, chunk_bytes=10**9) == "naive"
    assert resolve_backend("auto", h, 300, chunk_bytes=1000) == "chunked"
    assert resolve_backend("chunked", h, 300) == "chunked"
    expected, expected_grads = reference(h, weight, bias, target, get_loss("mae"))
    for budget in (1000, 10**9):
        value, grads = fused(h, weight, bias, target, "mae", backend="auto", chunk_bytes=budget)
        assert_close(value, expected)
        for got, want in zip(grads, expected_grads, strict=True):
            assert_close(got, want)


def test_mlp_head_routes_through_linear_loss():
    # The estimator integration: features then the head's weight and bias.
    torch.manual_seed(0)
    net = MLP(n_features_in=6, n_outputs=40, hidden_layer_sizes=(16,))
    x = torch.randn(150, 6)
    y = torch.randint(0, 40, (150,))
    loss = get_loss("gce")
    expected = loss(net(x), y)
    value = linear_loss(
        net.features(x),
        net.head.weight,
        net.head.bias,
        y,
        loss=loss,
        backend="chunked",
        chunk_bytes=2048,
    )
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    value.backward()
    assert net.head.weight.grad is not None and net.features[0].weight.grad is not None


@pytest.mark.parametrize(
    "change,error,match",
    [
        ({"weight": torch.zeros(5, 3)}, ValueError, "features"),
        ({"bias": torch.zeros(4)}, ValueError, "bias"),
        ({"target": torch.zeros(10)}, ValueError, "integer"),
        ({"target": torch.zeros(9, dtype=torch.long)}, ValueError, "shape"),
        ({"target": torch.full((10,), 5)}, ValueError, "outside"),
        ({"backend": "cuda"}, ValueError, "backend"),
        ({"reduction": "avg"}, ValueError, "reduction"),
        ({"chunk_bytes": 0}, ValueError, "chunk_bytes"),
        ({"sample_weight": torch.ones(3)}, ValueError, "sample_weight"),
        ({"filter_eps": 1e-3, "backend": "chunked"}, ValueError, "filter_eps"),
        ({"loss": "nope"}, ValueError, "Unknown loss"),
        ({"weight": torch.zeros(5, 4, dtype=torch.float64)}, ValueError, "dtype"),
    ],
)
def test_errors_name_the_argument(change, error, match):
    g = torch.Generator().manual_seed(0)
    args = {
        "h": torch.randn(10, 4, generator=g),
        "weight": torch.randn(5, 4, generator=g),
        "bias": torch.zeros(5),
        "target": torch.randint(0, 5, (10,), generator=g),
    }
    args.update(change)
    with pytest.raises(error, match=match):
        linear_loss(**args)


def test_weights_mean_nothing_when_zero_everywhere_and_sum_still_works():
    h, weight, bias, target = make_problem(n=10, d=4, k=5)
    zeros = torch.zeros(10, dtype=torch.float64)
    for reduction in ("sum", "none"):
        value = linear_loss(
            h, weight, bias, target, loss="ce", reduction=reduction, sample_weight=zeros
        )
        assert torch.all(value == 0)
    with pytest.raises(ValueError, match="zero for every sample"):
        linear_loss(h, weight, bias, target, loss="ce", sample_weight=zeros)


# ---- the fused form is each loss's own; fused never names a loss class ----------------------


def test_fused_package_never_names_a_loss_class():
    import ast
    import pathlib

    import skloss.fused
    import skloss.losses

    classes = {
        name
        for name in skloss.losses.__all__
        if isinstance(getattr(skloss.losses, name), type)
        and issubclass(getattr(skloss.losses, name), Loss)
    }
    assert {"CrossEntropy", "Focal", "ProbabilityLoss"} <= classes
    for path in pathlib.Path(skloss.fused.__file__).parent.glob("*.py"):
        # Names in the code (imports, isinstance checks, attribute access), not in
        # docstrings, which may explain the losses they serve.
        used = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name)
        assert not used & classes, (path.name, used & classes)


def test_fused_form_wrapper_checks_what_a_loss_returns():
    class Wrong(Loss):
        def fused_form(self, n_classes):
            return ("lse", "target")

    with pytest.raises(TypeError, match="StatisticsForm"):
        fused_form(Wrong(), 3)
    assert not supports(Wrong(), 3)
    with pytest.raises(ValueError, match="n_classes"):
        fused_form("ce", 0)


# ---- choose_backend: the estimator's one call -----------------------------------------------


class _PlainModule(torch.nn.Module):
    """A network without ``features`` and ``head``."""

    def __init__(self, n_features_in=8, n_outputs=3000):
        super().__init__()
        self.lin = torch.nn.Linear(n_features_in, n_outputs)

    def forward(self, x):
        return self.lin(x)


class _NeedsIndex(ProbabilityLoss):
    requires = ("index",)

    def from_nll(self, nll):
        return nll


def test_choose_backend_small_logits_materialise():
    mlp = MLP(8, 10, (16,))
    for fused_param in ("auto", False):
        assert choose_backend("ce", mlp, batch_size=256, fused=fused_param, n_classes=10) is None


def test_choose_backend_large_logits_with_the_default_mlp():
    # 2000 rows x 3000 float32 logits = 24 MB > the 16 MiB budget.
    mlp = MLP(8, 3000, (16,))
    assert choose_backend("ce", mlp, batch_size=2000, fused="auto", n_classes=3000) == "auto"
    assert choose_backend("ce", mlp, batch_size=2000, fused=False, n_classes=3000) is None
    # the rule is DEFAULT_CHUNK_BYTES: just below it, no fusing
    rows = DEFAULT_CHUNK_BYTES // (4 * 3000)
    assert choose_backend("ce", mlp, batch_size=rows, fused="auto", n_classes=3000) is None
    assert choose_backend("ce", mlp, batch_size=rows + 1, fused="auto", n_classes=3000) == "auto"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU choice")
def test_choose_backend_fused_true_on_cpu_is_chunked():
    mlp = MLP(8, 10, (16,))
    assert choose_backend("gce", mlp, batch_size=32, fused=True, n_classes=10) == "chunked"


@pytest.mark.parametrize(
    "loss, module, match",
    [
        (_NeedsIndex(), MLP(8, 3000, (16,)), "requires context"),
        ("nce_rce", MLP(8, 3000, (16,)), "no fused form"),
        ("anyloss_f1", MLP(8, 3000, (16,)), "batch-level"),
        (torch.nn.CrossEntropyLoss(), MLP(8, 3000, (16,)), "no fused form"),
        ("ce", _PlainModule(), "features"),
    ],
    ids=["context", "nce_rce", "batch-level", "torch-loss", "no-head"],
)
def test_choose_backend_fused_true_says_why_it_cannot(loss, module, match):
    with pytest.raises(ValueError, match=rf"fused=True is not possible: .*{match}.*fused='auto'"):
        choose_backend(loss, module, batch_size=2000, fused=True, n_classes=3000)
    # "auto" silently keeps the plain path
    assert choose_backend(loss, module, batch_size=2000, fused="auto", n_classes=3000) is None


def test_choose_backend_two_class_one_logit_loss_is_not_fused():
    with pytest.raises(ValueError, match="1 outputs for 2 classes"):
        choose_backend(AnyLossOneLogit(), MLP(8, 1, (4,)), 64, True, 2)


class AnyLossOneLogit(ProbabilityLoss):
    def n_outputs(self, n_classes):
        return 1 if n_classes == 2 else n_classes

    def from_nll(self, nll):
        return nll


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fused": "yes"}, "fused must be"),
        ({"fused": 1}, "fused must be"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_classes": 2.5}, "n_classes"),
    ],
)
def test_choose_backend_checks_its_arguments(kwargs, match):
    args = {
        "loss": "ce",
        "module": MLP(8, 10, (4,)),
        "batch_size": 32,
        "fused": "auto",
        "n_classes": 10,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        choose_backend(**args)


def test_has_fused_head_probes_the_composition():
    assert has_fused_head(MLP(4, 3, (8,)))

    class Skewed(MLP):
        def forward(self, x):
            return super().forward(x) + 1.0

    assert not has_fused_head(Skewed(4, 3, (8,)))
    assert not has_fused_head(_PlainModule())


class _FailingFeatures(MLP):
    """An MLP whose ``features`` raise: declares a fused head, cannot run one."""

    def __init__(self):
        super().__init__(8, 3000, (16,))
        self.features.register_forward_pre_hook(self._refuse)

    @staticmethod
    def _refuse(module, inputs):
        raise RuntimeError("features expect images, not rows")


class _SequentialHead(MLP):
    """An MLP whose ``head`` is not an ``nn.Linear``."""

    def __init__(self):
        super().__init__(8, 3000, (16,))
        self.head = torch.nn.Sequential(self.head)


class _Skewed(MLP):
    """An MLP whose forward is not ``head(features(x))``."""

    def __init__(self):
        super().__init__(8, 3000, (16,))

    def forward(self, x):
        return super().forward(x) + 1.0


def test_fused_true_names_the_probe_error_and_chains_it():
    with pytest.raises(ValueError, match=r"fused=True is not possible") as caught:
        choose_backend("ce", _FailingFeatures(), batch_size=2000, fused=True, n_classes=3000)
    message = str(caught.value)
    assert "raised RuntimeError: features expect images, not rows" in message
    assert "shape (3, 8)" in message and "fused='auto'" in message
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert str(caught.value.__cause__) == "features expect images, not rows"


@pytest.mark.parametrize(
    "module, reason",
    [
        (_FailingFeatures(), r"raised RuntimeError: features expect images"),
        (_SequentialHead(), r"module.head is Sequential, not an nn.Linear"),
        (_Skewed(), r"module\(x\) differs from module.head\(module.features\(x\)\)"),
    ],
    ids=["probe-raises", "head-not-linear", "not-composed"],
)
def test_fused_auto_stays_unfused_and_says_why(module, reason):
    from skloss.fused import why_not_fused

    assert not has_fused_head(module)
    assert re.search(reason, why_not_fused("ce", module, n_classes=3000))
    with pytest.raises(ValueError, match=rf"fused=True is not possible: .*{reason}"):
        choose_backend("ce", module, batch_size=2000, fused=True, n_classes=3000)
    if isinstance(module.head, torch.nn.Linear):
        # The module declares a fused head (features + a linear head), so training
        # it unfused with large logits is a surprise worth a warning.
        warning = rf"fused='auto' trains without a fused head.*{reason}"
        with pytest.warns(UserWarning, match=warning):
            backend = choose_backend("ce", module, batch_size=2000, fused="auto", n_classes=3000)
    else:
        backend = choose_backend("ce", module, batch_size=2000, fused="auto", n_classes=3000)
    assert backend is None


@pytest.mark.parametrize(
    "loss, module",
    [("nce_rce", MLP(8, 3000, (16,))), ("ce", _PlainModule())],
    ids=["loss-without-form", "module-without-head"],
)
def test_fused_auto_is_quiet_where_unfused_is_the_documented_path(loss, module):
    # A loss without a fused form, or a module that never declared one, trains
    # unfused as documented: no warning, but the reason is there to be read.
    from skloss.fused import why_not_fused

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert choose_backend(loss, module, batch_size=2000, fused="auto", n_classes=3000) is None
    assert why_not_fused(loss, module, n_classes=3000) is not None


def test_why_not_fused_is_none_for_the_default_mlp():
    from skloss.fused import why_not_fused

    assert why_not_fused("gce", MLP(8, 3000, (16,)), n_classes=3000) is None


# ---- the Triton backend, interpreted on the CPU ---------------------------------------------


@pytest.fixture
def triton_backend():
    triton = pytest.importorskip("triton")
    module = importlib.import_module("skloss.fused._triton")
    if torch.cuda.is_available() and not module.INTERPRETED:
        return module
    if not module.INTERPRETED or not isinstance(triton.language.zeros, module.InterpretedFunction):
        pytest.skip("Triton was imported before TRITON_INTERPRET=1 was set in this process")
    return module


#: Where the Triton tests run: a GPU when there is one, else the interpreter's CPU.
TRITON_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def small_problem(dtype=torch.float32, seed=7):
    h, weight, bias, target = make_problem(n=40, d=24, k=37, seed=seed, scale=0.3)
    return [t.to(TRITON_DEVICE) for t in (h.to(dtype), weight.to(dtype), bias.to(dtype), target)]


@pytest.mark.parametrize("name,params", LOSS_CASES, ids=CASE_IDS)
def test_triton_matches_naive_float32(triton_backend, name, params):
    if name == "focal" and "alpha" in params:
        params = {**params, "alpha": params["alpha"][:37]}  # one weight per class here
    loss = get_loss(name, **params)
    h, weight, bias, target = small_problem()
    expected, expected_grads = reference(h, weight, bias, target, loss, "none")
    value, grads = fused(h, weight, bias, target, loss, backend="triton", reduction="none")
    assert_close(value, expected, rtol=2e-5, atol=2e-6)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want, rtol=2e-4, atol=2e-5)


def test_triton_weights_ignored_rows_and_no_bias(triton_backend):
    loss = get_loss("sce")
    h, weight, bias, target = small_problem(seed=8)
    target = target.clone()
    target[::5] = -100
    sample_weight = torch.linspace(0.1, 2.0, 40, device=TRITON_DEVICE)
    expected, expected_grads = reference(
        h, weight, bias, target, loss, "mean", sample_weight, ignore_index=-100
    )
    value, grads = fused(
        h,
        weight,
        bias,
        target,
        loss,
        backend="triton",
        sample_weight=sample_weight,
        ignore_index=-100,
    )
    assert_close(value, expected, rtol=2e-5, atol=2e-6)
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want, rtol=2e-4, atol=2e-5)
    value = linear_loss(h, weight, None, target.clamp_min(0), backend="triton")
    assert_close(
        value,
        get_loss("ce")(h.double() @ weight.double().T, target.clamp_min(0)),
        rtol=2e-5,
        atol=2e-6,
    )


@pytest.mark.parametrize("splits", [1, 3])
def test_triton_all_statistics_and_class_splits(triton_backend, splits):
    h, weight, bias, target = small_problem(seed=9)
    leaves = [t.clone().requires_grad_() for t in (h, weight, bias)]
    stats = triton_backend.triton_statistics(*leaves, target, STATISTICS, 0.7, splits=splits)
    ref_leaves = [t.double().requires_grad_() for t in (h, weight, bias)]
    expected = logit_statistics(
        ref_leaves[0] @ ref_leaves[1].T + ref_leaves[2], target, STATISTICS, 0.7
    )
    expected = torch.stack([expected[name] for name in STATISTICS])
    assert_close(stats, expected, rtol=1e-5, atol=1e-5)
    coef = torch.randn(len(STATISTICS), 40, generator=torch.Generator().manual_seed(0)).to(h)
    grads = torch.autograd.grad(stats, leaves, coef)
    expected_grads = torch.autograd.grad(expected, ref_leaves, coef.double())
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "chunk_bytes,chunks",
    [
        (40 * 16 * 4, "three column chunks, all rows"),
        (16 * 16 * 4, "row chunks of 16 and column chunks"),
    ],
)
def test_triton_backward_in_chunks(triton_backend, monkeypatch, chunk_bytes, chunks):
    # The backward writes dL/dz one chunk at a time and multiplies chunk by chunk;
    # several chunks (over classes, and over rows too when a column does not fit)
    # must give the gradients of the whole, for every statistic at once.
    monkeypatch.setattr(triton_backend, "MIN_CHUNK_COLS", 16)
    rows, cols = triton_backend.plan_gradient_chunks(40, 37, 4, chunk_bytes, 16)
    assert (rows, cols) == ((40, 16) if chunks.startswith("three") else (16, 16))
    h, weight, bias, target = small_problem(seed=11)
    leaves = [t.clone().requires_grad_() for t in (h, weight, bias)]
    stats = triton_backend.triton_statistics(
        *leaves, target, STATISTICS, 0.7, chunk_bytes=chunk_bytes
    )
    ref_leaves = [t.double().requires_grad_() for t in (h, weight, bias)]
    expected = logit_statistics(
        ref_leaves[0] @ ref_leaves[1].T + ref_leaves[2], target, STATISTICS, 0.7
    )
    expected = torch.stack([expected[name] for name in STATISTICS])
    coef = torch.randn(len(STATISTICS), 40, generator=torch.Generator().manual_seed(1)).to(h)
    grads = torch.autograd.grad(stats, leaves, coef)
    expected_grads = torch.autograd.grad(expected, ref_leaves, coef.double())
    for got, want in zip(grads, expected_grads, strict=True):
        assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_gradient_chunk_plan():
    pytest.importorskip("triton")
    plan = importlib.import_module("skloss.fused._triton").plan_gradient_chunks
    # Whole columns when 1024 classes of every row fit: 256 MiB of bf16 at N = 8192
    # is 16384 classes, the weight gradient of each chunk is then final.
    assert plan(8192, 256000, 2, 256 * 2**20, 64) == (8192, 16384)
    assert plan(8192, 1000, 2, 256 * 2**20, 64) == (8192, 1000)
    # Too many rows for 1024 columns: rows in multiples of the row block.
    assert plan(2**20, 256000, 2, 256 * 2**20, 64) == (131072, 1024)
    assert plan(1000, 5000, 4, 1, 64) == (64, 1024)


def test_triton_float16_is_as_accurate_as_naive_float16(triton_backend):
    loss = get_loss("gce")
    h, weight, bias, target = small_problem()
    ref_value, ref_grads = reference(h, weight, bias, target, loss)
    low = [t.half() for t in (h, weight, bias)]
    leaves = [t.clone().requires_grad_() for t in low]
    naive_value = loss((leaves[0] @ leaves[1].T + leaves[2]).float(), target)
    naive_grads = torch.autograd.grad(naive_value, leaves)
    value, grads = fused(*low, target, loss, backend="triton")
    assert abs(value.double() - ref_value) <= abs(naive_value.double() - ref_value) + 1e-4
    for got, naive_grad, want in zip(grads, naive_grads, ref_grads, strict=True):
        err = (got.double() - want).abs().max()
        assert err <= (naive_grad.double() - want).abs().max() + 1e-3 * want.abs().max()


def test_triton_gradient_filter(triton_backend):
    h, weight, bias, target = small_problem(seed=10)
    exact, exact_grads = fused(h, weight, bias, target, "ce", backend="triton")
    # "auto" (float32 eps / 32) drops nothing measurable
    value, grads = fused(h, weight, bias, target, "ce", backend="triton", filter_eps="auto")
    assert_close(value, exact, rtol=0, atol=0)
    for got, want in zip(grads, exact_grads, strict=True):
        assert_close(got, want, rtol=1e-6, atol=1e-7)
    # |softmax - onehot| <= 1 everywhere, so a threshold above 1 skips every tile.
    _, grads = fused(h, weight, bias, target, "ce", backend="triton", filter_eps=1.5)
    assert all(torch.all(g == 0) for g in grads)
    with pytest.raises(ValueError, match="filter_eps"):
        linear_loss(
            h,
            weight,
            bias,
            target,
            loss=get_loss("ce", label_smoothing=0.1),
            backend="triton",
            filter_eps="auto",
        )


def test_triton_refuses_unsupported_dtypes(triton_backend):
    h, weight, bias, target = small_problem(dtype=torch.float64)
    with pytest.raises(ValueError, match="chunked"):
        linear_loss(h, weight, bias, target, backend="triton")


def test_triton_is_imported_lazily():
    # Importing skloss.fused must not need Triton (an optional dependency).
    code = "import sys, skloss.fused; assert 'triton' not in sys.modules"
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
