"""Mixed precision: bfloat16 autocast for the forward pass, float32 everywhere else.

This project's CI CPU has no native bfloat16 (AVX2 only), so the fast path is
forced here by declaring the hardware capable (``fast_bf16``); what is checked is
what runs, not how fast (timings belong to benchmarks/fit_speed.py).
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import skloss._training.precision as precision
from skloss import RobustLossClassifier, RobustLossRegressor
from skloss.exceptions import PrecisionWarning
from skloss.losses import CrossEntropy

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture
def capable(monkeypatch):
    monkeypatch.setattr(precision, "fast_bf16", lambda device: True)


class RecordsDtype(CrossEntropy):
    """Cross-entropy that records the dtype of the outputs it is given."""

    seen = set()

    def per_sample(self, logits, target, **context):
        RecordsDtype.seen.add(logits.dtype)
        return super().per_sample(logits, target, **context)


def small(**params):
    params = {"hidden_layer_sizes": (32,), "max_iter": 15, "random_state": 0, **params}
    return RobustLossClassifier(**params)


def test_bf16_mixed_autocasts_the_forward_pass_only(digits, capable):
    X, y = digits
    RecordsDtype.seen = set()
    clf = small(loss=RecordsDtype(), precision="bf16-mixed")
    inner = []
    clf.fit(X[:64], y[:64])  # builds the net; hook its hidden layer, then train on
    handle = clf.net_.module_.features[0].register_forward_hook(
        lambda module, args, out: inner.append(out.dtype)
    )
    clf.set_params(warm_start=True).fit(X, y)
    handle.remove()
    assert torch.bfloat16 in inner  # the layers ran in bfloat16 ...
    assert RecordsDtype.seen == {torch.float32}  # ... the loss saw float32 outputs
    assert all(p.dtype == torch.float32 for p in clf.net_.module_.parameters())
    state = clf.net_.optimizer_.state_dict()["state"]
    assert all(v.dtype == torch.float32 for s in state.values() for v in s.values())


def test_bf16_mixed_learns_as_well_as_float32(digits, capable):
    X, y = digits
    train, test = slice(0, 1400), slice(1400, None)
    scores = {
        p: small(precision=p, max_iter=30).fit(X[train], y[train]).score(X[test], y[test])
        for p in ("32", "bf16-mixed")
    }
    assert scores["32"] > 0.8
    assert abs(scores["bf16-mixed"] - scores["32"]) < 0.03


def test_inference_precision_is_float32_unless_asked(digits, capable):
    X, y = digits
    clf = small(max_iter=5).fit(X, y)
    exact = clf.predict_proba(X)
    clf.set_params(inference_precision="bf16-mixed")
    approximate = clf.predict_proba(X)
    assert approximate.dtype == np.float64
    assert not np.array_equal(approximate, exact)
    np.testing.assert_allclose(approximate, exact, atol=0.02)
    assert clf.transform(X).dtype == np.float64


def test_without_native_bf16_it_trains_in_float32_and_warns_once(digits, monkeypatch):
    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)
    monkeypatch.setattr(precision, "_WARNED", set())
    X, y = digits
    with pytest.warns(PrecisionWarning, match="no native bfloat16.*float32 instead"):
        mixed = small(precision="bf16-mixed").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)  # once per process and device
        small(precision="bf16-mixed").fit(X, y)
    plain = small().fit(X, y)
    np.testing.assert_array_equal(mixed.predict_proba(X), plain.predict_proba(X))


def test_the_regressor_trains_in_mixed_precision(capable):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5))
    y = X @ np.arange(1.0, 6.0) + 0.1 * rng.normal(size=500)
    scores = {
        p: RobustLossRegressor(precision=p, learning_rate_init=0.01, max_iter=60, random_state=0)
        .fit(X, y)
        .score(X, y)
        for p in ("32", "bf16-mixed")
    }
    assert scores["32"] > 0.9 and abs(scores["bf16-mixed"] - scores["32"]) < 0.02
