"""The leaner training step computes exactly what the plain one does, and steps aside for hooks."""

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from skloss._training.optim import step_function
from skloss.modules import MLP


def _adam_pair():
    torch.manual_seed(0)
    first = torch.nn.Linear(4, 3)
    second = torch.nn.Linear(4, 3)
    second.load_state_dict(first.state_dict())
    return (
        (first, torch.optim.Adam(first.parameters(), lr=0.1, fused=True)),
        (second, torch.optim.Adam(second.parameters(), lr=0.1, fused=True)),
    )


def test_the_direct_step_equals_torchs_step():
    (a, opt_a), (b, opt_b) = _adam_pair()
    x = torch.randn(8, 4)
    for _ in range(3):
        for module, step in ((a, opt_a.step), (b, step_function(opt_b))):
            for p in module.parameters():
                p.grad = None
            module(x).square().sum().backward()
            step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_hooks_and_schedulers_keep_torchs_step():
    (_, optimizer), _ = _adam_pair()
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
