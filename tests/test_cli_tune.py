"""``skloss tune`` and the noise-aware selection of ``skloss compare`` (tiny settings)."""

import json

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

    # a second process (here: call) with the same output joins the same study
    assert main(["tune", *TINY, "--output", str(out)]) == 0
    results = json.loads((out / "tune_results.json").read_text())
    assert results["n_trials"] == 6


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
    noisy = {loss: results["results"][loss]["noisy_accuracy"] for loss in ("ce", "gce")}
    clean = {loss: results["results"][loss]["accuracy"] for loss in ("ce", "gce")}
    for fold, chosen in enumerate(selection["chosen_per_fold"]):
        # chosen from the other folds' noisy scores only (ties: the first listed)
        others = {
            loss: np.mean([s for k, s in enumerate(noisy[loss]) if k != fold])
            for loss in ("ce", "gce")
        }
        assert chosen == max(others, key=others.get)
        assert selection["clean_accuracy_per_fold"][fold] == clean[chosen][fold]
