"""The shared base estimator, exercised through RobustLossClassifier."""

import copy
import functools
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skloss import RobustLossClassifier
from skloss.losses import GCE, LOSSES, Loss, ProbabilityLoss, list_losses

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small(**params):
    defaults = dict(
        hidden_layer_sizes=(16,),
        max_iter=20,
        random_state=0,
        batch_size=32,
        learning_rate_init=0.01,
    )
    return RobustLossClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    return X, y


def parameters(clf):
    return [p.detach().clone() for p in clf.net_.module_.parameters()]


# ---- learning and outputs --------------------------------------------------------------
def test_learns_iris(iris):
    X, y = iris
    clf = small(max_iter=100).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.n_iter_ == 100 and len(clf.loss_curve_) == 100
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_output_shapes_and_probabilities(iris, binary):
    X, y = iris
    clf = small().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert clf.decision_function(X).shape == (150, 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))

    Xb, yb = binary
    clf = small().fit(Xb, yb)
    scores = clf.decision_function(Xb)
    assert scores.shape == (300,)
    # For two classes the score is z_1 - z_0, so its sign decides the class.
    np.testing.assert_array_equal(clf.predict(Xb), clf.classes_[(scores > 0).astype(int)])
    # and softmax of two logits is the logistic function of their difference
    np.testing.assert_allclose(clf.predict_proba(Xb)[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array([1, 2, 3]) * 10,
        np.array([-1, 0, 2]),
    ],
)
def test_any_hashable_labels(iris, labels):
    X, y = iris
    y_labels = labels[y]
    clf = small(max_iter=60).fit(X, y_labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y_labels) > 0.8


def test_boolean_labels(binary):
    X, y = binary
    clf = small().fit(X, y.astype(bool))
    assert clf.classes_.dtype == bool
    assert clf.predict(X).dtype == bool


def test_pandas_input_keeps_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = small().fit(frame, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_sparse_input_matches_dense(iris):
    X, y = iris
    dense = small().fit(X, y)
    sparse = small().fit(sp.csr_matrix(X), y)
    for a, b in zip(parameters(dense), parameters(sparse), strict=False):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(
        dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)), rtol=1e-6
    )


def test_integer_and_float32_features(iris):
    X, y = iris
    X_int = np.round(X * 10).astype(np.int64)
    as_int = small().fit(X_int, y)
    as_float = small().fit(X_int.astype(np.float32), y)
    for a, b in zip(parameters(as_int), parameters(as_float), strict=False):
        torch.testing.assert_close(a, b)


def test_inputs_are_not_modified(iris):
    X, y = iris
    sample_weight = np.linspace(0.5, 2, len(y))
    X_copy, y_copy, sw_copy = X.copy(), y.copy(), sample_weight.copy()
    loss = GCE(q=0.5)
    module = torch.nn.Linear(4, 3)
    module_state = copy.deepcopy(module.state_dict())
    small(loss=loss, module=module, class_weight={0: 2.0}).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(sample_weight, sw_copy)
    assert loss.get_params() == {"q": 0.5}
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, module_state[key])


# ---- reproducibility ------------------------------------------------------------------
def test_random_state_gives_bit_identical_fits_and_leaves_global_rng(iris):
    X, y = iris
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = small(random_state=7).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    b = small(random_state=7).fit(X, y)
    for p, q in zip(parameters(a), parameters(b), strict=False):
        assert torch.equal(p, q)
    c = small(random_state=8).fit(X, y)
    assert not all(torch.equal(p, q) for p, q in zip(parameters(a), parameters(c), strict=False))


# ---- weights ----------------------------------------------------------------------------
def test_unit_and_rescaled_sample_weights_change_nothing(iris):
    X, y = iris
    reference = parameters(small().fit(X, y))
    for weight in (np.ones(len(y)), np.full(len(y), 3.5)):
        fitted = parameters(small().fit(X, y, sample_weight=weight))
        for p, q in zip(reference, fitted, strict=False):
            torch.testing.assert_close(p, q)


def test_class_weight_equals_sample_weight(iris):
    X, y = iris
    by_class = small(class_weight={0: 1.0, 1: 3.0, 2: 0.5}).fit(X, y)
    by_sample = small().fit(X, y, sample_weight=np.array([1.0, 3.0, 0.5])[y])
    for p, q in zip(parameters(by_class), parameters(by_sample), strict=False):
        torch.testing.assert_close(p, q)
    counts = np.bincount(y[:120])
    balanced = small(class_weight="balanced").fit(X[:120], y[:120])
    manual = small().fit(X[:120], y[:120], sample_weight=(1.0 / counts)[y[:120]])
    for p, q in zip(parameters(balanced), parameters(manual), strict=False):
        torch.testing.assert_close(p, q)


def test_full_batch_integer_weights_equal_repetition(iris):
    # One full-batch SGD step: weight w_i must act as w_i copies of row i.
    X, y = iris
    weight = np.tile([1, 2, 3], 50)
    repeated = np.repeat(np.arange(len(y)), weight)
    settings = dict(
        optimizer=torch.optim.SGD, learning_rate_init=0.5, max_iter=1, alpha=0.0, batch_size=10_000
    )
    weighted = small(**settings).fit(X, y, sample_weight=weight)
    copies = small(**settings).fit(X[repeated], y[repeated])
    for p, q in zip(parameters(weighted), parameters(copies), strict=False):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_zero_weights_everywhere_is_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="non-zero"):
        small().fit(X, y, sample_weight=np.zeros(len(y)))


# ---- stopping -------------------------------------------------------------------------
class RecordStates(Callback):
    """Keeps a copy of the weights after every epoch."""

    def on_train_begin(self, net, **kwargs):
        self.states_ = []

    def on_epoch_end(self, net, **kwargs):
        self.states_.append(copy.deepcopy(net.module_.state_dict()))


def test_early_stopping_restores_best_weights():
    X, y = make_classification(n_samples=400, n_features=10, flip_y=0.3, random_state=1)
    recorder = RecordStates()
    clf = RobustLossClassifier(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        n_iter_no_change=5,
        max_iter=300,
        learning_rate_init=0.01,
        random_state=0,
        callbacks=[("recorder", recorder)],
    ).fit(X, y)
    assert clf.n_iter_ < 300
    scores = clf.validation_scores_
    assert clf.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores))
    assert best_epoch < len(scores) - 1, "the test needs a run that got worse after its best"
    recorded = dict(clf.net_.callbacks_)["recorder"].states_
    for key, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, recorded[best_epoch][key])


def test_stops_when_training_loss_plateaus(iris):
    X, y = iris
    clf = small(max_iter=2000, tol=1e-2, n_iter_no_change=3).fit(X, y)
    assert clf.n_iter_ < 2000
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        small(max_iter=2000, tol=1e-2, n_iter_no_change=3).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        small(max_iter=2).fit(X, y)


class NaNAfterFirstEpoch(ProbabilityLoss):
    name = "nan_after_first_epoch"
    requires = ("epoch",)

    def per_sample(self, logits, target, epoch, **context):
        nll = torch.nn.functional.cross_entropy(logits, target, reduction="none")
        return nll * (float("nan") if epoch >= 1 else 1.0)


def test_non_finite_loss_stops_with_epoch_and_loss(iris):
    X, y = iris
    with pytest.raises(FloatingPointError, match=r"epoch 2.*NaNAfterFirstEpoch"):
        small(loss=NaNAfterFirstEpoch()).fit(X, y)


def test_verbose_prints_mlpclassifier_lines(iris, capsys):
    X, y = iris
    clf = small(verbose=True, max_iter=30, tol=0.5, n_iter_no_change=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # MLPClassifier's format: one line per epoch with the loss, then why it stopped.
    expected = [f"Iteration {i + 1}, loss = {v:.8f}" for i, v in enumerate(clf.loss_curve_)]
    assert lines[: clf.n_iter_] == expected
    assert lines[-1] == (
        "Training loss did not improve more than tol=0.500000 for 2 consecutive epochs. Stopping."
    )


def test_verbose_with_early_stopping_prints_validation_scores(iris, capsys):
    X, y = iris
    clf = small(verbose=1, max_iter=4, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    scores = [float(line.split(": ")[1]) for line in out.splitlines() if "Validation" in line]
    np.testing.assert_allclose(scores, clf.validation_scores_, atol=1e-6)


def test_verbose_two_adds_the_setting_and_epoch_times(iris, capsys):
    X, y = iris
    small(verbose=2, max_iter=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Training 150 rows in batches of 32, loss CrossEntropy(")
    assert lines[1].startswith("Iteration 1, loss = ") and lines[1].endswith(" s)")
    small(verbose=0, max_iter=2).fit(X, y)
    assert capsys.readouterr().out == ""


# ---- partial_fit and warm_start -------------------------------------------------------
def test_partial_fit_classes_rule(iris):
    X, y = iris
    clf = small()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    clf.partial_fit(X[y == 2], y[y == 2])
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match="must not change"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        clf.partial_fit(X[:3], np.array([0, 7, 1]))
    with pytest.raises(ValueError, match="balanced"):
        small(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_epochs_equal_fit_epochs_and_are_reproducible(iris):
    X, y = iris

    def stream():
        clf = small(random_state=3)
        for _ in range(4):
            clf.partial_fit(X, y, classes=np.unique(y))
        return clf

    a, b = stream(), stream()
    for p, q in zip(parameters(a), parameters(b), strict=False):
        assert torch.equal(p, q)
    assert a.n_iter_ == 4 and a.score(X, y) > 0.6


def test_warm_start_continues(iris):
    X, y = iris
    clf = small(warm_start=True, max_iter=5)
    clf.fit(X, y)
    first = parameters(clf)
    net = clf.net_
    clf.fit(X, y)
    assert clf.net_ is net and clf.n_iter_ == 10
    assert not all(torch.equal(p, q) for p, q in zip(first, parameters(clf), strict=False))
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])


def test_warm_start_trains_with_a_loss_changed_by_set_params(iris):
    # As MLPClassifier takes changed parameters on a warm_start fit, the loss set since
    # the last fit is the one that continues the network.
    X, y = iris
    clf = small(warm_start=True, max_iter=5)
    clf.fit(X, y)
    before = clf.predict_proba(X)
    net = clf.net_
    # A learning rate of ~0 keeps the weights: the epoch's train_loss is then the new
    # loss of the fitted model's probabilities, GCE computed here in numpy.
    clf.set_params(loss="gce", loss__q=0.5, learning_rate_init=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(max_iter=1).fit(X, y)
    assert clf.net_ is net and clf.n_iter_ == 6
    assert isinstance(clf.loss_function_, GCE) and clf.loss_function_.q == 0.5
    assert clf.net_.criterion_.loss is clf.loss_function_
    p_y = before[np.arange(len(y)), y]
    expected = np.mean((1 - p_y**0.5) / 0.5)
    np.testing.assert_allclose(clf.net_.history[-1, "train_loss"], expected, rtol=1e-4)
    np.testing.assert_allclose(clf.predict_proba(X), before, atol=1e-6)


def test_warm_start_keeps_the_fitted_loss_while_its_parameters_are_unchanged(iris):
    X, y = iris
    clf = small(loss="aldr_kl", warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        loss = clf.loss_function_
        clf.set_params(alpha=1e-3).fit(X, y)  # another parameter, same loss
    assert clf.loss_function_ is loss and clf.net_.criterion_.loss is loss


def test_warm_start_refuses_a_loss_that_needs_another_head(binary):
    X, y = binary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small(warm_start=True, max_iter=2).fit(X, y)
    loss, proba = clf.loss_function_, clf.predict_proba(X)
    clf.set_params(loss="mw_auc")  # one score per sample, where ce has two logits
    with pytest.raises(ValueError, match=r"needs 1 network output.*has 2.*warm_start=False"):
        clf.fit(X, y)
    assert clf.loss_function_ is loss and clf.n_iter_ == 2
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


# ---- modules and optimisers ------------------------------------------------------------
class TwoLayer(torch.nn.Module):
    def __init__(self, n_features_in, n_outputs, width=8):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features_in, width),
            torch.nn.Tanh(),
            torch.nn.Linear(width, n_outputs),
        )

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize(
    "module", [TwoLayer, lambda n_features_in, n_outputs: TwoLayer(n_features_in, n_outputs, 4)]
)
def test_custom_module(iris, module):
    X, y = iris
    clf = small(module=module, max_iter=50).fit(X, y)
    assert isinstance(clf.net_.module_, TwoLayer)
    assert clf.score(X, y) > 0.8


def test_module_with_wrong_output_fails_before_training(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"\(n_samples, 3\)"):
        small(module=lambda n_features_in, n_outputs: torch.nn.Linear(n_features_in, 5)).fit(X, y)
    with pytest.raises(TypeError, match="must build a torch.nn.Module"):
        small(module=lambda n_features_in, n_outputs: "not a module").fit(X, y)


@pytest.mark.parametrize(
    "optimizer", ["adam", "adamw", "sgd", torch.optim.RMSprop, torch.optim.LBFGS]
)
def test_optimizers(iris, optimizer):
    X, y = iris
    lbfgs = optimizer is torch.optim.LBFGS
    # LBFGS is a full-batch method
    settings = dict(learning_rate_init=1.0, alpha=0.0, batch_size=150) if lbfgs else {}
    clf = small(optimizer=optimizer, max_iter=30, **settings).fit(X, y)
    assert clf.score(X, y) > 0.8


def test_optimizer_without_groups_needs_alpha_zero(iris):
    X, y = iris
    with pytest.raises(ValueError, match="alpha=0"):
        small(optimizer=torch.optim.LBFGS).fit(X, y)


@pytest.mark.parametrize(
    "name, reference",
    [
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("sgd", functools.partial(torch.optim.SGD, momentum=0.9, nesterov=True)),
    ],
)
def test_built_in_optimizers_equal_torch_with_bias_free_decay(iris, name, reference):
    # The built-ins apply alpha outside the optimiser (one parameter group); a torch
    # optimiser class gets two groups with weight_decay on the weights only.
    # Both routes must give the same weights.
    X, y = iris
    settings = dict(alpha=2.0, batch_size=30, max_iter=5)
    built_in = small(optimizer=name, **settings).fit(X, y)
    by_groups = small(optimizer=reference, **settings).fit(X, y)
    groups = by_groups.net_.optimizer_.param_groups
    assert groups[0]["weight_decay"] == pytest.approx(2.0 / 30)
    assert all(p.ndim == 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0 and all(p.ndim == 1 for p in groups[1]["params"])
    for p, q in zip(parameters(built_in), parameters(by_groups), strict=False):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    no_decay = small(optimizer=name, **{**settings, "alpha": 0.0}).fit(X, y)
    assert not torch.allclose(parameters(no_decay)[0], parameters(built_in)[0], atol=1e-4)


# ---- parameter and input validation ---------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=-1.0), "alpha"),
        (dict(max_iter=0), "max_iter"),
        (dict(batch_size=0), "batch_size"),
        (dict(activation="swish"), "activation"),
        (dict(validation_fraction=1.5), "validation_fraction"),
        (dict(loss="nope"), "Unknown loss 'nope'"),
        (dict(loss=GCE(q=-1)), "q"),
        (dict(device="cuda:0" if not torch.cuda.is_available() else "tpu"), "device"),
    ],
)
def test_bad_parameters_fail_before_training(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        small(**params).fit(X, y)


def test_bad_inputs(iris):
    X, y = iris
    with pytest.raises(ValueError, match="NaN"):
        small().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().fit(X[:40], y[:40])
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, y + 0.5)
    clf = small().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


# ---- the requires/context mechanism ------------------------------------------------------
class RecordsIndex(ProbabilityLoss):
    """Per-sample-state kind: keeps a visit count per training row."""

    name = "records_index"
    requires = ("index",)

    def from_nll(self, nll):
        return nll

    def per_sample(self, logits, target, index, n_samples, **context):
        if not hasattr(self, "visits_"):
            self.visits_ = torch.zeros(n_samples, dtype=torch.long)
        self.visits_.index_add_(0, index.cpu(), torch.ones_like(index.cpu()))
        return super().per_sample(logits, target)


class ProbesModel(Loss):
    """Adversarial kind: re-evaluates the model on perturbed inputs."""

    name = "probes_model"
    requires = ("model", "inputs")

    def per_sample(self, logits, target, model, inputs, **context):
        self.checked_ = torch.allclose(model(inputs), logits)
        perturbed = model(inputs + 0.01 * torch.randn_like(inputs))
        return torch.nn.functional.cross_entropy(perturbed, target, reduction="none")


class NeedsBothClasses(Loss):
    """Pairwise kind: a batch without a positive or a negative breaks it."""

    name = "needs_both_classes"
    stratified_batches = True
    binary_only = True

    def per_sample(self, logits, target, **context):
        counts = torch.bincount(target, minlength=2)
        assert (counts > 0).all(), "a batch lacks a class"
        score = logits[:, 1] - logits[:, 0]
        positive, negative = score[target == 1], score[target == 0]
        pairwise = torch.nn.functional.softplus(negative[None, :] - positive[:, None])
        values = torch.zeros_like(score)
        values[target == 1] = pairwise.mean(dim=1)
        values[target == 0] = pairwise.mean(dim=0)
        return values


def test_index_context_covers_every_row_once_per_epoch(iris):
    X, y = iris
    clf = small(loss=RecordsIndex(), max_iter=3, batch_size=32).fit(X, y)
    np.testing.assert_array_equal(clf.loss_function_.visits_.numpy(), np.full(150, 3))


def test_model_and_inputs_context(iris):
    X, y = iris
    clf = small(loss=ProbesModel(), max_iter=2).fit(X, y)
    assert clf.loss_function_.checked_


def test_stratified_batches_hold_every_class():
    X, y = make_classification(n_samples=400, weights=[0.97], flip_y=0, random_state=0)
    assert np.bincount(y)[1] < 400 / 32  # fewer positives than batches
    clf = small(loss=NeedsBothClasses(), batch_size=32, max_iter=3).fit(X, y)
    assert clf.n_iter_ == 3
    with pytest.raises(AssertionError, match="lacks a class"):
        # the same loss without the promise does break: the test can fail
        class Unpromised(NeedsBothClasses):
            stratified_batches = False

        small(loss=Unpromised(), batch_size=32, max_iter=3).fit(X, y)


def test_binary_only_loss_refuses_three_classes(iris):
    X, y = iris
    with pytest.raises(ValueError, match="two classes only"):
        small(loss=NeedsBothClasses()).fit(X, y)
    assert small(loss=NeedsBothClasses()).__sklearn_tags__().classifier_tags.multi_class is False


def test_unknown_requirement_is_reported(iris):
    X, y = iris

    class NeedsTheMoon(Loss):
        requires = ("moon",)

    with pytest.raises(ValueError, match="moon"):
        small(loss=NeedsTheMoon()).fit(X, y)


# ---- composition -------------------------------------------------------------------------
def test_clone_pickle_and_grid_search(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), small(loss=GCE(), max_iter=10))
    search = GridSearchCV(pipe, {"robustlossclassifier__loss__q": [0.3, 0.7]}, cv=2).fit(X, y)
    assert search.best_params_["robustlossclassifier__loss__q"] in (0.3, 0.7)
    search = GridSearchCV(small(max_iter=10), {"loss": ["ce", "mae"]}, cv=2).fit(X, y)
    assert search.best_params_["loss"] in ("ce", "mae")
    clf = small().fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert not hasattr(clone(clf), "net_")


def test_skorch_net_is_exposed(iris, tmp_path):
    X, y = iris
    clf = small(max_iter=4).fit(X, y)
    assert len(clf.net_.history) == 4
    assert {"train_loss", "dur"} <= set(clf.net_.history[-1])
    clf.net_.save_params(f_params=tmp_path / "params.pt")
    other = small(max_iter=1, random_state=5).fit(X, y)
    other.net_.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(other.predict_proba(X), clf.predict_proba(X))


# Losses that need supervision beyond y (bags, a teacher's scores) train in the tests
# of their estimators (tests/test_aggregate_responses.py, tests/test_distillation.py).
@pytest.mark.parametrize(
    "name",
    [n for n in list_losses(kind="classification") if not LOSSES[n]().supervision_beyond_y],
)
def test_every_registered_loss_trains_and_gives_probabilities(iris, name):
    X, y = iris
    loss = LOSSES[name]()
    if loss.binary_only:
        X, y = X[y < 2], y[y < 2]
    clf = small(loss=name, max_iter=30)
    if name in ("forward", "backward"):  # without T: plain cross-entropy, with a warning
        with pytest.warns(UserWarning, match="corrects for no noise"):
            clf.fit(X, y)
    else:
        clf.fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(clf.loss_curve_).all()
    # Sum-exp is unbounded and can be slow from a random start; all should learn something.
    assert clf.score(X, y) > 1.5 / len(np.unique(y))


def test_partial_fit_after_fit_and_fit_after_partial_fit(iris):
    X, y = iris
    clf = small(early_stopping=True, max_iter=5).fit(X, y)
    clf.partial_fit(X, y)  # continues the fitted net; no validation data, no stopping rule
    # The validation record no longer covers the training: None, as after any call
    # without validation (MLPClassifier's convention); the loss record does.
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_) and len(clf.loss_curve_) == clf.n_iter_
    streamed = small(warm_start=True, max_iter=3, early_stopping=True)
    streamed.partial_fit(X, y, classes=np.unique(y))
    streamed.fit(X, y)  # warm start from the partially fitted net, with early stopping
    assert streamed.n_iter_ == 4 and len(streamed.validation_scores_) == 3


def test_prediction_runs_in_blocks_that_shrink_with_the_class_count(monkeypatch):
    # predict_proba and predict go through the network a block of rows at a time,
    # with fewer rows when the logits are wide; the result must not depend on it.
    import skloss._training.batches as batches

    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=6, n_classes=5, random_state=0
    )
    clf = RobustLossClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X, y)
    with torch.no_grad():
        logits = clf.net_.module_(torch.as_tensor(X, dtype=torch.float32)).double()
    expected = torch.softmax(logits, dim=1).numpy()
    monkeypatch.setattr(batches, "EVALUATION_BLOCK_BYTES", 8 * 5 * 7)
    assert batches.evaluation_rows(5) == 7  # 43 blocks for 300 rows
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])
