"""Tests of the truncated GCE (``skloss.losses.tgce``): reference values, formula,
pruning between refreshes, and fits that can or cannot start.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning

from skloss import RobustLossClassifier
from skloss.exceptions import NoGradientWarning
from skloss.losses import TGCE

pytestmark = pytest.mark.usefixtures("single_torch_thread")

Z = [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
Y = [0, 2]


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_tgce(z, y, q, k):
    p_y = np_softmax(z)[np.arange(len(y)), y]
    return np.minimum((1.0 - p_y**q) / q, (1.0 - k**q) / q)


@pytest.mark.parametrize(
    "loss, expected",
    [
        (TGCE(prune_start=None), [0.354614, 0.549183]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_values(loss, expected, dtype):
    values = loss(torch.tensor(Z, dtype=dtype), torch.tensor(Y), reduction="none")
    np.testing.assert_allclose(values.double().numpy(), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "loss, formula",
    [
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


def fit_quietly(clf, *args, partial=False, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.partial_fit(*args, **kwargs) if partial else clf.fit(*args, **kwargs)


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


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (TGCE(k=1.0), "k"),
        (TGCE(q=0.0), "q"),
        (TGCE(prune_start=-1), "prune_start"),
        (TGCE(prune_every=0), "prune_every"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
