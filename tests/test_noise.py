"""Tests of skloss.noise: realised rates, flip targets, matrices, determinism, errors, selection."""

import warnings

import numpy as np
import pytest

from skloss.noise import (
    expected_noisy_accuracy,
    make_noisy_labels,
    noisy_folds,
    select_by_noisy_scores,
    transition_matrix,
)

Y10 = np.repeat(np.arange(10), 50)  # 10 balanced classes, 500 samples


@pytest.mark.parametrize("kind", ["symmetric", "pairflip"])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.2, 0.45])
def test_realised_rate_is_exact_and_mask_matches(kind, rate):
    y_noisy, flipped = make_noisy_labels(Y10, rate, kind=kind, random_state=0)
    assert flipped.dtype == bool
    assert flipped.sum() == round(rate * len(Y10))
    np.testing.assert_array_equal(flipped, y_noisy != Y10)
    # Stratified: every class loses its share, to within one sample.
    per_class = np.bincount(Y10[flipped], minlength=10)
    assert np.all(np.abs(per_class - rate * 50) <= 1)


def test_overall_count_is_exact_with_unbalanced_classes():
    y = np.array([0] * 7 + [1] * 13 + [2] * 3)
    for seed in range(20):
        _, flipped = make_noisy_labels(y, 0.3, random_state=seed)
        assert flipped.sum() == 7  # 0.3 * 23 = 6.9


def test_half_counts_round_up():
    _, flipped = make_noisy_labels(np.repeat([0, 1], 25), 0.1, random_state=0)
    assert flipped.sum() == 5  # 0.1 * 50; and 0.5 * 5 = 2.5 -> 3 below
    _, flipped = make_noisy_labels([0, 1, 2, 0, 1], 0.5, random_state=0)
    assert flipped.sum() == 3


def test_symmetric_never_keeps_the_label_and_reaches_every_other_class():
    y = np.repeat(np.arange(4), 2000)
    y_noisy, flipped = make_noisy_labels(y, 0.6, random_state=1)
    assert np.all(y_noisy[flipped] != y[flipped])
    # Targets of class 0 are uniform over {1, 2, 3}: 1200 flips, ~400 each
    # (binomial std sqrt(1200 * 1/3 * 2/3) ~ 16, so 5 std is ~80).
    targets = np.bincount(y_noisy[flipped & (y == 0)], minlength=4)
    assert targets[0] == 0
    assert np.all(np.abs(targets[1:] - 400) < 80)


def test_pairflip_targets_are_the_next_class_cyclically():
    y = np.array([3, 7, 9] * 100)  # next of 3 is 7, of 7 is 9, of 9 wraps to 3
    y_noisy, flipped = make_noisy_labels(y, 0.3, kind="pairflip", random_state=0)
    nxt = {3: 7, 7: 9, 9: 3}
    assert flipped.any()
    assert all(y_noisy[i] == nxt[y[i]] for i in np.flatnonzero(flipped))


def test_matrix_frequencies_match_transition_matrix():
    T = np.array([[0.6, 0.3, 0.1], [0.0, 0.9, 0.1], [0.25, 0.25, 0.5]])
    n_per_class = 20_000
    y = np.repeat(np.array(["a", "b", "c"]), n_per_class)
    y_noisy, flipped = make_noisy_labels(y, kind=T, random_state=0)
    np.testing.assert_array_equal(flipped, y_noisy != y)
    for i, label in enumerate("abc"):
        freq = np.array([np.mean(y_noisy[y == label] == j) for j in "abc"])
        # Each frequency is a binomial proportion, std sqrt(p(1-p)/n) <= 0.5/sqrt(n)
        # ~ 0.0035; 5 std gives a tolerance that a correct sampler fails ~1e-6 of runs.
        tol = 5 * np.sqrt(T[i] * (1 - T[i]) / n_per_class) + 1e-12
        assert np.all(np.abs(freq - T[i]) <= tol), (label, freq, T[i])
    # A zero entry must never be drawn.
    assert not np.any((y == "b") & (y_noisy == "a"))


def test_matrix_identity_changes_nothing():
    y_noisy, flipped = make_noisy_labels(Y10, kind=np.eye(10), random_state=0)
    np.testing.assert_array_equal(y_noisy, Y10)
    assert not flipped.any()


@pytest.mark.parametrize("kind", ["symmetric", "pairflip"])
def test_named_kinds_agree_with_their_transition_matrix(kind):
    # The named kinds sample a fixed-size subset; over many seeds the empirical
    # transition frequencies must average to transition_matrix's.
    y = np.repeat(np.arange(3), 100)
    counts = np.zeros((3, 3))
    for seed in range(50):
        y_noisy, _ = make_noisy_labels(y, 0.3, kind=kind, random_state=seed)
        np.add.at(counts, (y, y_noisy), 1)
    freq = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(freq, transition_matrix(3, 0.3, kind), atol=0.02)


def test_transition_matrix_values():
    T = transition_matrix(4, 0.3)
    np.testing.assert_allclose(np.diag(T), 0.7)
    np.testing.assert_allclose(T[0, 1:], 0.1)
    np.testing.assert_allclose(T.sum(axis=1), 1)
    P = transition_matrix(3, 0.2, kind="pairflip")
    np.testing.assert_allclose(P, [[0.8, 0.2, 0], [0, 0.8, 0.2], [0.2, 0, 0.8]])


def test_determinism_by_random_state():
    a = make_noisy_labels(Y10, 0.4, random_state=3)
    b = make_noisy_labels(Y10, 0.4, random_state=3)
    c = make_noisy_labels(Y10, 0.4, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    rng = np.random.RandomState(3)
    np.testing.assert_array_equal(make_noisy_labels(Y10, 0.4, random_state=rng)[0], a[0])


def test_input_untouched():
    y = np.array([0, 1, 2] * 20)
    before = y.copy()
    y_list = y.tolist()
    make_noisy_labels(y, 0.4, random_state=0)
    make_noisy_labels(y_list, 0.4, kind="pairflip", random_state=0)
    np.testing.assert_array_equal(y, before)
    assert y_list == before.tolist()


@pytest.mark.parametrize(
    "y",
    [
        np.array(["cat", "dog", "bird"] * 10),
        np.array([True, False] * 15),
        np.array(["x", "yy", "z"] * 10, dtype=object),
        [-1, 5, 5, -1] * 5,
    ],
    ids=["str", "bool", "object", "list"],
)
def test_label_types_are_preserved(y):
    y_noisy, flipped = make_noisy_labels(y, 0.3, random_state=0)
    y_arr = np.asarray(y)
    assert y_noisy.dtype == y_arr.dtype
    assert set(y_noisy.tolist()) <= set(y_arr.tolist())
    np.testing.assert_array_equal(flipped, y_noisy != y_arr)
    assert flipped.sum() == round(0.3 * len(y_arr))


def test_pandas_series_input():
    pd = pytest.importorskip("pandas")
    s = pd.Series(["a", "b"] * 10, index=range(100, 120))
    y_noisy, flipped = make_noisy_labels(s, 0.2, random_state=0)
    assert isinstance(y_noisy, np.ndarray)
    np.testing.assert_array_equal(flipped, y_noisy != s.to_numpy())


def test_warns_when_symmetric_noise_makes_labels_uninformative():
    with pytest.warns(UserWarning, match=r"rate=0.5 with 2 classes.*no loss can"):
        make_noisy_labels([0, 1] * 10, 0.5, random_state=0)
    with pytest.warns(UserWarning, match="limit is"):
        make_noisy_labels(Y10, 0.9, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_noisy_labels(Y10, 0.89, random_state=0)  # just under (10 - 1) / 10


# ---- errors: each message names the argument at fault ---------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rate": 1.0}, r"rate must be in \[0, 1\)"),
        ({"rate": -0.1}, r"rate must be in \[0, 1\)"),
        ({"rate": 0.5, "kind": "pairflip"}, r"rate must be in \[0, 0.5\).*majority"),
        ({"rate": None}, "rate is required"),
        ({"rate": "0.3"}, "rate must be a finite number"),
        ({"rate": float("nan")}, "rate must be a finite number"),
        ({"rate": True}, "rate must be a finite number"),
        ({"rate": 0.2, "kind": "uniform"}, r"kind must be one of \['symmetric', 'pairflip'\]"),
        ({"rate": 0.2, "kind": np.eye(3)}, "rate must be None when kind is a transition"),
        ({"kind": np.eye(4)}, r"shape \(n_classes, n_classes\) = \(3, 3\)"),
        ({"kind": [[0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.6]]}, "row 2 .* sums to 1.1"),
        ({"kind": [[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]]}, "non-negative"),
        ({"kind": [["a", "b", "c"]] * 3}, "kind must be one of"),
    ],
)
def test_errors_name_the_argument(kwargs, match):
    y = np.array([0, 1, 2] * 5)
    before = y.copy()
    with pytest.raises(ValueError, match=match):
        make_noisy_labels(y, **kwargs)
    np.testing.assert_array_equal(y, before)


def test_y_must_be_1d():
    with pytest.raises(ValueError, match=r"y must be a 1-D array.*y.ravel\(\)"):
        make_noisy_labels(np.zeros((6, 1)), 0.2)
    with pytest.raises(ValueError, match=r"y must be a 1-D array.*\(3, 2\)"):
        make_noisy_labels(np.eye(3, 2), 0.2)


def test_y_with_unsortable_mixed_types():
    with pytest.raises(ValueError, match=r"y mixes label types.*float, int, str.*astype"):
        make_noisy_labels(np.array(["x", 1, 2.5] * 3, dtype=object), 0.2)


@pytest.mark.parametrize("y", [[1, 1, 1], []], ids=["one-class", "empty"])
def test_y_needs_two_classes(y):
    with pytest.raises(ValueError, match="y must contain at least 2 classes"):
        make_noisy_labels(y, 0.2)


@pytest.mark.parametrize(
    "args, match",
    [
        ((1, 0.2), "n_classes must be an integer >= 2"),
        ((2.0, 0.2), "n_classes must be an integer >= 2"),
        ((3, 0.6, "pairflip"), r"rate must be in \[0, 0.5\)"),
        ((3, 0.2, "bogus"), "kind must be one of"),
        ((3, 0.2, np.eye(3)), "kind must be one of"),
    ],
)
def test_transition_matrix_errors(args, match):
    with pytest.raises(ValueError, match=match):
        transition_matrix(*args)


# ---- noisy_folds: the evaluation protocol ---------------------------------------------


def test_noise_reaches_training_folds_only():
    rng = np.random.RandomState(0)
    y = rng.choice(np.array(["a", "b", "c"]), size=90)
    X = np.arange(len(y), dtype=float)[:, None]  # the row index, to trace every sample
    folds = list(noisy_folds(X, y, 0.4, kind="pairflip", cv=3, random_state=5))

    test_rows = np.concatenate([f.X_test[:, 0] for f in folds]).astype(int)
    assert sorted(test_rows) == list(range(len(y)))  # the test folds partition the data
    for fold in folds:
        train, test = fold.X_train[:, 0].astype(int), fold.X_test[:, 0].astype(int)
        np.testing.assert_array_equal(fold.train_index, train)
        np.testing.assert_array_equal(fold.test_index, test)
        np.testing.assert_array_equal(fold.y_test, y[test])  # clean test labels
        np.testing.assert_array_equal(fold.flipped, fold.y_train != y[train])
        assert fold.flipped.sum() == round(0.4 * len(train))
        nxt = {"a": "b", "b": "c", "c": "a"}
        assert all(
            nxt[t] == n
            for t, n in zip(y[train][fold.flipped], fold.y_train[fold.flipped], strict=True)
        )

    # Identical folds and noise on every call, so every loss sees the same data ...
    again = list(noisy_folds(X, y, 0.4, kind="pairflip", cv=3, random_state=5))
    for a, b in zip(folds, again, strict=True):
        np.testing.assert_array_equal(a.y_train, b.y_train)
    # ... and y itself is never corrupted.
    assert set(y) <= {"a", "b", "c"} and len(y) == 90


def test_noisy_folds_are_stratified_k_fold_plus_seeded_noise():
    # The protocol written out by hand with scikit-learn: a shuffled StratifiedKFold
    # seeded with random_state, and fold k's training labels corrupted with seed + k.
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(120, 3)), rng.randint(0, 4, size=120)
    folds = list(noisy_folds(X, y, 0.3, cv=4, random_state=11))
    expected = StratifiedKFold(n_splits=4, shuffle=True, random_state=11).split(X, y)
    assert len(folds) == 4
    for k, (fold, (train, test)) in enumerate(zip(folds, expected, strict=True)):
        np.testing.assert_array_equal(fold.train_index, train)
        np.testing.assert_array_equal(fold.X_test, X[test])
        y_noisy, flipped = make_noisy_labels(y[train], 0.3, random_state=11 + k)
        np.testing.assert_array_equal(fold.y_train, y_noisy)
        np.testing.assert_array_equal(fold.flipped, flipped)
        np.testing.assert_array_equal(fold.y_test, y[test])


def test_noisy_folds_with_a_splitter_or_explicit_splits():
    from sklearn.model_selection import KFold, train_test_split

    y = np.repeat([0, 1, 2], 20)
    X = np.arange(60.0)[:, None]
    # A splitter is used as it is: KFold without shuffling gives contiguous test blocks.
    folds = list(noisy_folds(X, y, 0.2, cv=KFold(3), random_state=0))
    assert [f.test_index.tolist() for f in folds] == [list(range(i, i + 20)) for i in (0, 20, 40)]
    # One hold-out split given as index arrays; its noise is seeded with random_state.
    train, test = train_test_split(np.arange(60), test_size=0.3, stratify=y, random_state=3)
    (fold,) = noisy_folds(X, y, 0.4, kind="pairflip", cv=[(train, test)], random_state=3)
    y_noisy, flipped = make_noisy_labels(y[train], 0.4, kind="pairflip", random_state=3)
    np.testing.assert_array_equal(fold.y_train, y_noisy)
    np.testing.assert_array_equal(fold.flipped, flipped)
    np.testing.assert_array_equal(fold.X_train, X[train])


def test_noisy_folds_keep_a_dataframe_and_leave_inputs_alone():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) * 2}, index=range(100, 130))
    y = pd.Series(["u", "v", "w"] * 10, index=range(100, 130))
    X_before, y_before = X.copy(), y.copy()
    fold = next(noisy_folds(X, y, 0.3, cv=3))
    assert isinstance(fold.X_train, pd.DataFrame)
    pd.testing.assert_frame_equal(fold.X_test, X.iloc[fold.test_index])
    np.testing.assert_array_equal(fold.y_test, y.to_numpy()[fold.test_index])
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)


# ---- noise-aware selection -------------------------------------------------------------
@pytest.mark.parametrize("n_classes, rate", [(10, 0.4), (3, 0.2), (2, 0.3), (4, 0.9)])
# 0.9 of 4 classes is past the (K-1)/K limit on purpose: make_noisy_labels warns.
@pytest.mark.filterwarnings("ignore:rate=0.9 with 4 classes:UserWarning")
def test_noisy_accuracy_is_the_affine_function_of_clean_accuracy(n_classes, rate):
    """Simulated: predictions of known clean accuracy, scored on symmetric-noise labels."""
    rng = np.random.default_rng(0)
    n = 40_000
    y = rng.integers(0, n_classes, n)
    measured = []
    accuracies = np.array([0.3, 0.6, 0.9])
    for accuracy in accuracies:
        wrong = rng.random(n) >= accuracy
        shift = rng.integers(1, n_classes, n)  # a uniformly drawn other class
        predicted = np.where(wrong, (y + shift) % n_classes, y)
        y_noisy, _ = make_noisy_labels(y, rate, "symmetric", random_state=1)
        clean = np.mean(predicted == y)
        measured.append((clean, np.mean(predicted == y_noisy)))
    for clean, noisy in measured:
        expected = (1 - rate) * clean + rate * (1 - clean) / (n_classes - 1)
        assert noisy == pytest.approx(expected, abs=4 / np.sqrt(n))
        assert expected_noisy_accuracy(clean, rate, n_classes) == pytest.approx(expected)
    noisy = [pair[1] for pair in measured]
    # increasing below (K - 1) / K, decreasing above: noisy CV ranks like clean accuracy
    # only below that rate
    if rate < (n_classes - 1) / n_classes:
        assert noisy == sorted(noisy)
    else:
        assert noisy == sorted(noisy, reverse=True)


def test_select_by_noisy_scores_never_uses_the_scored_fold():
    # gce is better everywhere except on fold 0, which must not influence fold 0's choice
    scores = {"ce": [0.9, 0.4, 0.4], "gce": [0.1, 0.6, 0.6]}
    assert select_by_noisy_scores(scores) == ["gce", "ce", "ce"]


def test_selection_helpers_stay_importable_from_skloss_tuning():
    # skloss.tuning documented them before they moved to skloss.noise.
    pytest.importorskip("optuna")
    from skloss import noise, tuning

    assert tuning.expected_noisy_accuracy is noise.expected_noisy_accuracy
    assert tuning.select_by_noisy_scores is noise.select_by_noisy_scores
