"""The protocol every loss shares (``skloss.losses._base``): parameters and clone,
``from_nll``, the fused form a loss declares, the context it requires, one-logit
binary losses and search spaces.

The same protocol checked over every registered loss is in
tests/losses/test_properties.py.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skloss.losses import (
    ALDRKL,
    DCO,
    GCE,
    KNOWN_REQUIREMENTS,
    LDRKL,
    LOSSES,
    MWAUC,
    SCE,
    TGCE,
    CompSum,
    CrossEntropy,
    Dice,
    Focal,
    Loss,
    ZLoss,
    list_losses,
)
from skloss.losses.metric import AnyLoss

from ._reference import _LOG_1E4, np_focal, np_smoothed_ce

# The classification losses; regression losses have their own properties
# (tests/losses/test_regression.py).
REGISTERED = list_losses(kind="classification")

pytestmark = pytest.mark.usefixtures("single_torch_thread")


# ---- parameters, from_nll ----------------------------------------------------------------


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


def test_from_nll_refuses_what_is_not_a_function_of_p_y():
    nll = torch.tensor([0.5])
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropy(label_smoothing=0.1).from_nll(nll)
    with pytest.raises(ValueError, match="alpha"):
        Focal(alpha=[0.5, 0.5]).from_nll(nll)


# ---- fused_form, requirements, one-logit binary losses ----------------------------------


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


def test_one_logit_binary_loss_accepts_both_classes():
    value = AnyLoss()(torch.tensor([[3.0], [-3.0]]), torch.tensor([1, 0]))
    assert 0.0 <= value.item() < 0.01


# ---- search spaces ---------------------------------------------------------------------


def test_search_spaces_name_real_parameters():
    for loss in (LDRKL(), ALDRKL(), TGCE(), Dice(), ZLoss(), DCO(), MWAUC()):
        space = loss.search_space
        assert space and set(space) <= set(loss.get_params())
        for spec in space.values():
            assert spec[0] in {"float", "int", "categorical"}


def test_supervision_beyond_y_names_what_fit_must_be_given():
    from skloss.losses import LOSSES

    assert LOSSES["ce"]().supervision_beyond_y == ()
    assert LOSSES["adv_comp_sum"]().supervision_beyond_y == ()  # the model is no supervision
    assert LOSSES["kd"]().supervision_beyond_y == ("teacher_scores",)
    assert LOSSES["pld"]().supervision_beyond_y == ("teacher_scores",)
    assert LOSSES["bag_squared_error"]().supervision_beyond_y == ("bags",)
    assert LOSSES["bag_bce"]().supervision_beyond_y == ("bags",)
