"""EnsLoss and EnsLossClassifier.

The drawn derivatives are checked against a numpy re-implementation of the
paper's Algorithm 1 fed the same normal draws, and against the three conditions
(non-decreasing in the margin, negative, tail scaled) on many draws, batch sizes
1 .. 4096 and tied margins.
"""

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import EnsLossClassifier, RobustLossClassifier
from skloss.losses import EnsLoss, get_loss
from skloss.losses.ensemble import CALIBRATION_MARGIN, draw_derivatives, inverse_box_cox

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

LAMBDAS = [-1.0, -0.5, 0.0, 0.3, 1.0]


# ---- an independent numpy version of the draw ----------------------------------------------


def normal_draws(n, seed, dtype=torch.float32):
    """The normal draws a generator seeded with ``seed`` gives first."""
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=dtype).numpy()


def numpy_derivatives(margins, eps, boxcox_lambda):
    """Algorithm 1 of Dai (2025) in numpy, ties sharing the mean of their ranks' draws."""
    margins = np.asarray(margins, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if boxcox_lambda == 0:
        transformed = np.exp(eps)
    else:
        with np.errstate(divide="ignore"):
            transformed = np.maximum(1 + boxcox_lambda * eps, 0.0) ** (1 / boxcox_lambda)
    drawn = np.maximum(np.sort(-transformed), -1.0)
    order = np.argsort(margins, kind="stable")
    by_rank = np.empty_like(drawn)
    sorted_margins = margins[order]
    start = 0
    while start < len(drawn):
        stop = start + 1
        while stop < len(drawn) and sorted_margins[stop] == sorted_margins[start]:
            stop += 1
        by_rank[start:stop] = drawn[start:stop].mean()
        start = stop
    g = np.empty_like(drawn)
    g[order] = by_rank
    tail = margins > 1
    g[tail] = g[tail] / margins[tail]
    return g - 1e-6


def test_inverse_box_cox_matches_its_formula():
    eps = np.linspace(-4, 4, 41)
    t = torch.tensor(eps, dtype=torch.float64)
    np.testing.assert_allclose(inverse_box_cox(t, 0.0).numpy(), np.exp(eps), rtol=1e-15)
    np.testing.assert_allclose(
        inverse_box_cox(t, 0.5).numpy(), np.maximum(1 + 0.5 * eps, 0) ** 2, rtol=1e-15
    )
    # lambda -> 0 is continuous: (1 + l e)^(1/l) -> exp(e)
    np.testing.assert_allclose(inverse_box_cox(t, 1e-7).numpy(), np.exp(eps), rtol=1e-5)


@pytest.mark.parametrize("boxcox_lambda", LAMBDAS)
@pytest.mark.parametrize("n", [1, 2, 5, 128, 1000])
def test_derivatives_match_numpy_algorithm(n, boxcox_lambda):
    rng = np.random.default_rng(n)
    margins = rng.normal(scale=3.0, size=n)
    margins[: n // 4] = np.round(margins[: n // 4])  # some ties
    z = torch.tensor(margins, dtype=torch.float64)
    got = draw_derivatives(z, torch.Generator().manual_seed(7), boxcox_lambda).numpy()
    expected = numpy_derivatives(margins, normal_draws(n, 7, torch.float64), boxcox_lambda)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def _check_conditions(margins, g):
    """The three conditions of an EnsLoss draw, checked in float64 numpy."""
    margins = np.asarray(margins, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    order = np.argsort(margins, kind="stable")
    # 1. convex: non-decreasing in the margin, and one value per margin
    assert np.all(np.diff(g[order]) >= 0)
    _, first, inverse = np.unique(margins, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(g, g[first][inverse.ravel()])
    # 2. calibrated: strictly negative (phi'(0) < 0), and in [-1 - 1e-6, -1e-6]
    assert np.all(g < 0)
    assert np.all(g >= -1 - 2e-6) and np.all(g <= -CALIBRATION_MARGIN * (1 - 1e-3))
    # 3. tail scaled: past z = 1 the derivative is at most 1/z in size
    tail = margins > 1
    assert np.all(np.abs(g[tail] + CALIBRATION_MARGIN) <= 1 / margins[tail] * (1 + 1e-6))


@pytest.mark.parametrize("boxcox_lambda", LAMBDAS)
def test_every_draw_satisfies_the_three_conditions(boxcox_lambda):
    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(1)
    sizes = [1, 2, 3, 7, 64, 128, 129, 1000, 4096]
    for n in sizes:
        for draw in range(40 if n < 1000 else 5):
            margins = rng.normal(scale=4.0, size=n).astype(np.float32)
            if draw % 2:
                margins = np.round(margins, 0)  # many ties
            g = draw_derivatives(torch.from_numpy(margins), generator, boxcox_lambda)
            assert g.dtype == torch.float32 and g.shape == (n,)
            _check_conditions(margins, g.numpy())


def test_all_tied_margins_share_one_derivative_and_row_order_does_not_matter():
    margins = torch.full((50,), 0.25)
    g = draw_derivatives(margins, torch.Generator().manual_seed(3))
    expected = np.maximum(np.sort(-np.exp(normal_draws(50, 3).astype(np.float64))), -1).mean()
    np.testing.assert_allclose(g.numpy(), expected - 1e-6, rtol=1e-6)
    rng = np.random.default_rng(0)
    z = torch.tensor(np.round(rng.normal(size=300), 1), dtype=torch.float32)
    permutation = torch.from_numpy(rng.permutation(300))
    plain = draw_derivatives(z, torch.Generator().manual_seed(5))
    permuted = draw_derivatives(z[permutation], torch.Generator().manual_seed(5))
    torch.testing.assert_close(permuted, plain[permutation], rtol=0, atol=0)


@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_is_g_times_y_over_batch_size(weighted):
    rng = np.random.default_rng(4)
    n = 37
    f = rng.normal(scale=2.0, size=n)
    target = rng.integers(0, 2, size=n)
    weight = rng.uniform(0.2, 3.0, size=n) if weighted else np.ones(n)
    logits = torch.tensor(f[:, None], requires_grad=True)
    EnsLoss().batch_loss(
        logits,
        torch.from_numpy(target),
        generator=torch.Generator().manual_seed(11),
        sample_weight=torch.from_numpy(weight) if weighted else None,
    ).backward()
    y = 2.0 * target - 1.0
    g = numpy_derivatives(y * f, normal_draws(n, 11, torch.float64), 0.0)
    np.testing.assert_allclose(logits.grad[:, 0].numpy(), weight * g * y / n, rtol=1e-12)


def test_objective_value_and_reported_bce_match_numpy():
    rng = np.random.default_rng(2)
    f = rng.normal(size=20)
    target = rng.integers(0, 2, size=20)
    weight = rng.uniform(0.5, 2.0, size=20)
    logits, t, w = torch.tensor(f[:, None]), torch.from_numpy(target), torch.from_numpy(weight)
    loss = EnsLoss()
    z = (2.0 * target - 1.0) * f
    g = numpy_derivatives(z, normal_draws(20, 1, torch.float64), 0.0)
    value = loss.batch_loss(logits, t, sample_weight=w, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(value.item(), np.mean(weight * g * z), rtol=1e-12)
    np.testing.assert_allclose(
        loss.reported_loss(logits, t, w).item(), np.mean(weight * np.log1p(np.exp(-z))), rtol=1e-12
    )
    np.testing.assert_allclose(
        loss.reported_loss(logits, t).item(), np.mean(np.log1p(np.exp(-z))), rtol=1e-12
    )


def test_lambda_resampling_draws_uniform_lambda_per_block_of_epochs():
    loss = EnsLoss(boxcox_lambda=0.7, lambda_resample_every=2)
    assert loss.requires == ("generator", "epoch")
    assert EnsLoss().requires == ("generator",)
    generator = torch.Generator().manual_seed(0)
    lambdas = [loss.current_lambda(epoch, generator) for epoch in range(6) for _ in range(3)]
    reference = torch.rand(3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = np.repeat(2 * reference.numpy() - 1, 6)
    np.testing.assert_allclose(lambdas, expected, rtol=1e-15)
    assert EnsLoss(boxcox_lambda=0.7).current_lambda(5, generator) == 0.7


def test_loss_call_checks_its_inputs_and_context():
    logits, target = torch.zeros(4, 1), torch.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match=r"requires the context \['generator'\]"):
        EnsLoss()(logits, target)
    with pytest.raises(ValueError, match="one logit per sample"):
        EnsLoss()(torch.zeros(4, 2), target, generator=torch.Generator())
    value = EnsLoss()(logits, target, generator=torch.Generator().manual_seed(0))
    # all margins tie at 0 (no tail): the objective is g * 0 = 0
    assert value.item() == 0.0
    assert get_loss("ensloss", boxcox_lambda=0.5).boxcox_lambda == 0.5
    assert EnsLoss.search_space == {"boxcox_lambda": ("float", -1.0, 1.0)}


# ---- more than two classes: one-vs-rest columns ------------------------------------------------


def column_draws(n_samples, n_columns, seed, dtype=torch.float64):
    """The normal draws of each column: column k takes the k-th block of n_samples."""
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n_columns * n_samples, generator=generator, dtype=dtype)
        .numpy()
        .reshape(n_columns, n_samples)
    )


def numpy_ovr_margins(f, target):
    """``z_ik = y_ik f_ik`` with ``y_ik = +1`` for the labelled class, -1 for the rest."""
    signs = np.where(np.arange(f.shape[1]) == np.asarray(target)[:, None], 1.0, -1.0)
    return signs * f, signs


@pytest.mark.parametrize("boxcox_lambda", LAMBDAS)
@pytest.mark.parametrize("n, n_columns", [(1, 3), (7, 3), (128, 4), (300, 10)])
def test_column_derivatives_match_numpy_column_by_column(n, n_columns, boxcox_lambda):
    rng = np.random.default_rng(n + n_columns)
    margins = rng.normal(scale=3.0, size=(n, n_columns))
    margins[: n // 3] = np.round(margins[: n // 3])  # ties within each column
    margins[:, 1] = margins[:, 0]  # two columns with the same margins draw their own g
    got = draw_derivatives(
        torch.tensor(margins), torch.Generator().manual_seed(9), boxcox_lambda
    ).numpy()
    eps = column_draws(n, n_columns, 9)
    expected = np.column_stack(
        [numpy_derivatives(margins[:, k], eps[k], boxcox_lambda) for k in range(n_columns)]
    )
    assert got.shape == (n, n_columns)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_ties_are_shared_within_a_column_never_across_columns():
    # Every margin of both columns is 0.25: each column's rows share the mean of
    # that column's own draws, and the two columns' means differ.
    g = draw_derivatives(torch.full((50, 2), 0.25), torch.Generator().manual_seed(3)).numpy()
    eps = column_draws(50, 2, 3, torch.float32).astype(np.float64)
    for k in range(2):
        expected = np.maximum(np.sort(-np.exp(eps[k])), -1).mean() - 1e-6
        np.testing.assert_allclose(g[:, k], expected, rtol=1e-6)
    assert g[0, 0] != g[0, 1]


@pytest.mark.parametrize("boxcox_lambda", LAMBDAS)
def test_every_column_of_every_draw_satisfies_the_three_conditions(boxcox_lambda):
    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(2)
    for n in [1, 2, 5, 64, 129, 1000]:
        for draw in range(10):
            margins = rng.normal(scale=4.0, size=(n, 5)).astype(np.float32)
            if draw % 2:
                margins = np.round(margins, 0)
            g = draw_derivatives(torch.from_numpy(margins), generator, boxcox_lambda)
            assert g.dtype == torch.float32 and g.shape == (n, 5)
            for k in range(5):
                _check_conditions(margins[:, k], g[:, k].numpy())


@pytest.mark.parametrize("weighted", [False, True])
def test_column_gradient_is_g_times_y_over_batch_size(weighted):
    rng = np.random.default_rng(6)
    n, n_classes = 41, 4
    f = rng.normal(scale=2.0, size=(n, n_classes))
    target = rng.integers(0, n_classes, size=n)
    weight = rng.uniform(0.2, 3.0, size=n) if weighted else np.ones(n)
    logits = torch.tensor(f, requires_grad=True)
    EnsLoss().batch_loss(
        logits,
        torch.from_numpy(target),
        generator=torch.Generator().manual_seed(13),
        sample_weight=torch.from_numpy(weight) if weighted else None,
    ).backward()
    z, y = numpy_ovr_margins(f, target)
    eps = column_draws(n, n_classes, 13)
    g = np.column_stack([numpy_derivatives(z[:, k], eps[k], 0.0) for k in range(n_classes)])
    # Each head gets what a binary model of its class against the rest would get,
    # and a row's weight multiplies all of its columns.
    np.testing.assert_allclose(logits.grad.numpy(), weight[:, None] * g * y / n, rtol=1e-12)


def test_column_objective_and_reported_bce_sum_the_columns():
    rng = np.random.default_rng(8)
    n, n_classes = 25, 3
    f = rng.normal(size=(n, n_classes))
    target = rng.integers(0, n_classes, size=n)
    weight = rng.uniform(0.5, 2.0, size=n)
    logits, t, w = torch.tensor(f), torch.from_numpy(target), torch.from_numpy(weight)
    z, _ = numpy_ovr_margins(f, target)
    eps = column_draws(n, n_classes, 1)
    g = np.column_stack([numpy_derivatives(z[:, k], eps[k], 0.0) for k in range(n_classes)])
    loss = EnsLoss()
    value = loss(logits, t, sample_weight=w, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(value.item(), np.mean(weight * (g * z).sum(axis=1)), rtol=1e-12)
    bce = np.log1p(np.exp(-z)).sum(axis=1)
    np.testing.assert_allclose(loss.reported_loss(logits, t, w).item(), np.mean(weight * bce))
    np.testing.assert_allclose(loss.reported_loss(logits, t).item(), np.mean(bce), rtol=1e-12)


def test_link_is_the_normalised_column_sigmoids():
    rng = np.random.default_rng(0)
    f = rng.normal(scale=4.0, size=(30, 5))
    sigmoid = 1 / (1 + np.exp(-f))
    got = EnsLoss().link(torch.tensor(f)).numpy()
    np.testing.assert_allclose(got, sigmoid / sigmoid.sum(axis=1, keepdims=True), rtol=1e-12)
    # Far below zero every sigmoid underflows (float32 below -104): the rows still
    # sum to 1 and keep the order of the logits, the ratio of the sigmoids.
    extreme = torch.tensor([[-1000.0, -1001.0, -2000.0], [500.0, -500.0, 499.0]])
    p = EnsLoss().link(extreme)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(dim=1), torch.ones(2))
    torch.testing.assert_close(p[0, :2], torch.tensor([1 / (1 + np.e**-1), 1 / (1 + np.e)]))
    assert p[0, 2] == 0 and p[1].argmax() == 0
    # One logit keeps the binary link.
    np.testing.assert_allclose(EnsLoss().link(torch.tensor([[0.5]])).item(), 1 / (1 + np.exp(-0.5)))
    assert EnsLoss().n_outputs(2) == 1 and EnsLoss().n_outputs(7) == 7


# ---- the estimator ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[::2].copy(), y[::2].copy()


def small(**params):
    return EnsLossClassifier(
        **{
            "hidden_layer_sizes": (16,),
            "max_iter": 15,
            "random_state": 0,
            "device": "cpu",
            **params,
        }
    )


def test_fit_predict_and_decision_function_is_the_logit(cancer):
    X, y = cancer
    clf = small().fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.net_.module_.head.out_features == 1
    module = clf.net_.module_.eval()  # batch norm: its running statistics
    with torch.no_grad():
        logits = module(torch.as_tensor(X, dtype=torch.float32))[:, 0].double().numpy()
    np.testing.assert_allclose(clf.decision_function(X), logits, rtol=1e-6)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(logits > 0).astype(int)])


def test_loss_curve_records_the_bce_not_the_objective(cancer):
    X, y = cancer
    # One batch per epoch and a learning rate too small to move the weights: the
    # recorded loss is the BCE of the (practically unchanged) network. No batch
    # norm, whose batch statistics would make training logits differ from predict's.
    clf = small(batch_size=len(y), learning_rate_init=1e-12, max_iter=1, batch_norm=False).fit(X, y)
    f = clf.decision_function(X)
    z = (2.0 * y - 1.0) * f
    np.testing.assert_allclose(clf.loss_curve_[0], np.mean(np.log1p(np.exp(-z))), rtol=1e-5)
    assert clf.net_.history[-1, "train_loss"] == clf.loss_curve_[0] > 0


def test_batch_listeners_see_the_reported_bce(cancer):
    from skorch.callbacks import Callback

    class Collect(Callback):
        def on_train_begin(self, net, **kwargs):
            self.seen = []

        def on_batch_end(self, net, batch=None, training=None, loss=None, y_pred=None, **kw):
            if training:
                self.seen.append((batch[1].numpy(), y_pred.detach().numpy()[:, 0], loss.item()))

    X, y = cancer
    clf = small(callbacks=[("collect", Collect())], max_iter=2, batch_size=50).fit(X, y)
    seen = dict(clf.net_.callbacks_)["collect"].seen
    assert len(seen) == 2 * math.ceil(len(y) / 50)
    for codes, f, loss in seen:
        z = (2.0 * codes - 1.0) * f
        np.testing.assert_allclose(loss, np.mean(np.log1p(np.exp(-z))), rtol=1e-5)
    recorded = [b["train_loss"] for b in clf.net_.history[-1, "batches"]]
    np.testing.assert_allclose(recorded, [s[2] for s in seen[-len(recorded) :]], rtol=1e-7)


def test_validation_loss_is_the_bce_with_early_stopping(cancer):
    X, y = cancer
    clf = small(early_stopping=True, max_iter=3).fit(X, y)
    assert all(np.isfinite(row["valid_loss"]) for row in clf.net_.history)


def test_reproducible_with_random_state_and_in_threads(cancer):
    X, y = cancer
    reference = small(max_iter=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(small(max_iter=5).fit(X, y).predict_proba(X), reference)
    other = small(max_iter=5, random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(other, reference)

    def fit_one(_):
        # No catch_warnings here (not thread-safe): the module's mark filters.
        return clone(small(max_iter=5)).fit(X, y).predict_proba(X)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fit_one, range(8)))
    for result in results:
        np.testing.assert_array_equal(result, reference)


def test_the_draws_do_not_touch_the_global_rng(cancer):
    X, y = cancer
    torch.manual_seed(123)
    before = torch.get_rng_state()
    small(max_iter=2).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)


def test_grid_search_over_boxcox_lambda(cancer):
    X, y = cancer
    search = GridSearchCV(small(max_iter=5), {"boxcox_lambda": [-0.5, 0.0, 0.5]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    best = search.best_estimator_
    assert best.loss_function_.boxcox_lambda == search.best_params_["boxcox_lambda"]
    # The same loss through RobustLossClassifier, searched as loss__boxcox_lambda.
    pipe = make_pipeline(
        StandardScaler(),
        RobustLossClassifier(loss="ensloss", hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    )
    search = GridSearchCV(pipe, {"robustlossclassifier__loss__boxcox_lambda": [0.0, 1.0]}, cv=2)
    search.fit(X, y)
    fitted = search.best_estimator_[-1].loss_function_
    assert isinstance(fitted, EnsLoss)
    assert fitted.boxcox_lambda == search.best_params_["robustlossclassifier__loss__boxcox_lambda"]


def test_lambda_resampling_trains_and_differs_from_a_fixed_lambda(cancer):
    X, y = cancer
    fixed = small(max_iter=4).fit(X, y)
    resampled = small(max_iter=4, lambda_resample_every=1).fit(X, y)
    assert resampled.loss_function_.lambda_resample_every == 1
    assert -1 <= resampled.loss_function_._lambda <= 1
    assert not np.allclose(fixed.predict_proba(X), resampled.predict_proba(X))


def test_cosine_schedule_follows_the_formula(cancer):
    X, y = cancer
    clf = small(lr_schedule="cosine", max_iter=8, learning_rate_init=0.01).fit(X, y)
    lrs = clf.net_.history[:, "event_lr"]
    epochs = np.arange(8)
    np.testing.assert_allclose(lrs, 0.01 * (1 + np.cos(np.pi * epochs / 8)) / 2, rtol=1e-6)
    assert "event_lr" not in small(max_iter=2, lr_schedule="constant").fit(X, y).net_.history[-1]


def test_batch_norm_option_builds_and_initialises_batchnorm(cancer):
    X, y = cancer
    clf = small(batch_norm=True, hidden_layer_sizes=(16, 8), max_iter=3, batch_size=64).fit(X, y)
    norms = [m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert [m.num_features for m in norms] == [16, 8]
    assert all(int(m.num_batches_tracked) == 3 * math.ceil(len(y) / 64) for m in norms)
    built = small(batch_norm=True)._build_module(5, 1, seed=0)
    bn = built.features[1]
    assert torch.equal(bn.running_var, torch.ones(16)) and torch.equal(bn.weight, torch.ones(16))
    assert torch.equal(bn.running_mean, torch.zeros(16)) and int(bn.num_batches_tracked) == 0
    # the same weights as without batch norm: the generator is drawn in the same order
    plain = small()._build_module(5, 1, seed=0)
    assert torch.equal(built.features[0].weight, plain.features[0].weight)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("batch_size", [1, 2, 7, 4096])
def test_any_batch_size_trains(cancer, batch_size, batch_norm):
    X, y = cancer
    if batch_norm and batch_size == 1:
        pytest.skip("a batch of one row cannot be normalised (a bad-input row checks the error)")
    clf = small(batch_size=batch_size, max_iter=1, batch_norm=batch_norm).fit(X[:61], y[:61])
    assert np.isfinite(clf.loss_curve_).all()
    sizes = [b["train_batch_size"] for b in clf.net_.history[-1, "batches"]]
    assert sum(sizes) == 61
    # with batch norm, no one-row batch: 61 rows in batches of 2 (also of 3 to 6)
    # would leave one, so the batch grows to 7
    if batch_norm and batch_size == 2:
        assert sizes == [7] * 8 + [5]
    assert min(sizes) >= 2 if batch_norm else max(sizes) == min(batch_size, 61)


def test_batch_norm_partial_fit_needs_two_rows(cancer):
    X, y = cancer
    clf = small()
    with pytest.raises(ValueError, match="needs batches of at least 2 rows.*chunks of 2"):
        clf.partial_fit(X[:1], y[:1], classes=[0, 1])
    assert not hasattr(clf, "net_")
    clf.partial_fit(X[:2], y[:2], classes=[0, 1])
    assert clf.n_iter_ == 1
    small(batch_norm=False).partial_fit(X[:1], y[:1], classes=[0, 1])


def test_sample_weight_scales_the_gradient(cancer):
    X, y = cancer
    # A constant rescaling changes nothing (weights are normalised to mean 1).
    a = small(max_iter=3).fit(X, y, sample_weight=np.full(len(y), 3.0)).predict_proba(X)
    b = small(max_iter=3).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    c = small(max_iter=3).fit(X, y, sample_weight=np.where(y == 1, 5.0, 0.2)).predict_proba(X)
    assert c[:, 1].mean() > b[:, 1].mean()


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    return StandardScaler().fit_transform(X), names[y]


def test_three_classes_train_one_vs_rest_heads_in_one_network(iris):
    X, y = iris
    clf = small(max_iter=30, learning_rate_init=0.05, batch_size=32).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.__sklearn_tags__().classifier_tags.multi_class
    assert clf.net_.module_.head.out_features == 3
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    module = clf.net_.module_.eval()  # batch norm: its running statistics
    with torch.no_grad():
        logits = module(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    decision = clf.decision_function(X)
    assert decision.shape == (len(y), 3)
    np.testing.assert_allclose(decision, logits, rtol=1e-6, atol=1e-7)
    proba = clf.predict_proba(X)
    sigmoid = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(proba, sigmoid / sigmoid.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[logits.argmax(axis=1)])


def test_multiclass_loss_curve_records_the_summed_column_bce(iris):
    X, y = iris
    # One batch, weights practically unchanged, no batch norm: the record is the
    # BCE of every column, summed per row, of the network predict uses.
    clf = small(batch_size=len(y), learning_rate_init=1e-12, max_iter=1, batch_norm=False)
    clf.fit(X, y)
    f = clf.decision_function(X)
    signs = np.where(clf.classes_ == y[:, None], 1.0, -1.0)
    expected = np.mean(np.log1p(np.exp(-signs * f)).sum(axis=1))
    np.testing.assert_allclose(clf.loss_curve_[0], expected, rtol=1e-5)


def test_multiclass_partial_fit_and_the_registry_loss(iris):
    X, y = iris
    clf = small(batch_size=32)
    order = np.random.default_rng(0).permutation(len(y))
    for chunk in np.array_split(order, 5):
        clf.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    assert clf.n_iter_ == 5 and clf.decision_function(X).shape == (len(y), 3)
    robust = RobustLossClassifier(
        loss="ensloss", hidden_layer_sizes=(8,), max_iter=2, random_state=0
    ).fit(X, y)
    assert robust.net_.module_.head.out_features == 3
    np.testing.assert_allclose(robust.predict_proba(X).sum(axis=1), 1.0)


def test_one_vs_rest_wrapper_still_trains_binary_models(iris):
    X, y = iris
    ovr = OneVsRestClassifier(small(max_iter=30)).fit(X, y)
    assert ovr.score(X, y) > 0.7
    assert all(est.net_.module_.head.out_features == 1 for est in ovr.estimators_)


def test_calibrated_classifier_cv_calibrates_predict_proba(cancer):
    X, y = cancer
    calibrated = CalibratedClassifierCV(small(max_iter=10), method="sigmoid", cv=3).fit(X, y)
    proba = calibrated.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0) & (proba < 1))
    assert calibrated.score(X, y) > 0.9


def test_skloss_compare_accepts_the_loss(tmp_path, capsys):
    from skloss.cli import main

    status = main(
        [
            "compare",
            "--dataset",
            "breast_cancer",
            "--losses",
            "ce,ensloss",
            "--no-baselines",
            "--noise",
            "0",
            "--hidden",
            "8",
            "--max-iter",
            "10",
            "--folds",
            "2",
            "--batch-size",
            "64",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert sorted(results["results"]) == ["ce", "ensloss"]
    # Clean labels, scaled features: above the 63% of predicting the majority class
    # after 10 epochs (a one-logit BCE network is at 0.71-0.78 there too).
    assert all(0.66 < a <= 1 for a in results["results"]["ensloss"]["accuracy"])


def test_base_loss_reports_nothing_and_the_net_records_the_objective():
    from skloss.losses import CrossEntropy

    logits, target = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    assert CrossEntropy().reported_loss(logits, target) is None
    X, y = load_iris(return_X_y=True)
    clf = RobustLossClassifier(
        hidden_layer_sizes=(4,),
        max_iter=1,
        batch_size=150,
        learning_rate_init=1e-12,
        random_state=0,
    ).fit(X, y)
    # One batch, weights practically unchanged: the record is the cross-entropy itself.
    p = clf.predict_proba(X)[np.arange(len(y)), y]
    np.testing.assert_allclose(clf.loss_curve_[0], np.mean(-np.log(p)), rtol=1e-5)
