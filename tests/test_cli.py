"""Tests of the ``skloss compare`` command (tiny settings: iris, few epochs)."""

import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from skloss.cli import format_table, load_csv, main

# Peers are tested on their own (test_peers_*); the other tests compare losses only.
TINY = ["--hidden", "8", "--max-iter", "5", "--folds", "2", "--batch-size", "32", "--no-baselines"]


def _run(args, tmp_path):
    return main(["compare", *args, *TINY, "--output", str(tmp_path / "out")])


def _table(out):
    """The lines of the ranked table in ``out``, header first."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rank  model"))
    rows = [line for line in lines[start + 1 :] if re.match(r" *\d+  ", line)]
    return [lines[start], *rows]


def test_compare_writes_table_json_and_png(tmp_path, capsys):
    status = _run(["--dataset", "iris", "--losses", "ce,mae", "--noise", "0.3"], tmp_path)
    assert status == 0
    out, err = capsys.readouterr()

    # One progress line per fold and loss on stderr; the ranked table on stdout.
    assert sum(line.startswith("fold ") for line in err.splitlines()) == 4
    assert "rank  model" in out and " ce " in out and " mae " in out

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    settings = results["settings"]
    assert settings["dataset"] == "iris"
    assert settings["losses"] == ["ce", "mae"]
    assert settings["noise"] == 0.3 and settings["noise_kind"] == "symmetric"
    assert settings["folds"] == 2 and settings["hidden_layer_sizes"] == [8]
    assert settings["classes"] == [0, 1, 2] and settings["n_samples"] == 150

    assert sorted(results["results"]) == ["ce", "mae"]
    for record in results["results"].values():
        for metric in ("accuracy", "macro_f1", "fit_time", "n_iter"):
            assert len(record[metric]) == 2
        assert all(0 <= a <= 1 for a in record["accuracy"])
        assert record["mean_accuracy"] == pytest.approx(np.mean(record["accuracy"]))
        assert record["std_accuracy"] == pytest.approx(np.std(record["accuracy"]))
    means = [results["results"][n]["mean_accuracy"] for n in results["ranking"]]
    assert means == sorted(means, reverse=True)

    # The noise hits each training fold at exactly the requested rate.
    for fold in results["folds"]:
        assert fold["n_train"] == 75 and fold["n_test"] == 75
        # 0.3 * 75 = 22.5 flips, rounded half up to 23
        assert fold["realised_noise_rate"] == pytest.approx(23 / 75)

    png = (tmp_path / "out" / "results.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_quiet_prints_no_progress(tmp_path, capsys):
    assert _run(["--dataset", "wine", "--losses", "gce", "--quiet"], tmp_path) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "gce" in out


def test_csv_with_categorical_feature_and_string_labels(tmp_path, capsys):
    rng = np.random.RandomState(0)
    n = 60
    label = np.repeat(["yes", "no"], n // 2)
    num = rng.normal(size=n) + (label == "yes")
    colour = rng.choice(["red", "green"], size=n)
    csv = tmp_path / "data.csv"
    lines = ["num,colour,label"] + [
        f"{a},{b},{c}" for a, b, c in zip(num, colour, label, strict=True)
    ]
    csv.write_text("\n".join(lines) + "\n")

    assert _run(["--csv", str(csv), "--target", "label", "--losses", "ce"], tmp_path) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["one_hot_columns"] == ["colour"]
    assert results["settings"]["n_features"] == 2  # num, colour (one-hot encoded in each fold)
    assert results["settings"]["classes"] == ["no", "yes"]
    assert "one-hot encoded non-numeric column(s): colour" in capsys.readouterr().err


def test_load_csv_reports_missing_values(tmp_path):
    csv = tmp_path / "gaps.csv"
    csv.write_text("a,b,y\n1,,0\n2,3,1\n")
    with pytest.raises(ValueError, match="missing values in column.*b"):
        load_csv(csv, "y")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--losses", "ce,nope"], "argument --losses: unknown loss 'nope'; choose"),
        (["--losses", ","], "argument --losses: no loss names"),
        (
            ["--noise", "0.5", "--noise-kind", "pairflip"],
            r"argument --noise: rate must be in \[0, 0.5\) for kind='pairflip', got 0.5: at 0.5 "
            "or above the flipped-to class becomes the majority label",
        ),
        (["--noise", "1"], r"argument --noise: rate must be in \[0, 1\) for kind='symmetric'"),
        (["--noise", "-0.1"], r"argument --noise: rate must be in \[0, 1\)"),
        (["--noise", "lots"], "argument --noise: expected a number"),
        (["--noise-kind", "uniform"], "argument --noise-kind: invalid choice"),
        (["--folds", "1"], "argument --folds: must be at least 2"),
        (["--max-iter", "0"], "argument --max-iter: expected a positive integer"),
        (["--hidden", "256,x"], "argument --hidden: expected comma-separated"),
        (["--seed", "-1"], "argument --seed: expected an integer >= 0"),
        (["--dataset", "mnist"], "argument --dataset: invalid choice"),
        (["--csv", "x.csv"], "--csv needs --target"),
        (["--target", "y"], "--target only applies to --csv"),
        (["--na-values", "?"], "--na-values only applies to --csv"),
        (["--impute", "zero"], "argument --impute: invalid choice: 'zero'"),
        (["--csv", "does-not-exist.csv", "--target", "y"], "argument --csv: no such file"),
    ],
)
def test_usage_errors_exit_2_and_name_the_option(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", *args, "--output", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()  # rejected before any work


def test_missing_target_column_lists_the_columns(tmp_path, capsys):
    csv = tmp_path / "data.csv"
    csv.write_text("f1,f2,label\n1,2,a\n3,4,b\n")
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--csv", str(csv), "--target", "class", "--output", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--target 'class' is not a column" in err and "f1, f2, label" in err


@pytest.mark.parametrize(
    "content, message",
    [
        ("f,label\n1,a\n2,a\n3,a\n4,b\n", "class 'b' has only 1 sample.s., fewer than --folds 2"),
        ("f,label\n1,0.5\n2,1.7\n3,2.25\n4,3.1\n", "the labels look continuous"),
        ("label\na\nb\n", "no feature columns besides --target 'label'"),
        ("", "argument --csv: cannot read"),
    ],
    ids=["rare-class", "continuous", "no-features", "empty"],
)
def test_unusable_csv_is_a_usage_error(content, message, tmp_path, capsys):
    csv = tmp_path / "data.csv"
    csv.write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "compare",
                "--csv",
                str(csv),
                "--target",
                "label",
                "--folds",
                "2",
                "--output",
                str(tmp_path / "out"),
            ]
        )
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_missing_cli_extra_names_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert _run(["--dataset", "iris"], tmp_path) == 1
    assert 'pip install "skloss[cli]"' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 2
    assert "compare" in capsys.readouterr().err


def test_format_table_ranks_in_the_given_order():
    row = {
        "mean_accuracy": 0.5,
        "std_accuracy": 0.1,
        "mean_macro_f1": 0.4,
        "std_macro_f1": 0.05,
        "mean_fit_time": 12.25,
    }
    table = format_table({"ce": row, "mae": {**row, "mean_accuracy": 0.9}}, ["mae", "ce"])
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["1", "mae", "0.900"]
    assert lines[2].split()[:3] == ["2", "ce", "0.500"]
    assert lines[2].endswith("12.2")


def test_python_dash_m_skloss():
    done = subprocess.run(
        [sys.executable, "-m", "skloss", "compare", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert "--noise-kind" in done.stdout


# ---- the output folder is checked before any training ---------------------------------


@pytest.fixture
def no_training(monkeypatch):
    """Make any fit fail the test: the checks under test must come before training."""
    from skloss import RobustLossClassifier

    def fail(self, *args, **kwargs):
        raise AssertionError("a model was trained")

    monkeypatch.setattr(RobustLossClassifier, "fit", fail)


@pytest.mark.parametrize(
    "where, message",
    [
        ("file", r"argument --output: .*/taken is a file; --output names a folder"),
        (
            "under-file",
            r"argument --output: cannot create .*/taken/sub/dir, because "
            r".*/taken is a file, not a folder",
        ),
        ("json-is-dir", r"argument --output: .*/out/results.json is a folder"),
        ("png-is-dir", r"argument --output: .*/out/results.png is a folder"),
    ],
)
def test_unwritable_output_fails_before_training(where, message, tmp_path, capsys, no_training):
    (tmp_path / "taken").write_text("a file\n")
    output = {
        "file": tmp_path / "taken",
        "under-file": tmp_path / "taken" / "sub" / "dir",
        "json-is-dir": tmp_path / "out",
        "png-is-dir": tmp_path / "out",
    }[where]
    blocking_folder = {"json-is-dir": "results.json", "png-is-dir": "results.png"}
    if where in blocking_folder:
        (output / blocking_folder[where]).mkdir(parents=True)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--dataset", "iris", "--losses", "ce", *TINY, "--output", str(output)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert (tmp_path / "taken").read_text() == "a file\n"  # nothing overwritten


def test_output_without_write_permission_fails_before_training(
    tmp_path, capsys, monkeypatch, no_training
):
    # Tests may run as root, whom permissions do not stop: the check goes through
    # os.access, which is what is made to refuse here.
    import os

    from skloss.cli import _report

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        _report.os,
        "access",
        lambda path, mode: False if str(path) == str(locked) else real_access(path, mode),
    )
    for output in (locked, locked / "new" / "folder"):
        with pytest.raises(SystemExit) as exc:
            main(["compare", "--dataset", "iris", *TINY, "--output", str(output)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert f"argument --output: cannot write to {locked}: no write permission" in err
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
    reason="root writes to read-only folders, so chmod cannot make one here",
)
def test_read_only_folder_fails_before_training(tmp_path, capsys, no_training):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["compare", "--dataset", "iris", *TINY, "--output", str(locked / "out")])
    finally:
        locked.chmod(0o700)
    assert exc.value.code == 2
    assert "no write permission" in capsys.readouterr().err


def test_seed_that_overflows_the_fold_seeds_is_a_usage_error(tmp_path, capsys, no_training):
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "compare",
                "--dataset",
                "iris",
                *TINY,
                "--seed",
                str(2**32 - 1),
                "--output",
                str(tmp_path / "out"),
            ]
        )
    assert exc.value.code == 2
    assert (
        "argument --seed: random_state must be at most 2**32 - 2 for 2 folds, got 4294967295"
        in (capsys.readouterr().err)
    )


@pytest.mark.parametrize(
    "dataset, loss, reason",
    [
        ("iris", "mw_auc", "is defined for two classes only, but y has 3 classes"),
        ("breast_cancer", "z_loss", "needs three classes or more"),
        ("digits", "anyloss_accuracy", "cannot train 10 classes"),
    ],
)
def test_loss_that_cannot_train_these_classes_is_a_usage_error(
    dataset, loss, reason, tmp_path, capsys, no_training
):
    # Loss.why_cannot_train decides, not binary_only alone: z_loss on two classes and
    # anyloss_accuracy on five or more are refused before any fit.
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "compare",
                "--dataset",
                dataset,
                "--losses",
                f"ce,{loss}",
                *TINY,
                "--output",
                str(tmp_path / "out"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --losses: {loss} cannot train on these labels: " in err
    assert reason in err and f"Drop {loss} from --losses" in err


# ---- interrupts: partial results, exit status 130 -------------------------------------


def _interrupt_on_call(monkeypatch, n, how):
    """Make the n-th fit (1-based) interrupted: ``how`` = "warning" or "raise"."""
    from skloss import RobustLossClassifier
    from skloss.exceptions import TrainingInterruptedWarning

    original = RobustLossClassifier.fit
    calls = []

    def fit(self, X, y, **kwargs):
        calls.append(1)
        if len(calls) == n and how == "raise":
            raise KeyboardInterrupt
        original(self, X, y, **kwargs)
        if len(calls) == n:
            # As the estimator does on Ctrl-C: stop after an epoch, warn, return.
            warnings.warn("training interrupted after epoch 2", TrainingInterruptedWarning)
        return self

    monkeypatch.setattr(RobustLossClassifier, "fit", fit)
    return calls


@pytest.mark.parametrize("how", ["warning", "raise"])
def test_interrupted_fit_writes_partial_results_and_exits_130(how, tmp_path, capsys, monkeypatch):
    calls = _interrupt_on_call(monkeypatch, 3, how)
    status = _run(["--dataset", "iris", "--losses", "ce,mae"], tmp_path)
    assert status == 130
    assert len(calls) == 3  # nothing trained after the interrupted fit
    out, err = capsys.readouterr()
    assert "interrupted (Ctrl-C during ce on fold 2/2): 2 of 4 fits completed" in out
    assert "PARTIAL RESULTS: 2 of 4 fits" in out
    table = out[out.index("rank  model") :].splitlines()
    assert table[0].endswith("folds")
    assert sorted(line.split()[1] for line in table[1:3]) == ["ce", "mae"]
    assert all(line.endswith("1/2") for line in table[1:3])
    assert "(partial)" in out
    # Progress lines only for the two completed fits.
    assert sum(line.startswith("fold ") for line in err.splitlines()) == 2

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["complete"] is False
    assert results["interrupted"] == "Ctrl-C during ce on fold 2/2"
    assert results["completed"] == [["ce", 0], ["mae", 0]]
    for loss in ("ce", "mae"):
        record = results["results"][loss]
        assert record["fold"] == [0] and len(record["accuracy"]) == 1
        assert record["mean_accuracy"] == record["accuracy"][0]
    assert sorted(results["ranking"]) == ["ce", "mae"]
    assert (tmp_path / "out" / "results.png").read_bytes().startswith(b"\x89PNG")


def test_interrupt_during_predict_before_any_fit_completed(tmp_path, capsys, monkeypatch):
    from sklearn.pipeline import Pipeline

    def predict(self, X, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "predict", predict)
    # A chart left by an earlier run must not pass for this one.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.png").write_bytes(b"old")
    assert _run(["--dataset", "iris", "--losses", "ce,mae"], tmp_path) == 130
    out = capsys.readouterr().out
    assert "interrupted (Ctrl-C during ce on fold 1/2): 0 of 4 fits completed" in out
    assert "rank  model" not in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["complete"] is False and results["completed"] == []
    assert results["ranking"] == [] and results["results"]["ce"]["accuracy"] == []
    assert not (tmp_path / "out" / "results.png").exists()


def test_interrupt_between_fits(tmp_path, capsys, monkeypatch):
    # An interrupt after a fit was scored and recorded (here: in the progress line).
    from skloss.cli import compare

    logged = []

    def log_then_interrupt(message):
        logged.append(message)
        raise KeyboardInterrupt

    real_evaluate = compare.evaluate
    monkeypatch.setattr(
        compare,
        "evaluate",
        lambda folds, rows, args, log, task: real_evaluate(
            folds, rows, args, log_then_interrupt, task
        ),
    )
    assert _run(["--dataset", "iris", "--losses", "ce,mae"], tmp_path) == 130
    out = capsys.readouterr().out
    assert "interrupted (Ctrl-C after ce on fold 1/2): 1 of 4 fits completed" in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["completed"] == [["ce", 0]] and len(logged) == 1


def test_complete_run_is_marked_complete_and_reemits_other_warnings(tmp_path, monkeypatch):
    from skloss import RobustLossClassifier

    original = RobustLossClassifier.fit

    def fit(self, X, y, **kwargs):
        warnings.warn("a warning of the user's own", UserWarning)
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(RobustLossClassifier, "fit", fit)
    with pytest.warns(UserWarning, match="a warning of the user's own"):
        assert _run(["--dataset", "iris", "--losses", "ce", "--quiet"], tmp_path) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["complete"] is True and "interrupted" not in results
    assert results["completed"] == [["ce", 0], ["ce", 1]]
    assert results["results"]["ce"]["fold"] == [0, 1]


def test_top_k_accuracy_column_only_where_it_means_something(tmp_path, capsys):
    assert _run(["--dataset", "iris", "--losses", "ce,dco", "--top-k", "2"], tmp_path) == 0
    out, _ = capsys.readouterr()
    assert "top-2 acc" in _table(out)[0]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["top_k"] == 2
    for record in results["results"].values():
        assert len(record["top_k_accuracy"]) == 2
        # The label is among the 2 most probable classes whenever it is the most probable.
        assert all(
            t >= a for t, a in zip(record["top_k_accuracy"], record["accuracy"], strict=True)
        )
        assert record["mean_top_k_accuracy"] == pytest.approx(np.mean(record["top_k_accuracy"]))
    # k = number of classes (always 1) and two classes (top-1 is all there is): no column.
    for dataset, k in (("iris", "3"), ("breast_cancer", "2")):
        assert _run(["--dataset", dataset, "--losses", "ce", "--top-k", k], tmp_path) == 0
        out, _ = capsys.readouterr()
        assert "top-" not in out
        results = json.loads((tmp_path / "out" / "results.json").read_text())
        assert "top_k_accuracy" not in results["results"]["ce"]


# ---- peers, ROC AUC, missing values -----------------------------------------------------
PEER_ARGS = ["--hidden", "8", "--max-iter", "5", "--folds", "2", "--batch-size", "32"]


def _peer_accuracies(X, y, make_model, metric="accuracy", noise=0.4, folds=2, seed=0):
    """Each fold's clean-test score of ``make_model()``, by the noisy-fold protocol."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    from skloss.noise import noisy_folds

    scores = []
    for fold in noisy_folds(X, y, noise, "symmetric", cv=folds, random_state=seed):
        model = make_model().fit(fold.X_train, fold.y_train)
        if metric == "accuracy":
            scores.append(accuracy_score(fold.y_test, model.predict(fold.X_test)))
        else:
            positive = model.classes_[1]
            proba = model.predict_proba(fold.X_test)[:, 1]
            scores.append(roc_auc_score(fold.y_test == positive, proba))
    return scores


def test_peers_run_in_the_same_folds_and_are_marked(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    status = main(
        ["compare", "--dataset", "breast_cancer", "--losses", "ce", *PEER_ARGS,
         "--output", str(tmp_path / "out"), "--quiet"]
    )  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    for name in ("LogisticRegression", "HistGradientBoosting", "MLPClassifier"):
        assert f"{name} (peer)" in out
    assert "ROC AUC" in _table(out)[0]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["peers"] == [
        "LogisticRegression",
        "HistGradientBoosting",
        "MLPClassifier",
    ]
    assert results["results"]["ce"]["peer"] is False
    assert all(results["results"][name]["peer"] for name in results["settings"]["peers"])
    # independently: the scikit-learn models on the noisy-fold protocol
    X, y = load_breast_cancer(return_X_y=True)

    def logistic():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    record = results["results"]["LogisticRegression"]
    assert record["accuracy"] == pytest.approx(_peer_accuracies(X, y, logistic), abs=1e-12)
    assert record["roc_auc"] == pytest.approx(
        _peer_accuracies(X, y, logistic, metric="roc_auc"), abs=1e-12
    )
    assert record["mean_roc_auc"] == pytest.approx(np.mean(record["roc_auc"]))
    assert len(results["results"]["ce"]["roc_auc"]) == 2


def test_no_baselines_and_no_auc_for_more_classes(tmp_path, capsys):
    assert _run(["--dataset", "iris", "--losses", "ce"], tmp_path) == 0
    out = capsys.readouterr().out
    assert "(peer)" not in out and "ROC AUC" not in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(results["results"]) == ["ce"] and results["settings"]["peers"] == []
    assert "roc_auc" not in results["results"]["ce"]


def _csv_with_gaps(path, placeholder=""):
    rng = np.random.RandomState(0)
    n = 120
    label = np.repeat(["yes", "no"], n // 2)
    num = rng.normal(size=n) + 2 * (label == "yes")
    other = rng.normal(size=n)
    cells = [f"{v:.6f}" for v in num]
    for i in (3, 10, 31, 47):
        cells[i] = placeholder
    lines = ["num,other,label"] + [
        f"{a},{b:.6f},{c}" for a, b, c in zip(cells, other, label, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_impute_fills_missing_values_inside_each_fold(tmp_path, capsys):
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    csv = _csv_with_gaps(tmp_path / "gaps.csv")
    args = ["compare", "--csv", str(csv), "--target", "label", "--losses", "ce", *PEER_ARGS]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--output", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "missing values in column(s) num; pass --impute median" in capsys.readouterr().err
    assert main([*args, "--impute", "median", "--quiet", "--output", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["impute"] == "median"
    # independently: the imputer's median comes from each training fold only
    frame = pd.read_csv(csv)
    X, y = frame[["num", "other"]], frame["label"].to_numpy()

    def logistic():
        return make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000)
        )

    assert results["results"]["LogisticRegression"]["accuracy"] == pytest.approx(
        _peer_accuracies(X, y, logistic), abs=1e-12
    )


def test_na_values_mark_placeholders_as_missing(tmp_path, capsys):
    csv = _csv_with_gaps(tmp_path / "unknown.csv", placeholder="?")
    args = ["compare", "--csv", str(csv), "--target", "label", "--losses", "ce", *TINY]
    # without --na-values, '?' makes the column text: said, and encoded as categories
    assert main([*args, "--output", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "column 'num' holds numbers and the text '?'" in err
    assert "pass --na-values ? (and --impute)" in err
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["settings"]["one_hot_columns"] == ["num"]
    # with it, the column is numeric with 4 missing values, filled by --impute
    assert (
        main([*args, "--na-values", "?", "--impute", "mean", "--output", str(tmp_path / "b")]) == 0
    )
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["settings"]["one_hot_columns"] == []
    assert results["settings"]["na_values"] == ["?"]


# ---- the task: classification or regression ----------------------------------------------
REG_TINY = ["--hidden", "8", "--max-iter", "5", "--folds", "2", "--batch-size", "64"]


def _write_csv(path, columns):
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.mark.parametrize(
    "target, task, reason",
    [
        # 60 distinct non-integer values: a quantity
        (np.round(np.linspace(-3, 5, 60), 3), "regression", "is numeric with 60 distinct values"),
        # 40 distinct counts: a quantity too
        (np.arange(60) % 40, "regression", "is numeric with 40 distinct values"),
        # 3 distinct integers: classes
        (np.arange(60) % 3, "classification", "is numeric with 3 distinct values"),
        (np.where(np.arange(60) % 2, "yes", "no"), "classification", "holds text"),
    ],
    ids=["floats", "counts", "few-integers", "text"],
)
def test_auto_task_is_said_on_the_first_line(target, task, reason, tmp_path, capsys):
    rng = np.random.RandomState(0)
    csv = _write_csv(tmp_path / "d.csv", {"a": rng.normal(size=60).round(4), "y": target})
    status = main(
        ["compare", "--csv", str(csv), "--target", "y", "--losses",
         "squared_error" if task == "regression" else "ce", *REG_TINY, "--no-baselines",
         "--quiet", "--output", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"task: {task} (auto: --target 'y' {reason}")
    settings = json.loads((tmp_path / "out" / "results.json").read_text())["settings"]
    assert settings["task"] == task and reason in settings["task_reason"]


def _regression_folds(X, y, rate, kind, folds=2, seed=0):
    """The protocol, redone: shuffled K-fold, gross errors in each training fold's targets."""
    from sklearn.model_selection import KFold

    from skloss.noise import make_noisy_targets

    for k, (train, test) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(X)):
        y_noisy, corrupted = make_noisy_targets(y[train], rate, kind, random_state=seed + k)
        test_noisy, _ = make_noisy_targets(y[test], rate, kind, random_state=seed + 7919 * (k + 1))
        yield X[train], y_noisy, X[test], y[test], test_noisy, corrupted


def test_regression_on_diabetes_ranks_by_rmse_beside_the_peers(tmp_path, capsys):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    status = main(
        ["compare", "--dataset", "diabetes", "--losses", "squared_error,absolute_error",
         "--noise", "0.3", *REG_TINY, "--quiet", "--output", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "task: regression (--dataset diabetes is a regression data set)"
    header = _table(out)[0]
    assert header.split()[2:5] == ["RMSE", "MAE", "R^2"] and "accuracy" not in out
    for peer in ("Ridge", "HistGradientBoosting", "HistGradientBoosting-absolute", "MLPRegressor"):
        assert f"{peer} (peer)" in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    settings = results["settings"]
    assert settings["task"] == "regression" and settings["noise_kind"] == "outliers"
    assert settings["targets"]["min"] == 25.0 and settings["targets"]["max"] == 346.0
    assert "classes" not in settings and "top_k" not in settings
    # ranked by mean RMSE on the clean test folds, lowest first
    means = [results["results"][name]["mean_rmse"] for name in results["ranking"]]
    assert means == sorted(means) and len(means) == 6
    # independently: Ridge on the same folds, noisy training targets, clean test targets
    X, y = load_diabetes(return_X_y=True)
    record = results["results"]["Ridge"]
    expected = {"rmse": [], "mae": [], "r2": [], "noisy_rmse": []}
    for fold, (X_tr, y_tr, X_te, y_te, y_te_noisy, corrupted) in enumerate(
        _regression_folds(X, y, 0.3, "outliers")
    ):
        # 0.3 * 221 = 66.3 corrupted rows, rounded to 66
        assert results["folds"][fold]["realised_noise_rate"] == pytest.approx(66 / 221)
        assert corrupted.sum() == 66
        predicted = make_pipeline(StandardScaler(), Ridge()).fit(X_tr, y_tr).predict(X_te)
        error = predicted - y_te
        expected["rmse"].append(np.sqrt(np.mean(error**2)))
        expected["mae"].append(np.mean(np.abs(error)))
        expected["r2"].append(1 - np.sum(error**2) / np.sum((y_te - y_te.mean()) ** 2))
        # the noise-aware score: noisy test targets, the largest 30% of residuals left out
        kept = np.sort(np.abs(predicted - y_te_noisy))[: len(y_te) - round(0.3 * len(y_te))]
        expected["noisy_rmse"].append(np.sqrt(np.mean(kept**2)))
    for metric, values in expected.items():
        assert record[metric] == pytest.approx(values, rel=1e-9), metric
    assert record["mean_rmse"] == pytest.approx(np.mean(expected["rmse"]))
    assert results["results"]["Ridge"]["peer"] is True
    assert results["results"]["squared_error"]["peer"] is False


def test_regression_noise_aware_selection_uses_the_other_folds(tmp_path):
    status = main(
        ["compare", "--dataset", "diabetes", "--losses", "squared_error,huber", "--folds", "3",
         "--hidden", "8", "--max-iter", "5", "--no-baselines", "--quiet",
         "--output", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    selection = results["selection"]
    noisy = {name: results["results"][name]["noisy_rmse"] for name in ("squared_error", "huber")}
    clean = {name: results["results"][name]["rmse"] for name in ("squared_error", "huber")}
    for fold, chosen in enumerate(selection["chosen_per_fold"]):
        others = {name: np.mean(np.delete(values, fold)) for name, values in noisy.items()}
        assert chosen == min(others, key=others.get)  # the lowest noisy RMSE elsewhere
        assert selection["clean_rmse_per_fold"][fold] == clean[chosen][fold]
    assert selection["mean_clean_rmse"] == pytest.approx(np.mean(selection["clean_rmse_per_fold"]))


def test_regression_default_losses_add_poisson_for_counts_only(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.normal(size=80).round(4)
    args = ["--target", "y", *REG_TINY, "--no-baselines", "--quiet"]
    counts = _write_csv(tmp_path / "counts.csv", {"x": x, "y": rng.poisson(30, 80)})
    real = _write_csv(tmp_path / "real.csv", {"x": x, "y": (3 * x + rng.normal(size=80)).round(3)})
    expected = {
        counts: ["squared_error", "absolute_error", "huber", "hl_gauss", "poisson"],
        real: ["squared_error", "absolute_error", "huber", "hl_gauss"],
    }
    for csv, losses in expected.items():
        out = tmp_path / csv.stem
        assert main(["compare", "--csv", str(csv), *args, "--output", str(out)]) == 0
        results = json.loads((out / "results.json").read_text())
        assert results["settings"]["losses"] == losses
        assert results["ranking"] and sorted(results["ranking"]) == sorted(losses)


def test_trimmed_rmse_leaves_out_the_largest_residuals():
    from skloss.cli._regression import trimmed_rmse

    y = np.array([0.0, 0.0, 0.0, 0.0])
    predicted = np.array([1.0, -2.0, 3.0, 10.0])
    assert trimmed_rmse(y, predicted) == pytest.approx(np.sqrt((1 + 4 + 9 + 100) / 4))
    # 0.25 of 4 residuals: the largest (10) is left out
    assert trimmed_rmse(y, predicted, 0.25) == pytest.approx(np.sqrt(14 / 3))
    # 0.3 * 4 = 1.2 rounds to 1; 0.4 * 4 = 1.6 rounds to 2
    assert trimmed_rmse(y, predicted, 0.3) == pytest.approx(np.sqrt(14 / 3))
    assert trimmed_rmse(y, predicted, 0.4) == pytest.approx(np.sqrt(5 / 2))
