"""Learning from aggregate responses: ``fit(..., bags=...)``, routing, scores (issue 21).

The losses' own reference values are in ``tests/losses/test_aggregate.py``.

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
from losses._reference import bag_mean_of, random_bags  # tests/losses/_reference.py
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier, RobustLossRegressor
from skloss.losses import BagBCE, BagSquaredError

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


# ---- helpers -----------------------------------------------------------------------------
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
