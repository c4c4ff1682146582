"""Bad input, one table: each row is (what is called, the expected exception, a phrase
of its message). Every public function, estimator parameter and CLI flag gets a row.

Each call must fail before any training starts, name the argument and say how to
fix it, and leave its inputs untouched (checked for the arrays each row passes).
The table is split into blocks by area only so that each area's rows sit together;
it runs as one parametrised test.
"""

import contextlib
import io
import re

import numpy as np
import pytest

# ---- estimators (parameters of fit / predict / partial_fit) ------------------------
ESTIMATOR_CASES = []

# ---- losses (skloss.losses, calling a loss directly) -------------------------------
LOSS_CASES = []

# ---- fused heads (skloss.fused) -----------------------------------------------------
FUSED_CASES = []

# ---- label noise and evaluation protocol (skloss.noise) ----------------------------
def _noise_cases():
    from skloss.noise import make_noisy_labels, noisy_folds

    y = np.array([0, 1, 2] * 6)
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    y_nan = np.array([0.0, 1.0, np.nan, 1.0, 0.0, 1.0])
    y_inf = np.array([0.0, 1.0, np.inf, 1.0, 0.0, 1.0])
    y_none = np.array(["a", None, "b", "a", "b", "a"], dtype=object)
    y_obj_nan = np.array(["a", np.nan, "b", "a", "b", "a"], dtype=object)
    y_rare = np.array([0] * 9 + [1] * 2)
    X_rare = np.zeros((len(y_rare), 2))
    half = np.arange(len(y)) % 2 == 0
    missing = r"y contains 1 missing or non-finite label.*index \d.*drop those samples"
    seed = r"random_state must be None, an int in \[0, 2\*\*32 - 1\]"
    fold_seed = r"random_state must be an int in \[0, 2\*\*32 - 1\]"
    cv_kinds = "cv must be an int .the number of stratified folds., a scikit-learn splitter"
    return [
        ("noise-y-nan", lambda: make_noisy_labels(y_nan, 0.2), ValueError, missing, [y_nan]),
        ("noise-y-inf", lambda: make_noisy_labels(y_inf, 0.2), ValueError, missing, [y_inf]),
        ("noise-y-none", lambda: make_noisy_labels(y_none, 0.2), ValueError, missing, []),
        ("noise-y-object-nan", lambda: make_noisy_labels(y_obj_nan, 0.2), ValueError,
         missing, []),
        ("noise-random-state-str", lambda: make_noisy_labels(y, 0.2, random_state="abc"),
         ValueError, seed, [y]),
        ("noise-random-state-negative", lambda: make_noisy_labels(y, 0.2, random_state=-1),
         ValueError, seed, [y]),
        ("noise-random-state-float", lambda: make_noisy_labels(y, 0.2, random_state=1.5),
         ValueError, seed, [y]),
        ("noise-random-state-bool", lambda: make_noisy_labels(y, 0.2, random_state=True),
         ValueError, seed, [y]),
        ("noise-random-state-generator",
         lambda: make_noisy_labels(y, 0.2, random_state=np.random.default_rng(0)),
         ValueError, seed, [y]),
        ("noise-kind-none", lambda: make_noisy_labels(y, 0.2, kind=None), ValueError,
         r"kind must be one of \['symmetric', 'pairflip'\] or an .* got None", [y]),
        ("noise-kind-3d", lambda: make_noisy_labels(y, kind=np.ones((3, 3, 1)) / 3),
         ValueError, r"kind must be one of .* got an array of shape \(3, 3, 1\)", [y]),
        # noisy_folds checks everything at the call, before a single fold is made.
        ("folds-length-mismatch", lambda: noisy_folds(X[:-1], y, 0.2, cv=3), ValueError,
         "X and y must have the same number of samples, got 17 rows in X and 18", [X, y]),
        ("folds-y-nan", lambda: noisy_folds(np.zeros((6, 1)), y_nan, 0.2, cv=2), ValueError,
         missing, [y_nan]),
        ("folds-rate-out-of-range", lambda: noisy_folds(X, y, 1.0, cv=3), ValueError,
         r"rate must be in \[0, 1\)", [X, y]),
        ("folds-rate-missing", lambda: noisy_folds(X, y, cv=3), ValueError,
         "rate is required", [X, y]),
        ("folds-kind-unknown", lambda: noisy_folds(X, y, 0.2, kind="uniform", cv=3),
         ValueError, "kind must be one of", [X, y]),
        ("folds-matrix-shape", lambda: noisy_folds(X, y, kind=np.eye(2), cv=3), ValueError,
         r"shape \(n_classes, n_classes\) = \(3, 3\)", [X, y]),
        ("folds-cv-one", lambda: noisy_folds(X, y, 0.2, cv=1), ValueError,
         "cv must be at least 2 folds, got cv=1", [X, y]),
        ("folds-cv-bool", lambda: noisy_folds(X, y, 0.2, cv=True), ValueError, cv_kinds,
         [X, y]),
        ("folds-cv-str", lambda: noisy_folds(X, y, 0.2, cv="5"), ValueError, cv_kinds, [X, y]),
        ("folds-cv-float", lambda: noisy_folds(X, y, 0.2, cv=2.5), ValueError, cv_kinds,
         [X, y]),
        ("folds-cv-too-many-for-rare-class", lambda: noisy_folds(X_rare, y_rare, 0.2, cv=3),
         ValueError, "cv=3 folds need at least 3 samples of every class, but class 1",
         [y_rare]),
        ("folds-cv-boolean-mask", lambda: noisy_folds(X, y, 0.2, cv=[(half, ~half)]),
         ValueError, "not a non-empty 1-D array of integer positions.*not a boolean mask",
         [X, y]),
        ("folds-cv-out-of-range",
         lambda: noisy_folds(X, y, 0.2, cv=[(np.arange(10), np.arange(10, 20))]),
         ValueError, r"test_index with positions outside \[0, 17\]", [X, y]),
        ("folds-cv-not-pairs", lambda: noisy_folds(X, y, 0.2, cv=[np.arange(5)]), ValueError,
         r"cv as an iterable must yield \(train_index, test_index\) pairs", [X, y]),
        ("folds-cv-empty", lambda: noisy_folds(X, y, 0.2, cv=[]), ValueError,
         "cv yielded no .train_index, test_index. pair", [X, y]),
        ("folds-random-state-none", lambda: noisy_folds(X, y, 0.2, cv=3, random_state=None),
         ValueError, fold_seed, [X, y]),
        ("folds-random-state-negative",
         lambda: noisy_folds(X, y, 0.2, cv=3, random_state=-1), ValueError, fold_seed, [X, y]),
        ("folds-random-state-overflows",
         lambda: noisy_folds(X, y, 0.2, cv=3, random_state=2**32 - 2), ValueError,
         r"random_state must be at most 2\*\*32 - 3 for 3 folds.*random_state \+ k",
         [X, y]),
        ("folds-X-none", lambda: noisy_folds(None, y, 0.2, cv=3), ValueError,
         "X must be an array-like of shape .n_samples, n_features., got NoneType", [y]),
    ]


NOISE_CASES = _noise_cases()

# ---- analytic (AnalyticIncrementalClassifier) ---------------------------------------
ANALYTIC_CASES = []

# ---- the command line (skloss compare / skloss tune) -------------------------------
_TINY_COMPARE = ["compare", "--dataset", "iris", "--losses", "ce", "--folds", "2",
                 "--max-iter", "2", "--hidden", "4", "--quiet"]


def _cli(*args):
    """Run ``skloss`` on ``args``; raise its usage error (exit status 2) as a ValueError.

    Any fit is an error here: a usage error must come before training.
    """
    from skloss import RobustLossClassifier
    from skloss.cli import main

    def no_training(self, *a, **k):
        raise AssertionError("skloss compare trained a model before rejecting its options")

    stderr = io.StringIO()
    original = RobustLossClassifier.fit
    RobustLossClassifier.fit = no_training
    try:
        with contextlib.redirect_stderr(stderr):
            main(list(args))
    except SystemExit as exc:
        if exc.code == 2:
            raise ValueError(stderr.getvalue()) from None
        raise
    finally:
        RobustLossClassifier.fit = original


def _cli_cases():
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    # The rows are built at import, before any fixture exists; the folder goes at exit.
    root = Path(tempfile.mkdtemp(prefix="skloss-bad-cli-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    a_file = root / "a-file"
    a_file.write_text("not a folder\n")
    with_dir_json = root / "out-with-dir"
    (with_dir_json / "results.json").mkdir(parents=True)
    csv_inf = root / "inf.csv"
    csv_inf.write_text("f,g,label\n1,2,a\ninf,3,b\n2,1,a\n4,-inf,b\n")
    out = str(root / "out")
    return [
        ("cli-output-is-a-file", lambda: _cli(*_TINY_COMPARE, "--output", str(a_file)),
         ValueError, r"argument --output: .*a-file is a file; --output names a folder.*"
         r"Pass a folder path", []),
        ("cli-output-under-a-file",
         lambda: _cli(*_TINY_COMPARE, "--output", str(a_file / "results")), ValueError,
         r"argument --output: cannot create .*a-file/results, because .*a-file is a file",
         []),
        ("cli-output-results-json-is-a-folder",
         lambda: _cli(*_TINY_COMPARE, "--output", str(with_dir_json)), ValueError,
         r"argument --output: .*results.json is a folder.*Remove it or pass another", []),
        ("cli-seed-overflows-fold-seeds",
         lambda: _cli(*_TINY_COMPARE, "--seed", str(2**32 - 1), "--output", out), ValueError,
         r"argument --seed: must be at most 2\*\*32 - --folds = 4294967294, got 4294967295",
         []),
        ("cli-csv-is-a-folder",
         lambda: _cli(*_TINY_COMPARE[:1], "--csv", str(root), "--target", "y",
                      "--output", out), ValueError,
         "argument --csv: .* is a folder; pass the path of a CSV file", []),
        ("cli-csv-infinite-values",
         lambda: _cli(*_TINY_COMPARE[:1], "--csv", str(csv_inf), "--target", "label",
                      "--folds", "2", "--output", out), ValueError,
         r"the CSV file has infinite values in column\(s\) f, g; replace or drop them", []),
    ]


CLI_CASES = _cli_cases()

CASES = ESTIMATOR_CASES + LOSS_CASES + FUSED_CASES + NOISE_CASES + ANALYTIC_CASES + CLI_CASES


def _case_id(case):
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_input_is_rejected_clearly(case):
    """``case`` = (id, call, exception type, message regex, inputs that must not change)."""
    _, call, exception, phrase, inputs = case
    before = [np.array(a, copy=True) for a in inputs]
    with pytest.raises(exception, match=phrase):
        call()
    for original, after in zip(before, inputs, strict=True):
        np.testing.assert_array_equal(np.asarray(after), original)


def test_table_is_not_empty():
    assert len(CASES) > 0, "the bad-input table must have rows"
    assert len({c[0] for c in CASES}) == len(CASES), "case ids must be unique"
    for case in CASES:
        re.compile(case[3])
