"""Numerical properties every registered loss must have, over the whole registry.

Parametrised over ``skloss.losses.LOSSES`` (presets included), so that a newly
registered loss is covered without editing this file. Binary-only losses run
with two classes (one logit where they score two classes with one); every other
loss runs with three classes and with two.

A long fit wanders far from the logits of its first epochs: a common shift of
every logit (a bias that drifts), or logits a thousand times larger (a network
that grew confident). Every loss must give finite values and finite gradients
there, in float32 and float64. The one exception is a loss whose true value
exceeds the float range (the sum-exponential loss, exponential in the margin):
there ``inf`` is the correct answer, and it must be ``inf`` exactly where the
value, computed in log space with numpy, exceeds the largest float.
"""

import math

import numpy as np
import pytest
import torch

from skloss.losses import LOSSES

pytestmark = pytest.mark.usefixtures("single_torch_thread")

#: Registered losses that grow like ``exp(margin)``: their value at a large margin is
#: beyond any float, and the property below is checked against that.
EXPONENTIAL_IN_THE_MARGIN = {"sum_exp"}

#: How the logits of a long fit are moved away from ordinary ones.
TRANSFORMS = {
    "shift+200": lambda z: z + 200.0,
    "shift-200": lambda z: z - 200.0,
    "scale1e3": lambda z: z * 1e3,
}


def _cases():
    cases = []
    for name in sorted(LOSSES):
        n_classes_options = (2,) if LOSSES[name].binary_only else (3, 2)
        for n_classes in n_classes_options:
            cases.append(pytest.param(name, n_classes, id=f"{name}-{n_classes}classes"))
    return cases


def _context(loss, n_rows):
    context = {}
    for requirement in loss.requires:
        if requirement == "index":
            context.update(index=torch.arange(n_rows), n_samples=n_rows)
        elif requirement == "epoch":
            context["epoch"] = 0
        elif requirement == "generator":
            context["generator"] = torch.Generator().manual_seed(0)
        else:  # pragma: no cover - no registered loss needs a model yet
            raise AssertionError(f"no test context for requirement {requirement!r}")
    return context


def _ordinary_logits(loss, n_classes, dtype):
    """Twelve rows of N(0, 3^2) logits, every class labelled (pairwise losses need that)."""
    generator = torch.Generator().manual_seed(0)
    n_rows = 12
    logits = 3.0 * torch.randn(n_rows, loss.n_outputs(n_classes), generator=generator)
    return logits.to(dtype), torch.arange(n_rows) % n_classes


def _values(loss, logits, target):
    """Per-sample values, or the batch value of a batch-level loss."""
    context = _context(loss, logits.shape[0])
    if loss.batch_level:
        return loss(logits, target, **context).reshape(1)
    return loss(logits, target, reduction="none", **context)


def _log_sum_exp_margin(logits, target):
    """``log(sum_{k != y} exp(z_k - z_y))`` in float64, the log of the sum-exp loss."""
    z = logits.detach().double().numpy()
    rows = np.arange(len(target))
    margins = z - z[rows, target.numpy()][:, None]
    margins[rows, target.numpy()] = -np.inf
    return np.logaddexp.reduce(margins, axis=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("name, n_classes", _cases())
def test_far_logits_give_finite_values_and_gradients(name, n_classes, transform, dtype):
    loss = LOSSES[name]()
    base, target = _ordinary_logits(loss, n_classes, dtype)
    logits = TRANSFORMS[transform](base).requires_grad_(True)
    values = _values(loss, logits, target)
    if name in EXPONENTIAL_IN_THE_MARGIN:
        log_value = _log_sum_exp_margin(logits, target)
        beyond_range = log_value > math.log(torch.finfo(dtype).max)
        detached = values.detach().numpy()
        np.testing.assert_array_equal(np.isposinf(detached), beyond_range)
        assert np.isfinite(detached[~beyond_range]).all(), detached
        if beyond_range.any():
            return  # an infinite value has no finite gradient to check
    assert torch.isfinite(values).all(), values
    (gradient,) = torch.autograd.grad(values.sum(), logits)
    assert torch.isfinite(gradient).all(), gradient


def test_the_far_logits_are_far():
    # The transforms must reach the regimes the test is about: every logit of a row
    # below -100 (where float32 softplus underflows) and margins beyond float32 exp's range.
    loss = LOSSES["ce"]()
    base, _ = _ordinary_logits(loss, 3, torch.float32)
    assert (TRANSFORMS["shift-200"](base).max(dim=1).values < -100).all()
    assert (TRANSFORMS["shift+200"](base).min(dim=1).values > 100).all()
    spread = TRANSFORMS["scale1e3"](base)
    assert (spread.max(dim=1).values - spread.min(dim=1).values > 100).all()

