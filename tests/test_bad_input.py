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
ANALYTIC_CASES = []

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
