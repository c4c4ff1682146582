"""The leaner training step computes exactly what the plain one does, and steps aside for hooks."""

import copy

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from skloss._training.optim import FusedAdamStep, step_function
from skloss.modules import MLP


def _pair(optimizer_class, **kwargs):
    """Two equal MLPs, each with its own optimiser of ``optimizer_class(**kwargs)``."""
    torch.manual_seed(0)
    first = MLP(5, 3, (8, 4))
    second = MLP(5, 3, (8, 4))
    second.load_state_dict(first.state_dict())
    return (
        (first, optimizer_class(first.parameters(), **kwargs)),
        (second, optimizer_class(second.parameters(), **kwargs)),
    )


def test_the_unwrapped_step_equals_torchs_step():
    # An optimiser FusedAdamStep does not take: the step without torch's wrapper.
    (a, opt_a), (b, opt_b) = _pair(torch.optim.SGD, lr=0.1, momentum=0.9)
    assert not isinstance(step_function(opt_b), FusedAdamStep)
    x = torch.randn(8, 5)
    for _ in range(3):
        for module, step in ((a, opt_a.step), (b, step_function(opt_b))):
            for p in module.parameters():
                p.grad = None
            module(x).square().sum().backward()
            step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_hooks_and_schedulers_keep_torchs_step():
    (_, optimizer), _ = _pair(torch.optim.Adam, lr=0.1, fused=True)
    assert step_function(optimizer) != optimizer.step  # nothing hooked: the direct call
    handle = optimizer.register_step_post_hook(lambda opt, args, kwargs: None)
    assert step_function(optimizer) == optimizer.step
    handle.remove()
    handle = register_optimizer_step_pre_hook(lambda *a: None)
    assert step_function(optimizer) == optimizer.step
    handle.remove()
    # torch's schedulers replace the optimiser's step to check the call order.
    torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    assert step_function(optimizer) == optimizer.step


def test_mlp_forward_equals_its_parts_and_calls_hooks():
    torch.manual_seed(0)
    mlp = MLP(5, 3, (8, 4))
    x = torch.randn(6, 5)
    assert torch.equal(mlp(x), mlp.head(mlp.features(x)))
    seen = []
    handle = mlp.features.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    mlp(x)
    handle.remove()
    assert seen == [torch.Size([6, 4])]  # a hook on the hidden layers still runs


# ---- the direct fused Adam step: torch's own optimiser is the reference ------------------


def _train(pairs, n_steps, between=None, skip_grad=None):
    torch.manual_seed(1)
    batches = [torch.randn(16, 5) for _ in range(n_steps)]
    for k, x in enumerate(batches):
        for module, step in pairs:
            for p in module.parameters():
                p.grad = None
            module(x).square().mean().backward()
            if skip_grad is not None and k == skip_grad:
                module.head.bias.grad = None  # Adam skips a parameter without gradient
            step()
        if between is not None:
            between(k)


def _assert_same(a, opt_a, b, opt_b):
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    state_a, state_b = opt_a.state_dict(), opt_b.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    for key, value in state_a["state"].items():
        for name, tensor in value.items():
            assert torch.equal(tensor, state_b["state"][key][name]), (key, name)


@pytest.mark.parametrize(
    "optimizer_class, kwargs",
    [
        (torch.optim.Adam, {"lr": 0.05}),
        (torch.optim.Adam, {"lr": 0.05, "weight_decay": 0.01, "betas": (0.8, 0.99)}),
        (torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    ],
)
def test_fused_adam_step_equals_torchs_adam(optimizer_class, kwargs):
    (a, opt_a), (b, opt_b) = _pair(optimizer_class, fused=True, **kwargs)
    direct = step_function(opt_b)
    assert isinstance(direct, FusedAdamStep)
    _train([(a, opt_a.step), (b, direct)], 6)
    _assert_same(a, opt_a, b, opt_b)


def test_fused_adam_step_follows_the_groups_current_settings():
    # A learning rate or weight decay changed between steps (as set_weight_decay and
    # skorch's LR callbacks do) applies from the next step, as with torch's step.
    (a, opt_a), (b, opt_b) = _pair(torch.optim.Adam, lr=0.05, fused=True)
    direct = step_function(opt_b)

    def change(k):
        for optimizer in (opt_a, opt_b):
            optimizer.param_groups[0]["lr"] = 0.05 / (k + 2)
            optimizer.param_groups[0]["weight_decay"] = 0.01 * k

    _train([(a, opt_a.step), (b, direct)], 5, between=change)
    _assert_same(a, opt_a, b, opt_b)


def test_fused_adam_step_with_a_missing_gradient_and_a_reloaded_state():
    (a, opt_a), (b, opt_b) = _pair(torch.optim.Adam, lr=0.05, fused=True)
    direct = step_function(opt_b)
    _train([(a, opt_a.step), (b, direct)], 4, skip_grad=2)
    _assert_same(a, opt_a, b, opt_b)
    # load_state_dict replaces the state tensors the direct step had collected.
    saved = opt_a.state_dict()
    opt_a.load_state_dict(copy.deepcopy(saved))  # each its own tensors
    opt_b.load_state_dict(copy.deepcopy(saved))
    _train([(a, opt_a.step), (b, direct)], 3)
    _assert_same(a, opt_a, b, opt_b)


def test_fused_adam_step_only_where_it_reproduces_torch():
    params = list(MLP(5, 3, (4,)).parameters())
    assert FusedAdamStep.applies(torch.optim.Adam(params, fused=True))
    assert not FusedAdamStep.applies(torch.optim.Adam(params, foreach=True))
    assert not FusedAdamStep.applies(torch.optim.Adam(params, fused=True, amsgrad=True))
    assert not FusedAdamStep.applies(torch.optim.Adam(params, fused=True, maximize=True))
    assert not FusedAdamStep.applies(torch.optim.SGD(params, lr=0.1))
    assert not FusedAdamStep.applies(torch.optim.Adam(params, fused=True, lr=torch.tensor(0.1)))
    mixed = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2).double())]
    assert not FusedAdamStep.applies(torch.optim.Adam(mixed, fused=True))
    # A torch whose groups do not say whether the decay is decoupled (AdamW apart).
    older = torch.optim.AdamW(params, fused=True)
    del older.param_groups[0]["decoupled_weight_decay"]
    assert not FusedAdamStep.applies(older)


# ---- the MLP's written-out backward pass: autograd is the reference -----------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("hidden", [(), (7,), (8, 5)])
def test_written_out_backward_equals_autograd(activation, hidden):
    from skloss._training.mlp_step import LeanStep, lean_layers

    torch.manual_seed(0)
    reference = MLP(6, 4, hidden, activation=activation)
    lean = MLP(6, 4, hidden, activation=activation)
    lean.load_state_dict(reference.state_dict())
    x = torch.randn(33, 6)
    target = torch.randint(0, 4, (33,))

    def loss_of(outputs):
        return torch.nn.functional.cross_entropy(outputs, target)

    loss_of(reference(x)).backward()
    outputs, loss = LeanStep(lean_layers(lean))(x, loss_of)
    assert torch.equal(outputs.detach(), reference(x).detach())
    for (name, p), q in zip(reference.named_parameters(), lean.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad), name


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_written_out_backward_takes_a_closed_form_loss_gradient(activation):
    from skloss._training.mlp_step import LeanStep, lean_layers

    torch.manual_seed(0)
    reference = MLP(6, 4, (8, 5), activation=activation)
    lean = MLP(6, 4, (8, 5), activation=activation)
    lean.load_state_dict(reference.state_dict())
    x = torch.randn(33, 6)
    target = torch.randint(0, 4, (33,))
    loss = torch.nn.functional.cross_entropy(reference(x), target)
    loss.backward()

    def closed(outputs):  # softmax minus one-hot, over the batch: by hand
        grad = torch.softmax(outputs, dim=1)
        grad[torch.arange(33), target] -= 1.0
        return torch.tensor(1.5), grad / 33

    def not_called(outputs):
        raise AssertionError("autograd ran despite a closed form")

    outputs, value = LeanStep(lean_layers(lean))(x, not_called, closed)
    assert value.item() == 1.5  # the closed form's loss, as given
    assert not outputs.requires_grad
    for (name, p), q in zip(reference.named_parameters(), lean.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-7, msg=name)
    # A loss without a closed form (None) goes through autograd, exactly.
    for p in lean.parameters():
        p.grad = None
    LeanStep(lean_layers(lean))(
        x, lambda out: torch.nn.functional.cross_entropy(out, target), lambda outputs: None
    )
    for p, q in zip(reference.parameters(), lean.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)


def test_written_out_backward_only_for_networks_it_reproduces():
    from skloss._training.mlp_step import lean_layers

    assert lean_layers(MLP(3, 2, (4,))) is not None
    assert lean_layers(MLP(3, 2, (4,), activation="gelu")) is None
    assert lean_layers(MLP(3, 2, (4,), batch_norm=True)) is None
    assert lean_layers(torch.nn.Sequential(torch.nn.Linear(3, 2))) is None
    hooked = MLP(3, 2, (4,))
    handle = hooked.head.register_forward_hook(lambda *args: None)
    assert lean_layers(hooked) is None
    handle.remove()
    assert lean_layers(hooked) is not None
    handle = torch.nn.modules.module.register_module_forward_pre_hook(lambda *args: None)
    assert lean_layers(hooked) is None  # a global hook
    handle.remove()
    handle = hooked.features[0].register_full_backward_hook(lambda *args: None)
    assert lean_layers(hooked) is None
    handle.remove()
    hooked.head.weight.register_hook(lambda grad: grad)
    assert lean_layers(hooked) is None
    frozen = MLP(3, 2, (4,))
    frozen.features[0].weight.requires_grad_(False)
    assert lean_layers(frozen) is None


def _fits_with_and_without_the_lean_step(loss, monkeypatch, sample_weight=False):
    import skloss._training.net as net_module
    from skloss import RobustLossClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(300, 5).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    weight = rng.uniform(0.2, 3.0, size=300) if sample_weight else None

    def fit():
        return RobustLossClassifier(
            loss=loss, hidden_layer_sizes=(16, 8), max_iter=4, batch_size=64, random_state=0
        ).fit(X, y, sample_weight=weight)

    lean = fit()
    assert lean.net_._lean_step is not None
    with monkeypatch.context() as patch:
        patch.setattr(net_module, "lean_layers", lambda module: None)
        plain = fit()
    assert plain.net_._lean_step is None
    return lean, plain


def _assert_identical_fits(lean, plain):
    assert lean.loss_curve_ == plain.loss_curve_
    for p, q in zip(lean.net_.module_.parameters(), plain.net_.module_.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["dco", "nce_rce"])
def test_fits_with_and_without_the_written_out_backward_are_identical(loss, monkeypatch):
    # Losses without a closed-form gradient: autograd differentiates the loss alone.
    lean, plain = _fits_with_and_without_the_lean_step(loss, monkeypatch)
    _assert_identical_fits(lean, plain)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("sample_weight", [False, True])
@pytest.mark.parametrize("loss", ["ce", "gce", "sce", "focal"])
def test_fits_through_a_closed_form_loss_gradient(loss, sample_weight, monkeypatch):
    from skloss.losses import get_loss

    # Closed form against autograd: the same fit up to rounding.
    cls = type(get_loss(loss))
    calls = []
    closed = cls.batch_loss_and_gradient

    def counted(self, *args, **kwargs):
        calls.append(1)
        return closed(self, *args, **kwargs)

    monkeypatch.setattr(cls, "batch_loss_and_gradient", counted)
    lean, plain = _fits_with_and_without_the_lean_step(loss, monkeypatch, sample_weight)
    assert len(calls) == 4 * 5  # 4 epochs of 5 batches, every one in closed form
    np.testing.assert_allclose(lean.loss_curve_, plain.loss_curve_, rtol=1e-5)
    for p, q in zip(lean.net_.module_.parameters(), plain.net_.module_.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    # Without the closed form, the written-out backward is autograd's, bit for bit.
    monkeypatch.setattr(cls, "batch_loss_and_gradient", lambda self, *a, **k: None)
    lean, plain = _fits_with_and_without_the_lean_step(loss, monkeypatch, sample_weight)
    _assert_identical_fits(lean, plain)
