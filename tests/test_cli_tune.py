"""``skloss tune`` and the noise-aware selection of ``skloss compare`` (tiny settings)."""

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("optuna")
pytest.importorskip("matplotlib")

from skloss.cli import main  # noqa: E402

pytestmark = pytest.mark.usefixtures("single_torch_thread")

TINY = [
    "--dataset",
    "iris",
    "--losses",
    "ce,gce",
    "--trials",
    "3",
    "--max-iter",
    "3",
    "--folds",
    "2",
    "--quiet",
]


def test_tune_writes_best_params_results_and_plots(tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["tune", *TINY, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "noise-aware selection:" in printed and "best parameters:" in printed
    for name in (
        "best_params.json",
        "tune_results.json",
        "optimization_history.png",
        "param_importances.png",
        "study.log",
    ):
        assert (out / name).is_file(), name
    results = json.loads((out / "tune_results.json").read_text())
    best = json.loads((out / "best_params.json").read_text())
    assert best == results["best_params"] and best["loss"] in ("ce", "gce")
    # the selected loss is the one with the best noisy-CV score in the per-loss table
    table = results["per_loss"]
    assert results["selection"]["loss"] == max(table, key=lambda k: table[k]["noisy_cv_accuracy"])
    assert results["best_noisy_cv_accuracy"] == max(
        row["noisy_cv_accuracy"] for row in table.values()
    )
    assert 0 <= results["selection"]["clean_test_accuracy"] <= 1
    # the saved parameters configure an estimator
    from skloss import RobustLossClassifier
    from skloss.tuning import params_from_trial

    RobustLossClassifier().set_params(**params_from_trial(best))


def _tune(out, *extra):
    return main(["tune", *TINY, "--output", str(out), *extra])


def _results(out):
    return json.loads((out / "tune_results.json").read_text())


def test_best_params_rebuild_the_best_estimator(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossClassifier
    from skloss.noise import make_noisy_labels
    from skloss.tuning import params_from_trial

    out = tmp_path / "tune"
    assert _tune(out) == 0
    results = _results(out)
    best = json.loads((out / "best_params.json").read_text())
    # everything the trials fixed is in the file, beside what they tuned
    assert {"max_iter", "early_stopping", "n_iter_no_change", "random_state", "loss"} <= set(best)
    # the protocol, redone here: stratified split, 40% symmetric noise on the training labels
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    y_noisy, _ = make_noisy_labels(y_train, 0.4, "symmetric", random_state=0)

    def rebuilt():
        return make_pipeline(
            StandardScaler(), RobustLossClassifier().set_params(**params_from_trial(best))
        )

    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noisy_cv = np.mean(cross_val_score(rebuilt(), X_train, y_noisy, cv=cv))
        clean = accuracy_score(y_test, rebuilt().fit(X_train, y_noisy).predict(X_test))
    assert noisy_cv == pytest.approx(results["best_noisy_cv_accuracy"], abs=1e-12)
    assert clean == pytest.approx(results["selection"]["clean_test_accuracy"], abs=1e-12)


def test_a_second_run_starts_a_fresh_study_unless_asked_to_resume(tmp_path, capsys):
    out = tmp_path / "tune"
    assert _tune(out) == 0
    assert _results(out)["settings"]["study"] == "skloss-tune-1"
    # the same command again: a fresh study, the first one's trials left out
    assert _tune(out) == 0
    results = _results(out)
    assert results["settings"]["study"] == "skloss-tune-2" and results["n_trials"] == 3
    # --resume continues the latest study
    assert _tune(out, "--resume") == 0
    results = _results(out)
    assert results["settings"]["study"] == "skloss-tune-2" and results["n_trials"] == 6
    assert "resumed study 'skloss-tune-2'" in capsys.readouterr().err
    # other noise settings: refused, before any trial
    with pytest.raises(SystemExit) as exit_info:
        _tune(out, "--resume", "--noise", "0.2")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "study 'skloss-tune-2' in journal:" in err
    assert "was run with other settings (noise: study 0.4, this run 0.2)" in err
    assert _results(out)["n_trials"] == 6


def test_processes_naming_one_study_share_it(tmp_path):
    storage = tmp_path / "shared" / "study.log"  # a plain path: a journal file
    for worker in ("a", "b"):
        assert _tune(tmp_path / worker, "--storage", str(storage), "--study", "iris40") == 0
    results = _results(tmp_path / "b")
    assert results["settings"]["study"] == "iris40" and results["n_trials"] == 6
    assert results["settings"]["storage"] == f"journal:{storage}"
    assert storage.is_file()


def test_tune_usage_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--dataset", "iris", "--folds", "1", "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "argument --folds: must be at least 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "--test-size", "1.5"])
    assert "expected a share in (0, 1)" in capsys.readouterr().err


def test_compare_reports_a_nested_noise_aware_selection(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                "--dataset",
                "iris",
                "--losses",
                "ce,gce",
                "--hidden",
                "8",
                "--max-iter",
                "5",
                "--folds",
                "3",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "noise-aware selection (chosen on noisy validation labels)" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    selection = results["selection"]
    models = list(results["results"])  # the losses and the peers
    assert len(models) == 5
    noisy = {name: results["results"][name]["noisy_accuracy"] for name in models}
    clean = {name: results["results"][name]["accuracy"] for name in models}
    for fold, chosen in enumerate(selection["chosen_per_fold"]):
        # chosen from the other folds' noisy scores only (ties: the first listed)
        others = {
            name: np.mean([s for k, s in enumerate(noisy[name]) if k != fold]) for name in models
        }
        assert chosen == max(others, key=others.get)
        assert selection["clean_accuracy_per_fold"][fold] == clean[chosen][fold]


REG_TINY = [
    "--dataset",
    "diabetes",
    "--losses",
    "squared_error,huber,hl_gauss",
    "--noise",
    "0.2",
    "--trials",
    "4",
    "--max-iter",
    "4",
    "--folds",
    "2",
    "--quiet",
]


def test_tune_regression_rebuilds_the_best_regressor_from_best_params(tmp_path, capsys):
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import KFold, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossRegressor
    from skloss.noise import make_noisy_targets
    from skloss.tuning import params_from_trial

    out = tmp_path / "tune"
    assert main(["tune", *REG_TINY, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    first_line = printed.splitlines()[0]
    assert first_line == "task: regression (--dataset diabetes is a regression data set)"
    assert "noisy CV RMSE" in printed and "clean test RMSE" in printed
    results = _results(out)
    assert results["settings"]["task"] == "regression"
    assert results["settings"]["noise_kind"] == "outliers"
    best = json.loads((out / "best_params.json").read_text())
    assert best["loss"] in ("squared_error", "huber", "hl_gauss")
    assert {"max_iter", "early_stopping", "n_iter_no_change", "random_state"} <= set(best)
    # each loss's best trial holds that loss's own parameters only
    own = {"squared_error": set(), "huber": {"loss__delta"}, "hl_gauss": {"loss__n_bins",
           "loss__sigma_ratio", "loss__tail"}}  # fmt: skip
    for loss, row in results["per_loss"].items():
        assert {key for key in row["params"] if key.startswith("loss__")} == own[loss]
    # the protocol, redone: shuffled split, gross errors on the training targets only
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    y_noisy, _ = make_noisy_targets(y_train, 0.2, "outliers", random_state=0)

    def rebuilt():
        return make_pipeline(
            StandardScaler(), RobustLossRegressor().set_params(**params_from_trial(best))
        )

    def trimmed_rmse(target, predicted):  # the largest 20% of residuals left out
        residuals = np.sort(np.abs(target - predicted))
        return np.sqrt(np.mean(residuals[: len(residuals) - round(0.2 * len(residuals))] ** 2))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv_scores = [
            trimmed_rmse(y_noisy[test], rebuilt().fit(X_train[fit], y_noisy[fit]).predict(
                X_train[test]))
            for fit, test in KFold(2, shuffle=True, random_state=0).split(X_train)
        ]  # fmt: skip
        predicted = rebuilt().fit(X_train, y_noisy).predict(X_test)
    assert np.mean(cv_scores) == pytest.approx(results["best_noisy_cv_rmse"], rel=1e-9)
    assert min(row["noisy_cv_rmse"] for row in results["per_loss"].values()) == pytest.approx(
        results["best_noisy_cv_rmse"]
    )
    selection = results["selection"]
    assert selection["clean_test_rmse"] == pytest.approx(
        np.sqrt(np.mean((predicted - y_test) ** 2)), rel=1e-9
    )
    assert selection["clean_test_mae"] == pytest.approx(np.mean(np.abs(predicted - y_test)))
    assert selection["clean_test_r2"] == pytest.approx(
        1 - np.sum((predicted - y_test) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    )


def test_a_study_of_the_other_task_is_refused(tmp_path, capsys):
    storage = tmp_path / "study.log"
    args = ["--storage", str(storage), "--study", "shared", "--output", str(tmp_path / "o")]
    assert main(["tune", *TINY, "--noise", "0", *args]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", *REG_TINY, "--noise", "0", "--losses", "squared_error", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "was run with other settings (" in err and "task: study 'classification'" in err
