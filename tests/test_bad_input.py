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
import torch

# Short fits on purpose: not converging is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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

    from skloss.losses import CrossEntropy

    class NeedsTeacher(CrossEntropy):
        requires = ("teacher_scores",)

    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    colours = ["red", "blue", "red"] * (len(y) // 3) + ["red"] * (len(y) % 3)
    frame["colour"] = pd.Categorical(colours)
    numeric_categories = frame.drop(columns="colour").assign(
        size=pd.Categorical([1, 2] * (len(y) // 2) + [1] * (len(y) % 2))
    )

    return [
        (
            "fit_category_column",
            lambda: RobustLossClassifier(max_iter=1).fit(frame, y),
            ValueError,
            r"categorical columns \['colour'\].*OneHotEncoder",
            [y],
        ),
        (
            "fit_numeric_category_column",
            lambda: RobustLossClassifier(max_iter=1).fit(numeric_categories, y),
            ValueError,
            r"categorical columns \['size'\]",
            [y],
        ),
        (
            "predict_category_column",
            lambda: fitted.predict(frame.drop(columns="d")),
            ValueError,
            r"categorical columns \['colour'\]",
            [],
        ),
        (
            "loss_needs_teacher_scores_not_given",
            fit(loss=NeedsTeacher()),
            ValueError,
            r"requires teacher_scores for every training row.*DistillationClassifier",
            [X, y],
        ),
        (
            "class_weight_negative",
            fit(class_weight={0: -1.0, 1: 1.0, 2: 1.0}),
            ValueError,
            r"class_weight\[0\] = -1\.0.*>= 0",
            [X, y],
        ),
        (
            "class_weight_nan",
            fit(class_weight={0: float("nan")}),
            ValueError,
            r"class_weight\[0\].*finite",
            [X, y],
        ),
        (
            "class_weight_unknown_label",
            fit(class_weight={7: 1.0}),
            ValueError,
            r"class_weight names labels \[7\]",
            [X, y],
        ),
        (
            "labels_mixed_types",
            lambda: RobustLossClassifier(max_iter=1).fit(X, mixed),
            ValueError,
            r"y mixes labels of types \['int', 'str'\].*astype\(str\)",
            [X, mixed],
        ),
        (
            "device_unavailable",
            fit(device="mps"),
            ValueError,
            r"device='mps' is not available.*'cpu'",
            [X, y],
        ),
        (
            "device_not_a_device",
            fit(device="gpu0"),
            ValueError,
            r"device='gpu0' is not a torch device",
            [X, y],
        ),
        (
            "callbacks_not_callbacks",
            fit(callbacks=[42]),
            TypeError,
            r"callbacks\[0\] is 42 \(int\), not a skorch callback",
            [X, y],
        ),
        (
            "callbacks_reserved_name",
            fit(callbacks=[("stopping", EpochScoring("accuracy"))]),
            ValueError,
            r"callbacks\[0\] is named 'stopping'.*choose another name",
            [X, y],
        ),
        (
            "callbacks_not_a_list",
            fit(callbacks=EpochScoring("accuracy")),
            ValueError,
            r"'callbacks' parameter",
            [X, y],
        ),
        (
            "optimizer_returns_no_optimizer",
            fit(optimizer=not_an_optimizer),
            TypeError,
            r"returned object, not a torch optimiser.*param_groups and step",
            [X, y],
        ),
        (
            "optimizer_unknown_name",
            fit(optimizer="adagrad-ish"),
            ValueError,
            r"'optimizer' parameter",
            [X, y],
        ),
        (
            "predict_float32_overflow",
            lambda: fitted.predict_proba(huge),
            ValueError,
            r"beyond float32's range.*StandardScaler",
            [huge],
        ),
        (
            "fit_float32_overflow",
            lambda: RobustLossClassifier(max_iter=1).fit(huge, y),
            ValueError,
            r"beyond float32's range",
            [huge, y],
        ),
        (
            "predict_before_fit",
            lambda: RobustLossClassifier().predict(X),
            NotFittedError,
            r"not fitted yet",
            [X],
        ),
        (
            "predict_wrong_width",
            lambda: fitted.predict(X[:, :2]),
            ValueError,
            r"X has 2 features, but RobustLossClassifier is expecting 4",
            [X],
        ),
        ("fit_nan_features", fit(), ValueError, r"Input X contains NaN", []),
        (
            "hidden_layer_sizes_zero",
            fit(hidden_layer_sizes=(0,)),
            ValueError,
            r"hidden_layer_sizes",
            [X, y],
        ),
        ("batch_size_zero", fit(batch_size=0), ValueError, r"'batch_size' parameter", [X, y]),
        (
            "precision_unknown",
            fit(precision="16"),
            ValueError,
            r"'precision' parameter of RobustLossClassifier must be a str among",
            [X, y],
        ),
        (
            "learning_rate_zero",
            fit(learning_rate_init=0.0),
            ValueError,
            r"'learning_rate_init' parameter",
            [X, y],
        ),
        (
            "validation_fraction_one",
            fit(validation_fraction=1.0, early_stopping=True),
            ValueError,
            r"'validation_fraction' parameter",
            [X, y],
        ),
        ("max_iter_zero", fit(max_iter=0), ValueError, r"'max_iter' parameter", [X, y]),
        (
            "module_wrong_output",
            fit(module=bad_module),
            ValueError,
            r"module must map \(n_samples, 4\) inputs to \(n_samples, 3\)",
            [X, y],
        ),
        (
            "module_not_a_module",
            fit(module=lambda n_features_in, n_outputs: 3),
            TypeError,
            r"module must build a torch.nn.Module",
            [X, y],
        ),
        ("loss_unknown_name", fit(loss="gcee"), ValueError, r"Unknown loss 'gcee'", [X, y]),
        (
            "fused_true_impossible",
            fit(loss="nce_rce", fused=True),
            ValueError,
            r"fused=True is not possible.*fused='auto'",
            [X, y],
        ),
        (
            "sample_weight_negative",
            lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=-w),
            ValueError,
            r"Negative values in data passed to `sample_weight`",
            [X, y, -w],
        ),
        (
            "sample_weight_all_zero",
            lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=0 * w),
            ValueError,
            r"Sample weights must contain at least one non-zero",
            [X, y],
        ),
        (
            "sample_weight_wrong_length",
            lambda: RobustLossClassifier(max_iter=1).fit(X, y, sample_weight=w[:3]),
            ValueError,
            r"sample_weight.shape == \(3,\), expected \(50,\)",
            [X, y],
        ),
        (
            "one_class",
            lambda: RobustLossClassifier(max_iter=1).fit(X, 0 * y),
            ValueError,
            r"at least 2 classes",
            [X],
        ),
        (
            "partial_fit_without_classes",
            lambda: RobustLossClassifier().partial_fit(X, y),
            ValueError,
            r"classes must be passed on the first call",
            [X, y],
        ),
        (
            "partial_fit_label_outside_classes",
            lambda: RobustLossClassifier().partial_fit(X, y, classes=[0, 1]),
            ValueError,
            r"y contains labels \[2\] that are not in classes=\[0, 1\]",
            [X, y],
        ),
        (
            "partial_fit_balanced",
            lambda: RobustLossClassifier(class_weight="balanced").partial_fit(
                X, y, classes=[0, 1, 2]
            ),
            ValueError,
            r"class_weight='balanced' is not supported by partial_fit",
            [X, y],
        ),
        (
            "warm_start_new_classes",
            lambda: RobustLossClassifier(warm_start=True, max_iter=1).fit(X, y).fit(X, y % 2),
            ValueError,
            r"warm_start can only be used where y has the same classes",
            [X, y],
        ),
        (
            "anyloss_metric_unknown",
            lambda: AnyLossClassifier(metric="auc").fit(X, y % 2),
            ValueError,
            r"'metric' parameter",
            [X, y],
        ),
        (
            "transform_without_features",
            lambda: (
                RobustLossClassifier(
                    max_iter=1,
                    module=lambda n_features_in, n_outputs: torch.nn.Linear(
                        n_features_in, n_outputs
                    ),
                )
                .fit(X, y)
                .transform(X)
            ),
            AttributeError,
            r"transform needs a module with a `features`",
            [X, y],
        ),
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
        if c[0] == "fit_nan_features"
        else c
        for c in cases
    ]


ESTIMATOR_CASES = _nan_features_case(_estimator_cases())

# ---- losses (skloss.losses, calling a loss directly) -------------------------------


def _losses():
    import skloss.losses

    return skloss.losses


def _logits(n=4, k=3):
    return torch.zeros(n, k)


def _classes(*labels):
    return torch.tensor(labels)


class _MeanOnlyCriterion(torch.nn.Module):
    # A torch loss without a `reduction` attribute that averages by itself.
    def forward(self, logits, target):
        return torch.nn.functional.cross_entropy(logits, target)


def _old_style_stratified_loss():
    class Pairwise(_losses().CrossEntropy):
        requires = ("stratified",)

    return Pairwise()


_WEIGHTS = np.array([1.0, -1.0, 2.0, 1.0])
_ZERO_WEIGHTS = np.zeros(4)
_NAN_WEIGHTS = np.array([1.0, np.nan, 1.0, 1.0])

LOSS_CASES = [
    (
        "loss-target-above-range",
        lambda: _losses().CrossEntropy()(_logits(), _classes(0, 1, 2, 3)),
        ValueError,
        r"target holds class index 3, outside the valid range \[0, 3\)",
        [],
    ),
    (
        "loss-target-negative",
        lambda: _losses().GCE()(_logits(), _classes(0, -1, 2, 1)),
        ValueError,
        r"target holds class index -1, outside the valid range \[0, 3\)",
        [],
    ),
    (
        "loss-one-logit-target-2",
        lambda: _losses().AnyLoss()(_logits(k=1), _classes(0, 1, 2, 1)),
        ValueError,
        r"index 2, outside the valid range \[0, 2\) .*one logit column",
        [],
    ),
    (
        "loss-logits-without-columns",
        lambda: _losses().CrossEntropy()(_logits(k=0), _classes(0, 1, 0, 1)),
        ValueError,
        "at least one column",
        [],
    ),
    (
        "loss-negative-sample-weight",
        lambda: _losses().CrossEntropy()(
            _logits(), _classes(0, 1, 2, 0), sample_weight=torch.as_tensor(_WEIGHTS)
        ),
        ValueError,
        "sample_weight must hold finite, non-negative",
        [_WEIGHTS],
    ),
    (
        "loss-all-zero-sample-weight",
        lambda: _losses().CrossEntropy()(
            _logits(), _classes(0, 1, 2, 0), sample_weight=torch.as_tensor(_ZERO_WEIGHTS)
        ),
        ValueError,
        "zero for every sample.*reduction='sum'",
        [_ZERO_WEIGHTS],
    ),
    (
        "loss-nan-sample-weight",
        lambda: _losses().reduce_loss(torch.ones(4), sample_weight=torch.as_tensor(_NAN_WEIGHTS)),
        ValueError,
        "finite, non-negative",
        [_NAN_WEIGHTS],
    ),
    (
        "anyloss-negative-sample-weight",
        lambda: _losses().AnyLoss()(
            _logits(k=1), _classes(0, 1, 0, 1), sample_weight=torch.as_tensor(_WEIGHTS)
        ),
        ValueError,
        "sample_weight must hold finite, non-negative",
        [_WEIGHTS],
    ),
    (
        "anyloss-reduction-none",
        lambda: _losses().AnyLoss()(_logits(k=1), _classes(0, 1, 0, 1), reduction="none"),
        ValueError,
        "batch-level loss.*reduction='mean'",
        [],
    ),
    (
        "anyloss-per-sample",
        lambda: _losses().AnyLoss().per_sample(_logits(k=1), _classes(0, 1, 0, 1)),
        TypeError,
        "no per-sample values.*batch_loss",
        [],
    ),
    (
        "batch-loss-weight-shape",
        lambda: (
            _losses()
            .CrossEntropy()
            .batch_loss(_logits(), _classes(0, 1, 2, 0), sample_weight=torch.ones(4, 1))
        ),
        ValueError,
        r"sample_weight must have one value per sample: expected shape \(4,\)",
        [],
    ),
    (
        "preset-fixed-parameter",
        lambda: _losses().get_loss("anyloss_f1", metric="mcc"),
        ValueError,
        "'anyloss_f1' fixes 'metric'.*get_loss\\('anyloss', metric=",
        [],
    ),
    (
        "requires-stratified",
        lambda: _old_style_stratified_loss()(_logits(), _classes(0, 1, 2, 0)),
        TypeError,
        "stratified_batches = True",
        [],
    ),
    (
        "torch-loss-float-targets",
        lambda: _losses().get_loss(torch.nn.BCEWithLogitsLoss()),
        TypeError,
        "BCEWithLogitsLoss takes float targets.*class indices",
        [],
    ),
    (
        "torch-loss-regression-class",
        lambda: _losses().get_loss(torch.nn.MSELoss),
        TypeError,
        "MSELoss takes float targets",
        [],
    ),
    (
        "torch-loss-module-returns-scalar",
        lambda: _losses().get_loss(_MeanOnlyCriterion()),
        ValueError,
        r"returned a tensor of shape \(\) for 4 samples.*sample_weight",
        [],
    ),
    (
        "torch-loss-function-returns-scalar",
        lambda: _losses().get_loss(lambda z, y: torch.nn.functional.cross_entropy(z, y)),
        ValueError,
        "one loss per sample",
        [],
    ),
    (
        "torch-loss-with-params",
        lambda: _losses().get_loss(torch.nn.CrossEntropyLoss(), label_smoothing=0.1),
        ValueError,
        "set them on the torch object",
        [],
    ),
    (
        "torch-loss-not-a-loss",
        lambda: _losses().TorchLoss(criterion=3).validate(),
        TypeError,
        "'criterion' must be a torch loss module",
        [],
    ),
    (
        "torch-loss-non-module-class",
        lambda: _losses().TorchLoss(criterion=dict).validate(),
        TypeError,
        "got the class dict",
        [],
    ),
    (
        "torch-loss-class-needs-arguments",
        lambda: _losses().get_loss(torch.nn.AdaptiveLogSoftmaxWithLoss),
        TypeError,
        "cannot be built with its defaults.*pass an instance",
        [],
    ),
]

# ---- fused heads (skloss.fused) -----------------------------------------------------


def _fused():
    import skloss.fused

    return skloss.fused


def _head_problem(weights):
    g = torch.Generator().manual_seed(0)
    h, w = torch.randn(4, 3, generator=g), torch.randn(5, 3, generator=g)
    return h, w, torch.zeros(5), torch.tensor([0, 1, 2, 3]), torch.as_tensor(weights)


def _linear_loss_with(weights, **kwargs):
    h, w, b, y, sample_weight = _head_problem(weights)
    return _fused().linear_loss(h, w, b, y, sample_weight=sample_weight, **kwargs)


def _mlp(n_outputs=3000):
    from skloss.modules import MLP

    return MLP(8, n_outputs, (4,))


class _NoHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(8, 3000)

    def forward(self, x):
        return self.lin(x)


class _FailingProbe(torch.nn.Module):
    """Declares a fused head (``features`` + a linear ``head``) whose features raise."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Linear(8, 4)
        self.head = torch.nn.Linear(4, 3000)
        self.features.register_forward_pre_hook(self._refuse)

    @staticmethod
    def _refuse(module, inputs):
        raise RuntimeError("features expect images, not rows")

    def forward(self, x):
        return self.head(self.features(x))


class _ConvHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Linear(8, 4)
        self.head = torch.nn.Conv1d(4, 3000, 1)

    def forward(self, x):
        return self.head(self.features(x)[:, :, None])[:, :, 0]


def _loss_with_bad_form():
    class BadForm(_losses().CrossEntropy):
        def fused_form(self, n_classes):
            return ("lse", "target")

    return BadForm()


FUSED_CASES = [
    (
        "linear-loss-negative-weight",
        lambda: _linear_loss_with(_WEIGHTS),
        ValueError,
        "sample_weight must hold finite, non-negative",
        [_WEIGHTS],
    ),
    (
        "linear-loss-negative-weight-chunked",
        lambda: _linear_loss_with(_WEIGHTS, backend="chunked", reduction="sum"),
        ValueError,
        "sample_weight must hold finite, non-negative",
        [_WEIGHTS],
    ),
    (
        "linear-loss-all-zero-weight",
        lambda: _linear_loss_with(_ZERO_WEIGHTS),
        ValueError,
        "zero for every sample",
        [_ZERO_WEIGHTS],
    ),
    (
        "linear-loss-nan-weight",
        lambda: _linear_loss_with(_NAN_WEIGHTS, reduction="none"),
        ValueError,
        "finite, non-negative",
        [_NAN_WEIGHTS],
    ),
    (
        "linear-loss-torch-module-fused",
        lambda: _fused().linear_loss(
            *_head_problem(np.ones(4))[:4], loss=torch.nn.CrossEntropyLoss(), backend="chunked"
        ),
        TypeError,
        "TorchLoss.*no fused form",
        [],
    ),
    (
        "resolve-backend-unknown",
        lambda: _fused().resolve_backend("gpu", torch.zeros(4, 3), 5),
        ValueError,
        "backend must be one of",
        [],
    ),
    (
        "fused-form-zero-classes",
        lambda: _fused().fused_form("ce", 0),
        ValueError,
        "n_classes must be a positive integer",
        [],
    ),
    (
        "fused-form-not-a-form",
        lambda: _fused().fused_form(_loss_with_bad_form(), 3),
        TypeError,
        "fused_form must return a skloss.losses.StatisticsForm",
        [],
    ),
    (
        "choose-backend-fused-true-no-form",
        lambda: _fused().choose_backend("nce_rce", _mlp(), 2000, True, 3000),
        ValueError,
        "fused=True is not possible: loss NCERCE.* has no fused form.*Use fused='auto'",
        [],
    ),
    (
        "choose-backend-fused-true-context",
        lambda: _fused().choose_backend(
            type("Indexed", (_losses().GCE,), {"requires": ("index",)})(), _mlp(), 2000, True, 3000
        ),
        ValueError,
        r"fused=True is not possible: .*requires context \['index'\]",
        [],
    ),
    (
        "choose-backend-fused-true-no-head",
        lambda: _fused().choose_backend("ce", _NoHead(), 2000, True, 3000),
        ValueError,
        "fused=True is not possible: the module has no `features` submodule",
        [],
    ),
    (
        "choose-backend-fused-true-probe-raises",
        lambda: _fused().choose_backend("ce", _FailingProbe(), 2000, True, 3000),
        ValueError,
        r"fused=True is not possible: the probe .* shape \(3, 8\) .*raised RuntimeError: "
        r"features expect images.*Use fused='auto'",
        [],
    ),
    (
        "choose-backend-fused-true-head-not-linear",
        lambda: _fused().choose_backend("ce", _ConvHead(), 2000, True, 3000),
        ValueError,
        "fused=True is not possible: module.head is Conv1d, not an nn.Linear",
        [],
    ),
    (
        "why-not-fused-zero-classes",
        lambda: _fused().why_not_fused("ce", _mlp(), 0),
        ValueError,
        "n_classes must be a positive integer",
        [],
    ),
    (
        "why-not-fused-not-a-module",
        lambda: _fused().why_not_fused("ce", "mlp", 3000),
        TypeError,
        "module must be a torch.nn.Module",
        [],
    ),
    (
        "why-not-fused-unknown-loss",
        lambda: _fused().why_not_fused("cross_entropy", _mlp(), 3000),
        ValueError,
        "Unknown loss 'cross_entropy'",
        [],
    ),
    (
        "choose-backend-bad-fused",
        lambda: _fused().choose_backend("ce", _mlp(), 64, "yes", 3000),
        ValueError,
        "fused must be 'auto', True or False",
        [],
    ),
    (
        "choose-backend-bad-batch-size",
        lambda: _fused().choose_backend("ce", _mlp(), 0, "auto", 3000),
        ValueError,
        "batch_size must be a positive integer",
        [],
    ),
    (
        "choose-backend-not-a-module",
        lambda: _fused().choose_backend("ce", "mlp", 64, "auto", 3000),
        TypeError,
        "module must be a torch.nn.Module",
        [],
    ),
]


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
        ("noise-y-object-nan", lambda: make_noisy_labels(y_obj_nan, 0.2), ValueError, missing, []),
        (
            "noise-random-state-str",
            lambda: make_noisy_labels(y, 0.2, random_state="abc"),
            ValueError,
            seed,
            [y],
        ),
        (
            "noise-random-state-negative",
            lambda: make_noisy_labels(y, 0.2, random_state=-1),
            ValueError,
            seed,
            [y],
        ),
        (
            "noise-random-state-float",
            lambda: make_noisy_labels(y, 0.2, random_state=1.5),
            ValueError,
            seed,
            [y],
        ),
        (
            "noise-random-state-bool",
            lambda: make_noisy_labels(y, 0.2, random_state=True),
            ValueError,
            seed,
            [y],
        ),
        (
            "noise-random-state-generator",
            lambda: make_noisy_labels(y, 0.2, random_state=np.random.default_rng(0)),
            ValueError,
            seed,
            [y],
        ),
        (
            "noise-kind-none",
            lambda: make_noisy_labels(y, 0.2, kind=None),
            ValueError,
            r"kind must be one of \['symmetric', 'pairflip'\] or an .* got None",
            [y],
        ),
        (
            "noise-kind-3d",
            lambda: make_noisy_labels(y, kind=np.ones((3, 3, 1)) / 3),
            ValueError,
            r"kind must be one of .* got an array of shape \(3, 3, 1\)",
            [y],
        ),
        # noisy_folds checks everything at the call, before a single fold is made.
        (
            "folds-length-mismatch",
            lambda: noisy_folds(X[:-1], y, 0.2, cv=3),
            ValueError,
            "X and y must have the same number of samples, got 17 rows in X and 18",
            [X, y],
        ),
        (
            "folds-y-nan",
            lambda: noisy_folds(np.zeros((6, 1)), y_nan, 0.2, cv=2),
            ValueError,
            missing,
            [y_nan],
        ),
        (
            "folds-rate-out-of-range",
            lambda: noisy_folds(X, y, 1.0, cv=3),
            ValueError,
            r"rate must be in \[0, 1\)",
            [X, y],
        ),
        (
            "folds-rate-missing",
            lambda: noisy_folds(X, y, cv=3),
            ValueError,
            "rate is required",
            [X, y],
        ),
        (
            "folds-kind-unknown",
            lambda: noisy_folds(X, y, 0.2, kind="uniform", cv=3),
            ValueError,
            "kind must be one of",
            [X, y],
        ),
        (
            "folds-matrix-shape",
            lambda: noisy_folds(X, y, kind=np.eye(2), cv=3),
            ValueError,
            r"shape \(n_classes, n_classes\) = \(3, 3\)",
            [X, y],
        ),
        (
            "folds-cv-one",
            lambda: noisy_folds(X, y, 0.2, cv=1),
            ValueError,
            "cv must be at least 2 folds, got cv=1",
            [X, y],
        ),
        ("folds-cv-bool", lambda: noisy_folds(X, y, 0.2, cv=True), ValueError, cv_kinds, [X, y]),
        ("folds-cv-str", lambda: noisy_folds(X, y, 0.2, cv="5"), ValueError, cv_kinds, [X, y]),
        ("folds-cv-float", lambda: noisy_folds(X, y, 0.2, cv=2.5), ValueError, cv_kinds, [X, y]),
        (
            "folds-cv-too-many-for-rare-class",
            lambda: noisy_folds(X_rare, y_rare, 0.2, cv=3),
            ValueError,
            "cv=3 folds need at least 3 samples of every class, but class 1",
            [y_rare],
        ),
        (
            "folds-cv-boolean-mask",
            lambda: noisy_folds(X, y, 0.2, cv=[(half, ~half)]),
            ValueError,
            "not a non-empty 1-D array of integer positions.*not a boolean mask",
            [X, y],
        ),
        (
            "folds-cv-out-of-range",
            lambda: noisy_folds(X, y, 0.2, cv=[(np.arange(10), np.arange(10, 20))]),
            ValueError,
            r"test_index with positions outside \[0, 17\]",
            [X, y],
        ),
        (
            "folds-cv-not-pairs",
            lambda: noisy_folds(X, y, 0.2, cv=[np.arange(5)]),
            ValueError,
            r"cv as an iterable must yield \(train_index, test_index\) pairs",
            [X, y],
        ),
        (
            "folds-cv-empty",
            lambda: noisy_folds(X, y, 0.2, cv=[]),
            ValueError,
            "cv yielded no .train_index, test_index. pair",
            [X, y],
        ),
        (
            "folds-random-state-none",
            lambda: noisy_folds(X, y, 0.2, cv=3, random_state=None),
            ValueError,
            fold_seed,
            [X, y],
        ),
        (
            "folds-random-state-negative",
            lambda: noisy_folds(X, y, 0.2, cv=3, random_state=-1),
            ValueError,
            fold_seed,
            [X, y],
        ),
        (
            "folds-random-state-overflows",
            lambda: noisy_folds(X, y, 0.2, cv=3, random_state=2**32 - 2),
            ValueError,
            r"random_state must be at most 2\*\*32 - 3 for 3 folds.*random_state \+ k",
            [X, y],
        ),
        (
            "folds-X-none",
            lambda: noisy_folds(None, y, 0.2, cv=3),
            ValueError,
            "X must be an array-like of shape .n_samples, n_features., got NoneType",
            [y],
        ),
    ]


NOISE_CASES = _noise_cases()


# ---- analytic (AnalyticIncrementalClassifier) ---------------------------------------
def _analytic_cases():
    import pandas as pd
    import torch
    from sklearn.exceptions import NotFittedError
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

    mixed = np.array([1, "a"] * 20, dtype=object)
    mixed_text_first = np.array(["a", 1] * 20, dtype=object)
    text = np.array(["a", "b"] * 20)
    codes = rng.randint(0, 3, size=40).astype(float)
    frame = pd.DataFrame(
        {"size": X[:, 0], "colour": pd.Categorical(np.array(["red", "blue", "green"])[y])}
    )
    frame_numeric_categories = pd.DataFrame({"size": X[:, 0], "grade": pd.Categorical(codes)})

    def refitted_backbone():
        backbone = Refitted()
        clf = make(backbone=backbone).fit(X, y)
        backbone.width = 2
        return clf.partial_fit(X, y)

    return [
        # bool is an int to Python and to the parameter constraints: refuse it.
        (
            "analytic-buffer_size-bool",
            lambda: make(buffer_size=True).fit(X, y),
            TypeError,
            r"buffer_size=True is a bool; pass a number",
            [X, y],
        ),
        (
            "analytic-batch_size-bool",
            lambda: make(batch_size=True).fit(X, y),
            TypeError,
            r"batch_size=True is a bool",
            [X, y],
        ),
        (
            "analytic-gamma-bool",
            lambda: make(gamma=True).partial_fit(X, y),
            TypeError,
            r"gamma=True is a bool",
            [X, y],
        ),
        (
            "analytic-backbone-class-not-instance",
            lambda: make(backbone=StandardScaler).fit(X, y),
            TypeError,
            r"backbone is the class StandardScaler, not an instance.*fit\(X\)",
            [X, y],
        ),
        (
            "analytic-backbone-transform-raises",
            lambda: make(backbone=FunctionTransformer(lambda Z: Z / "a").fit(X)).fit(X, y),
            ValueError,
            r"backbone FunctionTransformer\.transform failed on a batch",
            [X, y],
        ),
        (
            "analytic-backbone-transform-row-count",
            lambda: make(backbone=FunctionTransformer(lambda Z: Z[:1]).fit(X)).fit(X, y),
            ValueError,
            r"backbone returned 1 rows for a batch of 40",
            [X, y],
        ),
        (
            "analytic-backbone-module-row-count",
            lambda: make(backbone=rows_changing_module()).fit(X, y),
            ValueError,
            r"backbone returned 1 rows for a batch of",
            [X, y],
        ),
        (
            "analytic-backbone-transform-strings",
            lambda: make(
                backbone=FunctionTransformer(lambda Z: np.full((len(Z), 2), "a")).fit(X)
            ).fit(X, y),
            ValueError,
            r"transform must return numbers",
            [X, y],
        ),
        (
            "analytic-backbone-output-width-changed-after-fit",
            refitted_backbone,
            ValueError,
            r"built for n_embedding_=3 at the first fit.*must stay frozen",
            [X, y],
        ),
        (
            "analytic-partial_fit-activation-changed",
            lambda: changed("activation", "tanh").partial_fit(X[20:], y[20:]),
            ValueError,
            r"activation was 'relu' when this estimator was first fitted.*fit to "
            r"start afresh",
            [X, y],
        ),
        (
            "analytic-partial_fit-gamma-changed",
            lambda: changed("gamma", 1.0).partial_fit(X[20:], y[20:]),
            ValueError,
            r"gamma was 0\.1 when this estimator was first fitted",
            [X, y],
        ),
        (
            "analytic-predict-activation-changed",
            lambda: changed("activation", "tanh").predict(X),
            ValueError,
            r"activation was 'relu' .* prediction would mix",
            [X],
        ),
        (
            "analytic-merge-gamma-changed-on-both",
            lambda: changed("gamma", 1.0).merge(changed("gamma", 1.0)),
            ValueError,
            r"gamma was 0\.1 .* merge would mix",
            [X, y],
        ),
        (
            "analytic-merge-buffer_size-changed-on-other",
            lambda: fitted().merge(changed("buffer_size", 8)),
            ValueError,
            r"buffer_size was 16 .* merge would mix",
            [X, y],
        ),
        (
            "analytic-partial_fit-bool-then-int-labels",
            lambda: make().partial_fit(X[:20], y[:20] > 0).partial_fit(X[20:], y[20:]),
            ValueError,
            r"classes learned so far \[False, True\].*one label type",
            [X, y],
        ),
        (
            "analytic-partial_fit-int-then-bool-labels",
            lambda: make().partial_fit(X[:20], y[:20]).partial_fit(X[20:], y[20:] > 0),
            ValueError,
            r"y has labels of dtype bool.*one label type",
            [X, y],
        ),
        (
            "analytic-merge-bool-and-int-labels",
            lambda: make().fit(X, y > 0).merge(make().fit(X, y)),
            ValueError,
            r"other\.classes_ has labels of dtype int64.*one label type",
            [X, y],
        ),
        (
            "analytic-fit-labels-mixed-types",
            lambda: make().fit(X, mixed),
            ValueError,
            r"y mixes labels of types \['int', 'str'\].*astype\(str\)",
            [X, mixed],
        ),
        (
            "analytic-first-partial_fit-labels-mixed-types",
            lambda: make().partial_fit(X, mixed_text_first),
            ValueError,
            r"y mixes labels of types \['int', 'str'\]",
            [X, mixed_text_first],
        ),
        (
            "analytic-partial_fit-labels-mixed-types",
            lambda: make().partial_fit(X, text).partial_fit(X, mixed_text_first),
            ValueError,
            r"y mixes labels of types \['int', 'str'\]",
            [X, text, mixed_text_first],
        ),
        (
            "analytic-partial_fit-classes-mixed-types",
            lambda: make().partial_fit(X, y, classes=np.array([0, "a"], dtype=object)),
            ValueError,
            r"classes mixes labels of types \['int', 'str'\].*classes = numpy\.asarray",
            [X, y],
        ),
        (
            "analytic-partial_fit-after-drop_learning_state",
            lambda: fitted().drop_learning_state().partial_fit(X, y),
            ValueError,
            r"partial_fit needs inverse_autocorrelation_.*drop_learning_state\(\) removed "
            r"from this estimator.*Call fit to learn afresh",
            [X, y],
        ),
        (
            "analytic-merge-other-after-drop_learning_state",
            lambda: fitted().merge(fitted().drop_learning_state()),
            ValueError,
            r"merge needs inverse_autocorrelation_.*removed from the other estimator",
            [X, y],
        ),
        (
            "analytic-drop_learning_state-unfitted",
            lambda: make().drop_learning_state(),
            NotFittedError,
            r"not fitted yet",
            [],
        ),
        (
            "analytic-fit-categorical-column",
            lambda: make().fit(frame, y),
            ValueError,
            r"X has categorical columns \['colour'\], which AnalyticIncrementalClassifier "
            r"cannot use as numbers.*OneHotEncoder",
            [frame, y],
        ),
        (
            "analytic-fit-numeric-categorical-column",
            lambda: make().fit(frame_numeric_categories, y),
            ValueError,
            r"X has categorical columns \['grade'\]",
            [frame_numeric_categories, y],
        ),
        (
            "analytic-partial_fit-categorical-column-torch-backbone",
            lambda: make(backbone=torch.nn.Linear(2, 3)).partial_fit(frame, y),
            ValueError,
            r"X has categorical columns \['colour'\]",
            [frame, y],
        ),
        (
            "analytic-predict-categorical-column",
            lambda: make().fit(frame.assign(colour=codes), y).predict(frame),
            ValueError,
            r"X has categorical columns \['colour'\]",
            [frame, y],
        ),
    ]


ANALYTIC_CASES = _analytic_cases()

# ---- the command line (skloss compare / skloss tune) -------------------------------
_TINY_COMPARE = [
    "compare",
    "--dataset",
    "iris",
    "--losses",
    "ce",
    "--folds",
    "2",
    "--max-iter",
    "2",
    "--hidden",
    "4",
    "--quiet",
]


def _cli(*args):
    """Run ``skloss`` on ``args``; raise its usage error (exit status 2) as a ValueError.

    Any fit is an error here: a usage error must come before training.
    """
    from skloss import RobustLossClassifier, RobustLossRegressor
    from skloss.cli import main

    def no_training(self, *a, **k):
        raise AssertionError("skloss compare trained a model before rejecting its options")

    stderr = io.StringIO()
    originals = {cls: cls.fit for cls in (RobustLossClassifier, RobustLossRegressor)}
    for cls in originals:
        cls.fit = no_training
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            main(list(args))
    except SystemExit as exc:
        if exc.code == 2:
            raise ValueError(stderr.getvalue()) from None
        raise
    finally:
        for cls, fit in originals.items():
            cls.fit = fit


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
    csv_gap = root / "gap.csv"
    csv_gap.write_text("f,g,label\n1,2,a\n,3,b\n2,1,a\n4,5,b\n")
    sqlite = root / "study.db"
    sqlite.write_bytes(b"SQLite format 3\x00" + bytes(84))
    out = str(root / "out")
    tune = ["tune", "--dataset", "iris", "--folds", "2", "--max-iter", "2", "--quiet"]
    return [
        *_tune_study_cases(root, tune),
        *_cli_task_cases(root, out),
        (
            "cli-csv-missing-values-without-impute",
            lambda: _cli(
                *_TINY_COMPARE[:1],
                "--csv",
                str(csv_gap),
                "--target",
                "label",
                "--folds",
                "2",
                "--output",
                out,
            ),  # fmt: skip
            ValueError,
            r"missing values in column\(s\) f; pass --impute median \(or mean, most_frequent\)",
            [],
        ),
        (
            "cli-na-values-without-csv",
            lambda: _cli(*_TINY_COMPARE, "--na-values", "?", "--output", out),
            ValueError,
            r"--na-values only applies to --csv",
            [],
        ),
        (
            "cli-impute-unknown-strategy",
            lambda: _cli(*_TINY_COMPARE, "--impute", "zero", "--output", out),
            ValueError,
            # Python 3.12.8+ quotes the choices no more
            r"argument --impute: invalid choice: 'zero' \(choose from '?median'?, '?mean'?, "
            r"'?most_frequent'?\)",
            [],
        ),
        (
            "cli-tune-storage-sqlite-file-as-a-path",
            lambda: _cli(*tune, "--storage", str(sqlite), "--output", out),
            ValueError,
            r"argument --storage: .*study\.db is an SQLite database, not a journal file; pass it "
            r"as a URL: --storage sqlite:///",
            [],
        ),
        (
            "cli-output-is-a-file",
            lambda: _cli(*_TINY_COMPARE, "--output", str(a_file)),
            ValueError,
            r"argument --output: .*a-file is a file; --output names a folder.*"
            r"Pass a folder path",
            [],
        ),
        (
            "cli-output-under-a-file",
            lambda: _cli(*_TINY_COMPARE, "--output", str(a_file / "results")),
            ValueError,
            r"argument --output: cannot create .*a-file/results, because .*a-file is a file",
            [],
        ),
        (
            "cli-output-results-json-is-a-folder",
            lambda: _cli(*_TINY_COMPARE, "--output", str(with_dir_json)),
            ValueError,
            r"argument --output: .*results.json is a folder.*Remove it or pass another",
            [],
        ),
        (
            "cli-seed-overflows-fold-seeds",
            lambda: _cli(*_TINY_COMPARE, "--seed", str(2**32 - 1), "--output", out),
            ValueError,
            r"argument --seed: random_state must be at most 2\*\*32 - 2 for 2 folds, got "
            r"4294967295",
            [],
        ),
        (
            "cli-csv-is-a-folder",
            lambda: _cli(*_TINY_COMPARE[:1], "--csv", str(root), "--target", "y", "--output", out),
            ValueError,
            "argument --csv: .* is a folder; pass the path of a CSV file",
            [],
        ),
        (
            "cli-csv-infinite-values",
            lambda: _cli(
                *_TINY_COMPARE[:1],
                "--csv",
                str(csv_inf),
                "--target",
                "label",
                "--folds",
                "2",
                "--output",
                out,
            ),
            ValueError,
            r"the CSV file has infinite values in column\(s\) f, g; replace or drop them",
            [],
        ),
    ]


def _cli_task_cases(root, out):
    """Rows of ``--task`` and of what the task decides: losses, noise, targets."""
    rng = np.random.RandomState(0)
    x = rng.normal(size=40).round(4)
    text = root / "text-target.csv"
    text.write_text("x,y\n" + "".join(f"{v},{'ab'[i % 2]}\n" for i, v in enumerate(x)))
    negative = root / "negative-target.csv"
    negative.write_text("x,y\n" + "".join(f"{v},{v * 3 - 1:.3f}\n" for v in x))
    constant = root / "constant-target.csv"
    constant.write_text("x,y\n" + "".join(f"{v},7.5\n" for v in x))
    diabetes = ["compare", "--dataset", "diabetes", "--folds", "2", "--quiet", "--output", out]
    iris = [*_TINY_COMPARE, "--output", out]

    def csv(path, *more):
        return _cli("compare", "--csv", str(path), "--target", "y", *more, "--output", out)

    return [
        (
            "cli-task-classification-on-a-regression-data-set",
            lambda: _cli(*diabetes, "--task", "classification"),
            ValueError,
            r"argument --task: --dataset diabetes is a regression data set, not classification; "
            r"pass --task regression \(or auto\)",
            [],
        ),
        (
            "cli-task-regression-on-a-classification-data-set",
            lambda: _cli(*iris, "--task", "regression"),
            ValueError,
            r"argument --task: --dataset iris is a classification data set, not regression",
            [],
        ),
        (
            "cli-task-unknown",
            lambda: _cli(*iris, "--task", "ranking"),
            ValueError,
            r"argument --task: invalid choice: 'ranking'",
            [],
        ),
        (
            "cli-task-regression-with-text-targets",
            lambda: csv(text, "--task", "regression"),
            ValueError,
            r"argument --task: regression needs numeric targets, but --target 'y' holds text "
            r"such as 'a'; pass --task classification \(or auto\)",
            [],
        ),
        (
            "cli-classification-loss-on-a-regression-task",
            lambda: _cli(*diabetes, "--losses", "huber,gce"),
            ValueError,
            r"argument --losses: gce is a classification loss, and this run's task is "
            r"regression; choose from absolute_error, .*hl_gauss, .*, or pass --task "
            r"classification",
            [],
        ),
        (
            "cli-regression-loss-on-a-classification-task",
            lambda: _cli(*iris, "--losses", "ce,huber,quantile"),
            ValueError,
            r"argument --losses: huber, quantile are regression losses, and this run's task "
            r"is classification",
            [],
        ),
        (
            "cli-label-noise-kind-on-a-regression-task",
            lambda: _cli(*diabetes, "--noise-kind", "pairflip"),
            ValueError,
            r"argument --noise-kind: pairflip corrupts classification labels, and this run's "
            r"task is regression; choose outliers or shuffle",
            [],
        ),
        (
            "cli-target-noise-kind-on-a-classification-task",
            lambda: _cli(*iris, "--noise-kind", "outliers"),
            ValueError,
            r"argument --noise-kind: outliers corrupts regression targets, and this run's task "
            r"is classification; choose symmetric or pairflip",
            [],
        ),
        (
            "cli-regression-noise-out-of-range",
            lambda: _cli(*diabetes, "--noise", "1.0"),
            ValueError,
            r"argument --noise: rate must be in \[0, 1\) for kind='outliers', got 1\.0",
            [],
        ),
        (
            "cli-top-k-on-a-regression-task",
            lambda: _cli(*diabetes, "--top-k", "3"),
            ValueError,
            r"argument --top-k: top-k accuracy is a classification score, and this run's task "
            r"is regression",
            [],
        ),
        (
            "cli-poisson-on-negative-targets",
            lambda: csv(negative, "--losses", "squared_error,poisson"),
            ValueError,
            r"argument --losses: loss 'poisson' needs non-negative targets .* Use another loss",
            [],
        ),
        (
            "cli-regression-constant-target",
            lambda: csv(constant, "--task", "regression"),
            ValueError,
            r"every target is 7\.5: there is nothing to predict",
            [],
        ),
        (
            "cli-continuous-labels-for-classification",
            lambda: csv(negative, "--task", "classification"),
            ValueError,
            r"the labels look continuous .* pass --task regression to predict the values",
            [],
        ),
        (
            "cli-tune-classification-loss-on-a-regression-task",
            lambda: _cli("tune", "--dataset", "diabetes", "--losses", "ce", "--output", out),
            ValueError,
            r"argument --losses: ce is a classification loss, and this run's task is regression",
            [],
        ),
    ]


def _tune_study_cases(root, tune):
    """Rows of ``skloss tune --resume``: nothing to resume, a study run with other settings."""
    try:
        import optuna
    except ImportError:  # the tune extra is not installed: no rows
        return []
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    empty = root / "empty.log"
    other = root / "other.log"
    storage = JournalStorage(JournalFileBackend(str(other)))
    study = optuna.create_study(study_name="noise20", storage=storage)
    study.set_user_attr("skloss_settings", {"noise": 0.2})
    return [
        (
            "cli-tune-resume-nothing-to-resume",
            lambda: _cli(*tune, "--resume", "--storage", str(empty), "--output", str(root)),
            ValueError,
            r"argument --resume: no skloss tune study in journal:.*empty\.log to resume; leave "
            "out --resume to start one",
            [],
        ),
        (
            "cli-tune-resume-other-settings",
            lambda: _cli(
                *tune, "--resume", "--noise", "0.4", "--storage", str(other), "--output", str(root)
            ),
            ValueError,
            r"study 'noise20' in journal:.*other\.log was run with other settings \(.*noise: "
            r"study 0\.2, this run 0\.4.*\); its trials would mix with this run's",
            [],
        ),
    ]


CLI_CASES = _cli_cases()


# ---- EnsLoss (skloss.losses.EnsLoss, EnsLossClassifier) --------------------------------
def _ensloss_cases():
    from sklearn.datasets import load_breast_cancer, load_iris

    from skloss import EnsLossClassifier, RobustLossClassifier
    from skloss.losses import EnsLoss, get_loss
    from skloss.losses.ensemble import draw_derivatives

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[::10].copy(), y[::10].copy()
    X3, y3 = load_iris(return_X_y=True)
    X3, y_one = X3[::5].copy(), np.ones(len(y3[::5]), dtype=int)
    one_logit, target = torch.zeros(4, 1), torch.tensor([0, 1, 0, 1])

    def fit(**params):
        return lambda: EnsLossClassifier(max_iter=1, hidden_layer_sizes=(4,), **params).fit(X, y)

    return [
        (
            "ensloss-boxcox-lambda-out-of-range",
            fit(boxcox_lambda=2.0),
            ValueError,
            r"'boxcox_lambda' parameter of EnsLossClassifier must be a float in the range "
            r"\[-1\.0, 1\.0\]\. Got 2\.0 instead",
            [X, y],
        ),
        (
            "ensloss-lambda-resample-every-zero",
            fit(lambda_resample_every=0),
            ValueError,
            r"'lambda_resample_every' parameter of EnsLossClassifier must be None or an int "
            r"in the range \[1, inf\)",
            [X, y],
        ),
        (
            "ensloss-lr-schedule-unknown",
            fit(lr_schedule="linear"),
            ValueError,
            r"'lr_schedule' parameter of EnsLossClassifier must be a str among "
            r"\{.*'cosine'.*\}",
            [X, y],
        ),
        (
            "ensloss-batch-norm-not-bool",
            fit(batch_norm="yes"),
            ValueError,
            r"'batch_norm' parameter of EnsLossClassifier must be an instance of 'bool'",
            [X, y],
        ),
        (
            "ensloss-hidden-layer-sizes-zero",
            lambda: EnsLossClassifier(max_iter=1, hidden_layer_sizes=(0,)).fit(X, y),
            ValueError,
            r"hidden_layer_sizes must be positive integers, got \(0,\)",
            [X, y],
        ),
        (
            "ensloss-batch-norm-batch-size-one",
            fit(batch_size=1),
            ValueError,
            r"batch_size=1 with batch_norm=True.*batch_size >= 2 or batch_norm=False",
            [X, y],
        ),
        (
            "ensloss-batch-norm-one-row-chunk",
            lambda: EnsLossClassifier(hidden_layer_sizes=(4,)).partial_fit(
                X[:1], y[:1], classes=[0, 1]
            ),
            ValueError,
            r"batch_norm=True cannot train on 1 row\(s\).*chunks of 2 rows",
            [X, y],
        ),
        # More than two classes train one-vs-rest heads (tests/test_ensloss.py); one
        # class is what is left to refuse.
        (
            "ensloss-one-class-y",
            lambda: EnsLossClassifier(max_iter=1, hidden_layer_sizes=(4,)).fit(X3, y_one),
            ValueError,
            r"EnsLossClassifier needs samples of at least 2 classes in y; got only \[1\]",
            [X3, y_one],
        ),
        (
            "ensloss-through-robust-one-class-y",
            lambda: RobustLossClassifier(loss="ensloss", max_iter=1).fit(X3, y_one),
            ValueError,
            r"RobustLossClassifier needs samples of at least 2 classes in y; got only \[1\]",
            [X3, y_one],
        ),
        (
            "ensloss-loss-lambda-out-of-range",
            lambda: get_loss("ensloss", boxcox_lambda=1.5),
            ValueError,
            r"EnsLoss parameter 'boxcox_lambda' must be in \[-1, 1\], got 1\.5",
            [],
        ),
        (
            "ensloss-loss-lambda-not-a-number",
            lambda: get_loss("ensloss", boxcox_lambda="0"),
            ValueError,
            r"EnsLoss parameter 'boxcox_lambda' must be a finite real number",
            [],
        ),
        (
            "ensloss-loss-resample-every-bool",
            lambda: get_loss("ensloss", lambda_resample_every=True),
            ValueError,
            r"'lambda_resample_every' must be None \(keep boxcox_lambda\) or a positive number "
            r"of epochs, got True",
            [],
        ),
        (
            "ensloss-loss-without-generator",
            lambda: EnsLoss()(one_logit, target),
            TypeError,
            r"EnsLoss requires the context \['generator'\]",
            [],
        ),
        (
            "ensloss-loss-two-logits",
            lambda: EnsLoss()(torch.zeros(4, 2), target, generator=torch.Generator()),
            ValueError,
            r"one logit per sample for two classes.*one one-vs-rest logit per class for "
            r"three or more; got logits of shape \(4, 2\).*logits\[:, 1:\] - logits\[:, :1\]",
            [],
        ),
        (
            "ensloss-loss-multiclass-target-out-of-range",
            lambda: EnsLoss()(
                torch.zeros(4, 3), torch.tensor([0, 1, 2, 3]), generator=torch.Generator()
            ),
            ValueError,
            r"class index 3, outside the valid range \[0, 3\) for logits with 3 logit columns",
            [],
        ),
        (
            "ensloss-draw-margins-three-dimensional",
            lambda: draw_derivatives(torch.zeros(2, 2, 2)),
            ValueError,
            r"margins must have shape \(n_samples,\) or \(n_samples, n_columns\), got shape "
            r"\(2, 2, 2\)",
            [],
        ),
        (
            "ensloss-loss-per-sample",
            lambda: EnsLoss().per_sample(one_logit, target),
            TypeError,
            r"no per-sample values.*generator=",
            [],
        ),
        (
            "ensloss-loss-reduction-none",
            lambda: EnsLoss()(one_logit, target, reduction="none", generator=torch.Generator()),
            ValueError,
            r"batch-level loss.*reduction='mean'",
            [],
        ),
    ]


ENSLOSS_CASES = _ensloss_cases()


def _tuning_cases():
    try:
        import optuna
        import optuna_integration  # noqa: F401
    except ImportError:  # the tune extra is not installed: no rows
        return []
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import AnyLossClassifier, RobustLossClassifier, RobustLossRegressor, tuning

    X, y = load_iris(return_X_y=True)
    weight = np.ones(len(y))
    clf = RobustLossClassifier(loss="gce", max_iter=2, hidden_layer_sizes=(4,))
    pipe = make_pipeline(StandardScaler(), clf)

    def search(**kwargs):
        return tuning.OptunaSearchCV(
            clf,
            tuning.param_distributions(clf),
            enable_pruning=True,
            max_iter=2,
            n_trials=1,
            **kwargs,
        )

    def trial():
        return optuna.trial.FixedTrial({"loss": "gce"})

    return [
        (
            "tuning-optunasearch-pruning-sample-weight",
            lambda: search(cv=3).fit(X, y, sample_weight=weight),
            ValueError,
            r"passes fit parameters \['sample_weight'\] to partial_fit unsliced.*class_weight",
            [X, y, weight],
        ),
        (
            "tuning-optunasearch-pruning-randomstate-cv",
            lambda: search(cv=KFold(3, shuffle=True, random_state=np.random.RandomState(0))).fit(
                X, y
            ),
            ValueError,
            r"seeded with a RandomState object.*Seed the splitter with an int",
            [X, y],
        ),
        (
            "tuning-suggest-unknown-loss",
            lambda: tuning.suggest_params(trial(), clf, losses=["gce", "nope"]),
            ValueError,
            r"Unknown loss 'nope'\. Valid names are",
            [],
        ),
        (
            "tuning-suggest-bad-spec",
            lambda: tuning.suggest_params(
                trial(), clf, losses=["gce"], space={"alpha": ("float", 1.0)}
            ),
            ValueError,
            r"search space entry 'alpha' = \('float', 1\.0\) must be one of",
            [],
        ),
        (
            "tuning-suggest-log-nonpositive",
            lambda: tuning.suggest_params(
                trial(), clf, losses=["gce"], space={"alpha": ("float", 0.0, 1.0, "log")}
            ),
            ValueError,
            r"needs low <= high \(and low > 0 for a log scale\)",
            [],
        ),
        (
            "tuning-space-unknown-param",
            lambda: tuning.search_space(clf, space={"momentum": ("float", 0.1, 0.9)}),
            ValueError,
            r"space names \['momentum'\], which RobustLossClassifier does not have",
            [],
        ),
        (
            "tuning-pruning-callback-not-a-trial",
            lambda: tuning.PruningCallback.for_trial("trial-3"),
            TypeError,
            r"trial must be an optuna.trial.Trial",
            [],
        ),
        (
            "tuning-params-from-trial-wrong-type",
            lambda: tuning.params_from_trial(3),
            TypeError,
            r"trial_or_params must be a FrozenTrial, a Study or a dict",
            [],
        ),
        (
            "tuning-suggest-pipeline-without-skloss-step",
            lambda: tuning.suggest_params(
                trial(), make_pipeline(StandardScaler(), LogisticRegression())
            ),
            TypeError,
            r"Pipeline holds no skloss estimator to tune\. Pass a skloss estimator .* or a "
            r"Pipeline with one as a step",
            [],
        ),
        (
            "tuning-param-distributions-unknown-step",
            lambda: tuning.param_distributions(pipe, step="model"),
            ValueError,
            r"step='model' names no skloss estimator in Pipeline; its skloss steps are "
            r"\['robustlossclassifier'\]",
            [],
        ),
        (
            "tuning-loss-grid-unknown-loss",
            lambda: tuning.loss_grid({"ce": {}, "gcee": {}}),
            ValueError,
            r"Unknown loss 'gcee'\. Valid names are",
            [],
        ),
        (
            "tuning-loss-grid-unknown-parameter",
            lambda: tuning.loss_grid({"gce": {"tau": [1.0]}}),
            ValueError,
            r"Invalid parameter 'tau' for loss 'gce' \(GCE\)\. Valid parameters are: \['q'\]",
            [],
        ),
        (
            "tuning-loss-grid-value-out-of-range",
            lambda: tuning.loss_grid({"gce": {"q": [0.5, 2.0]}}),
            ValueError,
            r"GCE parameter 'q' must be in \(0, 1\], got 2\.0",
            [],
        ),
        (
            "tuning-loss-grid-value-not-a-list",
            lambda: tuning.loss_grid({"gce": {"q": 0.5}}),
            ValueError,
            r"losses\['gce'\]\['q'\] must be a list of values to try, got 0\.5; write \[0\.5\]",
            [],
        ),
        (
            "tuning-loss-grid-empty",
            lambda: tuning.loss_grid({}),
            ValueError,
            r"losses must be a dict of registry names to their parameter values",
            [],
        ),
        (
            "tuning-suggest-classification-loss-for-a-regressor",
            lambda: tuning.suggest_params(trial(), RobustLossRegressor(), losses=["huber", "gce"]),
            ValueError,
            r"loss 'gce' is a classification loss, and RobustLossRegressor trains regression "
            r"losses: choose from \['absolute_error', .*'hl_gauss'",
            [],
        ),
        (
            "tuning-search-space-regression-loss-for-a-classifier",
            lambda: tuning.search_space(pipe, loss="huber"),
            ValueError,
            r"loss 'huber' is a regression loss, and RobustLossClassifier trains "
            r"classification losses",
            [],
        ),
        (
            "tuning-param-distributions-classification-loss-for-a-regressor",
            lambda: tuning.param_distributions(RobustLossRegressor(loss="gce")),
            ValueError,
            r"loss 'gce' is a classification loss, and RobustLossRegressor trains regression",
            [],
        ),
        (
            "tuning-loss-grid-classification-loss-for-a-regressor",
            lambda: tuning.loss_grid({"huber": {"delta": [1.0]}, "ce": {}}, RobustLossRegressor()),
            ValueError,
            r"loss 'ce' is a classification loss, and RobustLossRegressor trains regression",
            [],
        ),
        (
            "tuning-loss-choices-n-classes-for-a-regressor",
            lambda: tuning.loss_choices(RobustLossRegressor(), n_classes=3),
            ValueError,
            r"n_classes=3 was given, but RobustLossRegressor is a regressor; leave n_classes out",
            [],
        ),
        (
            "tuning-loss-choices-n-classes-below-two",
            lambda: tuning.loss_choices(clf, n_classes=1),
            ValueError,
            r"n_classes must be an int >= 2 \(the classes of y\), got 1",
            [],
        ),
        (
            "tuning-suggest-loss-that-cannot-train-n-classes",
            lambda: tuning.suggest_params(trial(), clf, losses=["ce", "z_loss"], n_classes=2),
            ValueError,
            r"losses names 'z_loss', which cannot train here: loss ZLoss.* needs three classes",
            [],
        ),
        (
            "tuning-loss-grid-estimator-without-loss",
            lambda: tuning.loss_grid(["ce"], AnyLossClassifier()),
            TypeError,
            r"AnyLossClassifier has no 'loss' parameter to choose",
            [],
        ),
    ]


TUNING_CASES = _tuning_cases()


# ---- the second wave of losses (issue 13) ------------------------------------------
def _loss2_cases():
    from sklearn.datasets import load_iris

    from skloss import RobustLossClassifier
    from skloss.losses import get_loss

    X, y = load_iris(return_X_y=True)
    X, y = X[::3].copy(), y[::3].copy()
    big_scores = torch.zeros(300, 1)
    halves = torch.arange(300) % 2
    return [
        (
            "loss2-ldr-kl-lam-zero",
            lambda: get_loss("ldr_kl", lam=0.0),
            ValueError,
            "LDRKL parameter 'lam' must be > 0",
            [],
        ),
        (
            "loss2-ldr-kl-transform",
            lambda: get_loss("ldr_kl", transform="relu"),
            ValueError,
            "'transform' must be 'softplus' or None",
            [],
        ),
        (
            "loss2-ldr-kl-fused-softplus",
            lambda: get_loss("ldr_kl").fused_form(3),
            TypeError,
            "no fused form.*transform=None",
            [],
        ),
        (
            "loss2-aldr-kl-alpha-one",
            lambda: get_loss("aldr_kl", alpha=1.0),
            ValueError,
            "ALDRKL parameter 'alpha' must be > 1",
            [],
        ),
        (
            "loss2-aldr-kl-without-index",
            lambda: get_loss("aldr_kl")(_logits(), _classes(0, 1, 2, 0)),
            TypeError,
            r"requires the context \['index', 'n_samples'\]",
            [],
        ),
        (
            "loss2-tgce-k-one",
            lambda: get_loss("tgce", k=1.0),
            ValueError,
            r"TGCE parameter 'k' must be in \(0, 1\)",
            [],
        ),
        (
            "loss2-tgce-prune-every-zero",
            lambda: get_loss("tgce", prune_start=5, prune_every=0),
            ValueError,
            "'prune_every' must be an integer >= 1",
            [],
        ),
        (
            "loss2-dice-smooth-zero",
            lambda: get_loss("dice", smooth=0.0),
            ValueError,
            "Dice parameter 'smooth' must be > 0",
            [],
        ),
        (
            "loss2-z-loss-a-zero",
            lambda: get_loss("z_loss", a=0.0),
            ValueError,
            "ZLoss parameter 'a' must be > 0",
            [],
        ),
        (
            "loss2-dco-n-below-one",
            lambda: get_loss("dco", n=0.5),
            ValueError,
            "DCO parameter 'n' must be >= 1",
            [],
        ),
        (
            "loss2-mw-auc-max-pairs",
            lambda: get_loss("mw_auc", max_pairs=0),
            ValueError,
            "'max_pairs' must be an integer >= 1",
            [],
        ),
        (
            "loss2-mw-auc-pairs-without-generator",
            lambda: get_loss("mw_auc", max_pairs=10).batch_loss(big_scores, halves),
            ValueError,
            "more than max_pairs=10; pass generator=",
            [],
        ),
        (
            "loss2-mw-auc-multiclass-fit",
            lambda: RobustLossClassifier(loss="mw_auc", max_iter=1).fit(X, y),
            ValueError,
            "two classes only.*OneVsRestClassifier",
            [X, y],
        ),
        (
            "loss2-z-loss-binary-fit",
            lambda: RobustLossClassifier(loss="z_loss", max_iter=1).fit(X[y < 2], y[y < 2]),
            ValueError,
            r"ZLoss.*needs three classes or more.*\+1 or -1.*Use another loss",
            [X, y],
        ),
        (
            "loss2-anyloss-accuracy-five-classes-fit",
            lambda: RobustLossClassifier(loss="anyloss_accuracy", max_iter=1).fit(
                np.repeat(X, 2, axis=0)[:100], np.arange(100) % 5
            ),
            ValueError,
            r"AnyLoss.*metric='accuracy'.*cannot train 5 classes.*collapses.*metric='f1'",
            [X],
        ),
    ]


LOSS2_CASES = _loss2_cases()


# ---- distillation (skloss.losses.PLD / KD, DistillationClassifier) -----------------------
def _distillation_cases():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from skloss import DistillationClassifier
    from skloss.distillation import out_of_fold_scores, teacher_scores
    from skloss.losses import get_loss

    X, y = load_iris(return_X_y=True)
    X, y = X[::3].copy(), y[::3].copy()
    scores = np.zeros((len(y), 3))
    nan_scores = scores.copy()
    nan_scores[0, 0] = np.nan
    two_class_teacher = LogisticRegression().fit(X[y < 2], y[y < 2])
    logits, target = torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])
    teacher = torch.zeros(4, 3)

    def fit(fit_params=None, **params):
        params = {
            "max_iter": 1,
            "hidden_layer_sizes": (4,),
            "teacher": LogisticRegression(),
            **params,
        }
        return lambda: DistillationClassifier(**params).fit(X, y, **(fit_params or {}))

    return [
        (
            "distil-loss-without-teacher",
            fit(loss="ce"),
            ValueError,
            r"does not learn from a teacher.*RobustLossClassifier",
            [X, y],
        ),
        (
            "distil-teacher-class-not-instance",
            fit(teacher=HistGradientBoostingClassifier),
            TypeError,
            r"teacher must be an estimator instance.*HistGradientBoostingClassifier\(\)",
            [X, y],
        ),
        (
            "distil-teacher-regressor",
            fit(teacher=LinearRegression()),
            TypeError,
            r"teacher must be a classifier with decision_function or predict_proba",
            [X, y],
        ),
        (
            "distil-teacher-not-an-estimator",
            fit(teacher="hgb"),
            ValueError,
            r"'teacher' parameter of DistillationClassifier must be None or an object "
            r"implementing 'fit'",
            [X, y],
        ),
        (
            "distil-cv-one",
            fit(cv=1),
            ValueError,
            r"'cv' parameter of DistillationClassifier must be an int in the range \[2, inf\)",
            [X, y],
        ),
        (
            "distil-cv-more-than-the-largest-class",
            fit(cv=20),
            ValueError,
            r"cv=20 splits every class into 20 folds.*largest class of y has 17 rows; lower cv",
            [X, y],
        ),
        (
            "distil-cv-not-a-partition",
            fit(cv=[(np.arange(10), np.arange(10, 20))]),
            ValueError,
            r"must put every row in exactly one test fold",
            [X, y],
        ),
        (
            "distil-fitted-teacher-lacks-a-class",
            fit(teacher=two_class_teacher),
            ValueError,
            r"fitted on classes \[0, 1\], which lack \[2\] of y",
            [X, y],
        ),
        (
            "distil-teacher-scores-columns",
            fit({"teacher_scores": scores[:, :2]}),
            ValueError,
            r"teacher_scores must have one column per class, in the order of classes_ "
            r"\[0, 1, 2\]: shape \(n_samples, 3\); got shape \(50, 2\)",
            [X, y, scores],
        ),
        (
            "distil-teacher-scores-rows",
            fit({"teacher_scores": scores[:-1]}),
            ValueError,
            r"teacher_scores must have one entry per row of X \(50 rows\); got shape \(49, 3\)",
            [X, y, scores],
        ),
        (
            "distil-teacher-scores-nan",
            fit({"teacher_scores": nan_scores}),
            ValueError,
            r"teacher_scores must be finite",
            [X, y, nan_scores],
        ),
        (
            "distil-teacher-scores-strings",
            fit({"teacher_scores": np.full((len(y), 3), "a")}),
            ValueError,
            r"teacher_scores must hold numbers",
            [X, y],
        ),
        (
            "distil-partial-fit-unfitted-teacher",
            lambda: DistillationClassifier(LogisticRegression()).partial_fit(X, y, [0, 1, 2]),
            AttributeError,
            r"partial_fit",
            [X, y],
        ),
        (
            "distil-teacher-scores-function-unknown-class",
            lambda: teacher_scores(two_class_teacher, X, classes=[0, 1, 2]),
            ValueError,
            r"lack \[2\] of y",
            [X],
        ),
        (
            "distil-out-of-fold-not-a-partition",
            lambda: out_of_fold_scores(
                LogisticRegression(), X, y, cv=[(np.arange(40), np.arange(40, 50))]
            ),
            ValueError,
            r"must put every row in exactly one test fold.*40 rows",
            [X, y],
        ),
        (
            "distil-pld-temperature-zero",
            lambda: get_loss("pld", temperature=0.0),
            ValueError,
            r"PLD parameter 'temperature' must be > 0, got 0\.0",
            [],
        ),
        (
            "distil-kd-temperature-nan",
            lambda: get_loss("kd", temperature=float("nan")),
            ValueError,
            r"KD parameter 'temperature' must be a finite real number",
            [],
        ),
        (
            "distil-kd-alpha-out-of-range",
            lambda: get_loss("kd", alpha=1.5),
            ValueError,
            r"KD parameter 'alpha' must be in \[0, 1\], got 1\.5",
            [],
        ),
        (
            "distil-loss-without-teacher-scores",
            lambda: get_loss("pld")(logits, target),
            TypeError,
            r"PLD requires the context \['teacher_scores'\]",
            [],
        ),
        (
            "distil-loss-teacher-scores-shape",
            lambda: get_loss("kd")(logits, target, teacher_scores=teacher[:, :2]),
            ValueError,
            r"teacher_scores must have the shape of the logits.*expected \(4, 3\), got \(4, 2\)",
            [],
        ),
        (
            "distil-loss-teacher-scores-not-tensor",
            lambda: get_loss("pld")(logits, target, teacher_scores=teacher.numpy()),
            TypeError,
            r"PLD requires teacher_scores as a torch.Tensor",
            [],
        ),
        (
            "distil-loss-teacher-scores-inf",
            lambda: get_loss("pld")(
                logits, target, teacher_scores=torch.full((4, 3), -float("inf"))
            ),
            ValueError,
            r"teacher_scores must be finite.*floor the probabilities",
            [],
        ),
    ]


DISTILLATION_CASES = _distillation_cases()


# ---- adversarial losses and skloss.robustness ------------------------------------------


def _adversarial_cases():
    import warnings

    from sklearn.datasets import load_iris
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skloss import RobustLossClassifier
    from skloss.losses import AdvCompSum, get_loss
    from skloss.robustness import make_pgd_scorer, pgd_accuracy

    X, y = load_iris(return_X_y=True)
    X, y = X[::3].copy(), y[::3].copy()
    fitted = RobustLossClassifier(max_iter=1, hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X, y)
    logistic = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    other_labels = y + 10
    model, inputs = torch.nn.Linear(3, 3), torch.zeros(2, 3)

    def attack(**kwargs):
        return lambda: pgd_accuracy(fitted, X, y, **{"epsilon": 0.1, **kwargs})

    def loss(name, **params):
        return lambda: get_loss(name, **params)

    return [
        (
            "adv-epsilon-negative",
            loss("adv_comp_sum", epsilon=-0.1),
            ValueError,
            r"AdvCompSum parameter 'epsilon' must be a finite number >= 0.*0 freezes",
            [],
        ),
        (
            "adv-epsilon-matrix",
            loss("trades", epsilon=np.ones((2, 2))),
            ValueError,
            r"TRADES parameter 'epsilon' must be .* 1-d array",
            [],
        ),
        (
            "adv-epsilon-nan",
            loss("pgd_at", epsilon=np.array([0.1, np.nan])),
            ValueError,
            "PGDAdversarialTraining parameter 'epsilon' must be a finite number",
            [],
        ),
        (
            "adv-epsilon-string",
            loss("pgd_at", epsilon="0.1"),
            ValueError,
            "parameter 'epsilon' must be a finite number",
            [],
        ),
        (
            "adv-norm-unknown",
            loss("adv_comp_sum", norm="l1"),
            ValueError,
            r"AdvCompSum parameter 'norm' must be one of \('linf', 'l2'\), got 'l1'",
            [],
        ),
        (
            "adv-steps-zero",
            loss("trades", steps=0),
            ValueError,
            "TRADES parameter 'steps' must be an integer >= 1, got 0",
            [],
        ),
        (
            "adv-steps-float",
            loss("pgd_at", steps=2.5),
            ValueError,
            "parameter 'steps' must be an integer >= 1",
            [],
        ),
        (
            "adv-step-size-zero",
            loss("adv_comp_sum", step_size=0.0),
            ValueError,
            r"parameter 'step_size' must be None or > 0 \(a fraction of epsilon\)",
            [],
        ),
        (
            "adv-tau-negative",
            loss("adv_comp_sum", tau=-1.0),
            ValueError,
            "AdvCompSum parameter 'tau' must be >= 0",
            [],
        ),
        ("adv-nu-negative", loss("adv_comp_sum", nu=-1.0), ValueError, "'nu' must be >= 0", []),
        ("adv-rho-zero", loss("adv_comp_sum", rho=0.0), ValueError, "'rho' must be > 0", []),
        ("trades-beta-negative", loss("trades", beta=-6.0), ValueError, "'beta' must be >= 0", []),
        (
            "adv-epsilon-length-at-call",
            lambda: AdvCompSum(epsilon=[0.1, 0.2])(
                model(inputs), torch.tensor([0, 1]), model=model, inputs=inputs, generator=None
            ),
            ValueError,
            "epsilon has 2 entries but the network's input has 3 features",
            [],
        ),
        (
            "adv-epsilon-length-in-fit",
            lambda: RobustLossClassifier(loss=AdvCompSum(epsilon=[0.1] * 3), max_iter=1).fit(X, y),
            ValueError,
            "epsilon has 3 entries but the network's input has 4 features.*one per input feature",
            [X, y],
        ),
        (
            "pgd-accuracy-not-skloss",
            lambda: pgd_accuracy(LogisticRegression().fit(X, y), X, y, 0.1),
            TypeError,
            "estimator must be a fitted skloss classifier.*got LogisticRegression",
            [X, y],
        ),
        (
            "pgd-accuracy-pipeline-not-skloss",
            lambda: pgd_accuracy(logistic, X, y, 0.1),
            TypeError,
            "Pipeline whose last step is one; got LogisticRegression",
            [X, y],
        ),
        (
            "pgd-accuracy-unfitted",
            lambda: pgd_accuracy(RobustLossClassifier(), X, y, 0.1),
            NotFittedError,
            "not fitted yet",
            [X, y],
        ),
        (
            "pgd-accuracy-epsilon-negative",
            attack(epsilon=-1.0),
            ValueError,
            "epsilon must be a finite number >= 0",
            [X, y],
        ),
        (
            "pgd-accuracy-epsilon-length",
            attack(epsilon=[0.1, 0.1]),
            ValueError,
            "epsilon has 2 entries but the network's input has 4 features",
            [X, y],
        ),
        (
            "pgd-accuracy-norm",
            attack(norm="inf"),
            ValueError,
            r"norm must be one of \('linf', 'l2'\), got 'inf'",
            [X, y],
        ),
        (
            "pgd-accuracy-objective",
            attack(objective="cw"),
            ValueError,
            r"objective must be one of \('both', 'margin', 'ce'\)",
            [X, y],
        ),
        ("pgd-accuracy-steps", attack(steps=0), ValueError, "steps must be an integer >= 1", [X]),
        (
            "pgd-accuracy-restarts",
            attack(restarts=1.5),
            ValueError,
            "restarts must be an integer >= 1",
            [X],
        ),
        (
            "pgd-accuracy-step-size",
            attack(step_size=-0.1),
            ValueError,
            r"step_size must be None or a number > 0 \(a fraction of epsilon\)",
            [X],
        ),
        (
            "pgd-accuracy-unknown-labels",
            lambda: pgd_accuracy(fitted, X, other_labels, 0.1),
            ValueError,
            r"y holds labels the classifier never saw: 10, 11, 12; its classes_ are \[0, 1, 2\]",
            [X, other_labels],
        ),
        (
            "pgd-accuracy-y-length",
            lambda: pgd_accuracy(fitted, X, y[:-1], 0.1),
            ValueError,
            "y has 49 labels but X has 50 rows",
            [X, y],
        ),
        (
            "pgd-accuracy-feature-count",
            lambda: pgd_accuracy(fitted, X[:, :3], y, 0.1),
            ValueError,
            "X has 3 features, but RobustLossClassifier is expecting 4 features",
            [X, y],
        ),
        (
            "pgd-scorer-bad-epsilon",
            lambda: make_pgd_scorer(epsilon=[[0.1]]),
            ValueError,
            "epsilon must be a finite number >= 0, or a 1-d array",
            [],
        ),
        (
            "pgd-scorer-sample-weight",
            lambda: make_pgd_scorer(0.1)(fitted, X, y, sample_weight=np.ones(len(y))),
            ValueError,
            "takes no sample_weight",
            [X, y],
        ),
    ]


ADVERSARIAL_CASES = _adversarial_cases()


# ---- the regressor, its losses and noisy targets ---------------------------------------
def _regression_cases():
    import warnings

    from sklearn.datasets import load_diabetes

    from skloss import RobustLossRegressor
    from skloss.losses import get_loss
    from skloss.noise import make_noisy_targets

    X, y = load_diabetes(return_X_y=True)
    X, y = X[::10].copy(), y[::10].copy()
    negative = y.copy()
    negative[[2, 5]] = -1.0

    def fit(**params):
        params = {"max_iter": 1, "hidden_layer_sizes": (4,), **params}
        return lambda: RobustLossRegressor(**params).fit(X, y)

    fitted = RobustLossRegressor(max_iter=1, hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X, y)
    warm = RobustLossRegressor(max_iter=1, hidden_layer_sizes=(4,), warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm.fit(X, y)

    return [
        (
            "regressor-classification-loss",
            fit(loss="ce"),
            ValueError,
            r"trains classification targets.*list_losses\(kind='regression'\)",
            [X, y],
        ),
        ("regressor-unknown-loss", fit(loss="hubber"), ValueError, r"Unknown loss 'hubber'", [X]),
        (
            "regressor-poisson-negative-targets",
            lambda: RobustLossRegressor(loss="poisson", max_iter=1).fit(X, negative),
            ValueError,
            r"'poisson' needs non-negative targets.*2 row\(s\).*\[2, 5\]",
            [X, negative],
        ),
        (
            "regressor-string-targets",
            lambda: RobustLossRegressor(max_iter=1).fit(
                X, np.array(["low", "high"] * 22 + ["low"])
            ),
            ValueError,
            r"[Cc]ould not convert|numeric",
            [X],
        ),
        (
            "regressor-nan-targets",
            lambda: RobustLossRegressor(max_iter=1).fit(X, np.r_[np.nan, y[1:]]),
            ValueError,
            r"Input y contains NaN",
            [X],
        ),
        (
            "regressor-huber-delta-zero",
            fit(loss=get_loss("huber").set_params(delta=0.0)),
            ValueError,
            r"'delta' must be > 0",
            [X, y],
        ),
        (
            "regressor-hl-gauss-bins-one",
            lambda: get_loss("hl_gauss", n_bins=1),
            ValueError,
            r"'n_bins' must be an int >= 2, got 1",
            [],
        ),
        (
            "regressor-quantile-level-one",
            lambda: get_loss("quantile", alpha=1.0),
            ValueError,
            r"alpha must be a number in \(0, 1\)",
            [],
        ),
        (
            "regressor-warm-start-other-target-columns",
            lambda: warm.fit(X, np.c_[y, y]),
            ValueError,
            r"y has 2 target column\(s\).*fitted on 1.*warm_start=False",
            [X, y],
        ),
        (
            "regressor-quantiles-of-a-point-loss",
            lambda: fitted.predict_quantiles(X, 0.5),
            AttributeError,
            r"predicts a value, not a distribution.*hl_gauss",
            [X],
        ),
        (
            "regressor-interval-coverage-one",
            lambda: fitted.predict_interval(X, coverage=1.0),
            ValueError,
            r"coverage must be in \(0, 1\)",
            [X],
        ),
        (
            "regressor-predict-unfitted",
            lambda: RobustLossRegressor().predict(X),
            Exception,
            r"not fitted yet",
            [X],
        ),
        (
            "noisy-targets-rate-one",
            lambda: make_noisy_targets(y, 1.0),
            ValueError,
            r"rate must be a number in \[0, 1\), got 1\.0",
            [y],
        ),
        (
            "noisy-targets-unknown-kind",
            lambda: make_noisy_targets(y, 0.1, kind="flip"),
            ValueError,
            r"kind must be one of \['outliers', 'shuffle'\]",
            [y],
        ),
        (
            "noisy-targets-nan",
            lambda: make_noisy_targets(np.r_[np.nan, y], 0.1),
            ValueError,
            r"NaN or infinite",
            [],
        ),
        (
            "noisy-targets-scale-zero",
            lambda: make_noisy_targets(y, 0.1, scale=0.0),
            ValueError,
            r"scale must be a positive number",
            [y],
        ),
    ]


REGRESSION_CASES = _regression_cases()


# ---- asymmetric noise: estimating T, clean accuracy, loss correction (issue 23) -----------
def _asymmetric_cases():
    import tempfile

    import torch
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.svm import LinearSVC

    from skloss import RobustLossClassifier
    from skloss.losses import ForwardCorrection, get_loss
    from skloss.noise import (
        LossCorrectionClassifier,
        clean_accuracy_scorer,
        estimate_transition,
        estimated_clean_accuracy,
        transition_from_proba,
    )

    rng = np.random.RandomState(0)
    y = np.array([0, 1, 2] * 10)
    X = rng.normal(size=(len(y), 3))
    proba = np.full((len(y), 3), 1 / 3)
    y2 = y[y < 2]
    X2 = X[y < 2]
    T2 = np.array([[0.8, 0.2], [0.3, 0.7]])
    T3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    not_stochastic = np.array([[0.8, 0.1], [0.3, 0.7]])
    singular = np.array([[0.5, 0.5], [0.5, 0.5]])
    silent = np.array([[1.0, 0.0], [1.0, 0.0]])
    weights = -np.ones(len(y2))
    out = tempfile.mkdtemp(prefix="skloss-bad-asym-")

    def fit_with(loss, X=X2, y=y2):
        return lambda: RobustLossClassifier(loss=loss, max_iter=1).fit(X, y)

    def correct(**params):
        return lambda: LossCorrectionClassifier(
            RobustLossClassifier(max_iter=1, hidden_layer_sizes=(4,)), cv=3, **params
        ).fit(X, y)

    return [
        (
            "transition-X-y-lengths",
            lambda: estimate_transition(X[:-1], y),
            ValueError,
            r"X and y must have the same number of samples, got 29 rows in X and 30",
            [X, y],
        ),
        (
            "transition-cv-too-many-folds",
            lambda: estimate_transition(X, y, cv=11),
            ValueError,
            r"cv=11 folds need at least 11 samples of every class.*Use fewer folds",
            [X, y],
        ),
        (
            "transition-estimator-regressor",
            lambda: estimate_transition(X, y, LinearRegression()),
            ValueError,
            r"estimator must be a scikit-learn classifier with predict_proba",
            [X, y],
        ),
        (
            "transition-estimator-without-proba",
            lambda: estimate_transition(X, y, LinearSVC()),
            ValueError,
            r"estimator must be a scikit-learn classifier with predict_proba",
            [X, y],
        ),
        (
            "transition-random-state-str",
            lambda: estimate_transition(X, y, random_state="0"),
            ValueError,
            r"random_state must be None or an int in \[0, 2\*\*32 - 1\], got '0'",
            [X, y],
        ),
        (
            "transition-cv-not-a-partition",
            lambda: estimate_transition(X, y, cv=[(np.arange(20), np.arange(20, 30))]),
            ValueError,
            r"cv must hold out every sample exactly once",
            [X, y],
        ),
        (
            "transition-proba-shape",
            lambda: transition_from_proba(y, proba[:, :2]),
            ValueError,
            r"pred_proba must have shape \(n_samples, n_classes\) = \(30, 3\).*got shape \(30, 2\)",
            [y, proba],
        ),
        (
            "transition-proba-above-one",
            lambda: transition_from_proba(y, proba * 4),
            ValueError,
            r"pred_proba must hold finite probabilities in \[0, 1\]",
            [y, proba],
        ),
        (
            "transition-classes-not-those-of-y",
            lambda: transition_from_proba(y, proba, classes=[0, 1, 3]),
            ValueError,
            r"classes must be the sorted classes of y, \[0, 1, 2\]; got \[0, 1, 3\]",
            [y, proba],
        ),
        (
            "clean-accuracy-not-row-stochastic",
            lambda: estimated_clean_accuracy(y2, y2, transition=not_stochastic),
            ValueError,
            r"transition must be row-stochastic: row 0 .* sums to 0.9",
            [y2, not_stochastic],
        ),
        (
            "clean-accuracy-wrong-size",
            lambda: estimated_clean_accuracy(y2, y2, transition=T3),
            ValueError,
            r"transition is 3 x 3, but there are 2 classes",
            [y2, T3],
        ),
        (
            "clean-accuracy-near-singular",
            lambda: estimated_clean_accuracy(y2, y2, transition=singular),
            ValueError,
            r"transition is near-singular \(condition number .* > 100\).*forward correction",
            [y2, singular],
        ),
        (
            "clean-accuracy-label-not-in-labels",
            lambda: estimated_clean_accuracy(y2, y2 + 1, transition=T2, labels=[0, 1]),
            ValueError,
            r"labels \['2'\] of y_true or y_pred are not in labels \[0, 1\]",
            [y2],
        ),
        (
            "clean-accuracy-negative-weights",
            lambda: estimated_clean_accuracy(y2, y2, transition=T2, sample_weight=weights),
            ValueError,
            r"sample_weight must hold one finite, non-negative weight per sample",
            [y2, weights],
        ),
        (
            "clean-scorer-X-y-lengths",
            lambda: clean_accuracy_scorer(X[:-1], y),
            ValueError,
            r"X and y must have the same number of samples, got 29 rows in X and 30",
            [X, y],
        ),
        (
            "clean-scorer-unknown-rows",
            lambda: clean_accuracy_scorer(X, y, cv=3)(LogisticRegression().fit(X, y), X + 1.0, y),
            ValueError,
            r"not among the rows of X this scorer was built on",
            [X, y],
        ),
        (
            "forward-transition-string",
            lambda: get_loss("forward", transition="estimate"),
            ValueError,
            r"transition must be an \(n_classes, n_classes\) array of probabilities, got "
            r"'estimate'",
            [],
        ),
        (
            "forward-transition-negative",
            lambda: ForwardCorrection([[1.2, -0.2], [0.0, 1.0]]).validate(),
            ValueError,
            r"transition must hold finite, non-negative probabilities",
            [],
        ),
        (
            "forward-transition-silent-label",
            lambda: ForwardCorrection(silent).validate(),
            ValueError,
            r"gives noisy label 1 probability 0 under every true class",
            [silent],
        ),
        (
            "backward-transition-singular",
            lambda: get_loss("backward", transition=singular),
            ValueError,
            r"near-singular.*Use the forward correction",
            [singular],
        ),
        (
            "forward-logits-columns",
            lambda: ForwardCorrection(T3)(torch.zeros(2, 2), torch.tensor([0, 1])),
            ValueError,
            r"logits have 2 columns but transition is 3 x 3",
            [T3],
        ),
        (
            "forward-transition-size-vs-classes",
            fit_with(ForwardCorrection(T3)),
            ValueError,
            r"3 x 3 transition matrix, but y has 2 classes.*estimate_transition",
            [X2, y2, T3],
        ),
        (
            "correction-unknown",
            correct(correction="sideways"),
            ValueError,
            r"'correction' parameter of LossCorrectionClassifier must be a str among",
            [X, y],
        ),
        (
            "correction-transition-word",
            correct(transition="guess"),
            ValueError,
            r"'transition' parameter of LossCorrectionClassifier must be",
            [X, y],
        ),
        (
            "correction-transition-wrong-size",
            correct(transition=T2),
            ValueError,
            r"transition is 2 x 2, but there are 3 classes",
            [X, y, T2],
        ),
        (
            "correction-estimator-without-loss",
            lambda: LossCorrectionClassifier(LogisticRegression()).fit(X, y),
            ValueError,
            r"estimator must take a 'loss' parameter.*make_pipeline",
            [X, y],
        ),
        (
            "cli-selection-score-unknown",
            lambda: _cli(*_TINY_COMPARE, "--selection-score", "f1", "--output", out),
            ValueError,
            r"argument --selection-score: invalid choice: 'f1'",
            [],
        ),
        (
            "cli-selection-score-clean-accuracy-for-regression",
            lambda: _cli(
                "compare",
                "--dataset",
                "diabetes",
                "--folds",
                "2",
                "--quiet",
                "--output",
                out,
                "--selection-score",
                "clean_accuracy",
            ),
            ValueError,
            r"argument --selection-score: clean_accuracy estimates the clean accuracy through "
            r"a label transition matrix, and this run's task is regression; drop "
            r"--selection-score",
            [],
        ),
    ]


# ---- aggregate responses (fit(..., bags=...), skloss.losses.aggregate) ---------------------
def _bag_cases():
    from sklearn.datasets import load_breast_cancer, load_diabetes

    from skloss import RobustLossClassifier, RobustLossRegressor
    from skloss.losses import BagBCE, BagSquaredError, get_loss

    X, y = load_diabetes(return_X_y=True)
    X, y = X[::10].copy(), y[::10].copy()
    bags = np.arange(len(y)) // 3
    ybar = (np.bincount(bags, y) / np.bincount(bags))[bags]
    broken = ybar.copy()
    broken[4] += 1.0  # the second row of bag 1
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xc, yc = Xc[::10].copy(), yc[::10].copy()
    bags_c = np.arange(len(yc)) // 4
    share = (np.bincount(bags_c, yc) / np.bincount(bags_c))[bags_c]
    over_one = share * 2
    nan_bags = bags.astype(float)
    nan_bags[3] = np.nan
    mixed_bags = np.array([1, "a"] * (len(y) // 2) + [1] * (len(y) % 2), dtype=object)
    outputs, ybar_t = torch.zeros(6, 1), torch.zeros(6)

    def reg(**params):
        return RobustLossRegressor(
            **{"loss": "bag_squared_error", "max_iter": 1, "hidden_layer_sizes": (4,), **params}
        )

    def clf(**params):
        return RobustLossClassifier(
            **{"loss": "bag_bce", "max_iter": 1, "hidden_layer_sizes": (4,), **params}
        )

    return [
        (
            "bags-loss-without-bags",
            lambda: reg().fit(X, ybar),
            ValueError,
            r"requires bags for every training row.*pass bags=",
            [X, ybar],
        ),
        (
            "bags-given-to-a-row-loss",
            lambda: reg(loss="squared_error").fit(X, ybar, bags=bags),
            ValueError,
            r"bags were given, but loss SquaredError\(\) does not use them.*bag_squared_error",
            [X, ybar, bags],
        ),
        (
            "bags-response-not-constant-in-a-bag",
            lambda: reg().fit(X, broken, bags=bags),
            ValueError,
            r"bag 1 has y = \[.*\] on row 3 but \[.*\] on row 4.*transform\('mean'\)",
            [X, broken, bags],
        ),
        (
            "bags-wrong-length",
            lambda: reg().fit(X, ybar, bags=bags[:-1]),
            ValueError,
            r"bags must have one entry per row of X",
            [X, ybar],
        ),
        (
            "bags-two-dimensional",
            lambda: reg().fit(X, ybar, bags=np.c_[bags, bags]),
            ValueError,
            r"bags must hold one bag id per row \(1-D\)",
            [X, ybar, bags],
        ),
        (
            "bags-nan-id",
            lambda: reg().fit(X, ybar, bags=nan_bags),
            ValueError,
            r"bags must not contain NaN",
            [X, ybar, nan_bags],
        ),
        (
            "bags-ids-of-mixed-types",
            lambda: reg().fit(X, ybar, bags=mixed_bags),
            ValueError,
            r"bags must hold ids of one comparable type",
            [X, ybar],
        ),
        (
            "bags-early-stopping-one-bag",
            lambda: reg(early_stopping=True).fit(X, np.full(len(y), 1.0), bags=np.zeros(len(y))),
            ValueError,
            r"early_stopping holds out whole bags.*1 bag.*early_stopping=False",
            [X],
        ),
        (
            "bags-rho-above-one",
            lambda: reg(loss=BagSquaredError(rho=1.5)).fit(X, ybar, bags=bags),
            ValueError,
            r"'rho' must be in \[0, 1\].*got 1\.5",
            [X, ybar, bags],
        ),
        (
            "bags-rho-not-a-number",
            lambda: get_loss("bag_bce", rho="half"),
            ValueError,
            r"'rho' must be a finite real number",
            [],
        ),
        (
            "bags-score-wrong-length",
            lambda: reg().fit(X, ybar, bags=bags).score(X, ybar, bags=bags[:-1]),
            ValueError,
            r"bags must have one entry per row",
            [X, ybar, bags],
        ),
        (
            "bags-proportion-above-one",
            lambda: clf().fit(Xc, over_one, bags=bags_c),
            ValueError,
            r"share of the positive class.*in \[0, 1\].*binary only",
            [Xc, over_one, bags_c],
        ),
        (
            "bags-proportions-of-several-classes",
            lambda: clf().fit(Xc, np.c_[share, 1 - share], bags=bags_c),
            ValueError,
            r"label proportions is binary only.*shape \(57, 2\)",
            [Xc, share, bags_c],
        ),
        (
            "bags-string-labels-as-proportions",
            lambda: clf().fit(Xc, np.where(yc == 1, "yes", "no"), bags=bags_c),
            ValueError,
            r"y must hold each bag's share of the positive class, a number in \[0, 1\]",
            [Xc, bags_c],
        ),
        (
            "bags-class-weight-with-proportions",
            lambda: clf(class_weight="balanced").fit(Xc, share, bags=bags_c),
            ValueError,
            r"class_weight weighs rows by their label.*class_weight=None",
            [Xc, share, bags_c],
        ),
        (
            "bags-partial-fit-classes-not-binary",
            lambda: clf().partial_fit(Xc, share, classes=[0, 1, 2], bags=bags_c),
            ValueError,
            r"classes_ is \[0, 1\].*Pass classes=\[0, 1\] or None",
            [Xc, share, bags_c],
        ),
        (
            "bags-loss-bag-ids-of-another-length",
            lambda: BagSquaredError()(outputs, ybar_t, bags=torch.zeros(5)),
            ValueError,
            r"bags must hold one bag id per row: expected shape \(6,\), got \(5,\)",
            [],
        ),
        (
            "bags-loss-called-without-bags",
            lambda: BagSquaredError()(outputs, ybar_t),
            TypeError,
            r"requires the context \['bags'\]",
            [],
        ),
        (
            "bags-loss-per-row-values",
            lambda: BagSquaredError()(outputs, ybar_t, bags=torch.zeros(6), reduction="none"),
            ValueError,
            r"batch-level loss.*reduction='none'",
            [],
        ),
        (
            "bags-bce-three-logit-columns",
            lambda: BagBCE()(torch.zeros(6, 3), ybar_t, bags=torch.zeros(6)),
            ValueError,
            r"logits must be a tensor of shape \(n_samples, 1\)",
            [],
        ),
        (
            "bags-bce-share-outside-zero-one",
            lambda: BagBCE()(outputs, ybar_t - 1, bags=torch.zeros(6)),
            ValueError,
            r"each bag's share of the positive class, in \[0, 1\]",
            [],
        ),
    ]


ASYMMETRIC_CASES = _asymmetric_cases()
BAG_CASES = _bag_cases()

CASES = (
    ESTIMATOR_CASES
    + LOSS_CASES
    + FUSED_CASES
    + NOISE_CASES
    + ANALYTIC_CASES
    + CLI_CASES
    + ENSLOSS_CASES
    + TUNING_CASES
    + LOSS2_CASES
    + DISTILLATION_CASES
    + ADVERSARIAL_CASES
    + REGRESSION_CASES
    + ASYMMETRIC_CASES
    + BAG_CASES
)


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
