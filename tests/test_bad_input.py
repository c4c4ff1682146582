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
def _estimator_cases():
    import torch
    from sklearn.datasets import load_iris
    from sklearn.exceptions import NotFittedError
    from skorch.callbacks import EpochScoring

    from skloss import AnyLossClassifier, RobustLossClassifier

    X, y = load_iris(return_X_y=True)
    X, y = X[::3].copy(), y[::3].copy()
    w = np.ones(len(y))

    def fit(**params):
        params = {"max_iter": 1, "hidden_layer_sizes": (4,), **params}
        return lambda: RobustLossClassifier(**params).fit(X, y)

    fitted = RobustLossClassifier(max_iter=1, hidden_layer_sizes=(4,), random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X, y)
    mixed = np.array([1, "a"] * (len(y) // 2) + [1] * (len(y) % 2), dtype=object)
    huge = X.copy()
    huge[0, 0] = 1e39

    def not_an_optimizer(params, lr):
        return object()

    def bad_module(n_features_in, n_outputs):
        return torch.nn.Linear(n_features_in, n_outputs + 1)

    return [
        ("class_weight_negative", fit(class_weight={0: -1.0, 1: 1.0, 2: 1.0}), ValueError,
         r"class_weight\[0\] = -1\.0.*>= 0", [X, y]),
        ("class_weight_nan", fit(class_weight={0: float("nan")}), ValueError,
         r"class_weight\[0\].*finite", [X, y]),
        ("class_weight_unknown_label", fit(class_weight={7: 1.0}), ValueError,
         r"class_weight names labels \[7\]", [X, y]),
        ("labels_mixed_types",
         lambda: RobustLossClassifier(max_iter=1).fit(X, mixed), ValueError,
         r"y mixes labels of types \['int', 'str'\].*astype\(str\)", [X, mixed]),
        ("device_unavailable", fit(device="mps"), ValueError,
         r"device='mps' is not available.*'cpu'", [X, y]),
        ("device_not_a_device", fit(device="gpu0"), ValueError,
         r"device='gpu0' is not a torch device", [X, y]),
        ("callbacks_not_callbacks", fit(callbacks=[42]), TypeError,
         r"callbacks\[0\] is 42 \(int\), not a skorch callback", [X, y]),
        ("callbacks_reserved_name",
         fit(callbacks=[("stopping", EpochScoring("accuracy"))]), ValueError,
         r"callbacks\[0\] is named 'stopping'.*choose another name", [X, y]),
        ("callbacks_not_a_list", fit(callbacks=EpochScoring("accuracy")), ValueError,
         r"'callbacks' parameter", [X, y]),
        ("optimizer_returns_no_optimizer", fit(optimizer=not_an_optimizer), TypeError,
         r"returned object, not a torch optimiser.*param_groups and step", [X, y]),
        ("optimizer_unknown_name", fit(optimizer="adagrad-ish"), ValueError,
         r"'optimizer' parameter", [X, y]),
        ("predict_float32_overflow", lambda: fitted.predict_proba(huge), ValueError,
         r"beyond float32's range.*StandardScaler", [huge]),
        ("fit_float32_overflow", lambda: RobustLossClassifier(max_iter=1).fit(huge, y),
         ValueError, r"beyond float32's range", [huge, y]),
        ("predict_before_fit", lambda: RobustLossClassifier().predict(X), NotFittedError,
         r"not fitted yet", [X]),
        ("predict_wrong_width", lambda: fitted.predict(X[:, :2]), ValueError,
         r"X has 2 features, but RobustLossClassifier is expecting 4", [X]),
        ("fit_nan_features", fit(), ValueError, r"Input X contains NaN", []),
        ("hidden_layer_sizes_zero", fit(hidden_layer_sizes=(0,)), ValueError,
         r"hidden_layer_sizes", [X, y]),
        ("batch_size_zero", fit(batch_size=0), ValueError, r"'batch_size' parameter", [X, y]),
        ("learning_rate_zero", fit(learning_rate_init=0.0), ValueError,
         r"'learning_rate_init' parameter", [X, y]),
        ("validation_fraction_one", fit(validation_fraction=1.0, early_stopping=True),
         ValueError, r"'validation_fraction' parameter", [X, y]),
        ("max_iter_zero", fit(max_iter=0), ValueError, r"'max_iter' parameter", [X, y]),
        ("module_wrong_output", fit(module=bad_module), ValueError,
         r"module must map \(n_samples, 4\) inputs to \(n_samples, 3\)", [X, y]),
        ("module_not_a_module", fit(module=lambda n_features_in, n_outputs: 3), TypeError,
         r"module must build a torch.nn.Module", [X, y]),
        ("loss_unknown_name", fit(loss="gcee"), ValueError, r"Unknown loss 'gcee'", [X, y]),
        ("fused_true_impossible", fit(loss="nce_rce", fused=True), ValueError,
         r"fused=True is not possible.*fused='auto'", [X, y]),
        ("sample_weight_negative",
         lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=-w), ValueError,
         r"Negative values in data passed to `sample_weight`", [X, y, -w]),
        ("sample_weight_all_zero",
         lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=0 * w), ValueError,
         r"Sample weights must contain at least one non-zero", [X, y]),
        ("sample_weight_wrong_length",
         lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=w[:3]), ValueError,
         r"sample_weight.shape == \(3,\), expected \(50,\)", [X, y]),
        ("one_class", lambda: RobustLossClassifier(max_iter=1).fit(X, 0 * y), ValueError,
         r"at least 2 classes", [X]),
        ("partial_fit_without_classes", lambda: RobustLossClassifier().partial_fit(X, y),
         ValueError, r"classes must be passed on the first call", [X, y]),
        ("partial_fit_label_outside_classes",
         lambda: RobustLossClassifier().partial_fit(X, y, classes=[0, 1]), ValueError,
         r"y contains labels \[2\] that are not in classes=\[0, 1\]", [X, y]),
        ("partial_fit_balanced",
         lambda: RobustLossClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2]),
         ValueError, r"class_weight='balanced' is not supported by partial_fit", [X, y]),
        ("warm_start_new_classes",
         lambda: RobustLossClassifier(warm_start=True, max_iter=1).fit(X, y).fit(X, y % 2),
         ValueError, r"warm_start can only be used where y has the same classes", [X, y]),
        ("anyloss_metric_unknown", lambda: AnyLossClassifier(metric="auc").fit(X, y % 2),
         ValueError, r"'metric' parameter", [X, y]),
        ("transform_without_features",
         lambda: RobustLossClassifier(max_iter=1, module=lambda n_features_in, n_outputs:
                                      torch.nn.Linear(n_features_in, n_outputs))
         .fit(X, y).transform(X), AttributeError, r"transform needs a module with a `features`",
         [X, y]),
    ]


def _nan_features_case(cases):
    # NaN in X: fit rejects it (validate_data), naming X.
    from sklearn.datasets import load_iris

    from skloss import RobustLossClassifier

    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[0, 0] = np.nan
    return [
        (c[0], (lambda: RobustLossClassifier(max_iter=1).fit(X, y)), c[2], c[3], [X, y])
        if c[0] == "fit_nan_features" else c
        for c in cases
    ]


ESTIMATOR_CASES = _nan_features_case(_estimator_cases())

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
