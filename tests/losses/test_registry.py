"""The registry of losses: ``LOSSES``, presets, ``get_loss`` and ``list_losses``."""

import pytest
from sklearn.base import clone

from skloss.losses import GCE, LOSSES, Loss, Preset, get_loss, list_losses
from skloss.losses.metric import AnyLoss

# The classification losses; regression losses have their own properties
# (tests/losses/test_regression.py).
REGISTERED = list_losses(kind="classification")

pytestmark = pytest.mark.usefixtures("single_torch_thread")


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
