"""``--selection-score clean_accuracy`` of ``skloss compare`` and ``skloss tune``: models
ranked by the clean accuracy estimated from noisy labels, T estimated on each training
fold (tiny settings)."""

import json

import numpy as np
import pytest

from skloss.cli import main

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def test_compare_selects_by_estimated_clean_accuracy(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "wine", "--losses", "ce,sce", "--hidden", "8"]
    args += ["--max-iter", "5", "--folds", "3", "--noise", "0.3", "--noise-kind", "pairflip"]
    args += ["--selection-score", "clean_accuracy", "--output", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "chosen on noisy validation labels, by the clean accuracy estimated from them" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["selection_score"] == "clean_accuracy"
    selection = results["selection"]
    assert selection["score"] == "estimated_clean_accuracy"
    models = list(results["results"])
    estimated = {name: results["results"][name]["estimated_clean_accuracy"] for name in models}
    assert all(len(v) == 3 and all(0 <= s <= 1 for s in v) for v in estimated.values())
    for fold, chosen in enumerate(selection["chosen_per_fold"]):
        others = {
            name: np.mean([s for k, s in enumerate(estimated[name]) if k != fold])
            for name in models
        }
        assert chosen == max(others, key=others.get)
        assert (
            selection["clean_accuracy_per_fold"][fold]
            == results["results"][chosen]["accuracy"][fold]
        )


def test_compare_ranks_a_fold_with_near_singular_t_by_noisy_accuracy(tmp_path, monkeypatch, capsys):
    # The second fold's estimated T is replaced by one that swaps classes 0 and 1
    # 49.9% of the time (eigenvalues 1, 1 and 0.002: condition number 500 > 100): its
    # estimate is then the noisy test accuracy, the selection still ranks every fold,
    # and the progress log (stderr) says so.
    import skloss.noise

    singular = np.array([[0.501, 0.499, 0.0], [0.499, 0.501, 0.0], [0.0, 0.0, 1.0]])
    original = skloss.noise.estimate_transition
    calls = []

    def patched(*args, **kwargs):
        estimate = original(*args, **kwargs)
        calls.append(estimate)
        if len(calls) == 2:
            estimate = estimate._replace(transition=singular)
        return estimate

    monkeypatch.setattr(skloss.noise, "estimate_transition", patched)
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "wine", "--losses", "ce,sce", "--hidden", "8"]
    args += ["--max-iter", "5", "--folds", "3", "--noise", "0.3", "--noise-kind", "pairflip"]
    args += ["--selection-score", "clean_accuracy", "--output", str(out)]
    assert main(args) == 0
    assert len(calls) == 3
    results = json.loads((out / "results.json").read_text())
    assert [f["transition_inverted"] for f in results["folds"]] == [True, False, True]
    for name, record in results["results"].items():
        at = record["fold"].index(1)
        assert record["estimated_clean_accuracy"][at] == pytest.approx(
            record["noisy_accuracy"][at]
        ), name
    selection = results["selection"]
    assert selection is not None and len(selection["chosen_per_fold"]) == 3
    assert "fold 2/3: the transition matrix estimated on its training rows is near-singular" in (
        capsys.readouterr().err
    )


def test_compare_default_records_no_estimate(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "iris", "--losses", "ce", "--hidden", "4", "--max-iter"]
    args += ["2", "--folds", "2", "--no-baselines", "--output", str(out), "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["selection_score"] == "noisy_accuracy"
    assert "estimated_clean_accuracy" not in results["results"]["ce"]
    assert results["selection"]["score"] == "noisy_accuracy"


def _tune_by_clean_accuracy(out, *extra):
    """``skloss tune`` arguments: two trials of ``ce`` on iris, 2 folds, 30% pair-flip
    noise, selected by estimated clean accuracy."""
    args = ["tune", "--dataset", "iris", "--losses", "ce", "--trials", "2", "--max-iter", "3"]
    args += ["--folds", "2", "--noise-kind", "pairflip", "--noise", "0.3", "--quiet"]
    return args + ["--selection-score", "clean_accuracy", *extra, "--output", str(out)]


def test_tune_scores_trials_by_estimated_clean_accuracy(tmp_path, record_keyword):
    pytest.importorskip("optuna")
    import skloss.noise.clean_accuracy as module

    calls = record_keyword(module, "estimated_clean_accuracy", "transition")
    out = tmp_path / "tune"
    assert main(_tune_by_clean_accuracy(out)) == 0
    assert len(calls) == 4  # 2 trials x 2 folds, each scored with its fold's T
    results = json.loads((out / "tune_results.json").read_text())
    assert results["settings"]["selection_score"] == "clean_accuracy"
    assert "clean accuracy estimated" in results["settings"]["protocol"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs
def test_tune_refines_each_folds_estimate(tmp_path, record_keyword):
    pytest.importorskip("optuna")
    import skloss.noise.clean_accuracy as module
    from skloss import RobustLossClassifier

    refiners = record_keyword(module, "estimate_transition", "refine")
    out = tmp_path / "tune"
    assert main(_tune_by_clean_accuracy(out, "--refine-transition")) == 0
    assert len(refiners) == 2  # once per fold, shared by the trials
    for refine in refiners:
        assert isinstance(refine[-1], RobustLossClassifier) and refine[-1].max_iter == 3
    results = json.loads((out / "tune_results.json").read_text())
    assert results["settings"]["refine_transition"] is True


def test_compare_estimates_the_noise_of_a_csv_with_text_columns(tmp_path):
    # The transition estimate one-hot encodes text columns as the models do.
    rng = np.random.RandomState(0)
    n = 90
    label = np.repeat(["a", "b", "c"], n // 3)
    num = rng.normal(size=n) + (label == "a") - (label == "c")
    colour = np.where(label == "b", "red", rng.choice(["green", "blue"], size=n))
    csv = tmp_path / "data.csv"
    lines = ["num,colour,label"] + [
        f"{a},{b},{c}" for a, b, c in zip(num, colour, label, strict=True)
    ]
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "cmp"
    args = ["compare", "--csv", str(csv), "--target", "label", "--losses", "ce", "--hidden"]
    args += ["4", "--max-iter", "2", "--folds", "2", "--no-baselines", "--noise", "0.2"]
    args += ["--selection-score", "clean_accuracy", "--output", str(out), "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert len(results["results"]["ce"]["estimated_clean_accuracy"]) == 2


def test_compare_estimates_t_with_the_chosen_estimator(tmp_path, monkeypatch):
    # --transition-estimator mlp hands estimate_transition an MLPClassifier (after the
    # job's preprocessing), and the run records which.
    from sklearn.neural_network import MLPClassifier

    import skloss.noise

    original = skloss.noise.estimate_transition
    models = []

    def spy(X, y, estimator=None, *args, **kwargs):
        models.append(estimator)
        return original(X, y, estimator, *args, **kwargs)

    monkeypatch.setattr(skloss.noise, "estimate_transition", spy)
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "wine", "--losses", "ce", "--hidden", "8", "--max-iter"]
    args += ["3", "--folds", "2", "--noise", "0.3", "--noise-kind", "pairflip"]
    args += ["--selection-score", "clean_accuracy", "--transition-estimator", "mlp"]
    args += ["--no-baselines", "--seed", "3", "--output", str(out), "--quiet"]
    assert main(args) == 0
    assert len(models) == 2
    for model in models:
        assert isinstance(model[-1], MLPClassifier)
        assert model[-1].early_stopping and model[-1].random_state == 3
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["transition_estimator"] == "mlp"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs
def test_compare_refines_t_with_the_jobs_network(tmp_path, monkeypatch, record_keyword):
    # --refine-transition hands estimate_transition the job's skloss network (after its
    # preprocessing) for the selection score, and the corrected losses refine with their
    # own network; the run records it.
    import skloss.noise
    from skloss import RobustLossClassifier
    from skloss.noise import LossCorrectionClassifier

    refiners = record_keyword(skloss.noise, "estimate_transition", "refine")
    fitted = []
    original_fit = LossCorrectionClassifier.fit

    def fit_spy(self, X, y, **kwargs):
        fitted.append(self)
        return original_fit(self, X, y, **kwargs)

    monkeypatch.setattr(LossCorrectionClassifier, "fit", fit_spy)
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "wine", "--losses", "ce,forward", "--hidden", "8"]
    args += ["--max-iter", "3", "--folds", "2", "--noise", "0.3", "--noise-kind", "pairflip"]
    args += ["--selection-score", "clean_accuracy", "--refine-transition", "--seed", "3"]
    args += ["--no-baselines", "--output", str(out), "--quiet"]
    assert main(args) == 0
    assert len(refiners) == 2  # one per fold, for the score
    for refine in refiners:
        network = refine[-1]
        assert isinstance(network, RobustLossClassifier)
        # The job's network, as the corrected losses train it (no early stopping).
        assert not network.early_stopping and network.hidden_layer_sizes == (8,)
        assert network.max_iter == 3 and network.random_state == 3
    assert [m.refine_transition for m in fitted] == [True, True]
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["refine_transition"] is True


def test_refine_transition_needs_a_transition_matrix(capsys):
    args = ["compare", "--dataset", "wine", "--losses", "ce", "--refine-transition"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "add one of them or drop --refine-transition" in capsys.readouterr().err


def test_transition_estimator_needs_the_clean_accuracy_score(capsys):
    args = ["compare", "--dataset", "wine", "--losses", "ce", "--transition-estimator", "mlp"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "add one of them or drop --transition-estimator" in (capsys.readouterr().err)


def test_compare_trains_forward_and_backward_with_t_estimated_per_fold(tmp_path, monkeypatch):
    # --losses forward/backward go through LossCorrectionClassifier: T estimated on each
    # training fold (by --transition-estimator's model), the loss corrected by it. A bare
    # loss="forward" would have been plain cross-entropy (T = I).
    from sklearn.neural_network import MLPClassifier

    from skloss.losses import BackwardCorrection, ForwardCorrection
    from skloss.noise import LossCorrectionClassifier

    fitted = []
    original = LossCorrectionClassifier.fit

    def spy(self, X, y, **kwargs):
        result = original(self, X, y, **kwargs)
        fitted.append(self)
        return result

    monkeypatch.setattr(LossCorrectionClassifier, "fit", spy)
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", "wine", "--losses", "ce,forward,backward", "--hidden", "8"]
    args += ["--max-iter", "3", "--folds", "2", "--noise", "0.3", "--noise-kind", "pairflip"]
    args += ["--transition-estimator", "mlp", "--no-baselines", "--output", str(out), "--quiet"]
    assert main(args) == 0
    assert [m.correction for m in fitted] == ["forward", "backward"] * 2  # two folds
    for model in fitted:
        assert isinstance(model.transition_estimator, MLPClassifier)
        loss = model.estimator_.loss
        assert isinstance(
            loss, ForwardCorrection if model.correction == "forward" else (BackwardCorrection)
        )
        T = np.asarray(loss.transition)
        assert T.shape == (3, 3) and not np.allclose(T, np.eye(3))
        np.testing.assert_allclose(T.sum(axis=1), 1.0)
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["transition_estimator"] == "mlp"
    assert all(n > 0 for n in results["results"]["forward"]["n_iter"])


def test_tune_refuses_the_corrected_losses(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--dataset", "wine", "--losses", "ce,forward", "--trials", "2"])
    assert exit_info.value.code == 2
    assert "forward corrects the loss by a transition matrix estimated per training fold" in (
        capsys.readouterr().err
    )
