"""Learning from aggregate responses: bag losses, ``fit(..., bags=...)``, routing, scores.

Reference values come from the formulas of Javanmard et al. (ICLR 2024) and of
DLLP computed with numpy, from scikit-learn (``log_loss``, ``r2_score``,
``GroupKFold``) and from theory (the instance-level estimator of a linear model
on random bags shrinks the slope by the bag size).
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier, RobustLossRegressor
from skloss.losses import BagBCE, BagSquaredError, SquaredError, get_loss, list_losses

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


# ---- helpers -----------------------------------------------------------------------------
def random_bags(n_rows, size, seed=0):
    """Random bags of ``size`` rows (the last may be smaller), ids in random order."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_rows) // size * 7 + 3  # ids need not be 0 .. n_bags - 1


def bag_mean_of(values, bags):
    """Each row's bag mean (numpy), the aggregate response repeated on its rows."""
    _, codes = np.unique(bags, return_inverse=True)
    return (np.bincount(codes, values) / np.bincount(codes))[codes]


def numpy_bag_squared_error(f, ybar, bags, rho, weight=None):
    """Per-bag ``W (ybar - fbar)^2 + rho sum w (f - fbar)^2``, bags in sorted id order."""
    weight = np.ones(len(f)) if weight is None else weight
    values = []
    for bag in np.unique(bags):
        rows = bags == bag
        w, fb = weight[rows], f[rows]
        size = w.sum()
        mean_f = (w * fb).sum() / size
        values.append(size * (ybar[rows][0] - mean_f) ** 2 + rho * (w * (fb - mean_f) ** 2).sum())
    return np.array(values)


def bce(share, p):
    return -share * np.log(p) - (1 - share) * np.log(1 - p)


def numpy_bag_bce(logits, share, bags, rho):
    p = 1 / (1 + np.exp(-logits))
    values = []
    for bag in np.unique(bags):
        rows = bags == bag
        a = share[rows][0]
        values.append((1 - rho) * rows.sum() * bce(a, p[rows].mean()) + rho * bce(a, p[rows]).sum())
    return np.array(values)


def quiet_fit(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def diabetes_bags():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    bags = random_bags(len(y), 4)
    return X, y, bag_mean_of(y, bags), bags


# ---- the losses: reference values ----------------------------------------------------------
def test_bag_squared_error_reference_value_of_the_issue():
    f = torch.tensor([[1.5], [2.0]], dtype=torch.float64)
    ybar = torch.tensor([2.0, 2.0], dtype=torch.float64)
    value = BagSquaredError(rho=0.5).bag_losses(f, ybar, bags=torch.tensor([0, 0]))
    # 2 * (2 - 1.75)^2 + 0.5 * (0.25^2 + 0.25^2)
    assert value.tolist() == [0.1875]


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
def test_bag_squared_error_matches_the_numpy_formula_with_weights(rho):
    rng = np.random.default_rng(0)
    bags = random_bags(23, 5, seed=1)
    f = rng.normal(size=23)
    ybar = bag_mean_of(rng.normal(size=23), bags)
    weight = rng.uniform(0.2, 3.0, size=23)
    expected = numpy_bag_squared_error(f, ybar, bags, rho, weight)
    loss = BagSquaredError(rho=rho)
    as_tensor = torch.tensor
    got = loss.bag_losses(
        as_tensor(f[:, None]), as_tensor(ybar), as_tensor(bags), sample_weight=as_tensor(weight)
    )
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    # The batch objective: half the bags' sum per unit of weight.
    batch = loss(
        as_tensor(f[:, None]),
        as_tensor(ybar),
        bags=as_tensor(bags),
        sample_weight=as_tensor(weight),
    )
    np.testing.assert_allclose(batch.item(), expected.sum() / (2 * weight.sum()), rtol=1e-12)


def test_rho_one_is_the_summed_instance_squared_error_and_trains_like_squared_error():
    rng = np.random.default_rng(2)
    bags = random_bags(30, 4)
    f = rng.normal(size=30)
    ybar = bag_mean_of(rng.normal(size=30), bags)
    weight = rng.uniform(0.5, 2.0, size=30)
    per_bag = BagSquaredError(rho=1.0).bag_losses(
        torch.tensor(f[:, None]), torch.tensor(ybar), torch.tensor(bags)
    )
    instance = [((ybar - f)[bags == bag] ** 2).sum() for bag in np.unique(bags)]
    np.testing.assert_allclose(per_bag.numpy(), instance, rtol=1e-12)
    outputs = torch.tensor(f[:, None], requires_grad=True)
    objective = BagSquaredError(rho=1.0)(
        outputs, torch.tensor(ybar), bags=torch.tensor(bags), sample_weight=torch.tensor(weight)
    )
    (gradient,) = torch.autograd.grad(objective, outputs)
    reference_outputs = torch.tensor(f[:, None], requires_grad=True)
    reference = SquaredError()(
        reference_outputs, torch.tensor(ybar), sample_weight=torch.tensor(weight)
    )
    (reference_gradient,) = torch.autograd.grad(reference, reference_outputs)
    np.testing.assert_allclose(objective.item(), reference.item(), rtol=1e-12)
    np.testing.assert_allclose(gradient.numpy(), reference_gradient.numpy(), rtol=1e-10)


def test_rho_zero_is_the_bag_level_loss():
    rng = np.random.default_rng(3)
    bags = random_bags(20, 5)
    f = rng.normal(size=20)
    ybar = bag_mean_of(rng.normal(size=20), bags)
    got = BagSquaredError(rho=0.0).bag_losses(
        torch.tensor(f[:, None]), torch.tensor(ybar), torch.tensor(bags)
    )
    expected = [5 * (ybar[bags == b][0] - f[bags == b].mean()) ** 2 for b in np.unique(bags)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_several_target_columns_average_the_columns():
    rng = np.random.default_rng(4)
    bags = random_bags(12, 3)
    f = rng.normal(size=(12, 2))
    ybar = np.stack([bag_mean_of(rng.normal(size=12), bags) for _ in range(2)], axis=1)
    got = BagSquaredError(rho=0.4).bag_losses(torch.tensor(f), torch.tensor(ybar), bags)
    expected = (
        numpy_bag_squared_error(f[:, 0], ybar[:, 0], bags, 0.4)
        + numpy_bag_squared_error(f[:, 1], ybar[:, 1], bags, 0.4)
    ) / 2
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_the_scaled_responses_give_the_scaled_loss():
    # The regressor standardises y, an affine map: the bag mean of scaled responses is
    # the scaled bag mean, so the loss in scaled units is the loss divided by scale^2.
    rng = np.random.default_rng(5)
    bags = random_bags(16, 4)
    y = rng.normal(50.0, 20.0, size=16)
    ybar, f = bag_mean_of(y, bags), rng.normal(50.0, 20.0, size=16)
    offset, scale = y.mean(), y.std()
    np.testing.assert_allclose(bag_mean_of((y - offset) / scale, bags), (ybar - offset) / scale)
    loss = BagSquaredError(rho=0.7)
    raw = loss.bag_losses(torch.tensor(f[:, None]), torch.tensor(ybar), bags)
    scaled = loss.bag_losses(
        torch.tensor((f[:, None] - offset) / scale), torch.tensor((ybar - offset) / scale), bags
    )
    np.testing.assert_allclose(scaled.numpy(), raw.numpy() / scale**2, rtol=1e-10)


@pytest.mark.parametrize("rho", [0.0, 0.25, 1.0])
def test_bag_bce_matches_the_numpy_formula(rho):
    rng = np.random.default_rng(6)
    bags = random_bags(21, 4)
    logits = rng.normal(scale=2.0, size=21)
    share = bag_mean_of(rng.integers(0, 2, size=21).astype(float), bags)
    got = BagBCE(rho=rho).bag_losses(
        torch.tensor(logits[:, None]), torch.tensor(share), torch.tensor(bags)
    )
    np.testing.assert_allclose(got.numpy(), numpy_bag_bce(logits, share, bags, rho), rtol=1e-10)


def test_bag_bce_of_single_rows_is_the_logistic_loss():
    rng = np.random.default_rng(7)
    logits = rng.normal(scale=2.0, size=15)
    labels = rng.integers(0, 2, size=15)
    p = 1 / (1 + np.exp(-logits))
    for rho in (0.0, 0.6, 1.0):
        value = BagBCE(rho=rho)(
            torch.tensor(logits[:, None]), torch.tensor(labels.astype(float)), bags=np.arange(15)
        )
        np.testing.assert_allclose(value.item(), log_loss(labels, p), rtol=1e-10)


# ---- the losses: properties ------------------------------------------------------------------
def _problem(loss, n=14, dtype=torch.float64, seed=8):
    rng = np.random.default_rng(seed)
    bags = torch.tensor(random_bags(n, 4, seed=seed))
    if isinstance(loss, BagBCE):
        target = bag_mean_of(rng.integers(0, 2, size=n).astype(float), bags.numpy())
    else:
        target = bag_mean_of(rng.normal(size=n), bags.numpy())
    outputs = torch.tensor(rng.normal(scale=2.0, size=(n, 1)), dtype=dtype, requires_grad=True)
    return outputs, torch.tensor(target, dtype=dtype), bags


LOSSES_AT_RHO = [
    pytest.param(cls(rho=rho), id=f"{cls.name}-rho{rho}")
    for cls in (BagSquaredError, BagBCE)
    for rho in (0.0, 0.5, 1.0)
]


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_gradient_matches_finite_differences(loss):
    outputs, target, bags = _problem(loss)
    weight = torch.linspace(0.5, 2.0, outputs.shape[0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda o: loss(o, target, bags=bags, sample_weight=weight), (outputs,)
    )


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_integer_weights_equal_repeated_rows_in_their_bag(loss):
    outputs, target, bags = _problem(loss)
    outputs = outputs.detach()
    weight = torch.tensor([1, 2, 0, 3, 1, 1, 2, 1, 0, 1, 2, 1, 1, 3], dtype=torch.float64)
    weighted = loss(outputs, target, bags=bags, sample_weight=weight)
    repeat = weight.long()
    repeated = loss(
        outputs.repeat_interleave(repeat, 0),
        target.repeat_interleave(repeat, 0),
        bags=bags.repeat_interleave(repeat, 0),
    )
    torch.testing.assert_close(weighted, repeated)
    summed = loss(outputs, target, bags=bags, sample_weight=weight, reduction="sum")
    torch.testing.assert_close(summed, weighted * weight.sum())


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shift, scale", [(0.0, 1e3), (200.0, 1.0), (-200.0, 1.0)])
def test_far_outputs_give_finite_values_and_gradients(loss, dtype, shift, scale):
    outputs, target, bags = _problem(loss, dtype=dtype)
    far = (outputs.detach() * scale + shift).requires_grad_(True)
    value = loss(far, target, bags=bags)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(far.grad).all()


@pytest.mark.parametrize("loss", LOSSES_AT_RHO)
def test_predicting_every_bag_response_is_a_stationary_minimum(loss):
    _, target, bags = _problem(loss)
    if isinstance(loss, BagBCE):
        target = target.clamp(0.05, 0.95)  # a finite logit for each share
        at = torch.log(target / (1 - target))
    else:
        at = target.clone()
    at = at[:, None].requires_grad_(True)
    value = loss(at, target, bags=bags)
    (gradient,) = torch.autograd.grad(value, at)
    assert gradient.abs().max() < 1e-12
    nudged = at.detach() + torch.linspace(-0.3, 0.3, at.shape[0], dtype=at.dtype)[:, None]
    assert loss(nudged, target, bags=bags) > value


def test_registry_kinds_parameters_and_search_space():
    assert "bag_squared_error" in list_losses(kind="regression")
    assert "bag_bce" in list_losses(kind="classification")
    for name in ("bag_squared_error", "bag_bce"):
        loss = get_loss(name, rho=0.2)
        assert loss.requires == ("bags",) and loss.batch_groups == "bags"
        assert clone(loss) == loss and loss.get_params() == {"rho": 0.2}
        assert type(loss).search_space == {"rho": ("float", 0.0, 1.0)}
    assert get_loss("bag_bce").binary_only and get_loss("bag_bce").n_outputs(2) == 1


# ---- the regressor ---------------------------------------------------------------------------
def test_every_training_batch_holds_whole_bags(diabetes_bags):
    X, _, ybar, bags = diabetes_bags
    _, codes = np.unique(bags, return_inverse=True)
    bag_sizes = np.bincount(codes)
    seen = []

    class Spy(BagSquaredError):
        def batch_loss(self, outputs, target, sample_weight=None, bags=None, **context):
            ids, counts = np.unique(bags.numpy(), return_counts=True)
            seen.append(bool((bag_sizes[ids] == counts).all()))
            return super().batch_loss(outputs, target, sample_weight, bags, **context)

    reg = RobustLossRegressor(loss=Spy(), batch_size=10, max_iter=2, random_state=0)
    quiet_fit(reg, X, ybar, bags=codes)
    assert len(seen) > 2 * 10 and all(seen)


def test_rho_one_with_one_batch_trains_like_squared_error(diabetes_bags):
    X, _, ybar, bags = diabetes_bags
    params = {"batch_size": len(X), "max_iter": 15, "random_state": 0}
    bag_loss = BagSquaredError(rho=1.0)
    bag = quiet_fit(RobustLossRegressor(loss=bag_loss, **params), X, ybar, bags=bags)
    rows = quiet_fit(RobustLossRegressor(loss="squared_error", **params), X, ybar)
    np.testing.assert_allclose(bag.loss_curve_, rows.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(bag.predict(X), rows.predict(X), rtol=1e-4, atol=1e-3)


def _linear_module(n_features_in, n_outputs):
    return torch.nn.Linear(n_features_in, n_outputs)


def test_linear_model_on_random_bags_bag_level_unbiased_instance_level_shrunk():
    # Rows iid with mean-zero features, random bags of k: the instance-level
    # minimiser is E[ybar | x] = x.beta / k (the other rows average out), the
    # bag-level one is x.beta (Javanmard et al. 2024).
    rng = np.random.default_rng(9)
    n, k = 3000, 4
    X = rng.normal(size=(n, 3))
    signal = X @ np.array([2.0, -1.0, 0.5])
    bags = random_bags(n, k)
    ybar = bag_mean_of(signal + rng.normal(scale=0.1, size=n), bags)
    slopes = {}
    for rho in (0.0, 1.0):
        reg = RobustLossRegressor(
            loss=BagSquaredError(rho=rho),
            module=_linear_module,
            batch_size=400,
            learning_rate_init=0.02,
            max_iter=150,
            random_state=0,
        )
        quiet_fit(reg, X, ybar, bags=bags)
        predicted = reg.predict(X)
        slopes[rho] = np.polyfit(signal, predicted - predicted.mean(), 1)[0]
    assert slopes[0.0] == pytest.approx(1.0, abs=0.05)
    assert slopes[1.0] == pytest.approx(1 / k, abs=0.05)


def test_bag_ids_of_any_kind_and_scaling_in_the_users_units(diabetes_bags):
    X, _, ybar, bags = diabetes_bags
    # Named in the order of the numbers: the same codes, so the same batches.
    names = np.array([f"store-{b:05d}" for b in bags], dtype=object)
    params = {"max_iter": 3, "random_state": 0, "loss": "bag_squared_error"}
    by_name = quiet_fit(RobustLossRegressor(**params), X, ybar, bags=names)
    by_int = quiet_fit(RobustLossRegressor(**params), X, ybar, bags=bags)
    np.testing.assert_array_equal(by_name.predict(X), by_int.predict(X))
    # Scaled with the robust statistics of the repeated responses (each bag counts
    # by its size): the median and IQR / 1.349, quantiles as the first sorted value
    # reaching the share (the inverted CDF).
    ranked = np.sort(ybar)
    n = len(ranked)
    quartile = [ranked[int(np.ceil(share * n)) - 1] for share in (0.25, 0.5, 0.75)]
    assert by_int.target_offset_[0] == pytest.approx(quartile[1])
    assert by_int.target_scale_[0] == pytest.approx((quartile[2] - quartile[0]) / 1.349, rel=1e-3)
    assert "_call_bags" not in vars(by_int)


def test_constant_within_bag_check_names_the_first_bag_in_row_order(diabetes_bags):
    X, y, ybar, bags = diabetes_bags
    broken = ybar.copy()
    first = np.flatnonzero(bags == bags[0])[1]  # the second row of the first bag
    assert bags[-1] != bags[0]
    broken[[first, len(y) - 1]] += 1.0  # two bags broken: the first in row order is named
    reg = RobustLossRegressor(loss="bag_squared_error", max_iter=1)
    match = rf"bag {bags[0]} has y = \[{ybar[0]}\] on row 0 but \[{ybar[0] + 1}\] on row {first}\."
    with pytest.raises(ValueError, match=match):
        reg.fit(X, broken, bags=bags)
    assert not hasattr(reg, "net_") and "_call_bags" not in vars(reg)


def test_early_stopping_holds_out_whole_bags(diabetes_bags):
    from skloss._targets.bags import bag_codes

    X, _, ybar, bags = diabetes_bags
    reg = RobustLossRegressor(loss="bag_squared_error", early_stopping=True)
    reg._call_bags = bag_codes(bags)
    train, valid = reg._validation_split(None, seed=0)
    assert len(train) + len(valid) == len(X)
    assert not set(bags[train]) & set(bags[valid])
    assert 0.05 < len(valid) / len(X) < 0.2
    fitted = quiet_fit(
        RobustLossRegressor(
            loss="bag_squared_error", early_stopping=True, max_iter=30, random_state=0
        ),
        X,
        ybar,
        bags=bags,
    )
    assert len(fitted.validation_scores_) == fitted.n_iter_


def test_score_with_bags_is_the_r2_of_bag_means(diabetes_bags):
    X, y, ybar, bags = diabetes_bags
    reg = quiet_fit(
        RobustLossRegressor(loss="bag_squared_error", max_iter=5, random_state=0),
        X,
        ybar,
        bags=bags,
    )
    predicted = reg.predict(X)
    ids, first, codes = np.unique(bags, return_index=True, return_inverse=True)
    sizes = np.bincount(codes)
    mean_prediction = np.bincount(codes, predicted) / sizes
    expected = r2_score(ybar[first], mean_prediction, sample_weight=sizes)
    assert reg.score(X, ybar, bags=bags) == pytest.approx(expected)
    assert reg.score(X, y) == pytest.approx(r2_score(y, predicted))


def test_partial_fit_with_bags_and_pickle(diabetes_bags):
    X, _, ybar, bags = diabetes_bags
    reg = RobustLossRegressor(loss="bag_squared_error", random_state=0)
    half = np.isin(bags, np.unique(bags)[::2])
    reg.partial_fit(X[half], ybar[half], bags=bags[half])
    reg.partial_fit(X[~half], ybar[~half], bags=bags[~half])
    assert reg.n_iter_ == 2 and "_call_bags" not in vars(reg)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_bags_reach_fit_and_score_through_routing_in_a_grid_search(diabetes_bags):
    import sklearn

    X, _, ybar, bags = diabetes_bags
    with sklearn.config_context(enable_metadata_routing=True):
        reg = RobustLossRegressor(loss="bag_squared_error", max_iter=4, random_state=0)
        reg.set_fit_request(bags=True).set_score_request(bags=True)
        pipe = make_pipeline(StandardScaler(), reg)
        search = GridSearchCV(
            pipe, {"robustlossregressor__loss__rho": [0.0, 1.0]}, cv=GroupKFold(3)
        )
        search.fit(X, ybar, bags=bags, groups=bags)
    # Fold 0 by hand: GroupKFold on the bags, fit on whole training bags, bag-level R^2.
    train, test = next(GroupKFold(3).split(X, ybar, groups=bags))
    by_hand = clone(pipe).set_params(robustlossregressor__loss__rho=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_hand[0].fit(X[train])
        by_hand[-1].fit(by_hand[0].transform(X[train]), ybar[train], bags=bags[train])
    predicted = by_hand.predict(X[test])
    ids, first, codes = np.unique(bags[test], return_index=True, return_inverse=True)
    sizes = np.bincount(codes)
    mean_prediction = np.bincount(codes, predicted) / sizes
    expected = r2_score(ybar[test][first], mean_prediction, sample_weight=sizes)
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(expected)


# ---- label proportions -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer_bags():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    bags = random_bags(len(y), 8)
    return X, y, bag_mean_of(y.astype(float), bags), bags


def test_dllp_learns_instance_labels_from_bag_proportions(cancer_bags):
    X, y, share, bags = cancer_bags
    clf = quiet_fit(
        RobustLossClassifier(loss=BagBCE(rho=0.0), max_iter=60, random_state=0),
        X,
        share,
        bags=bags,
    )
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.predict_proba(X).shape == (len(y), 2) and clf.n_outputs_ == 1
    assert clf.score(X, y) > 0.9  # instance accuracy from proportions of 8-row bags


def test_classifier_score_with_bags_compares_predicted_and_true_shares(cancer_bags):
    X, y, share, bags = cancer_bags
    clf = quiet_fit(
        RobustLossClassifier(loss="bag_bce", max_iter=5, random_state=0), X, share, bags=bags
    )
    predicted = clf.predict(X).astype(float)
    _, first, codes = np.unique(bags, return_index=True, return_inverse=True)
    sizes = np.bincount(codes)
    gap = np.abs(np.bincount(codes, predicted) / sizes - share[first])
    assert clf.score(X, share, bags=bags) == pytest.approx(1 - np.average(gap, weights=sizes))
    # Bags of one row with 0/1 shares: the accuracy.
    assert clf.score(X, y, bags=np.arange(len(y))) == pytest.approx(clf.score(X, y))


def test_validation_accuracy_of_proportions_is_the_expected_accuracy():
    from skloss._targets.classification import _Accuracy

    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    share = torch.tensor([0.75, 0.75, 0.2, 0.0])
    score = _Accuracy("cpu")
    score.update(logits, share, None)
    # predicted 1, 0, 1, 0: right with probability 0.75, 0.25, 0.2, 1.0
    assert score.result() == pytest.approx((0.75 + 0.25 + 0.2 + 1.0) / 4)


def test_label_proportions_with_early_stopping_and_partial_fit(cancer_bags):
    X, _, share, bags = cancer_bags
    clf = quiet_fit(
        RobustLossClassifier(loss="bag_bce", early_stopping=True, max_iter=20, random_state=0),
        X,
        share,
        bags=bags,
    )
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    stream = RobustLossClassifier(loss="bag_bce", random_state=0)
    stream.partial_fit(X, share, bags=bags)  # no classes needed: they are [0, 1]
    np.testing.assert_array_equal(stream.classes_, [0, 1])
