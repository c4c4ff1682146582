"""Tests of distillation: the ``pld`` and ``kd`` losses and ``DistillationClassifier``.

Expected values come from the issue's hand-computed references, from numpy
implementations of the papers' formulas written out here (the PLD ranking built
by an explicit loop), from scikit-learn (``cross_val_predict``, the teachers'
own ``decision_function`` / ``predict_proba``) and from scipy, never from the
implementation under test. What the student learnt from is observed through a
loss that records the teacher scores of every training row it is given.
"""

import math

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, logsumexp
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
from skloss.losses import KD, LOSSES, PLD, get_loss
from skloss.losses.distillation import cumulative_logsumexp

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

#: log of the smallest normal float32, the floor of the teacher log-probabilities.
FLOOR = math.log(np.finfo(np.float32).tiny)


# ---- independent numpy formulas --------------------------------------------------------
def np_pld(s, t, y, temperature):
    """The issue's PLD formula, the ranking built one row and one position at a time."""
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    values = []
    for row in range(len(y)):
        others = [k for k in range(s.shape[1]) if k != y[row]]
        # Falling teacher score; equal scores keep the column order.
        others.sort(key=lambda k: (-t[row, k], k))
        ranking = [y[row]] + others
        weight = np.exp(t[row] / temperature)
        weight /= weight.sum()
        total = 0.0
        for position, k in enumerate(ranking):
            rest = s[row, ranking[position:]]
            total += weight[k] * (logsumexp(rest) - s[row, k])
        values.append(total)
    return np.array(values)


def np_kd(s, t, y, temperature, alpha):
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    ce = -log_softmax(s, axis=1)[np.arange(len(y)), y]
    p = np.exp(log_softmax(t / temperature, axis=1))
    kl = np.sum(p * (np.log(p) - log_softmax(s / temperature, axis=1)), axis=1)
    return (1 - alpha) * ce + alpha * temperature**2 * kl


def random_problem(n=7, k=5, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(n, k, generator=generator, dtype=dtype)
    teacher = 3.0 * torch.randn(n, k, generator=generator, dtype=dtype)
    target = torch.arange(n) % k
    return logits, teacher, target


LOSS_CASES = [PLD(), PLD(temperature=4.0), KD(), KD(temperature=1.0, alpha=0.5)]


def numpy_formula(loss, s, t, y):
    if isinstance(loss, PLD):
        return np_pld(s, t, y, loss.temperature)
    return np_kd(s, t, y, loss.temperature, loss.alpha)


# ---- the losses: reference values --------------------------------------------------------
@pytest.mark.parametrize(
    "label, temperature, expected",
    [(0, 1.0, 0.254059), (0, 4.0, 0.240626), (2, 1.0, 1.382123)],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pld_reference_values_of_the_issue(label, temperature, expected, dtype):
    s = torch.tensor([[2.0, 1.0, 0.0]], dtype=dtype)
    t = torch.tensor([[0.5, 2.0, 1.0]], dtype=dtype)
    value = PLD(temperature=temperature)(s, torch.tensor([label]), teacher_scores=t)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_kd_reference_value_by_hand():
    # s = [2, 1, 0], t = [0.5, 2, 1], y = 0, T = 4, alpha = 0.9, written out term by term.
    ce = math.log(math.exp(2) + math.exp(1) + 1) - 2
    p = [math.exp(v / 4) for v in (0.5, 2.0, 1.0)]
    p = [v / sum(p) for v in p]
    q = [math.exp(v / 4) for v in (2.0, 1.0, 0.0)]
    q = [v / sum(q) for v in q]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    expected = 0.1 * ce + 0.9 * 16 * kl
    value = KD()(
        torch.tensor([[2.0, 1.0, 0.0]]),
        torch.tensor([0]),
        teacher_scores=torch.tensor([[0.5, 2.0, 1.0]]),
    )
    assert value.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_matches_the_numpy_formula(loss):
    logits, teacher, target = random_problem()
    values = loss(logits, target, reduction="none", teacher_scores=teacher)
    expected = numpy_formula(loss, logits.numpy(), teacher.numpy(), target.numpy())
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("spread", [5.0, 60.0, 200.0, 2000.0])
def test_cumulative_logsumexp_matches_scipy_on_both_paths(dtype, spread, monkeypatch):
    # Small spreads take the cumulative-sum path on the CPU, large ones the
    # logcumsumexp path; both must give scipy's values and finite gradients.
    generator = torch.Generator().manual_seed(9)
    values = (spread * torch.rand(6, 7, generator=generator, dtype=torch.float64)).to(dtype)
    values.requires_grad_(True)
    calls = []
    original = torch.logcumsumexp
    monkeypatch.setattr(torch, "logcumsumexp", lambda *a, **k: calls.append(1) or original(*a, **k))
    got = cumulative_logsumexp(values)
    limit = 70 if dtype == torch.float32 else 670
    assert bool(calls) == (spread > limit)
    rows = values.detach().double().numpy()
    expected = [[logsumexp(row[: k + 1]) for k in range(7)] for row in rows]
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(got.detach().double().numpy(), expected, rtol=tolerance)
    got.sum().backward()
    assert torch.isfinite(values.grad).all()


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_pld_matches_the_numpy_formula_for_widely_spread_logits(scale):
    logits, teacher, target = random_problem(seed=10)
    values = PLD()(scale * logits, target, reduction="none", teacher_scores=teacher)
    expected = np_pld(scale * logits.numpy(), teacher.numpy(), target.numpy(), 1.0)
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_pld_breaks_teacher_ties_by_column_order():
    logits, _, target = random_problem(n=6, k=4, seed=1)
    teacher = torch.tensor([[1.0, 1.0, 0.0, 0.0]] * 6, dtype=torch.float64)
    values = PLD()(logits, target, reduction="none", teacher_scores=teacher)
    np.testing.assert_allclose(
        values.numpy(), np_pld(logits.numpy(), teacher.numpy(), target.numpy(), 1.0), rtol=1e-12
    )


def test_pld_with_two_classes_is_teacher_weighted_cross_entropy():
    logits, teacher, target = random_problem(n=8, k=2, seed=2)
    values = PLD(temperature=2.0)(logits, target, reduction="none", teacher_scores=teacher)
    s, t, y = logits.numpy(), teacher.numpy(), target.numpy()
    weight = np.exp(log_softmax(t / 2.0, axis=1))[np.arange(8), y]
    ce = -log_softmax(s, axis=1)[np.arange(8), y]
    np.testing.assert_allclose(values.numpy(), weight * ce, rtol=1e-12)


def test_kd_limits_are_cross_entropy_and_the_scaled_kl():
    logits, teacher, target = random_problem(seed=3)
    s, t, y = logits.numpy(), teacher.numpy(), target.numpy()
    ce = KD(alpha=0.0)(logits, target, reduction="none", teacher_scores=teacher)
    np.testing.assert_allclose(ce.numpy(), -log_softmax(s, axis=1)[np.arange(7), y], rtol=1e-12)
    kl = KD(alpha=1.0, temperature=1.0)(logits, target, reduction="none", teacher_scores=teacher)
    p = np.exp(log_softmax(t, axis=1))
    expected = np.sum(p * (log_softmax(t, axis=1) - log_softmax(s, axis=1)), axis=1)
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_adding_a_constant_to_a_row_changes_nothing(loss):
    logits, teacher, target = random_problem(seed=4)
    shift = torch.arange(7, dtype=torch.float64)[:, None] * 13.0 - 40.0
    base = loss(logits, target, reduction="none", teacher_scores=teacher)
    moved = loss(logits + shift, target, reduction="none", teacher_scores=teacher - 2 * shift)
    torch.testing.assert_close(moved, base, rtol=1e-10, atol=1e-10)


def test_pld_is_near_zero_for_a_student_that_ranks_like_the_teacher_with_the_label_first():
    _, teacher, target = random_problem(n=5, k=4, seed=5)
    ranking = teacher.scatter(1, target[:, None], float("inf")).argsort(dim=1, descending=True)
    logits = torch.empty_like(teacher)
    # Position j gets logit -100 j: every choice of the ranking is near certain.
    logits.scatter_(1, ranking, -100.0 * torch.arange(4, dtype=teacher.dtype).expand(5, 4))
    values = PLD()(logits, target, reduction="none", teacher_scores=teacher)
    assert torch.all(values >= 0) and torch.all(values < 1e-40)
    # Any other order of the non-label classes costs more.
    swapped = logits.clone()
    swapped.scatter_(1, ranking[:, 1:3], logits.gather(1, ranking[:, [2, 1]]))
    assert torch.all(PLD()(swapped, target, reduction="none", teacher_scores=teacher) > values)


# ---- the losses: gradients and numerics -------------------------------------------------
@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
def test_gradient_matches_finite_differences(loss):
    logits, teacher, target = random_problem(n=5, k=4, seed=6)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: loss(z, target, reduction="none", teacher_scores=teacher),
        (logits,),
        eps=1e-6,
        atol=1e-6,
        rtol=1e-5,
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
@pytest.mark.parametrize(
    "shift, scale, teacher_scale",
    [(1e4, 1.0, 1.0), (-1e4, 1.0, 1.0), (0.0, 1e3, 1.0), (0.0, 1.0, 1e3), (0.0, 1e3, 1e3)],
)
def test_shifted_and_scaled_logits_give_finite_values_and_gradients(
    loss, dtype, shift, scale, teacher_scale
):
    logits, teacher, target = random_problem(n=6, k=4, seed=7, dtype=dtype)
    logits = (scale * logits + shift).detach().requires_grad_(True)
    teacher = teacher_scale * teacher
    teacher[0] = torch.tensor([0.0, FLOOR, FLOOR, FLOOR])  # a floored teacher row
    values = loss(logits, target, reduction="none", teacher_scores=teacher)
    assert torch.isfinite(values).all() and torch.all(values >= -1e-3 * scale)
    values.sum().backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("loss", LOSS_CASES, ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repetition(loss, reduction):
    logits, teacher, target = random_problem(n=6, k=3, seed=8)
    counts = torch.tensor([0, 1, 2, 3, 1, 2])
    weighted = loss(
        logits, target, reduction=reduction, sample_weight=counts, teacher_scores=teacher
    )
    repeated = loss(
        logits.repeat_interleave(counts, dim=0),
        target.repeat_interleave(counts),
        reduction=reduction,
        teacher_scores=teacher.repeat_interleave(counts, dim=0),
    )
    torch.testing.assert_close(weighted, repeated, rtol=1e-12, atol=1e-12)


def test_teacher_scores_get_no_gradient_and_follow_the_logits_dtype():
    logits, teacher, target = random_problem(dtype=torch.float32)
    teacher = teacher.double().requires_grad_(True)
    for loss in (PLD(), KD()):
        value = loss(logits, target, teacher_scores=teacher)
        assert value.dtype == torch.float32 and not value.requires_grad


def test_registry_and_search_spaces():
    assert LOSSES["pld"] is PLD and LOSSES["kd"] is KD
    assert get_loss("kd", alpha=0.3) == KD(alpha=0.3)
    for cls in (PLD, KD):
        assert cls.requires == ("teacher_scores",)
        for name, spec in cls.search_space.items():
            for value in spec[1:3]:
                get_loss(cls.name, **{name: value}).validate()


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
