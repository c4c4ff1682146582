"""skloss.tuning: search spaces, clone-safe pruning, reproducible parallel tuning."""

import copy
import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

optuna = pytest.importorskip("optuna")
pytest.importorskip("optuna_integration")

from skloss import (  # noqa: E402
    AnyLossClassifier,
    RobustLossClassifier,
    tuning,  # noqa: E402
)
from skloss.losses import LOSSES, get_loss, list_losses  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    # Fixed epoch budgets: not converging is expected; OptunaSearchCV is experimental.
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
optuna.logging.set_verbosity(optuna.logging.WARNING)

MAX_ITER = 4


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=90, n_features=6, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


def _small(**params):
    base = dict(
        hidden_layer_sizes=(8,),
        max_iter=MAX_ITER,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=50,
        learning_rate_init=0.01,
    )
    base.update(params)
    return RobustLossClassifier(**base)


def _quiet(function, *args, **kwargs):
    # The module's filterwarnings mark silences the expected warnings: catch_warnings
    # here would not be thread-safe (threaded studies call this concurrently).
    return function(*args, **kwargs)


# ---- search spaces ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_search_space_is_valid_at_its_bounds(name):
    entry = LOSSES[name]
    cls = getattr(entry, "cls", entry)
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    for param, spec in cls.search_space.items():
        assert param in params, f"{cls.__name__}.search_space names unknown {param!r}"
        if param in getattr(entry, "fixed", {}):
            continue
        if spec[0] == "categorical":
            values = list(spec[1])
        else:
            assert spec[1] <= spec[2]
            values = [spec[1], spec[2]]
        for value in values:  # both ends of the range are valid hyperparameters
            get_loss(name, **{param: value}).validate()


def test_suggest_params_draws_the_documented_space(data):
    X, y = data
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_losses = set()
    for _ in range(12):
        trial = study.ask()
        params = tuning.suggest_params(trial, RobustLossClassifier(), losses=["ce", "gce", "sce"])
        seen_losses.add(params["loss"])
        assert 1e-4 <= params["learning_rate_init"] <= 3e-2
        assert trial.distributions["learning_rate_init"].log
        assert trial.distributions["alpha"].log
        assert isinstance(params["hidden_layer_sizes"], tuple)
        assert params["hidden_layer_sizes"] in tuning.HIDDEN_LAYER_CHOICES
        # only the chosen loss's parameters, named after it in the trial
        own = {f"loss__{p}" for p in type(get_loss(params["loss"])).search_space}
        assert {k for k in params if k.startswith("loss__")} == own
        assert all(
            not k.startswith(("gce__", "sce__", "ce__")) or k.startswith(params["loss"] + "__")
            for k in trial.params
        )
        clf = RobustLossClassifier().set_params(**params)
        for key in own:
            assert getattr(clf.loss, key.split("__")[1]) == params[key]
        study.tell(trial, 0.0)
    assert seen_losses == {"ce", "gce", "sce"}


def test_binary_only_losses_offered_only_for_two_classes(monkeypatch):
    from skloss.losses import Loss

    class BinaryOnly(Loss):
        name = "binary_test"
        binary_only = True

    monkeypatch.setitem(LOSSES, "binary_test", BinaryOnly)
    assert "binary_test" not in tuning.loss_choices(RobustLossClassifier())
    assert "binary_test" not in tuning.loss_choices(RobustLossClassifier(), n_classes=3)
    assert "binary_test" in tuning.loss_choices(RobustLossClassifier(), n_classes=2)


def test_searches_do_not_draw_losses_that_are_another_loss_by_default():
    # forward/backward without a transition matrix are plain cross-entropy: a search
    # drawing them would spend trials on ce under another name. Losses needing
    # supervision beyond y (teacher scores, bags) cannot train fit(X, y).
    from skloss.losses import CrossEntropy, ForwardCorrection, get_loss

    choices = tuning.loss_choices(RobustLossClassifier())
    assert not {"forward", "backward", "pld", "kd", "bag_bce"} & set(choices)
    assert {"ce", "gce", "sce"} <= set(choices)
    assert not ForwardCorrection().searchable
    assert ForwardCorrection([[0.8, 0.2], [0.3, 0.7]]).searchable
    assert not get_loss("backward").searchable
    assert CrossEntropy().searchable
    # By hand, every multi-class name that is left out, and why.
    offered = [n for n in list_losses(kind="classification") if not LOSSES[n].binary_only]
    assert set(offered) - set(choices) == {
        name
        for name in offered
        if get_loss(name).supervision_beyond_y or name in ("forward", "backward")
    }


def test_anyloss_classifier_tunes_its_own_loss_parameters():
    trial = optuna.trial.FixedTrial(
        {
            "learning_rate_init": 1e-3,
            "alpha": 1e-4,
            "hidden_layer_sizes": "32",
            "early_stopping": True,
            "amplification": 20.0,
        }
    )
    params = tuning.suggest_params(trial, AnyLossClassifier())
    assert params["amplification"] == 20.0 and "loss" not in params
    AnyLossClassifier().set_params(**params)


def test_hidden_sizes_survive_persistent_storage(data, tmp_path):
    X, y = data
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(tmp_path / "journal.log")))
    study = optuna.create_study(
        storage=storage,
        study_name="hidden",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=1),
    )

    def objective(trial):
        params = tuning.suggest_params(trial, RobustLossClassifier(), losses=["gce"])
        return float(sum(params["hidden_layer_sizes"]))

    study.optimize(objective, n_trials=6)
    reloaded = optuna.load_study(study_name="hidden", storage=storage)
    best = tuning.params_from_trial(reloaded)
    assert isinstance(best["hidden_layer_sizes"], tuple)
    assert sum(best["hidden_layer_sizes"]) == reloaded.best_value
    assert best["loss"] == "gce" and 0.1 <= best["loss__q"] <= 1.0
    # lists (how storages return tuple choices) come back as tuples
    assert tuning.params_from_trial({"hidden_layer_sizes": [64, 32]}) == {
        "hidden_layer_sizes": (64, 32)
    }


def test_param_distributions_match_the_loss_space():
    dists = tuning.param_distributions(RobustLossClassifier(), loss="gce")
    assert dists["loss__q"] == optuna.distributions.FloatDistribution(0.1, 1.0)
    assert dists["learning_rate_init"].log and dists["alpha"].log
    assert dists["loss"].choices == ("gce",)
    assert set(dists["hidden_layer_sizes"].choices) == set(tuning.HIDDEN_LAYER_CHOICES)
    mae = tuning.param_distributions(RobustLossClassifier(loss="mae"))
    assert not any(k.startswith("loss__") for k in mae)


def test_space_override_and_bad_space():
    trial = optuna.trial.FixedTrial(
        {"learning_rate_init": 0.01, "loss": "ce", "ce__label_smoothing": 0.1}
    )
    params = tuning.suggest_params(
        trial,
        RobustLossClassifier(),
        losses=["ce"],
        space={"alpha": None, "hidden_layer_sizes": None, "early_stopping": None},
    )
    assert params == {"learning_rate_init": 0.01, "loss": "ce", "loss__label_smoothing": 0.1}


# ---- pipelines -------------------------------------------------------------------------
_FIXED = {
    "loss": "gce",
    "gce__q": 0.5,
    "learning_rate_init": 1e-3,
    "alpha": 1e-4,
    "hidden_layer_sizes": "64-64",
    "early_stopping": False,
}


def _pipeline(clf=None):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", clf or RobustLossClassifier())])


def test_suggest_params_on_a_pipeline_names_the_step():
    pipe = _pipeline()
    params = tuning.suggest_params(optuna.trial.FixedTrial(_FIXED), pipe, losses=["ce", "gce"])
    assert params == {
        "clf__loss": "gce",
        "clf__loss__q": 0.5,
        "clf__learning_rate_init": 1e-3,
        "clf__alpha": 1e-4,
        "clf__hidden_layer_sizes": (64, 64),
        "clf__early_stopping": False,
    }
    pipe.set_params(**params)
    assert pipe[-1].loss.q == 0.5 and pipe[-1].hidden_layer_sizes == (64, 64)
    # params_from_trial gives the same names when told the estimator
    assert tuning.params_from_trial(_FIXED, pipe) == params
    assert "gce" in tuning.loss_choices(pipe)


def test_search_space_and_distributions_of_a_pipeline():
    pipe = _pipeline(RobustLossClassifier(loss="gce"))
    expected = {
        "clf__learning_rate_init",
        "clf__alpha",
        "clf__hidden_layer_sizes",
        "clf__early_stopping",
        "clf__loss__q",
    }
    assert set(tuning.search_space(pipe)) == expected
    assert tuning.search_space(pipe)["clf__loss__q"] == ("float", 0.1, 1.0)
    dists = tuning.param_distributions(pipe, loss="gce", space={"clf__alpha": None})
    assert set(dists) == (expected - {"clf__alpha"}) | {"clf__loss"}
    assert dists["clf__loss__q"] == optuna.distributions.FloatDistribution(0.1, 1.0)


def test_skloss_step_found_inside_a_meta_estimator():
    from sklearn.calibration import CalibratedClassifierCV

    wrapped = CalibratedClassifierCV(_pipeline())
    params = tuning.suggest_params(optuna.trial.FixedTrial(_FIXED), wrapped, losses=["gce"])
    assert params["estimator__clf__loss__q"] == 0.5
    wrapped.set_params(**params)


def test_two_skloss_steps_need_a_step_name():
    from sklearn.ensemble import VotingClassifier

    vote = VotingClassifier([("a", RobustLossClassifier()), ("b", AnyLossClassifier())])
    with pytest.raises(ValueError, match=r"several skloss estimators \(a, b\); pass step=NAME"):
        tuning.search_space(vote)
    assert set(tuning.search_space(vote, step="b")) >= {"b__amplification", "b__alpha"}


def test_optuna_search_cv_tunes_a_pipeline(data):
    X, y = data
    pipe = _pipeline(_small(loss="gce", early_stopping=False))
    search = tuning.OptunaSearchCV(
        pipe,
        tuning.param_distributions(
            pipe, space={"early_stopping": None, "hidden_layer_sizes": None}
        ),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        n_trials=2,
        random_state=0,
    )
    _quiet(search.fit, X, y)
    best = search.best_trial_.params
    assert set(best) == {"clf__learning_rate_init", "clf__alpha", "clf__loss__q"}
    fitted = search.best_estimator_[-1]
    assert fitted.learning_rate_init == best["clf__learning_rate_init"]
    assert fitted.loss.q == best["clf__loss__q"]


# ---- grids over several losses ---------------------------------------------------------
def test_one_grid_over_losses_with_different_parameters_says_the_fix(data):
    X, y = data
    grid = {"clf__loss": ["ce", "gce"], "clf__loss__q": [0.5, 0.7]}
    search = GridSearchCV(_pipeline(_small()), grid, cv=2)
    with pytest.raises(
        ValueError,
        match=r"Invalid parameter 'q' for loss CrossEntropy.*one grid per loss.*"
        r"\[\{'loss': \['ce'\]\}, \{'loss': \[\.\.\.\], 'loss__q'.*skloss\.tuning\.loss_grid",
    ):
        _quiet(search.fit, X, y)


def test_loss_grid_searches_each_loss_with_its_own_parameters(data):
    X, y = data
    pipe = _pipeline(_small())
    grids = tuning.loss_grid({"ce": {}, "gce": {"q": [0.5, 0.7]}}, pipe)
    assert grids == [
        {"clf__loss": ["ce"]},
        {"clf__loss": ["gce"], "clf__loss__q": [0.5, 0.7]},
    ]
    search = _quiet(GridSearchCV(pipe, grids, cv=2).fit, X, y)
    assert search.cv_results_["params"] == [
        {"clf__loss": "ce"},
        {"clf__loss": "gce", "clf__loss__q": 0.5},
        {"clf__loss": "gce", "clf__loss__q": 0.7},
    ]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # a list of names, no pipeline
    assert tuning.loss_grid(["ce", "mae"]) == [{"loss": ["ce"]}, {"loss": ["mae"]}]


# ---- regressors, and the losses a problem can train ----------------------------------
REGRESSION_LOSSES = ["absolute_error", "hl_gauss", "huber", "poisson", "quantile", "squared_error"]


def test_each_kind_of_estimator_is_offered_its_own_losses():
    from skloss import RobustLossRegressor

    assert tuning.loss_choices(RobustLossRegressor()) == REGRESSION_LOSSES
    assert tuning.loss_choices(_pipeline(RobustLossRegressor())) == REGRESSION_LOSSES
    for n_classes in (None, 2, 3, 10):
        offered = tuning.loss_choices(RobustLossClassifier(), n_classes=n_classes)
        assert not set(offered) & set(REGRESSION_LOSSES)
        assert {"ce", "gce", "mae"} <= set(offered)


@pytest.mark.parametrize(
    "n_classes, offered, left_out",
    [
        # z_loss: two standardised logits are +-1, a step; mw_auc: two classes only
        (2, {"mw_auc", "anyloss_accuracy"}, {"z_loss"}),
        (3, {"z_loss", "anyloss_accuracy"}, {"mw_auc"}),
        # the soft accuracy of 5 classes or more rewards confident mistakes
        (5, {"z_loss"}, {"anyloss_accuracy", "mw_auc"}),
    ],
)
def test_classifier_losses_follow_why_cannot_train(n_classes, offered, left_out):
    choices = set(tuning.loss_choices(RobustLossClassifier(), n_classes=n_classes))
    assert offered <= choices and not left_out & choices
    # a trial asked to draw such a loss is refused before drawing anything
    study = optuna.create_study()
    trial = study.ask()
    with pytest.raises(ValueError, match=r"losses names '.*', which cannot train here"):
        tuning.suggest_params(
            trial, RobustLossClassifier(), losses=["ce", *sorted(left_out)], n_classes=n_classes
        )
    assert trial.params == {}


def test_suggest_params_draws_regression_losses_for_a_regressor_pipeline():
    from sklearn.datasets import make_regression

    from skloss import RobustLossRegressor

    X, y = make_regression(n_samples=60, n_features=4, noise=5.0, random_state=0)
    pipe = _pipeline(RobustLossRegressor(max_iter=2, hidden_layer_sizes=(8,), random_state=0))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    own = {
        "squared_error": set(),
        "absolute_error": set(),
        "poisson": set(),
        "huber": {"delta"},
        "quantile": {"alpha"},
        "hl_gauss": {"n_bins", "sigma_ratio", "tail"},
    }
    seen = set()
    for _ in range(24):
        trial = study.ask()
        params = tuning.suggest_params(trial, pipe)
        loss = params["clf__loss"]
        seen.add(loss)
        assert {k[len("clf__loss__") :] for k in params if k.startswith("clf__loss__")} == own[loss]
        if loss == "huber":
            assert 0.1 <= params["clf__loss__delta"] <= 3.0
        if loss == "hl_gauss":
            assert 20 <= params["clf__loss__n_bins"] <= 200
            assert 0.25 <= params["clf__loss__sigma_ratio"] <= 2.0
        study.tell(trial, 0.0)
    assert seen == set(own)
    # the last draw configures and fits the pipeline
    pipe.set_params(**params)
    assert pipe.fit(X, y - y.min()).predict(X).shape == (60,)


def test_regression_spaces_and_distributions():
    from skloss import RobustLossRegressor

    dists = tuning.param_distributions(RobustLossRegressor(), loss="huber")
    assert dists["loss__delta"] == optuna.distributions.FloatDistribution(0.1, 3.0, log=True)
    assert dists["loss"].choices == ("huber",)
    space = tuning.search_space(RobustLossRegressor(loss="hl_gauss"))
    assert space["loss__n_bins"] == ("int", 20, 200)
    assert space["loss__sigma_ratio"] == ("float", 0.25, 2.0, "log")
    assert not any(k.startswith("loss__") for k in tuning.search_space(RobustLossRegressor()))


def test_grid_search_over_delta_and_sigma_ratio():
    from sklearn.datasets import make_regression
    from sklearn.model_selection import KFold

    from skloss import RobustLossRegressor

    X, y = make_regression(n_samples=80, n_features=4, noise=5.0, random_state=0)
    pipe = _pipeline(RobustLossRegressor(max_iter=3, hidden_layer_sizes=(8,), random_state=0))
    grids = tuning.loss_grid(
        {"huber": {"delta": [0.5, 2.0]}, "hl_gauss": {"sigma_ratio": [0.5, 1.0]}}, pipe
    )
    search = GridSearchCV(pipe, grids, cv=KFold(2, shuffle=True, random_state=0))
    _quiet(search.fit, X, y)
    assert search.cv_results_["params"] == [
        {"clf__loss": "huber", "clf__loss__delta": 0.5},
        {"clf__loss": "huber", "clf__loss__delta": 2.0},
        {"clf__loss": "hl_gauss", "clf__loss__sigma_ratio": 0.5},
        {"clf__loss": "hl_gauss", "clf__loss__sigma_ratio": 1.0},
    ]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_params_
    fitted = search.best_estimator_[-1].loss_function_
    assert fitted.name == best["clf__loss"]
    param = "delta" if fitted.name == "huber" else "sigma_ratio"
    assert getattr(fitted, param) == best[f"clf__loss__{param}"]


# ---- pruning ---------------------------------------------------------------------------
class _PruneAtStep(optuna.pruners.BasePruner):
    """Prune once the trial has reported `step` (a pruner whose decision is known)."""

    def __init__(self, step):
        self.step = step

    def prune(self, study, trial):
        return trial.last_step is not None and trial.last_step >= self.step


def test_callback_survives_clone_and_deepcopy():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    callback = tuning.PruningCallback.for_trial(trial)
    clf = _small(callbacks=[callback])
    cloned = clone(clf)
    assert cloned.callbacks[0] is not callback
    assert cloned.callbacks[0].trial_key == callback.trial_key
    assert copy.deepcopy(callback)._entry().trial is trial


def test_a_finished_study_is_freed_with_its_trials(data):
    import gc
    import weakref

    from skloss.tuning import pruning

    X, y = data

    def run_study():
        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
        keys = []

        def objective(trial):
            callback = tuning.PruningCallback.for_trial(trial)
            keys.append(callback.trial_key)
            return float(_quiet(_small(callbacks=[callback]).fit, X, y).validation_scores_[-1])

        study.optimize(objective, n_trials=2)
        return weakref.ref(study), keys

    study, keys = run_study()
    gc.collect()
    assert study() is None
    assert len(keys) == 2 and not any(key in pruning._TRIALS for key in keys)


def test_cross_val_score_reports_each_fold_at_its_own_steps(data):
    X, y = data
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    clf = _small(callbacks=[tuning.PruningCallback.for_trial(trial)])
    _quiet(cross_val_score, clf, X, y, cv=cv, error_score="raise")
    reported = trial.storage.get_trial(trial._trial_id).intermediate_values
    # independent: each fold fitted on its own, its validation_scores_ read back
    expected = {}
    for fold, (train, _) in enumerate(cv.split(X, y)):
        scores = _quiet(_small().fit, X[train], y[train]).validation_scores_
        for epoch, score in enumerate(scores):
            expected[fold * MAX_ITER + epoch] = score
    assert reported == pytest.approx(expected)


def test_pruning_raises_out_of_cross_val_score(data):
    X, y = data
    study = optuna.create_study(direction="maximize", pruner=_PruneAtStep(1))
    trial = study.ask()
    clf = _small(callbacks=[tuning.PruningCallback.for_trial(trial)])
    with pytest.raises(optuna.TrialPruned, match="pruned at step 1"):
        _quiet(cross_val_score, clf, X, y, cv=3, error_score="raise")
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == [0, 1]


def test_pruning_not_swallowed_by_skloss_fit(data):
    X, y = data
    study = optuna.create_study(direction="maximize", pruner=_PruneAtStep(0))
    trial = study.ask()
    clf = _small(callbacks=[tuning.PruningCallback.for_trial(trial)])
    with pytest.raises(optuna.TrialPruned):
        _quiet(clf.fit, X, y)
    # a later fit of the pruned trial stops at its start
    with pytest.raises(optuna.TrialPruned, match="no further fits"):
        _quiet(clone(clf).fit, X, y)


def test_pruned_fits_with_nan_error_score_are_still_reported(data):
    X, y = data
    # fold 0 completes, fold 1 is pruned at its second epoch, fold 2 stops at its start
    study = optuna.create_study(direction="maximize", pruner=_PruneAtStep(MAX_ITER + 1))

    def objective(trial):
        clf = _small(callbacks=[tuning.PruningCallback.for_trial(trial)])
        scores = _quiet(cross_val_score, clf, X, y, cv=3)  # sklearn's error_score=nan
        assert np.isfinite(scores[0]) and np.isnan(scores[1:]).all()
        tuning.PruningCallback.raise_if_pruned(trial)
        return float(np.mean(scores))

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED


def test_grid_search_reports_every_fit(data):
    X, y = data
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())

    def objective(trial):
        clf = _small(loss="gce", callbacks=[tuning.PruningCallback.for_trial(trial)])
        search = GridSearchCV(clf, {"loss__q": [0.3, 0.7]}, cv=2, error_score="raise")
        _quiet(search.fit, X, y)
        return search.best_score_

    study.optimize(objective, n_trials=1)
    steps = sorted(study.trials[0].intermediate_values)
    # 2 candidates x 2 folds + the refit = 5 fits of MAX_ITER epochs, each its own steps
    assert steps == list(range(5 * MAX_ITER))


def test_monitor_missing_is_a_clear_error(data):
    X, y = data
    trial = optuna.create_study().ask()
    clf = _small(early_stopping=False, callbacks=[tuning.PruningCallback.for_trial(trial)])
    with pytest.raises(ValueError, match="need early_stopping=True; or use"):
        _quiet(clf.fit, X, y)


def test_optuna_search_cv_with_pruning(data):
    X, y = data
    clf = _small(loss="gce", early_stopping=False)
    search = tuning.OptunaSearchCV(
        clf,
        tuning.param_distributions(clf, space={"early_stopping": None}),
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        enable_pruning=True,
        max_iter=MAX_ITER,
        n_trials=8,
        random_state=0,
        error_score="raise",
        study=optuna.create_study(
            direction="maximize",
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        ),
    )
    _quiet(search.fit, X, y)
    states = [t.state for t in search.trials_]
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 2
    assert optuna.trial.TrialState.PRUNED in states
    assert all(
        s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states
    )
    assert search.best_estimator_.predict(X).shape == y.shape
    # Each step's value is the mean over folds (OptunaSearchCV's own reporting).
    assert all(len(t.intermediate_values) >= 1 for t in search.trials_)


# ---- reproducible parallel tuning ----------------------------------------------------
_ENQUEUED = [
    {"loss": "gce", "gce__q": 0.5, "learning_rate_init": 0.01},
    {"loss": "ce", "ce__label_smoothing": 0.1, "learning_rate_init": 0.003},
    {"loss": "gce", "gce__q": 0.9, "learning_rate_init": 0.02},
    {"loss": "sce", "sce__alpha": 0.1, "sce__beta": 0.5, "learning_rate_init": 0.005},
]


def _scores_by_params(data, n_jobs):
    X, y = data
    space = {"alpha": None, "hidden_layer_sizes": None, "early_stopping": None}
    study = optuna.create_study(direction="maximize")
    for params in _ENQUEUED:
        study.enqueue_trial(params)

    def objective(trial):
        params = tuning.suggest_params(
            trial, RobustLossClassifier(), losses=["ce", "gce", "sce"], space=space
        )
        clf = _small(early_stopping=False).set_params(**params)
        return float(np.mean(_quiet(cross_val_score, clf, X, y, cv=2)))

    study.optimize(objective, n_trials=len(_ENQUEUED), n_jobs=n_jobs)
    return {tuple(sorted(t.params.items())): t.value for t in study.trials}


def test_threaded_study_matches_sequential(data):
    sequential = _scores_by_params(data, n_jobs=1)
    threaded = _scores_by_params(data, n_jobs=2)
    assert len(sequential) == len(_ENQUEUED)
    assert threaded == sequential


def test_threaded_optuna_search_cv_matches_sequential_fits(data):
    X, y = data
    clf = _small(loss="gce", early_stopping=False)
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = tuning.OptunaSearchCV(
        clf,
        tuning.param_distributions(clf, space={"early_stopping": None, "hidden_layer_sizes": None}),
        cv=cv,
        n_trials=4,
        n_jobs=2,
        random_state=0,
    )
    _quiet(search.fit, X, y)
    for trial in search.trials_:
        alone = clone(clf).set_params(**tuning.params_from_trial(trial))
        expected = np.mean(_quiet(cross_val_score, alone, X, y, cv=cv))
        assert trial.user_attrs["mean_test_score"] == expected
