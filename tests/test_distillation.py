"""Tests of ``DistillationClassifier`` and the teacher scores it learns from.

Expected values come from scikit-learn (``cross_val_predict``, the teachers' own
``decision_function`` / ``predict_proba``), never from the implementation under
test. What the student learnt from is observed through a loss that records the
teacher scores of every training row it is given. The losses themselves are
tested in ``tests/losses/test_distillation.py``.
"""

import math

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from skloss import DistillationClassifier
from skloss.distillation import out_of_fold_scores, teacher_scores
from skloss.losses import KD, PLD

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

#: log of the smallest normal float32, the floor of the teacher log-probabilities.
FLOOR = math.log(np.finfo(np.float32).tiny)


# ---- the estimator: what the student learns from -----------------------------------------
class RecordingPLD(PLD):
    """PLD that keeps, per fit, the teacher scores each training row was given."""

    requires = ("teacher_scores", "index")
    fits = []  # (loss object, {row: scores}) per fit; the object keeps ids unique

    def per_sample(self, logits, target, teacher_scores=None, index=None, **context):
        rows = next((seen for owner, seen in self.fits if owner is self), None)
        if rows is None:
            rows = {}
            self.fits.append((self, rows))
        for row, scores in zip(index.tolist(), teacher_scores.tolist(), strict=True):
            rows[row] = scores
        return super().per_sample(logits, target, teacher_scores=teacher_scores)


@pytest.fixture
def recorded():
    RecordingPLD.fits = []

    def scores_of_fit(number=-1):
        rows = RecordingPLD.fits[number][1]
        return np.array([rows[i] for i in range(len(rows))])

    return scores_of_fit


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def student(**params):
    defaults = {"loss": RecordingPLD(), "hidden_layer_sizes": (8,), "max_iter": 1}
    return DistillationClassifier(**{**defaults, "random_state": 0, **params})


def test_unfitted_teacher_gives_out_of_fold_scores_as_cross_val_predict(iris, recorded):
    X, y = iris
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    clf = student(teacher=LogisticRegression(), cv=folds).fit(X, y)
    expected = np.log(
        cross_val_predict(LogisticRegression(), X, y, cv=folds, method="predict_proba")
    )
    np.testing.assert_allclose(recorded(), expected, rtol=1e-5, atol=1e-5)
    # teacher_ is the teacher fitted on every row.
    np.testing.assert_allclose(clf.teacher_.coef_, LogisticRegression().fit(X, y).coef_)


def test_int_cv_scores_rows_out_of_fold(iris, recorded):
    # A 1-nearest-neighbour teacher scoring its own training rows would hand back y
    # itself; out of fold, it gets some rows wrong.
    X, y = iris
    clf = student(teacher=KNeighborsClassifier(1)).fit(X, y)
    scores = recorded()
    assert 0 < np.sum(scores.argmax(axis=1) != y) < 20
    assert np.all(clf.teacher_.predict(X) == y)


def test_fitted_teacher_is_used_as_given(iris, recorded):
    X, y = iris
    teacher = LogisticRegression().fit(X[::2], y[::2])
    coef = teacher.coef_.copy()
    clf = student(teacher=teacher).fit(X, y)
    assert clf.teacher_ is teacher
    np.testing.assert_array_equal(teacher.coef_, coef)
    expected = log_softmax(teacher.decision_function(X), axis=1)
    np.testing.assert_allclose(recorded(), expected, rtol=1e-5, atol=1e-5)


class NeverFit(ClassifierMixin, BaseEstimator):
    """A teacher that must not be fitted."""

    def fit(self, X, y):
        raise AssertionError("the teacher was fitted")

    def predict_proba(self, X):
        raise AssertionError("the teacher was asked for scores")


def test_teacher_scores_passed_to_fit_win(iris, recorded):
    X, y = iris
    given = np.random.default_rng(0).normal(size=(150, 3)) * 3
    clf = student(teacher=NeverFit()).fit(X, y, teacher_scores=given)
    assert clf.teacher_ is None
    np.testing.assert_allclose(recorded(), log_softmax(given, axis=1), rtol=1e-5, atol=1e-5)


class FixedTeacher(ClassifierMixin, BaseEstimator):
    """A fitted teacher with given classes_ (in any order) and probabilities by row."""

    def __init__(self, classes, proba):
        self.classes = classes
        self.proba = proba

    def fit(self, X, y):
        return self

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return np.asarray(self.classes)

    def predict_proba(self, X):
        return self.proba[: len(X)]


def test_columns_are_matched_to_the_student_classes_by_label(iris, recorded):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    # The teacher's columns: virginica, an extra class, setosa, versicolor.
    proba = np.random.default_rng(1).dirichlet(np.ones(4), size=150)
    proba[0, 2] = 0.0  # an exact zero, floored
    teacher = FixedTeacher(["virginica", "other", "setosa", "versicolor"], proba)
    clf = student(teacher=teacher).fit(X, labels)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    expected = np.log(np.maximum(proba[:, [2, 3, 0]], np.finfo(np.float32).tiny))
    np.testing.assert_allclose(recorded(), expected, rtol=1e-5)
    assert recorded()[0, 0] == pytest.approx(FLOOR)
    missing = FixedTeacher(["setosa", "versicolor"], proba[:, :2])
    with pytest.raises(ValueError, match=r"lack \['virginica'\] of y"):
        student(teacher=missing).fit(X, labels)


def test_a_class_missing_from_a_fold_gets_the_floor():
    X = np.arange(12, dtype=float)[:, None]
    y = np.array([0] * 6 + [1] * 5 + [2])  # class 2 has one row: its fold never saw it
    with pytest.warns(UserWarning, match="least populated class"):
        scores = out_of_fold_scores(LogisticRegression(), X, y, cv=2, random_state=0)
    assert scores[-1, 2] == pytest.approx(FLOOR)
    assert np.all(scores[:, 2] < 0) and np.all(np.isfinite(scores))


def test_binary_decision_function_and_scores_give_two_columns(recorded):
    X = np.linspace(-2, 2, 40)[:, None]
    y = (X[:, 0] + 0.3 * np.sin(7 * X[:, 0]) > 0).astype(int)
    teacher = LogisticRegression().fit(X, y)
    student(teacher=teacher).fit(X, y)
    d = teacher.decision_function(X)
    expected = np.column_stack([-np.logaddexp(0, d), -np.logaddexp(0, -d)])  # log sigmoid
    np.testing.assert_allclose(recorded(), expected, rtol=1e-5, atol=1e-6)
    student(teacher=NeverFit()).fit(X, y, teacher_scores=d)
    np.testing.assert_allclose(recorded(), expected, rtol=1e-5, atol=1e-6)


def test_sample_weight_reaches_a_teacher_that_takes_it(iris):
    X, y = iris
    seen = []

    class WeightedTeacher(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(None if sample_weight is None else np.asarray(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    weight = np.random.default_rng(2).uniform(0.5, 2.0, size=150)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    student(loss="pld", teacher=WeightedTeacher(), cv=folds).fit(X, y, sample_weight=weight)
    expected = [weight[train] for train, _ in folds] + [weight]
    assert len(seen) == len(expected)
    for got, want in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    # A teacher whose fit takes no weights is fitted without them.
    student(loss="pld", teacher=KNeighborsClassifier(3)).fit(X, y, sample_weight=weight)


def test_default_teacher_is_seeded_gradient_boosting_and_fits_are_reproducible(iris):
    X, y = iris
    first = student(loss="pld", max_iter=3, cv=3).fit(X, y)
    second = student(loss="pld", max_iter=3, cv=3).fit(X, y)
    assert isinstance(first.teacher_, HistGradientBoostingClassifier)
    assert isinstance(first.teacher_.random_state, int)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


# ---- the estimator: the teacher's scores change what the student learns ------------------
def test_kd_alone_follows_the_teacher_not_the_labels(iris):
    X, y = iris
    shifted = (y + 1) % 3  # a teacher that confidently names the next class
    scores = 10.0 * np.eye(3)[shifted]
    clf = DistillationClassifier(
        loss=KD(alpha=1.0, temperature=1.0),
        hidden_layer_sizes=(16,),
        learning_rate_init=0.02,
        max_iter=100,
        random_state=0,
    ).fit(X, y, teacher_scores=scores)
    assert np.mean(clf.predict(X) == shifted) > 0.9


def test_pld_puts_the_teachers_second_choice_second(iris):
    X, y = iris
    params = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.02, "max_iter": 100}
    # The teacher agrees with the label and ranks the next class second; then,
    # the other way round, the class after it: each order of the non-label
    # classes is learnt from its ranking, whatever the geometry of the data.
    for step in (1, 2):
        second = (y + step) % 3
        scores = 3.0 * np.eye(3)[y] + 2.0 * np.eye(3)[second]
        clf = DistillationClassifier(random_state=0, **params).fit(X, y, teacher_scores=scores)
        proba = clf.predict_proba(X)
        assert np.mean(proba.argmax(axis=1) == y) > 0.9
        assert np.mean(np.argsort(proba, axis=1)[:, 1] == second) > 0.9


# ---- the estimator: scikit-learn's machinery ---------------------------------------------
def test_clone_unfits_a_fitted_teacher_unless_it_is_frozen(iris, recorded):
    X, y = iris
    teacher = LogisticRegression().fit(X[::2], y[::2])
    cloned = clone(student(teacher=teacher))
    with pytest.raises(NotFittedError):
        check_is_fitted(cloned.teacher)
    frozen = FrozenEstimator(teacher)
    coef = teacher.coef_.copy()
    clf = clone(student(teacher=frozen)).fit(X, y)
    assert clf.teacher_ is frozen and clf.teacher_.estimator is teacher
    np.testing.assert_array_equal(teacher.coef_, coef)
    np.testing.assert_allclose(
        recorded(), log_softmax(teacher.decision_function(X), axis=1), rtol=1e-5, atol=1e-5
    )


def test_grid_search_refits_an_unfrozen_teacher_in_every_fold(iris):
    X, y = iris
    fits = []

    class CountedTeacher(LogisticRegression):
        def fit(self, X, y):
            fits.append(len(y))
            return super().fit(X, y)

    teacher = CountedTeacher().fit(X, y)
    fits.clear()
    search = GridSearchCV(
        student(loss="pld", teacher=teacher, cv=2), {"max_iter": [1, 2]}, cv=KFold(3)
    )
    search.fit(X, y)
    # 2 candidates x 3 folds on 100 rows, then the refit on 150: cv + 1 = 3 fits each.
    assert fits == [50, 50, 100] * 6 + [75, 75, 150]


@pytest.mark.parametrize("routing", [True, False])
def test_teacher_scores_are_routed_through_pipeline_and_grid_search(iris, recorded, routing):
    import sklearn

    X, y = iris
    # Row i's first two scores differ by i: log_softmax keeps differences, so the
    # recorded scores say which rows each fit was given.
    given = np.zeros((150, 3))
    given[:, 0] = np.arange(150) / 10.0
    clf = student(teacher=NeverFit())
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            clf.set_fit_request(teacher_scores=True)
            kwargs = {"teacher_scores": given}
        else:
            kwargs = {"distillationclassifier__teacher_scores": given}
        pipe = make_pipeline(StandardScaler(), clf)
        pipe.fit(X, y, **kwargs)
        np.testing.assert_allclose(recorded(), log_softmax(given, axis=1), rtol=1e-5, atol=1e-5)
        RecordingPLD.fits = []
        # Stratified: teacher_scores has a column per class, so must every fold's y.
        folds = StratifiedKFold(2, shuffle=True, random_state=0)
        search = GridSearchCV(pipe, {"distillationclassifier__max_iter": [1, 2]}, cv=folds)
        search.fit(X, y, **kwargs)
    seen = []
    for _, rows in RecordingPLD.fits:
        scores = np.array([rows[i] for i in range(len(rows))])
        seen.append(tuple(np.rint(10 * (scores[:, 0] - scores[:, 1])).astype(int)))
    trains = [tuple(train) for train, _ in folds.split(X, y)]
    assert sorted(seen) == sorted(trains * 2 + [tuple(range(150))])


def test_partial_fit_needs_a_fitted_teacher(iris, recorded):
    X, y = iris
    assert not hasattr(student(), "partial_fit")
    assert not hasattr(student(teacher=LogisticRegression()), "partial_fit")
    teacher = LogisticRegression().fit(X, y)
    clf = student(teacher=FrozenEstimator(teacher))
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    np.testing.assert_allclose(
        recorded(), log_softmax(teacher.decision_function(X[:60]), axis=1), rtol=1e-5, atol=1e-5
    )
    clf.partial_fit(X[60:], y[60:])
    assert clf.n_iter_ == 2 and clf.teacher_.estimator is teacher
    with pytest.raises(ValueError, match="classes must be passed"):
        student(teacher=teacher).partial_fit(X, y)


def test_bad_input_fails_before_the_teacher_is_fitted(iris):
    X, y = iris
    fits = []

    class CountedTeacher(LogisticRegression):
        def fit(self, X, y):
            fits.append(len(y))
            return super().fit(X, y)

    bad = [
        ({"hidden_layer_sizes": (0,)}, {}),
        ({"class_weight": {0: -1.0}}, {}),
        ({"early_stopping": True, "validation_fraction": 0.999}, {}),
        ({}, {"sample_weight": np.ones(3)}),
        ({"loss": "ce"}, {}),
    ]
    for params, fit_params in bad:
        with pytest.raises(ValueError):
            student(teacher=CountedTeacher(), **params).fit(X, y, **fit_params)
    with pytest.raises(ValueError, match="at least 2 classes"):
        student(teacher=CountedTeacher()).fit(X, np.zeros(150))
    assert fits == []


def test_a_failed_fit_leaves_the_fitted_estimator_unchanged(iris):
    X, y = iris
    clf = student(loss="pld", teacher=LogisticRegression()).fit(X, y)
    proba, teacher, state = clf.predict_proba(X), clf.teacher_, dict(clf.__dict__)
    with pytest.raises(ValueError, match="one column per class"):
        clf.fit(X, y, teacher_scores=np.zeros((150, 2)))
    assert clf.teacher_ is teacher and clf.__dict__.keys() == state.keys()
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_sparse_tag_follows_the_teacher():
    assert get_tags(DistillationClassifier(LogisticRegression())).input_tags.sparse
    assert not get_tags(DistillationClassifier()).input_tags.sparse


def test_teacher_scores_function_matches_predict_proba(iris):
    X, y = iris
    teacher = KNeighborsClassifier(5).fit(X, y)  # predict_proba only, exact zeros
    scores = teacher_scores(teacher, X)
    expected = np.log(np.maximum(teacher.predict_proba(X), np.finfo(np.float32).tiny))
    np.testing.assert_allclose(scores, expected)
    reordered = teacher_scores(teacher, X, classes=[2, 0])
    np.testing.assert_allclose(reordered, expected[:, [2, 0]])


def test_assembled_docstring_is_valid():
    # As tests/test_docstrings.py checks the other estimators (its ASSEMBLED list).
    import re
    from pathlib import Path

    from numpydoc.validate import validate

    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    block = re.search(r"\[tool\.numpydoc_validation\].*?checks = \[(.*?)\]", text, re.S).group(1)
    ignored = set(re.findall(r'"(\w+)"', block)) - {"all"}
    assert "SA01" in ignored
    errors = validate("skloss.distillation.DistillationClassifier")["errors"]
    assert [(code, message) for code, message in errors if code not in ignored] == []
    for name in DistillationClassifier._get_param_names():
        assert f"    {name} : " in DistillationClassifier.__doc__, name
