"""Tests of the pairwise AUC loss (``skloss.losses.auc.MWAUC``): reference values,
its pairs bounded with the generator, and an estimator trained on batches holding
both classes.

Reference values are those of issue 13 (``z = [2, 1, 0]``, labels 0 then 2); the
numpy formulas are written from the papers' definitions, independently of the code.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_classification

from skloss import RobustLossClassifier
from skloss.losses import MWAUC

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.mark.parametrize("tau, expected", [(1.0, 0.356391), (0.5, 0.303777)])
def test_mw_auc_reference_values(tau, expected):
    scores = torch.tensor([[2.0], [0.5], [1.0], [-1.0], [0.0]], dtype=torch.float64)
    target = torch.tensor([1, 1, 0, 0, 0])
    value = MWAUC(tau=tau)(scores, target, generator=torch.Generator())
    assert value.item() == pytest.approx(expected, abs=1e-6)
    # Two logits per sample are read as the score z_1 - z_0.
    two = torch.cat([torch.zeros_like(scores), scores], dim=1)
    assert MWAUC(tau=tau).batch_loss(two, target).item() == pytest.approx(expected, abs=1e-6)


def fit_quietly(clf, *args, partial=False, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.partial_fit(*args, **kwargs) if partial else clf.fit(*args, **kwargs)


# ---- the pairwise AUC loss in an estimator -------------------------------------------


class RecordingAUC(MWAUC):
    """MWAUC that records the classes of every training batch it sees."""

    def batch_loss(self, logits, target, sample_weight=None, generator=None, **context):
        self.seen = getattr(self, "seen", []) + [torch.unique(target).tolist()]
        return super().batch_loss(logits, target, sample_weight, generator, **context)


def test_mw_auc_trains_on_batches_holding_both_classes():
    X, y = make_classification(n_samples=400, weights=[0.97], random_state=0)
    assert 0 < y.sum() < 20  # fewer positives than batches
    clf = RobustLossClassifier(
        loss=RecordingAUC(), hidden_layer_sizes=(8,), batch_size=32, max_iter=2, random_state=0
    )
    fit_quietly(clf, X, y)
    assert clf.net_.module_(torch.zeros(1, 20)).shape == (1, 1)  # one score per sample
    seen = clf.loss_function_.seen
    assert len(seen) >= 2 * (400 // 32) and all(classes == [0, 1] for classes in seen)
    scores = clf.decision_function(X)
    assert scores.shape == (400,)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6)


def test_mw_auc_bounds_its_pairs_with_the_generator():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(200, 1, generator=generator, dtype=torch.float64)
    target = (torch.arange(200) % 2).long()
    full = MWAUC(max_pairs=10**6).batch_loss(scores, target)
    sampled = MWAUC(max_pairs=4000)
    first = sampled.batch_loss(scores, target, generator=torch.Generator().manual_seed(1))
    again = sampled.batch_loss(scores, target, generator=torch.Generator().manual_seed(1))
    assert first.item() == again.item()
    # 4,000 of the 10,000 pairs: within a few standard errors of the full mean.
    assert abs(first.item() - full.item()) < 0.05
    with pytest.raises(ValueError, match="max_pairs"):
        sampled.batch_loss(scores, target)


def test_mw_auc_is_binary_only():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="two classes only"):
        RobustLossClassifier(loss="mw_auc", max_iter=1).fit(X, y)


# ---- hyperparameter validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss, culprit",
    [
        (MWAUC(tau=0.0), "tau"),
        (MWAUC(max_pairs=0), "max_pairs"),
    ],
    ids=repr,
)
def test_validate_names_the_bad_parameter(loss, culprit):
    with pytest.raises(ValueError, match=f"'{culprit}'"):
        loss.validate()
