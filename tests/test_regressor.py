"""RobustLossRegressor: MLPRegressor's interface, scaling inside, intervals, noisy targets."""

import inspect
import pickle

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier, RobustLossRegressor
from skloss.losses import HLGauss, Quantile
from skloss.noise import make_noisy_targets

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def small(**params):
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 20,
        "learning_rate_init": 0.01,
        "random_state": 0,
        **params,
    }
    return RobustLossRegressor(**params)


# ---- the interface ---------------------------------------------------------------------
def test_mlpregressor_parameters_and_defaults():
    ours = inspect.signature(RobustLossRegressor).parameters
    theirs = inspect.signature(MLPRegressor).parameters
    shared = set(ours) & set(theirs)
    assert {"hidden_layer_sizes", "alpha", "batch_size", "learning_rate_init", "max_iter"} <= shared
    for name in shared - {"loss"}:  # MLPRegressor's loss is a solver choice, ours a loss
        assert ours[name].default == theirs[name].default, name


def test_mlpregressor_fitted_attributes(diabetes):
    X, y = diabetes
    reference = MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        reference.fit(X, y)
    ours = small(max_iter=5).fit(X, y)
    fitted = {n for n in dir(reference) if n.endswith("_") and not n.startswith("_")}
    missing = [n for n in fitted if not hasattr(ours, n)]
    assert not missing
    assert ours.out_activation_ == reference.out_activation_ == "identity"
    assert ours.n_outputs_ == reference.n_outputs_ == 1
    assert [c.shape for c in ours.coefs_] == [c.shape for c in reference.coefs_]
    assert ours.predict(X).shape == reference.predict(X).shape == (len(y),)


def test_score_is_r2_and_predictions_are_in_the_users_units(diabetes):
    X, y = diabetes
    reg = small().fit(X, y)
    assert reg.score(X, y) == pytest.approx(r2_score(y, reg.predict(X)))
    # Scaling is fitted inside: an affine change of y changes the predictions the same way.
    shifted = small().fit(X, 1000.0 * y - 7.0)
    np.testing.assert_allclose(shifted.predict(X), 1000.0 * reg.predict(X) - 7.0, rtol=1e-4)
    # Robust standardisation: the median and IQR / (2 * Phi^-1(0.75)).
    low, median, high = np.quantile(y, [0.25, 0.5, 0.75], method="inverted_cdf")
    np.testing.assert_allclose(reg.target_offset_, [median])
    np.testing.assert_allclose(reg.target_scale_, [(high - low) / (2 * norm.ppf(0.75))])


def test_gross_errors_do_not_move_the_target_scaling(diabetes):
    X, y = diabetes
    clean = small(max_iter=1).fit(X, y)
    noisy_y, _ = make_noisy_targets(y, 0.1, scale=50.0, random_state=0)
    noisy = small(max_iter=1).fit(X, noisy_y)
    # A tenth of the targets off by up to hundreds of standard deviations moves the
    # median and the quartiles by a fraction of one.
    assert abs(noisy.target_offset_[0] - clean.target_offset_[0]) < 0.2 * clean.target_scale_[0]
    assert abs(noisy.target_scale_[0] / clean.target_scale_[0] - 1) < 0.25
    assert np.std(noisy_y) > 3 * np.std(y)


def test_several_target_columns(diabetes):
    X, y = diabetes
    Y = np.c_[y, -2 * y + 3]
    reg = small().fit(X, Y)
    prediction = reg.predict(X)
    assert prediction.shape == (len(y), 2) and reg.n_outputs_ == 2
    assert r2_score(Y, prediction) > 0.3
    single = small().fit(X, y[:, None])
    assert single.predict(X).shape == (len(y),)  # as MLPRegressor: one column comes back 1-D


def test_integer_weights_equal_repetition_with_full_batches(diabetes):
    X, y = diabetes
    X, y = X[:60], y[:60]
    w = np.tile([1, 2, 0], 20)
    params = {"batch_size": 200, "max_iter": 5}
    weighted = small(**params).fit(X, y, sample_weight=w)
    repeated = small(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    # One batch per epoch, the same objective, the same (weighted) target scaling.
    np.testing.assert_allclose(weighted.target_offset_, repeated.target_offset_)
    np.testing.assert_allclose(weighted.target_scale_, repeated.target_scale_)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-4)


def test_early_stopping_scores_validation_r2_and_keeps_the_best(diabetes):
    X, y = diabetes
    reg = small(early_stopping=True, max_iter=40, n_iter_no_change=5).fit(X, y)
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_loss_ is None
    # The validation rows: a 10% split drawn with the fit's seed (random_state=0).
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    _, valid = train_test_split(np.arange(len(y)), test_size=0.1, random_state=seed)
    assert r2_score(y[valid], reg.predict(X[valid])) == pytest.approx(
        reg.best_validation_score_, abs=1e-5
    )


def test_partial_fit_warm_start_and_pickle(diabetes):
    X, y = diabetes
    streamed = small()
    for chunk in np.array_split(np.arange(len(y)), 4):
        streamed.partial_fit(X[chunk], y[chunk])
    assert streamed.n_iter_ == 4
    warm = small(warm_start=True, max_iter=3).fit(X, y)
    first = warm.predict(X)
    warm.fit(X, y)
    assert warm.n_iter_ == 6 and not np.allclose(first, warm.predict(X))
    restored = pickle.loads(pickle.dumps(warm))
    np.testing.assert_array_equal(restored.predict(X), warm.predict(X))
    warm.set_params(loss="poisson")
    with pytest.raises(ValueError, match="set warm_start=False"):
        warm.fit(X, y)  # standardised network, mean-scaled loss


# ---- losses through the estimator ------------------------------------------------------
@pytest.mark.parametrize(
    "loss", ["squared_error", "absolute_error", "huber", "quantile", "poisson", "hl_gauss"]
)
def test_every_regression_loss_trains(diabetes, loss):
    X, y = diabetes
    reg = small(loss=loss, max_iter=60, learning_rate_init=0.01).fit(X[:350], y[:350])
    assert reg.score(X[350:], y[350:]) > 0.3


def test_kinds_of_loss_are_not_mixed(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="trains classification targets.*regression loss"):
        small(loss="ce").fit(X, y)
    with pytest.raises(ValueError, match="trains regression targets.*classification loss"):
        RobustLossClassifier(loss="huber").fit(X, y > y.mean())


def test_poisson_refuses_negative_targets_before_training(diabetes):
    X, y = diabetes
    reg = small(loss="poisson")
    with pytest.raises(ValueError, match=r"'poisson'.*first at positions \[0\]"):
        reg.fit(X, np.r_[-1.0, y[1:]])
    assert not hasattr(reg, "net_")


def test_hl_gauss_predictions_stay_inside_the_training_range(diabetes):
    X, y = diabetes
    reg = small(loss=HLGauss(n_bins=20, padding=0.1), max_iter=40).fit(X, y)
    edges = reg.loss_function_.edges_[0].numpy() * reg.target_scale_ + reg.target_offset_
    centres = (edges[1:] + edges[:-1]) / 2
    far = reg.predict(X * 50)  # inputs far outside the data
    assert centres[0] - 1e-6 <= far.min() and far.max() <= centres[-1] + 1e-6


# ---- intervals -------------------------------------------------------------------------
def heteroscedastic(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 1))
    y = X[:, 0] ** 2 + (0.2 + 0.3 * np.abs(X[:, 0])) * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("loss", [HLGauss(n_bins=40), Quantile(alpha=[0.05, 0.5, 0.95])])
def test_intervals_cover_about_their_nominal_share(loss):
    X, y = heteroscedastic(3000, 0)
    X_test, y_test = heteroscedastic(2000, 1)
    reg = RobustLossRegressor(
        loss=loss, hidden_layer_sizes=(32, 32), max_iter=30, early_stopping=True, random_state=0
    ).fit(X, y)
    interval = reg.predict_interval(X_test, coverage=0.9)
    assert interval.shape == (len(y_test), 2) and (interval[:, 0] <= interval[:, 1]).all()
    coverage = np.mean((y_test >= interval[:, 0]) & (y_test <= interval[:, 1]))
    # HL-Gauss's targets are smoothed by sigma = 0.75 bin widths, which widens the
    # predicted distribution a little: its intervals err on the wide side.
    assert 0.85 <= coverage <= (0.97 if isinstance(loss, HLGauss) else 0.95)
    # Wider where the noise is larger (|x| near 2) than where it is small (x near 0).
    width = interval[:, 1] - interval[:, 0]
    assert width[np.abs(X_test[:, 0]) > 1.5].mean() > 1.5 * width[np.abs(X_test[:, 0]) < 0.5].mean()
    levels = reg.predict_quantiles(X_test[:5], [0.5, 0.05, 0.95])
    assert levels.shape == (5, 3) and (levels[:, 1] <= levels[:, 0]).all()


def test_quantiles_need_a_distributional_loss(diabetes):
    X, y = diabetes
    reg = small().fit(X, y)
    with pytest.raises(AttributeError, match="loss='hl_gauss' or loss=Quantile"):
        reg.predict_quantiles(X, 0.5)
    with pytest.raises(ValueError, match="coverage must be in"):
        small(loss="hl_gauss").fit(X, y).predict_interval(X, coverage=1.5)


# ---- searches --------------------------------------------------------------------------
def test_grid_search_over_loss_parameters(diabetes):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), small(max_iter=5))
    grid = [
        {"robustlossregressor__loss": ["huber"], "robustlossregressor__loss__delta": [0.5, 2.0]},
        {
            "robustlossregressor__loss": ["hl_gauss"],
            "robustlossregressor__loss__sigma_ratio": [0.5, 1.0],
        },
    ]
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# ---- noisy targets ---------------------------------------------------------------------
def test_make_noisy_targets_corrupts_exactly_the_rate_and_leaves_y():
    y = np.linspace(0, 10, 101)
    before = y.copy()
    noisy, corrupted = make_noisy_targets(y, 0.3, random_state=0)
    assert corrupted.sum() == 30 and np.array_equal(y, before)
    assert np.array_equal(noisy[~corrupted], y[~corrupted])
    assert (noisy >= 0).all()  # non-negative targets stay non-negative
    assert np.abs(noisy[corrupted] - y[corrupted]).max() > 3 * y.std()  # gross errors
    again, _ = make_noisy_targets(y, 0.3, random_state=0)
    np.testing.assert_array_equal(noisy, again)
    shuffled, rows = make_noisy_targets(np.c_[y, -y], 0.2, kind="shuffle", random_state=1)
    assert sorted(map(tuple, shuffled[rows])) == sorted(map(tuple, np.c_[y, -y][rows]))


def test_huber_resists_gross_target_errors_where_squared_error_does_not():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=1500)
    y_noisy, _ = make_noisy_targets(y[:1000], 0.2, scale=20.0, random_state=0)
    scores = {}
    for loss in ("squared_error", "huber"):
        reg = RobustLossRegressor(loss=loss, hidden_layer_sizes=(32,), max_iter=40, random_state=0)
        scores[loss] = reg.fit(X[:1000], y_noisy).score(X[1000:], y[1000:])
    assert scores["huber"] > scores["squared_error"] + 0.05
