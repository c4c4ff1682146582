"""Torch losses plug in (``skloss.losses.torch_loss.TorchLoss``): a torch loss class,
module or per-sample function becomes a loss with per-sample values, sample weights,
clone, pickle, and trains an estimator like the equivalent skloss loss.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skloss.losses import GCE, CrossEntropy, TorchLoss, get_loss

from ._reference import np_ce, np_smoothed_ce

pytestmark = pytest.mark.usefixtures("single_torch_thread")


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
