"""AnalyticIncrementalClassifier: the weight-invariant property against scikit-learn's Ridge.

Every equivalence test computes the expected weights independently: the buffer
features with numpy from the fitted ``buffer_weight_`` (on the raw features, the
default ``backbone=None``, or through the backbone the test passes), then
``Ridge(alpha=gamma, fit_intercept=False)`` or a numpy solve of the normal
equations on one-hot targets.
"""

import copy
import doctest
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import skloss.analytic._backbone
import skloss.analytic._buffer
import skloss.analytic._checks
import skloss.analytic._labels
import skloss.analytic._ridge
import skloss.analytic._state
import skloss.analytic.estimator
from skloss import RobustLossClassifier
from skloss.analytic import AnalyticIncrementalClassifier

BUFFER = 96
GAMMA = 0.1
TOLERANCE = 1e-8


pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))[:600]
    return X[order], y[order]


def make(**params):
    return AnalyticIncrementalClassifier(
        **{"buffer_size": BUFFER, "gamma": GAMMA, "random_state": 0, **params}
    )


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def one_hot(y, classes):
    return (np.asarray(y)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)


def buffer_features(clf, X, scaler=None):
    """relu(X @ W_B), or relu(scaler(X) @ W_B), computed with numpy."""
    embedded = np.asarray(X, dtype=np.float64) if scaler is None else scaler.transform(X)
    return np.maximum(embedded @ clf.buffer_weight_.cpu().numpy(), 0.0)


def numpy_ridge(H, y, classes, gamma, sample_weight=None):
    """(H^T D H + gamma I)^-1 H^T D Y with D = diag(sample_weight), by np.linalg.solve."""
    weight = np.ones(len(H)) if sample_weight is None else np.asarray(sample_weight, float)
    Y = one_hot(y, classes)
    gram = H.T @ (weight[:, None] * H) + gamma * np.eye(H.shape[1])
    return np.linalg.solve(gram, H.T @ (weight[:, None] * Y))


def aligned(weight, from_classes, to_classes):
    """Columns of ``weight`` (ordered as ``from_classes``) reordered as ``to_classes``."""
    columns = [int(np.flatnonzero(np.asarray(from_classes) == c)[0]) for c in to_classes]
    return weight[:, columns]


def ridge_weights(H, y, classes, gamma=GAMMA, sample_weight=None):
    ridge = Ridge(alpha=gamma, fit_intercept=False, solver="cholesky")
    return ridge.fit(H, one_hot(y, classes), sample_weight=sample_weight).coef_.T


def first_appearance(batches):
    """Class order the stream should produce: each batch's new labels, sorted, appended."""
    order = []
    for labels in batches:
        order.extend(sorted(set(labels.tolist()) - set(order)))
    return np.array(order)


# ---- streams ----------------------------------------------------------------------------
def _phases(y, groups):
    return [np.flatnonzero(np.isin(y, group)) for group in groups]


def _iid(y, size):
    return [np.arange(start, min(start + size, len(y))) for start in range(0, len(y), size)]


STREAMS = {
    # class-incremental: disjoint classes, one phase after another
    "disjoint_phases": lambda y: _phases(y, [[0, 1, 2, 3, 4], [5, 6], [7], [8, 9]]),
    # generalised: classes reappear, phases overlap and a phase lacks known classes
    "reappearing_classes": lambda y: (
        [
            index[: len(index) // 2 + 1] if i < 2 else index
            for i, index in enumerate(
                _phases(y, [[0, 1, 2, 3], [2, 3, 4, 5, 6], [0, 6, 7, 8], [9, 1]])
            )
        ]
        + [np.flatnonzero(np.isin(y, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))[::7]]
    ),
    "iid_batch_1": lambda y: _iid(y, 1)[:150],
    "iid_batch_7": lambda y: _iid(y, 7),
    "iid_batch_256": lambda y: _iid(y, 256),
    "all_at_once": lambda y: [np.arange(len(y))],
}


@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_stream_equals_ridge_on_everything_seen(digits, stream):
    X, y = digits
    batches = STREAMS[stream](y)
    clf = make()
    for index in batches:
        clf.partial_fit(X[index], y[index])
    seen = np.concatenate(batches)
    assert clf.n_samples_seen_ == len(seen)
    expected_classes = first_appearance([y[index] for index in batches])
    np.testing.assert_array_equal(clf.classes_, expected_classes)

    H = buffer_features(clf, X[seen])
    expected = ridge_weights(H, y[seen], expected_classes)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE
    expected_inverse = np.linalg.inv(H.T @ H + GAMMA * np.eye(BUFFER))
    assert relative_error(clf.inverse_autocorrelation_.cpu().numpy(), expected_inverse) <= TOLERANCE


def test_fit_equals_ridge_with_sample_weight(digits):
    X, y = digits
    weight = np.random.RandomState(1).randint(0, 4, size=len(y)).astype(float)
    clf = make().fit(X, y, sample_weight=weight)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    expected = ridge_weights(buffer_features(clf, X), y, clf.classes_, sample_weight=weight)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE
    assert clf.n_samples_seen_ == np.count_nonzero(weight)


def test_weighted_stream_equals_weighted_ridge(digits):
    X, y = digits
    weight = np.random.RandomState(2).uniform(0.1, 3.0, size=len(y))
    clf = make()
    for index in _iid(y, 50):
        clf.partial_fit(X[index], y[index], sample_weight=weight[index])
    expected = ridge_weights(buffer_features(clf, X), y, clf.classes_, sample_weight=weight)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE


def _acil_update_without_exposed_term(H_batches, y_batches, gamma):
    """ACIL's phase update assuming each phase brings only new classes (numpy).

    The labels of classes already known are dropped from the targets: the
    "exposed-class" term of G-ACIL is missing.
    """
    d = H_batches[0].shape[1]
    R, W, classes = np.eye(d) / gamma, np.zeros((d, 0)), []
    for H, labels in zip(H_batches, y_batches, strict=True):
        known = list(classes)
        classes += sorted(set(labels.tolist()) - set(classes))
        W = np.hstack([W, np.zeros((d, len(classes) - W.shape[1]))])
        Y = one_hot(labels, classes)
        Y[:, : len(known)] = 0.0
        P = R @ H.T
        K = np.linalg.inv(np.eye(len(H)) + H @ P)
        W = W + P @ K @ (Y - H @ W)
        R = R - P @ K @ P.T
    return W, np.array(classes)


@pytest.mark.parametrize(
    "stream, matches", [("disjoint_phases", True), ("reappearing_classes", False)]
)
def test_negative_control_without_exposed_class_term(digits, stream, matches):
    # The tolerance is tight enough to tell the G-ACIL update from ACIL's: the
    # latter is exact on disjoint phases only, and far off once classes reappear.
    X, y = digits
    batches = STREAMS[stream](y)
    # Standardised features: the numpy recursion below inverts K explicitly, which
    # loses digits on the raw (unscaled) pixels.
    scaler = StandardScaler().fit(X)
    clf = make(backbone=scaler).partial_fit(X[batches[0]], y[batches[0]])  # the buffer only
    H_batches = [buffer_features(clf, X[index], scaler) for index in batches]
    W, classes = _acil_update_without_exposed_term(H_batches, [y[i] for i in batches], GAMMA)
    seen = np.concatenate(batches)
    expected = ridge_weights(np.vstack(H_batches), y[seen], classes)
    error = relative_error(W, expected)
    if matches:
        assert error <= TOLERANCE
    else:
        assert error > 1e-2


def test_merge_equals_joint_and_leaves_other_unchanged(digits):
    X, y = digits
    scaler = FrozenEstimator(StandardScaler().fit(X))
    # Disjoint rows; classes 4 and 5 on both sites.
    site_a = np.flatnonzero((y < 4) | ((y < 6) & (np.arange(len(y)) % 2 == 0)))
    site_b = np.setdiff1d(np.flatnonzero(y >= 4), site_a)
    a = make(backbone=scaler).fit(X[site_a], y[site_a])
    b = make(backbone=scaler).partial_fit(X[site_b][y[site_b] >= 8], y[site_b][y[site_b] >= 8])
    b.partial_fit(X[site_b][y[site_b] < 8], y[site_b][y[site_b] < 8])
    b_weight = b.weight_.clone()
    a.merge(b)
    torch.testing.assert_close(b.weight_, b_weight, rtol=0, atol=0)
    np.testing.assert_array_equal(a.classes_, [0, 1, 2, 3, 4, 5, 8, 9, 6, 7])
    rows = np.concatenate([site_a, site_b])
    H = np.maximum(scaler.transform(X[rows]) @ a.buffer_weight_.cpu().numpy(), 0.0)
    expected = ridge_weights(H, y[rows], a.classes_)
    assert relative_error(a.weight_.cpu().numpy(), expected) <= TOLERANCE
    assert a.n_samples_seen_ == len(rows)


def test_merge_refuses_different_features(digits):
    X, y = digits
    a = make(backbone=StandardScaler().fit(X[:300])).fit(X[:300], y[:300])
    with pytest.raises(ValueError, match="backbone"):
        a.merge(make(backbone=StandardScaler().fit(X[300:])).fit(X[300:], y[300:]))
    with pytest.raises(ValueError, match="backbone"):
        a.merge(make().fit(X[300:], y[300:]))
    scaler = FrozenEstimator(StandardScaler().fit(X))
    a = make(backbone=scaler).fit(X[:300], y[:300])
    with pytest.raises(ValueError, match="gamma"):
        a.merge(make(backbone=scaler, gamma=1.0).fit(X[300:], y[300:]))
    with pytest.raises(ValueError, match="buffer weights"):
        a.merge(make(backbone=scaler, random_state=1).fit(X[300:], y[300:]))
    with pytest.raises(TypeError, match="AnalyticIncrementalClassifier"):
        a.merge(Ridge())


# ---- the guarantee with every default parameter ----------------------------------------
# Default parameters except the buffer width and penalty: nothing the estimator
# does by default may make the features depend on how the stream starts.
WINE_BUFFER = 256
WINE_GAMMA = 1.0


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def default_clf(**params):
    return AnalyticIncrementalClassifier(
        **{"buffer_size": WINE_BUFFER, "gamma": WINE_GAMMA, "random_state": 0, **params}
    )


def assert_stream_is_joint(X, y, batches, sample_weight=None):
    """partial_fit over ``batches`` == fit on their rows == a numpy ridge solve."""
    stream = default_clf()
    for index in batches:
        weight = None if sample_weight is None else sample_weight[index]
        stream.partial_fit(X[index], y[index], sample_weight=weight)
    seen = np.concatenate(batches)
    weight = None if sample_weight is None else sample_weight[seen]
    joint = default_clf().fit(X[seen], y[seen], sample_weight=weight)
    assert set(stream.classes_) == set(joint.classes_)
    stream_weight = aligned(stream.weight_.cpu().numpy(), stream.classes_, joint.classes_)
    joint_weight = joint.weight_.cpu().numpy()
    assert relative_error(stream_weight, joint_weight) <= 1e-9
    stream_scores = aligned(stream.decision_function(X), stream.classes_, joint.classes_)
    assert relative_error(stream_scores, joint.decision_function(X)) <= 1e-9
    stream_proba = aligned(stream.predict_proba(X), stream.classes_, joint.classes_)
    assert relative_error(stream_proba, joint.predict_proba(X)) <= 1e-9
    np.testing.assert_array_equal(stream.predict(X), joint.predict(X))
    # Independently: the features from the raw input and the buffer weights, and
    # the normal equations solved by numpy.
    H = buffer_features(stream, X[seen])
    expected = numpy_ridge(H, y[seen], joint.classes_, WINE_GAMMA, weight)
    assert relative_error(joint_weight, expected) <= 1e-9
    assert relative_error(stream_weight, expected) <= 1e-9


def test_wine_class_by_class_in_seven_chunks_equals_joint(wine):
    # The stream of the issue: rows sorted by class, cut into 7 chunks, so the
    # first chunk holds class 0 only (its statistics are not the data's).
    X, y = wine
    batches = np.array_split(np.argsort(y, kind="stable"), 7)
    assert len(np.unique(y[batches[0]])) == 1
    assert_stream_is_joint(X, y, batches)


@pytest.mark.parametrize("seed", range(5))
def test_random_streams_equal_joint(wine, seed):
    # Rows and classes in any order: a random class order, rows shuffled within
    # and across classes, random chunk sizes (from 1 row), sometimes weights.
    X, y = wine
    rng = np.random.RandomState(seed)
    class_order = rng.permutation(np.unique(y))
    rank = np.argsort(class_order)[y] + rng.uniform(-0.7, 0.7, size=len(y)) * (seed % 2)
    order = np.argsort(rank + rng.uniform(0, 1e-3, size=len(y)))
    cuts = np.sort(rng.choice(np.arange(1, len(y)), size=rng.randint(3, 12), replace=False))
    batches = [b for b in np.split(order, cuts) if len(b)]
    weight = rng.uniform(0.2, 3.0, size=len(y)) if seed >= 3 else None
    assert_stream_is_joint(X, y, batches, sample_weight=weight)


def test_raw_unscaled_stream_equals_joint():
    # Raw, unstandardised digits pixels (0 to 16) through the same defaults.
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    batches = np.array_split(np.argsort(y, kind="stable"), 10)
    stream = default_clf()
    for index in batches:
        stream.partial_fit(X[index], y[index])
    joint = default_clf().fit(X, y)
    stream_weight = aligned(stream.weight_.cpu().numpy(), stream.classes_, joint.classes_)
    assert relative_error(stream_weight, joint.weight_.cpu().numpy()) <= 1e-9
    expected = numpy_ridge(buffer_features(stream, X), y, joint.classes_, WINE_GAMMA)
    assert relative_error(stream_weight, expected) <= 1e-9


@pytest.mark.parametrize("split", ["random_halves", "class_disjoint_halves"])
def test_merge_of_two_halves_with_defaults_equals_fit_on_all(wine, split):
    X, y = wine
    if split == "random_halves":
        rows = np.random.RandomState(0).permutation(len(y))
        first, second = rows[: len(y) // 2], rows[len(y) // 2 :]
    else:
        first, second = np.flatnonzero(y < 1), np.flatnonzero(y >= 1)
    a = default_clf().fit(X[first], y[first])
    b = default_clf()
    for index in np.array_split(second, 3):
        b.partial_fit(X[index], y[index])
    a.merge(b)
    joint = default_clf().fit(X, y)
    merged = aligned(a.weight_.cpu().numpy(), a.classes_, joint.classes_)
    assert relative_error(merged, joint.weight_.cpu().numpy()) <= 1e-9
    np.testing.assert_array_equal(a.predict(X), joint.predict(X))
    rows = np.concatenate([first, second])
    expected = numpy_ridge(buffer_features(a, X[rows]), y[rows], joint.classes_, WINE_GAMMA)
    assert relative_error(merged, expected) <= 1e-9
    assert a.n_samples_seen_ == len(y)


def test_default_feature_map_does_not_depend_on_the_data(wine):
    X, y = wine
    one = default_clf().partial_fit(X[:5], y[:5])
    other = default_clf().partial_fit(X[-50:] * 10.0, y[-50:])
    torch.testing.assert_close(one.buffer_weight_, other.buffer_weight_, rtol=0, atol=0)
    assert one.backbone_ is None and not hasattr(one, "mean_")


def test_frozen_standard_scaler_backbone_standardises_explicitly(wine):
    # Standardising is an explicit, frozen step: a scaler fitted on the base
    # phase only, then every phase (and a joint fit) through the same scaler.
    X, y = load_wine(return_X_y=True)
    base = np.flatnonzero(y == 0)
    scaler = FrozenEstimator(StandardScaler().fit(X[base]))
    stream = default_clf(backbone=scaler).partial_fit(X[base], y[base])
    for label in (1, 2):
        stream.partial_fit(X[y == label], y[y == label])
    order = np.concatenate([base, np.flatnonzero(y == 1), np.flatnonzero(y == 2)])
    H = buffer_features(stream, X[order], scaler)
    expected = numpy_ridge(H, y[order], stream.classes_, WINE_GAMMA)
    assert relative_error(stream.weight_.cpu().numpy(), expected) <= 1e-9
    joint = clone(stream).fit(X, y)
    assert relative_error(joint.weight_.cpu().numpy(), stream.weight_.cpu().numpy()) <= 1e-9


@pytest.mark.parametrize(
    "name, value",
    [("activation", "tanh"), ("gamma", 0.5), ("buffer_size", 32), ("random_state", 1)],
)
def test_changed_model_parameter_is_refused_after_fitting(wine, name, value):
    X, y = wine
    clf = default_clf().partial_fit(X[:60], y[:60])
    weight = clf.weight_.clone()
    clf.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"{name} was .* first fitted"):
        clf.partial_fit(X[60:], y[60:])
    torch.testing.assert_close(clf.weight_, weight, rtol=0, atol=0)
    with pytest.raises(ValueError, match=name):
        default_clf().fit(X[60:], y[60:]).merge(clf)
    clf.fit(X, y)  # fit starts afresh with the new value
    clf.partial_fit(X[:5], y[:5])


# ---- backbones ----------------------------------------------------------------------------
def test_transformer_backbone(digits):
    X, y = digits
    pca = PCA(n_components=20, random_state=0).fit(X)
    clf = make(backbone=pca).fit(X, y)
    assert clf.n_embedding_ == 20 and clf.buffer_weight_.shape == (20, BUFFER)
    H = np.maximum(pca.transform(X) @ clf.buffer_weight_.cpu().numpy(), 0.0)
    assert relative_error(clf.weight_.cpu().numpy(), ridge_weights(H, y, clf.classes_)) <= TOLERANCE


def test_unfitted_or_cloned_transformer_backbone_says_to_freeze(digits):
    X, y = digits
    pca = PCA(n_components=5).fit(X)
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(make(backbone=pca)).fit(X, y)
    scores = cross_val_score(make(backbone=FrozenEstimator(pca)), X, y, cv=2)
    assert scores.min() > 0.6


def test_torch_module_backbone(digits):
    X, y = digits
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(64, 12), torch.nn.Tanh())
    before = {k: v.clone() for k, v in module.state_dict().items()}
    clf = make(backbone=module, init="normal").fit(X, y)
    # On the estimator's device: float32 products differ between CPU and GPU by
    # rounding, and the guarantee is relative to the features actually computed.
    device = clf.weight_.device
    with torch.no_grad():
        inputs = torch.tensor(X, dtype=torch.float32, device=device)
        embedded = copy.deepcopy(module).to(device)(inputs).double().cpu().numpy()
    H = np.maximum(embedded @ clf.buffer_weight_.cpu().numpy(), 0.0)
    assert relative_error(clf.weight_.cpu().numpy(), ridge_weights(H, y, clf.classes_)) <= TOLERANCE
    assert clf.backbone_ is not module  # a copy: the user's module is not moved or changed
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


class _NetOnly(BaseEstimator):
    """A fitted skloss estimator seen without a public ``transform``: only its ``net_``."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    @property
    def net_(self):
        return self.estimator.net_


def test_skloss_estimator_backbone_stream_equals_fit(digits):
    # Whichever route the estimator takes (transform, or its hidden layers).
    X, y = digits
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = RobustLossClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0)
        net.fit(X[y < 5], y[y < 5])
    stream = make(backbone=net).partial_fit(X[y < 5], y[y < 5])
    stream.partial_fit(X[y >= 5], y[y >= 5])
    joint = make(backbone=net).fit(X, y)
    stream_weight = aligned(stream.weight_.cpu().numpy(), stream.classes_, joint.classes_)
    assert relative_error(stream_weight, joint.weight_.cpu().numpy()) <= TOLERANCE


def test_skloss_estimator_without_transform_uses_hidden_layers(digits):
    X, y = digits
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = RobustLossClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0)
        net.fit(X[y < 5], y[y < 5])
    clf = make(backbone=_NetOnly(net)).partial_fit(X[y < 5], y[y < 5])
    clf.partial_fit(X[y >= 5], y[y >= 5])
    assert isinstance(clf.backbone_, torch.nn.Module)
    features = net.net_.module_.features
    device = next(features.parameters()).device
    with torch.no_grad():
        inputs = torch.tensor(X, dtype=torch.float32, device=device)
        embedded = features(inputs).double().cpu().numpy()
    H = np.maximum(embedded @ clf.buffer_weight_.cpu().numpy(), 0.0)
    order = np.concatenate([np.flatnonzero(y < 5), np.flatnonzero(y >= 5)])
    expected = ridge_weights(H[order], y[order], clf.classes_)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE


class _HiddenLayer(RobustLossClassifier):
    """A skloss estimator with a public ``transform``; here its first hidden layer, doubled,
    so that the test can tell it from the ``net_.module_.features`` route."""

    def transform(self, X):
        features = self.net_.module_.features
        device = next(features.parameters()).device
        with torch.no_grad():
            inputs = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            return 2.0 * features(inputs).cpu().numpy()


def test_skloss_estimator_with_transform_is_a_transformer_backbone(digits):
    X, y = digits
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = _HiddenLayer(hidden_layer_sizes=(24,), max_iter=2, random_state=0)
        net.fit(X[y < 5], y[y < 5])
    clf = make(backbone=net).partial_fit(X[y < 5], y[y < 5])
    clf.partial_fit(X[y >= 5], y[y >= 5])
    assert clf.backbone_ is net  # used through transform, not a copy of its layers
    order = np.concatenate([np.flatnonzero(y < 5), np.flatnonzero(y >= 5)])
    H = np.maximum(
        net.transform(X[order]).astype(np.float64) @ clf.buffer_weight_.cpu().numpy(), 0.0
    )
    expected = numpy_ridge(H, y[order], clf.classes_, GAMMA)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE


class _PlainTransform:
    """Anything with ``transform``, not a scikit-learn estimator (no ``fit``)."""

    def __init__(self, projection):
        self.projection = projection

    def transform(self, X):
        return np.tanh(np.asarray(X, dtype=np.float64) @ self.projection)


def test_object_with_only_transform_is_a_backbone(digits):
    X, y = digits
    backbone = _PlainTransform(np.random.RandomState(0).normal(size=(64, 10)) / 8.0)
    clf = make(backbone=backbone).fit(X, y)
    assert clf.n_embedding_ == 10
    H = np.maximum(backbone.transform(X) @ clf.buffer_weight_.cpu().numpy(), 0.0)
    expected = numpy_ridge(H, y, clf.classes_, GAMMA)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE
    stream = make(backbone=backbone)
    for index in np.array_split(np.argsort(y, kind="stable"), 4):
        stream.partial_fit(X[index], y[index])
    stream_weight = aligned(stream.weight_.cpu().numpy(), stream.classes_, clf.classes_)
    assert relative_error(stream_weight, expected) <= TOLERANCE


def test_backbone_error_leaves_partial_fit_unchanged(digits):
    X, y = digits
    backbone = _PlainTransform(np.eye(64)[:, :8])
    clf = make(backbone=backbone).partial_fit(X[y < 5], y[y < 5])
    weight, inverse = clf.weight_.clone(), clf.inverse_autocorrelation_.clone()
    backbone.projection = np.eye(64)[:, :6]  # "refitted": the features changed
    with pytest.raises(ValueError, match="n_embedding_=8"):
        clf.partial_fit(X[y >= 5], y[y >= 5])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3, 4])
    torch.testing.assert_close(clf.weight_, weight, rtol=0, atol=0)
    torch.testing.assert_close(clf.inverse_autocorrelation_, inverse, rtol=0, atol=0)
    assert clf.n_samples_seen_ == np.count_nonzero(y < 5)


def test_skloss_estimator_without_features_is_refused(digits):
    X, y = digits
    module = torch.nn.Sequential(torch.nn.Linear(64, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = RobustLossClassifier(module=module, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        make(backbone=_NetOnly(net)).fit(X, y)


def test_dataframe_through_column_transformer_backbone():
    frame = pd.DataFrame(
        {
            "colour": ["red", "green", "blue", "green"] * 25,
            "size": np.linspace(0, 1, 100),
        }
    )
    y = np.where(frame["colour"] == "red", "warm", "cold")
    encoder = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["colour"])], remainder="passthrough"
    ).fit(frame)
    clf = make(backbone=encoder).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["colour", "size"])
    np.testing.assert_array_equal(clf.predict(frame), y)


# ---- the incremental interface ----------------------------------------------------------
def test_new_labels_get_columns_only_when_learned(digits):
    X, y = digits
    clf = make().partial_fit(X[y < 3], y[y < 3])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.weight_.shape == (BUFFER, 3)
    # A label whose only rows have weight 0 is not learned, so has no column.
    rows = np.flatnonzero(y >= 3)
    weight = np.where(y[rows] == 9, 0.0, 1.0)
    clf.partial_fit(X[rows], y[rows], sample_weight=weight)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3, 4, 5, 6, 7, 8])
    assert set(clf.predict(X)) <= set(range(9))


def test_classes_argument_is_only_a_guard(digits):
    X, y = digits
    clf = make().partial_fit(X, y, classes=np.arange(20))
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    with pytest.raises(ValueError, match="not in classes"):
        make().partial_fit(X, y, classes=[0, 1])


def test_string_labels_and_label_kind_mix(digits):
    X, y = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = make().partial_fit(X[y < 5], names[y[y < 5]])
    clf.partial_fit(X[y >= 5], names[y[y >= 5]])
    np.testing.assert_array_equal(clf.classes_, sorted(names[:5]) + sorted(names[5:]))
    assert clf.score(X, names[y]) > 0.9
    with pytest.raises(ValueError, match="one label type"):
        clf.partial_fit(X[:5], y[:5])


def test_partial_fit_checks_features_before_learning(digits):
    X, y = digits
    clf = make().partial_fit(X, y)
    weight = clf.weight_.clone()
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :10], y)
    torch.testing.assert_close(clf.weight_, weight, rtol=0, atol=0)


def test_fit_after_partial_fit_starts_afresh(digits):
    X, y = digits
    clf = make().partial_fit(X[:100], y[:100]).fit(X, y)
    expected = ridge_weights(buffer_features(clf, X), y, clf.classes_)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE
    assert clf.n_samples_seen_ == len(y)


# ---- outputs ----------------------------------------------------------------------------
def test_outputs_are_consistent(digits):
    X, y = digits
    clf = make().fit(X, y)
    scores = clf.decision_function(X)
    H = buffer_features(clf, X)
    np.testing.assert_allclose(scores, H @ clf.weight_.cpu().numpy(), rtol=1e-10, atol=1e-12)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expected_proba = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected_proba, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    assert clf.score(X, y) > 0.95


def test_binary_and_single_class_shapes():
    X, y = load_iris(return_X_y=True)
    binary = make().fit(X[y < 2], y[y < 2])
    scores = binary.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(binary.predict(X), np.where(scores > 0, 1, 0))
    single = make().fit(X[y == 2], y[y == 2])
    np.testing.assert_array_equal(single.predict(X), np.full(len(X), 2))
    assert single.predict_proba(X).shape == (len(X), 1)


def test_sparse_input_equals_dense(digits):
    X, y = digits
    dense = make().fit(X, y)
    sparse = make().fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.decision_function(sp.csr_matrix(X)),
        dense.decision_function(X),
        rtol=1e-9,
        atol=1e-12,
    )


def test_inputs_are_not_modified(digits):
    X, y = digits
    X_in, y_in = X.copy(), y.copy()
    weight = np.linspace(0.5, 2.0, len(y))
    weight_in = weight.copy()
    clf = make().fit(X_in, y_in, sample_weight=weight_in)
    clf.partial_fit(X_in, y_in, sample_weight=weight_in)
    clf.predict_proba(X_in)
    np.testing.assert_array_equal(X_in, X)
    np.testing.assert_array_equal(y_in, y)
    np.testing.assert_array_equal(weight_in, weight)


def test_buffer_initialisation(digits):
    X, y = digits
    uniform = make(buffer_size=2000).fit(X, y).buffer_weight_.cpu().numpy()
    bound = 1.0 / np.sqrt(X.shape[1])
    assert np.abs(uniform).max() <= bound and np.abs(uniform).max() > 0.99 * bound
    normal = make(buffer_size=2000, init="normal").fit(X, y).buffer_weight_.cpu().numpy()
    assert abs(normal.std() - 1.0) < 0.01 and abs(normal.mean()) < 0.01
    again = make(buffer_size=2000).fit(X[:50], y[:50]).buffer_weight_.cpu().numpy()
    np.testing.assert_array_equal(again, uniform)
    other_seed = make(buffer_size=2000, random_state=1).fit(X, y).buffer_weight_.cpu().numpy()
    assert not np.array_equal(other_seed, uniform)


def test_pickle_round_trip(digits):
    X, y = digits
    clf = make().fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), clf.decision_function(X))
    restored.partial_fit(X[:10], y[:10])  # and it keeps learning


# ---- every call is all or nothing -------------------------------------------------------
def fitted_state(clf):
    """What an estimator holds, tensors and arrays copied, to compare after a call."""
    return {
        name: value.clone() if isinstance(value, torch.Tensor) else _copied(value)
        for name, value in vars(clf).items()
    }


def _copied(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def assert_state_equal(clf, state):
    assert set(vars(clf)) == set(state)
    for name, value in state.items():
        now = vars(clf)[name]
        if isinstance(value, torch.Tensor):
            assert torch.equal(now, value), name
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now, value)
        else:
            assert now is value or now == value, name


def assert_usable_as_before(clf, X, scores):
    np.testing.assert_array_equal(clf.decision_function(X), scores)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), scores)


def test_failed_first_partial_fit_leaves_the_estimator_unfitted(digits):
    # Values that overflow the update: the first call fails in the update itself.
    X, y = digits
    clf = make()
    unfitted = dict(vars(clf))
    with pytest.raises(ValueError, match="positive definiteness"):
        clf.partial_fit(X[:20] * 1e160, y[:20])
    assert vars(clf) == unfitted
    with pytest.raises(NotFittedError):
        clf.predict(X)
    pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)  # and it learns afresh
    assert (
        relative_error(
            clf.weight_.cpu().numpy(), ridge_weights(buffer_features(clf, X), y, clf.classes_)
        )
        <= TOLERANCE
    )


def test_failed_batch_late_in_a_call_learns_nothing_of_the_call(digits):
    # batch_size=10: the first two batches (with the new classes 5 and 6) are fine,
    # the third overflows. Nothing of the call may stay, also not its first rows.
    X, y = digits
    clf = make(batch_size=10).partial_fit(X[y < 5], y[y < 5])
    state, scores = fitted_state(clf), clf.decision_function(X)
    rows = np.flatnonzero((y == 5) | (y == 6))[:30]
    bad = X[rows].copy()
    bad[20:] *= 1e160
    with pytest.raises(ValueError, match="positive definiteness"):
        clf.partial_fit(bad, y[rows])
    assert_state_equal(clf, state)
    assert_usable_as_before(clf, X, scores)
    # The stream goes on as if the failed call had not been made.
    clf.partial_fit(X[rows[:20]], y[rows[:20]])
    seen = np.concatenate([np.flatnonzero(y < 5), rows[:20]])
    expected = ridge_weights(buffer_features(clf, X[seen]), y[seen], clf.classes_)
    assert relative_error(clf.weight_.cpu().numpy(), expected) <= TOLERANCE


def test_failed_fit_keeps_the_fitted_model(digits):
    X, y = digits
    clf = make().fit(X, y)
    state, scores = fitted_state(clf), clf.decision_function(X)
    # Fails after validating the new X (10 features), which reset n_features_in_.
    with pytest.raises(ValueError, match="(?i)sample weights must contain at least one non-zero"):
        clf.fit(X[:, :10], y, sample_weight=np.zeros(len(y)))
    assert_state_equal(clf, state)
    assert_usable_as_before(clf, X, scores)
    # Fails in the solve.
    with pytest.raises(ValueError, match="not positive definite"):
        clf.fit(X[:, :10] * 1e160, y)
    assert_state_equal(clf, state)
    assert_usable_as_before(clf, X, scores)


class _InterruptedTransform(_PlainTransform):
    """A backbone whose ``transform`` raises KeyboardInterrupt at its ``at``-th call (Ctrl-C)."""

    def __init__(self, projection, at):
        super().__init__(projection)
        self.at, self.calls = at, 0

    def transform(self, X):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().transform(X)


def test_interrupt_rolls_the_call_back_and_reaches_the_caller(digits):
    X, y = digits
    projection = np.random.RandomState(0).normal(size=(64, 10)) / 8.0
    # A first partial_fit interrupted in its second batch: unfitted again.
    backbone = _InterruptedTransform(projection, at=3)  # 1: width probe, 2 and 3: batches
    clf = make(backbone=backbone, batch_size=50)
    unfitted = dict(vars(clf))
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X[:100], y[:100])
    assert vars(clf) == unfitted
    # A later call interrupted in its second batch: as before the call.
    backbone = _InterruptedTransform(projection, at=0)
    clf = make(backbone=backbone, batch_size=50).partial_fit(X[:50], y[:50])
    state, scores = fitted_state(clf), clf.decision_function(X)
    backbone.at = backbone.calls + 2  # the second batch of the next call
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X[50:150], y[50:150])
    assert_state_equal(clf, state)
    assert_usable_as_before(clf, X, scores)


@pytest.mark.parametrize("moment", ["before the commit", "as the write of R returns"])
def test_interrupt_at_the_commit_leaves_a_consistent_model(digits, monkeypatch, moment):
    # A one-batch call writes the estimator's R in place, last (no copy). An
    # interrupt raised before the commit leaves everything as it was; one raised
    # as that write returns finds everything bound with it.
    X, y = digits
    clf = make().partial_fit(X[y < 5], y[y < 5])
    expected = copy.deepcopy(clf).partial_fit(X[y == 5], y[y == 5])
    state = fitted_state(clf)
    if moment == "before the commit":

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(skloss.analytic._state.Call, "commit", interrupted)
    else:
        write = torch.Tensor.addmm_

        def interrupted(tensor, *args, **kwargs):
            write(tensor, *args, **kwargs)
            raise KeyboardInterrupt

        monkeypatch.setattr(torch.Tensor, "addmm_", interrupted)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X[y == 5], y[y == 5])
    monkeypatch.undo()
    if moment == "before the commit":
        assert_state_equal(clf, state)
    else:
        assert_state_equal(clf, fitted_state(expected))


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test (a pytest-xdist worker may ignore SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_after(seconds):
    """SIGINT to this process from a timer thread, as Ctrl-C sends it."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or os.name != "posix",
    reason="a real SIGINT needs the main thread of a POSIX process",
)
def test_real_interrupts_leave_the_state_before_or_after_the_call(digits, python_sigint_handler):
    # Ctrl-C at moments spread over one-batch calls (the case written in place):
    # each interrupted call leaves exactly the state before it or after it.
    X, y = digits
    clf = make(buffer_size=512).partial_fit(X[y < 5], y[y < 5])
    rows = np.flatnonzero(y >= 5)[:64]
    after = fitted_state(copy.deepcopy(clf).partial_fit(X[rows], y[rows]))
    durations = []
    for _ in range(3):
        trial = copy.deepcopy(clf)
        start = time.perf_counter()
        trial.partial_fit(X[rows], y[rows])
        durations.append(time.perf_counter() - start)
    duration = min(durations)
    outcomes = set()
    for delay in np.linspace(0.0, 1.2 * duration, 26)[1:]:
        trial = copy.deepcopy(clf)
        before = fitted_state(trial)
        timer = None
        try:
            timer = _interrupt_after(delay)
            trial.partial_fit(X[rows], y[rows])
            outcomes.add("not interrupted")
            timer.join()
            # The signal is handled here, at the latest; on a loaded machine the
            # main thread may wait a while for its turn, so wait up to 10 s.
            for _ in range(100):
                time.sleep(0.1)
            pytest.fail("SIGINT was not delivered within 10 s")
        except KeyboardInterrupt:
            if timer is not None:
                timer.join()
        if _same_state(trial, after):
            outcomes.add("after")
        else:
            assert_state_equal(trial, before)
            outcomes.add("before")
    assert "before" in outcomes


def _same_state(clf, state):
    try:
        assert_state_equal(clf, state)
    except AssertionError:
        return False
    return True


def test_failed_merge_leaves_the_estimator_unchanged(digits, monkeypatch):
    X, y = digits
    a, b = make().fit(X[:300], y[:300]), make().fit(X[300:], y[300:])
    state, scores = fitted_state(a), a.decision_function(X)

    def failing_merge(*args):
        raise ValueError("not positive definite")

    monkeypatch.setattr(skloss.analytic._ridge, "merge_solutions", failing_merge)
    with pytest.raises(ValueError, match="not positive definite"):
        a.merge(b)
    assert_state_equal(a, state)
    assert_usable_as_before(a, X, scores)


def test_one_batch_calls_are_not_copied_and_longer_calls_are(digits):
    # The copy of R is what makes a call of several batches all or nothing; a call
    # of one batch needs none (R is written once, last).
    X, y = digits
    clf = make(batch_size=50).partial_fit(X[:50], y[:50])
    inverse = clf.inverse_autocorrelation_
    clf.partial_fit(X[50:100], y[50:100])
    assert clf.inverse_autocorrelation_ is inverse
    clf.partial_fit(X[100:200], y[100:200])
    assert clf.inverse_autocorrelation_ is not inverse


# ---- labels of mixed types ----------------------------------------------------------------
def test_mixed_label_types_get_the_message_of_every_estimator(digits):
    X, y = digits
    X, y = X[:40], y[:40]
    mixed = np.array([1, "a"] * 20, dtype=object)
    with pytest.raises(ValueError) as expected:
        RobustLossClassifier(max_iter=1).fit(X, mixed)
    assert "mixes labels of types ['int', 'str']" in str(expected.value)
    calls = {
        "fit": lambda: make().fit(X, mixed),
        "first partial_fit": lambda: make().partial_fit(X, mixed),
        "partial_fit": lambda: (
            make()
            .partial_fit(X, np.array(["a", "b"] * 20))
            .partial_fit(X, np.array(["a", 1] * 20, dtype=object))
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == str(expected.value), name
    with pytest.raises(ValueError, match=r"classes mixes labels of types \['int', 'str'\]"):
        make().partial_fit(X, y, classes=np.array([0, "a"], dtype=object))


# ---- what a pickle holds ------------------------------------------------------------------
def _pickled_size(clf):
    return len(pickle.dumps(clf))


def _tensor_bytes(*tensors):
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


def assert_round_trip_is_exact(clf, X, y):
    restored = pickle.loads(pickle.dumps(clf))
    for name in ("weight_", "buffer_weight_", "inverse_autocorrelation_"):
        before, after = getattr(clf, name), getattr(restored, name)
        assert (before is None and after is None) or torch.equal(before, after), name
    np.testing.assert_array_equal(restored.decision_function(X), clf.decision_function(X))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    if clf.inverse_autocorrelation_ is not None:
        # Learning on from the copy gives the very weights of learning on from the original.
        go_on = copy.deepcopy(clf).partial_fit(X[:30], y[:30])
        restored.partial_fit(X[:30], y[:30])
        assert torch.equal(restored.weight_, go_on.weight_)
        assert torch.equal(restored.inverse_autocorrelation_, go_on.inverse_autocorrelation_)
    return restored


def test_pickle_after_fit_holds_half_of_r_and_no_buffer(wine):
    X, y = wine
    clf = default_clf().fit(X, y)
    d = WINE_BUFFER
    r_triangle = 8 * d * (d + 1) // 2
    # The upper triangle of R and the head; the buffer is drawn again from the seed.
    size = _pickled_size(clf)
    assert r_triangle < size < r_triangle + _tensor_bytes(clf.weight_) + 10_000
    assert_round_trip_is_exact(clf, X, y)


def test_pickle_of_a_stream_holds_all_of_r(wine):
    # The recursive update leaves R asymmetric by rounding: it is stored whole.
    X, y = wine
    clf = default_clf()
    for index in np.array_split(np.arange(len(y)), 4):
        clf.partial_fit(X[index], y[index])
    d = WINE_BUFFER
    size = _pickled_size(clf)
    assert 8 * d * d < size < 8 * d * d + _tensor_bytes(clf.weight_) + 10_000
    assert_round_trip_is_exact(clf, X, y)


@pytest.mark.parametrize("seed", [np.random.RandomState(0), None])
def test_pickle_keeps_a_buffer_no_int_seed_can_draw_again(wine, seed):
    X, y = wine
    clf = default_clf(random_state=seed).fit(X, y)
    d = WINE_BUFFER
    assert _pickled_size(clf) > 8 * d * (d + 1) // 2 + _tensor_bytes(clf.buffer_weight_)
    assert_round_trip_is_exact(clf, X, y)


def test_pickle_refuses_a_buffer_drawn_differently(wine):
    X, y = wine
    clf = default_clf().fit(X, y)
    state = clf.__getstate__()
    assert "buffer_weight_" not in state
    state["_buffer_weight_from_seed"]["sha256"] = "0" * 64  # as if numpy drew other numbers
    with pytest.raises(ValueError, match="numpy and skloss versions that saved it"):
        AnalyticIncrementalClassifier().__setstate__(state)
    # A state with every tensor (as pickled before the packed form) loads as it is.
    loaded = AnalyticIncrementalClassifier()
    loaded.__setstate__(dict(vars(clf)))
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


def test_drop_learning_state_keeps_predictions_and_refuses_to_learn_on(wine):
    X, y = wine
    clf = default_clf().fit(X, y)
    scores = clf.decision_function(X)
    other = default_clf().fit(X[:50], y[:50])
    assert clf.drop_learning_state() is clf
    assert clf.inverse_autocorrelation_ is None
    np.testing.assert_array_equal(clf.decision_function(X), scores)
    assert _pickled_size(clf) < _tensor_bytes(clf.weight_) + 10_000
    restored = assert_round_trip_is_exact(clf, X, y)
    for call in (
        lambda: restored.partial_fit(X, y),
        lambda: restored.merge(other),
        lambda: other.merge(restored),
    ):
        with pytest.raises(ValueError, match=r"drop_learning_state\(\) removed"):
            call()
    restored.fit(X, y)  # starts afresh
    np.testing.assert_array_equal(restored.decision_function(X), scores)


def test_drop_learning_state_needs_a_fitted_estimator():
    with pytest.raises(NotFittedError):
        make().drop_learning_state()


# ---- categorical columns ------------------------------------------------------------------
def test_categorical_column_goes_through_a_column_transformer_backbone():
    # A transformer backbone gets X as given: it encodes the categories itself.
    frame = pd.DataFrame(
        {
            "colour": pd.Categorical(["red", "green", "blue", "green"] * 25),
            "size": np.linspace(0, 1, 100),
        }
    )
    y = np.where(frame["colour"] == "red", "warm", "cold")
    encoder = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["colour"])], remainder="passthrough"
    ).fit(frame)
    clf = make(backbone=encoder).fit(frame, y)
    np.testing.assert_array_equal(clf.predict(frame), y)


# ---- errors -----------------------------------------------------------------------------
def test_memory_estimate_refuses_before_any_work(digits):
    X, y = digits
    clf = make(buffer_size=8192, max_memory_bytes=2**29)
    with pytest.raises(ValueError, match=r"buffer_size=8192 .*0\.50 GiB each.*max_memory_bytes"):
        clf.fit(X, y)
    assert not hasattr(clf, "weight_")
    with pytest.raises(ValueError, match="buffer_size=8192"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "weight_")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"gamma": 0.0}, "gamma"),
        ({"buffer_size": 0}, "buffer_size"),
        ({"init": "xavier"}, "init"),
        ({"backbone": "pca"}, "backbone"),
        ({"device": "nonsense"}, "device"),
    ],
)
def test_invalid_parameters_name_the_argument(digits, params, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        make(**params).fit(X, y)


def test_all_zero_weights_are_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="(?i)sample weights must contain at least one non-zero"):
        make().fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize(
    "module",
    [
        skloss.analytic.estimator,
        skloss.analytic._ridge,
        skloss.analytic._backbone,
        skloss.analytic._buffer,
        skloss.analytic._checks,
        skloss.analytic._labels,
        skloss.analytic._state,
    ],
)
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, verbose=False)
    assert failures == 0 and attempted >= 3


# ---- scikit-learn's common checks -------------------------------------------------------
def expected_failed_checks(estimator):
    # partial_fit accepts labels it has never seen (the class-incremental point),
    # and no check in scikit-learn 1.9 exercises the classes= rule it relaxes, so
    # nothing is expected to fail.
    return {}


@parametrize_with_checks([make(buffer_size=64)], expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
