"""Bad input, one table: each row is (what is called, the expected exception, a phrase
of its message). Every public function, estimator parameter and CLI flag gets a row.

Each call must fail before any training starts, name the argument and say how to
fix it, and leave its inputs untouched (checked for the arrays each row passes).
The table is split into blocks by area only so that each area's rows sit together;
it runs as one parametrised test.
"""

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
NOISE_CASES = []

# ---- analytic (AnalyticIncrementalClassifier) ---------------------------------------
def _analytic_cases():
    import torch
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skloss.analytic import AnalyticIncrementalClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4))
    y = np.arange(40) % 3

    def make(**params):
        return AnalyticIncrementalClassifier(**{"buffer_size": 16, "random_state": 0, **params})

    def fitted(**params):
        return make(**params).partial_fit(X[:20], y[:20])

    def changed(name, value):
        clf = fitted()
        clf.set_params(**{name: value})
        return clf

    def rows_changing_module():
        # Flattens the batch into one row: one embedding for many rows.
        return torch.nn.Sequential(torch.nn.Flatten(0), torch.nn.Unflatten(0, (1, -1)))

    class Refitted:
        """A backbone whose output width changes after the first fit (it was refitted)."""

        def __init__(self):
            self.width = 3

        def transform(self, X):
            return np.asarray(X)[:, : self.width]

    def refitted_backbone():
        backbone = Refitted()
        clf = make(backbone=backbone).fit(X, y)
        backbone.width = 2
        return clf.partial_fit(X, y)

    return [
        # bool is an int to Python and to the parameter constraints: refuse it.
        ("analytic-buffer_size-bool", lambda: make(buffer_size=True).fit(X, y),
         TypeError, r"buffer_size=True is a bool; pass a number", [X, y]),
        ("analytic-batch_size-bool", lambda: make(batch_size=True).fit(X, y),
         TypeError, r"batch_size=True is a bool", [X, y]),
        ("analytic-gamma-bool", lambda: make(gamma=True).partial_fit(X, y),
         TypeError, r"gamma=True is a bool", [X, y]),
        ("analytic-backbone-class-not-instance",
         lambda: make(backbone=StandardScaler).fit(X, y),
         TypeError, r"backbone is the class StandardScaler, not an instance.*fit\(X\)", [X, y]),
        ("analytic-backbone-transform-raises",
         lambda: make(backbone=FunctionTransformer(lambda Z: Z / "a").fit(X)).fit(X, y),
         ValueError, r"backbone FunctionTransformer\.transform failed on a batch", [X, y]),
        ("analytic-backbone-transform-row-count",
         lambda: make(backbone=FunctionTransformer(lambda Z: Z[:1]).fit(X)).fit(X, y),
         ValueError, r"backbone returned 1 rows for a batch of 40", [X, y]),
        ("analytic-backbone-module-row-count",
         lambda: make(backbone=rows_changing_module()).fit(X, y),
         ValueError, r"backbone returned 1 rows for a batch of", [X, y]),
        ("analytic-backbone-transform-strings",
         lambda: make(backbone=FunctionTransformer(
             lambda Z: np.full((len(Z), 2), "a")).fit(X)).fit(X, y),
         ValueError, r"transform must return numbers", [X, y]),
        ("analytic-backbone-output-width-changed-after-fit", refitted_backbone,
         ValueError, r"built for n_embedding_=3 at the first fit.*must stay frozen", [X, y]),
        ("analytic-partial_fit-activation-changed",
         lambda: changed("activation", "tanh").partial_fit(X[20:], y[20:]),
         ValueError, r"activation was 'relu' when this estimator was first fitted.*fit to "
         r"start afresh", [X, y]),
        ("analytic-partial_fit-gamma-changed",
         lambda: changed("gamma", 1.0).partial_fit(X[20:], y[20:]),
         ValueError, r"gamma was 0\.1 when this estimator was first fitted", [X, y]),
        ("analytic-predict-activation-changed",
         lambda: changed("activation", "tanh").predict(X),
         ValueError, r"activation was 'relu' .* prediction would mix", [X]),
        ("analytic-merge-gamma-changed-on-both",
         lambda: changed("gamma", 1.0).merge(changed("gamma", 1.0)),
         ValueError, r"gamma was 0\.1 .* merge would mix", [X, y]),
        ("analytic-merge-buffer_size-changed-on-other",
         lambda: fitted().merge(changed("buffer_size", 8)),
         ValueError, r"buffer_size was 16 .* merge would mix", [X, y]),
        ("analytic-partial_fit-bool-then-int-labels",
         lambda: make().partial_fit(X[:20], y[:20] > 0).partial_fit(X[20:], y[20:]),
         ValueError, r"classes learned so far \[False, True\].*one label type", [X, y]),
        ("analytic-partial_fit-int-then-bool-labels",
         lambda: make().partial_fit(X[:20], y[:20]).partial_fit(X[20:], y[20:] > 0),
         ValueError, r"y has labels of dtype bool.*one label type", [X, y]),
        ("analytic-merge-bool-and-int-labels",
         lambda: make().fit(X, y > 0).merge(make().fit(X, y)),
         ValueError, r"one label type", [X, y]),
    ]


ANALYTIC_CASES = _analytic_cases()

# ---- the command line (skloss compare / skloss tune) -------------------------------
CLI_CASES = []

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
