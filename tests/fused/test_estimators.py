import numpy as np
import pytest
import torch
from sklearn.base import clone

from skloss import RobustLossClassifier

# Short fits on purpose: not converging is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def data(n_classes=300, n=1500, d=8, seed=0):
    rng = np.random.RandomState(seed)
    protos = rng.randn(n_classes, d)
    y = rng.randint(0, n_classes, n)
    return protos[y] + 0.3 * rng.randn(n, d), y


@pytest.mark.parametrize("loss", ["ce", "gce", "focal"])
def test_fused_fit_matches_unfused(loss):
    X, y = data()
    kw = dict(loss=loss, hidden_layer_sizes=(16,), max_iter=3, batch_size=256, random_state=0)
    a = RobustLossClassifier(fused=False, **kw).fit(X, y)
    b = RobustLossClassifier(fused=True, **kw).fit(X, y)
    assert b.net_.criterion_.fused_backend == "chunked"
    assert a.net_.criterion_.fused_backend is None
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(a.predict_proba(X[:20]), b.predict_proba(X[:20]), atol=1e-4)


def test_auto_uses_fused_only_for_large_logits():
    X, y = data(n_classes=300)
    small = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=1, batch_size=64).fit(X, y)
    assert small.net_.criterion_.fused_backend is None
    X, y = data(n_classes=2000, n=4000)
    big = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=1, batch_size=4000).fit(X, y)
    assert big.net_.criterion_.fused_backend == "auto"


def test_fused_true_errors_when_impossible():
    X, y = data(n_classes=5, n=100)
    with pytest.raises(ValueError, match="fused=True"):
        RobustLossClassifier(loss="nce_rce", fused=True, max_iter=1).fit(X, y)

    class Plain(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            self.lin = torch.nn.Linear(n_features_in, n_outputs)

        def forward(self, x):
            return self.lin(x)

    with pytest.raises(ValueError, match="features"):
        RobustLossClassifier(module=Plain, fused=True, max_iter=1).fit(X, y)
    # "auto" silently keeps the plain path
    RobustLossClassifier(module=Plain, max_iter=1).fit(X, y)


def test_fused_sample_weight_and_clone():
    X, y = data(n_classes=50, n=400)
    w = np.linspace(0.1, 2, len(y))
    kw = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    a = RobustLossClassifier(fused=False, **kw).fit(X, y, sample_weight=w)
    b = clone(RobustLossClassifier(fused=True, **kw)).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-4)
