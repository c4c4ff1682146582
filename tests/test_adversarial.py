"""Adversarial losses (``adv_comp_sum``, ``trades``, ``pgd_at``) and ``skloss.robustness``.

Expected values come from outside the code under test:

- the issue's hand-computed values for ``h(x) = [2, 1, 0]``, ``h(x') = [2.5, 0.5, 0]``,
  ``y = 0``, and numpy float64 versions of the three formulas on random logits;
- attacks on models whose worst case is known in closed form: a network
  ``h(x) = b + w |x|`` (every attack ends on the boundary, whatever its start)
  and linear classifiers, whose robust accuracy under L-infinity and L2
  perturbations is ``margin > sum_j eps_j |w_j|`` and ``margin > ||eps * w||_2``;
- ART's ``ProjectedGradientDescent`` (an independent implementation), which must
  find no more errors than :func:`skloss.robustness.pgd_accuracy` on the same model.
"""

import pickle
import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import RobustLossClassifier
from skloss.losses import LOSSES, TRADES, AdvCompSum, PGDAdversarialTraining, get_loss
from skloss.losses.adversarial import (
    eval_mode,
    label_relative_shift,
    projected_gradient_ascent,
)
from skloss.robustness import make_pgd_scorer, pgd_accuracy

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

ADVERSARIAL = ["adv_comp_sum", "trades", "pgd_at"]

# The issue's reference: h(x) = [2, 1, 0], h(x') = [2.5, 0.5, 0], y = 0.
NATURAL = [[2.0, 1.0, 0.0]]
PERTURBED = [[2.5, 0.5, 0.0]]
SHIFT = 1.118034  # ||(0, -1, -0.5)||_2
CE_NATURAL = 0.407606  # log(1 + e^-1 + e^-2)
KL = 0.078872


# ---- independent numpy versions ------------------------------------------------------------


def np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def np_adv_comp_sum(natural, perturbed, y, tau, nu, rho):
    rows = np.arange(len(y))
    p_y = np.exp(np_log_softmax(np.asarray(natural) / rho))[rows, y]
    comp_sum = -np.log(p_y) if tau == 1 else ((1 / p_y) ** (1 - tau) - 1) / (1 - tau)
    delta_natural = natural - natural[rows, y][:, None]
    delta_perturbed = perturbed - perturbed[rows, y][:, None]
    return comp_sum + nu * np.sqrt(((delta_perturbed - delta_natural) ** 2).sum(axis=1))


def np_trades(natural, perturbed, y, beta):
    log_p, log_q = np_log_softmax(natural), np_log_softmax(perturbed)
    ce = -log_p[np.arange(len(y)), y]
    return ce + beta * (np.exp(log_p) * (log_p - log_q)).sum(axis=1)


def np_pgd_at(natural, perturbed, y):
    return -np_log_softmax(perturbed)[np.arange(len(y)), y]


# ---- the loss values -----------------------------------------------------------------------


def test_reference_values_of_the_issue():
    natural, perturbed, y = torch.tensor(NATURAL), torch.tensor(PERTURBED), torch.tensor([0])
    assert label_relative_shift(natural, perturbed, y).item() == pytest.approx(SHIFT, abs=1e-6)
    ce_loss = AdvCompSum(tau=1.0, nu=1.0).from_logits(natural, perturbed, y)
    assert ce_loss.item() == pytest.approx(CE_NATURAL + SHIFT, abs=1e-6)  # 1.525640
    gce_loss = AdvCompSum(tau=1.5, nu=1.0).from_logits(natural, perturbed, y)
    assert gce_loss.item() == pytest.approx(1.486788, abs=1e-6)
    trades = TRADES(beta=6.0).from_logits(natural, perturbed, y)
    assert trades.item() == pytest.approx(CE_NATURAL + 6 * KL, abs=1e-5)  # 0.880837
    assert TRADES(beta=1.0).from_logits(natural, perturbed, y).item() - CE_NATURAL == (
        pytest.approx(KL, abs=1e-6)
    )


@pytest.mark.parametrize(
    "loss, formula",
    [
        (AdvCompSum(tau=1.0, nu=1.0, rho=1.0), lambda z, zp, y: np_adv_comp_sum(z, zp, y, 1, 1, 1)),
        (
            AdvCompSum(tau=1.5, nu=0.3, rho=2.0),
            lambda z, zp, y: np_adv_comp_sum(z, zp, y, 1.5, 0.3, 2),
        ),
        (
            AdvCompSum(tau=0.0, nu=2.0, rho=0.5),
            lambda z, zp, y: np_adv_comp_sum(z, zp, y, 0, 2, 0.5),
        ),
        (TRADES(beta=6.0), lambda z, zp, y: np_trades(z, zp, y, 6.0)),
        (TRADES(beta=0.5), lambda z, zp, y: np_trades(z, zp, y, 0.5)),
        (PGDAdversarialTraining(), np_pgd_at),
    ],
    ids=lambda value: repr(value) if hasattr(value, "get_params") else None,
)
def test_from_logits_matches_numpy(loss, formula):
    generator = torch.Generator().manual_seed(0)
    natural = 2 * torch.randn(50, 4, generator=generator, dtype=torch.float64)
    perturbed = natural + 0.5 * torch.randn(50, 4, generator=generator, dtype=torch.float64)
    y = torch.arange(50) % 4
    got = loss.from_logits(natural, perturbed, y).numpy()
    np.testing.assert_allclose(got, formula(natural.numpy(), perturbed.numpy(), y.numpy()), 1e-10)


class AbsoluteValueNet(torch.nn.Module):
    """``h(x) = b + W |x|`` on one feature: the perturbations ``+e`` and ``-e`` give the
    same scores, so an attack from any start near 0 that moves outwards ends at
    ``h = b + W e`` whichever way it went. It records its mode at every call."""

    def __init__(self, bias, slope, dtype=torch.float32):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=dtype))
        self.slope = torch.nn.Parameter(torch.tensor(slope, dtype=dtype))
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.bias + x.abs() * self.slope


def reference_net(epsilon, towards):
    # At x = 0: h(0) = [2, 1, 0]; at |x| = epsilon: h = towards.
    slope = [(t - b) / epsilon for t, b in zip(towards, [2.0, 1.0, 0.0], strict=True)]
    return AbsoluteValueNet([2.0, 1.0, 0.0], slope)


@pytest.mark.parametrize(
    "loss, towards, expected",
    [
        (AdvCompSum(tau=1.0, epsilon=0.1), [2.5, 0.5, 0.0], 1.525640),
        (AdvCompSum(tau=1.5, epsilon=0.1), [2.5, 0.5, 0.0], 1.486788),
        (TRADES(beta=6.0, epsilon=0.1), [2.5, 0.5, 0.0], 0.880837),
        # PGD training raises the cross-entropy at x': towards a tie with class 1.
        (PGDAdversarialTraining(epsilon=0.1), [1.5, 1.5, 0.0], 0.798916),  # log(2 + e^-1.5)
        (AdvCompSum(tau=1.0, epsilon=0.1, norm="l2"), [2.5, 0.5, 0.0], 1.525640),
        (TRADES(beta=6.0, epsilon=0.1, norm="l2"), [2.5, 0.5, 0.0], 0.880837),
    ],
    ids=repr,
)
def test_training_loss_attacks_to_the_known_worst_case(loss, towards, expected):
    model = reference_net(0.1, towards).train()
    inputs, y = torch.zeros(6, 1), torch.zeros(6, dtype=torch.long)
    logits = model(inputs)
    generator = torch.Generator().manual_seed(0)
    values = loss(logits, y, reduction="none", model=model, inputs=inputs, generator=generator)
    np.testing.assert_allclose(values.detach().numpy(), expected, atol=2e-6)
    perturbed = loss.perturb(model, inputs, y, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(perturbed.abs().numpy(), 0.1, rtol=1e-6)
    # Both directions are reached from the random start (its sign decides).
    assert (perturbed > 0).any() and (perturbed < 0).any()


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_attack_runs_in_eval_mode_and_restores_every_mode(name):
    loss = get_loss(name, steps=3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    recorder = AbsoluteValueNet([0.0, 0.0, 0.0], [1.0, -1.0, 0.5])
    model.append(recorder)  # records the mode of every forward pass
    model.train()
    model[1].eval()  # a user's choice, kept
    inputs = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1])
    logits = model(inputs)
    recorder.modes.clear()
    loss(logits, y, model=model, inputs=inputs, generator=torch.Generator().manual_seed(0))
    # The clean pass and 3 ascent steps in eval mode, then x' scored in training mode.
    assert recorder.modes == [False] * 4 + [True]
    assert [m.training for m in model] == [True, False, True, True]
    model.eval()
    loss(logits, y, model=model, inputs=inputs, generator=torch.Generator().manual_seed(0))
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_no_gradient_on_parameters_inputs_untouched_global_rng_untouched(name):
    loss = get_loss(name)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    inputs = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    before, version = inputs.clone(), inputs._version
    y = torch.arange(16) % 3
    rng = torch.random.get_rng_state()
    with torch.no_grad():
        logits = model(inputs)
    loss.perturb(model, inputs, y, generator=torch.Generator().manual_seed(0))
    loss(logits, y, model=model, inputs=inputs, generator=torch.Generator().manual_seed(0))
    assert all(p.grad is None for p in model.parameters())
    for parameter in model.parameters():  # a gradient already there stays as it was
        parameter.grad = torch.ones_like(parameter)
    loss(logits, y, model=model, inputs=inputs, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in model.parameters())
    assert torch.equal(inputs, before) and inputs._version == version
    assert torch.equal(rng, torch.random.get_rng_state())


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_perturbation_is_drawn_from_the_generator(name):
    # Short steps that do not reach the boundary: the start shows in the result.
    loss = get_loss(name, epsilon=1.0, steps=1, step_size=0.1)
    model = torch.nn.Linear(4, 3)
    inputs, y = torch.randn(8, 4, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 3

    def perturb(seed):
        return loss.perturb(model, inputs, y, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(perturb(0), perturb(0))
    assert not torch.equal(perturb(0), perturb(1))


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_gradient_in_the_logits_matches_finite_differences(name):
    # The clean logits enter TRADES's KL and the comp-sum regulariser undetached:
    # finite differences see every term, so a detached one would fail here.
    loss = get_loss(name, steps=3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    model = model.double()
    inputs = torch.randn(6, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.arange(6) % 3
    logits = model(inputs).detach().requires_grad_(True)

    def value(z):
        generator = torch.Generator().manual_seed(0)  # the same x' for every evaluation
        return loss(z, y, reduction="none", model=model, inputs=inputs, generator=generator)

    assert torch.autograd.gradcheck(value, (logits,), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_zero_epsilon_is_the_clean_loss(name):
    loss = get_loss(name, epsilon=0.0)
    model = torch.nn.Linear(4, 3)
    inputs, y = torch.randn(8, 4, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 3
    assert torch.equal(loss.perturb(model, inputs, y), inputs)
    with torch.no_grad():
        logits = model(inputs)
        got = loss(logits, y, reduction="none", model=model, inputs=inputs, generator=None)
    ce = -np_log_softmax(logits.numpy())[np.arange(8), y.numpy()]
    np.testing.assert_allclose(got.numpy(), ce, rtol=1e-6)  # tau = 1, no shift, no KL


# ---- the attack ----------------------------------------------------------------------------


def linear_model(weights):
    model = torch.nn.Linear(len(weights), 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([weights]))
    return model


def raise_the_score(logits):
    return logits[:, 0]


EPSILON = np.array([0.3, 0.0, 0.1, 0.2])
WEIGHTS = [1.0, -2.0, -0.5, 0.25]


def test_linf_ascent_ends_at_the_corner_of_the_per_feature_box():
    inputs = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    got = projected_gradient_ascent(
        linear_model(WEIGHTS),
        inputs,
        raise_the_score,
        EPSILON,
        generator=torch.Generator().manual_seed(1),
    )
    expected = inputs.numpy() + EPSILON * np.sign(WEIGHTS)  # argmax of w . delta on the box
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("epsilon", [0.5, EPSILON])
def test_l2_ascent_ends_at_the_maximiser_on_the_ellipsoid(epsilon):
    inputs = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    got = projected_gradient_ascent(
        linear_model(WEIGHTS),
        inputs,
        raise_the_score,
        epsilon,
        norm="l2",
        steps=30,
        step_size=0.5,  # the start's sideways offset shrinks by 1.5x a step
        generator=torch.Generator().manual_seed(1),
    )
    # max w . delta subject to sum (delta_j / e_j)^2 <= 1: delta = e^2 w / ||e w||.
    e = np.broadcast_to(epsilon, 4)
    expected = inputs.numpy() + e**2 * np.array(WEIGHTS) / np.linalg.norm(e * np.array(WEIGHTS))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("start", ["normal", "clean", "uniform"])
def test_start_and_every_step_stay_in_the_set(norm, start):
    points = []
    inputs = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    last = projected_gradient_ascent(
        model,
        inputs,
        raise_the_score,
        EPSILON,
        norm=norm,
        steps=4,
        step_size=0.7,
        generator=torch.Generator().manual_seed(1),
        start=start,
        track=lambda x, logits: points.append(x),
    )
    assert len(points) == 4
    active = EPSILON > 0
    for x in points + [last]:
        delta = (x - inputs).numpy()
        assert np.all(delta[:, ~active] == 0)  # frozen columns never move
        scaled = delta[:, active] / EPSILON[active]
        size = np.abs(scaled).max(axis=1) if norm == "linf" else np.linalg.norm(scaled, axis=1)
        assert np.all(size <= 1 + 1e-5)
    if start == "uniform":  # spread over the set, not at its centre
        start_size = np.abs((points[0] - inputs).numpy()[:, active] / EPSILON[active]).max(axis=1)
        assert np.median(start_size) > 0.3


def test_wrong_epsilon_length_is_named_at_the_call():
    loss = AdvCompSum(epsilon=[0.1, 0.2])
    model, inputs = torch.nn.Linear(3, 3), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="epsilon has 2 entries but the network's input has 3"):
        loss(model(inputs), torch.tensor([0, 1]), model=model, inputs=inputs, generator=None)


# ---- through the estimators ----------------------------------------------------------------


def scaled_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_fit_is_reproducible_and_leaves_the_global_rng_alone(name):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = {"loss": name, "hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0}
    rng = torch.random.get_rng_state()
    first = RobustLossClassifier(**params).fit(X, y)
    assert torch.equal(rng, torch.random.get_rng_state())
    second = RobustLossClassifier(**params).fit(X, y)
    assert first.loss_curve_ == second.loss_curve_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = RobustLossClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert other.loss_curve_ != first.loss_curve_
    assert type(first.loss_function_).name == name


def test_fits_in_threads_equal_sequential_fits():
    X, y = scaled_breast_cancer()
    params = {"loss": "trades", "hidden_layer_sizes": (8,), "max_iter": 2}
    sequential = [RobustLossClassifier(**params, random_state=s).fit(X, y) for s in (0, 1)]
    threaded = [None, None]

    def fit(i):
        threaded[i] = RobustLossClassifier(**params, random_state=i).fit(X, y)

    threads = [threading.Thread(target=fit, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for one, other in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(one.predict_proba(X), other.predict_proba(X))


def test_adversarial_training_raises_robust_accuracy():
    X, y = scaled_breast_cancer()
    params = {
        "hidden_layer_sizes": (32,),
        "max_iter": 10,
        "learning_rate_init": 0.01,
        "batch_size": 64,
        "random_state": 0,
    }
    ce = RobustLossClassifier(**params).fit(X, y)
    ce_under_attack = pgd_accuracy(ce, X, y, 0.25, random_state=0)
    for name in ADVERSARIAL:
        loss = get_loss(name, epsilon=0.25, steps=5)
        robust = RobustLossClassifier(loss=loss, **params).fit(X, y)
        under_attack = pgd_accuracy(robust, X, y, 0.25, random_state=0)
        assert under_attack > ce_under_attack + 0.04, (name, under_attack, ce_under_attack)


def test_per_feature_epsilon_of_the_wrong_length_fails_before_any_update():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(loss=AdvCompSum(epsilon=[0.1] * 5), max_iter=2)
    with pytest.raises(ValueError, match="epsilon has 5 entries but the network's input has 30"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_grid_search_over_epsilon_and_nu_by_robust_accuracy():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(
        loss="adv_comp_sum", hidden_layer_sizes=(8,), max_iter=3, random_state=0
    )
    grid = {"loss__epsilon": [0.05, 0.2], "loss__nu": [0.5, 2.0]}
    scorer = make_pgd_scorer(epsilon=0.1, steps=5)
    search = GridSearchCV(clf, grid, cv=2, scoring=scorer).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    fitted = search.best_estimator_.loss_function_
    assert isinstance(fitted, AdvCompSum)
    assert (fitted.epsilon, fitted.nu) == (
        search.best_params_["loss__epsilon"],
        search.best_params_["loss__nu"],
    )
    # The candidates were scored by the attack, not by plain accuracy.
    refit_score = scorer(search.best_estimator_, X, y)
    assert refit_score == pgd_accuracy(search.best_estimator_, X, y, 0.1, steps=5, random_state=0)
    assert refit_score < search.best_estimator_.score(X, y)
    assert pickle.loads(pickle.dumps(scorer)).settings == scorer.settings


def test_losses_are_registered_with_search_spaces():
    optuna = pytest.importorskip("optuna")
    from skloss.tuning import ESTIMATOR_SPACE, search_space, suggest_params

    for name in ADVERSARIAL:
        assert LOSSES[name]().requires == ("model", "inputs", "generator")
    space = search_space(RobustLossClassifier(loss="adv_comp_sum"))
    assert {"loss__tau", "loss__nu", "loss__rho"} <= set(space)
    assert "loss__epsilon" not in space  # the threat is the user's, not a tuning knob
    assert "loss__beta" in search_space(RobustLossClassifier(loss="trades"))
    trial = optuna.trial.FixedTrial({"loss": "trades", "trades__beta": 3.0})
    no_estimator_space = dict.fromkeys(ESTIMATOR_SPACE)
    params = suggest_params(
        trial, RobustLossClassifier(), losses=["trades"], space=no_estimator_space
    )
    assert params == {"loss": "trades", "loss__beta": 3.0}


def test_clone_keeps_a_per_feature_epsilon():
    clf = RobustLossClassifier(loss=TRADES(epsilon=np.array([0.1, 0.0])))
    cloned = clone(clf)
    assert cloned.loss == clf.loss and cloned.loss is not clf.loss
    np.testing.assert_array_equal(cloned.loss.epsilon, [0.1, 0.0])


# ---- pgd_accuracy --------------------------------------------------------------------------


def linear_network(n_features_in, n_outputs):
    return torch.nn.Linear(n_features_in, n_outputs)


def linear_problem(n_outputs=2, loss="ce"):
    X, y = make_classification(400, 5, n_informative=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = RobustLossClassifier(
        loss=loss,
        module=linear_network,  # built under the fit's seed
        learning_rate_init=0.05,
        max_iter=20,
        random_state=0,
    ).fit(X, y)
    weight = clf.net_.module_.weight.detach().double().numpy()
    bias = clf.net_.module_.bias.detach().double().numpy()
    if n_outputs == 2:  # the score of class 1 against class 0
        weight, bias = weight[1] - weight[0], bias[1] - bias[0]
    else:
        weight, bias = weight[0], bias[0]
    X32 = X.astype(np.float32).astype(np.float64)  # what the network sees
    margin = (X32 @ weight + bias) * np.where(y == 1, 1.0, -1.0)
    return clf, X, y, weight, margin


@pytest.mark.parametrize("n_outputs, loss", [(2, "ce"), (1, "mw_auc")])
@pytest.mark.parametrize(
    "epsilon, norm",
    [
        (0.1, "linf"),
        (0.3, "linf"),
        (EPSILON.tolist() + [0.05], "linf"),
        (0.5, "l2"),
        (EPSILON.tolist() + [0.05], "l2"),
    ],
)
def test_robust_accuracy_of_a_linear_classifier_is_exact(n_outputs, loss, epsilon, norm):
    clf, X, y, weight, margin = linear_problem(n_outputs, loss)
    e = np.broadcast_to(np.asarray(epsilon), weight.shape)
    budget = np.sum(e * np.abs(weight)) if norm == "linf" else np.linalg.norm(e * weight)
    assert np.all(np.abs(margin - budget) > 1e-4)  # no row on the edge of float32 rounding
    expected = np.mean(margin > budget)
    assert 0.3 < expected < np.mean(margin > 0)  # the attack must break some rows, not all
    got = pgd_accuracy(clf, X, y, epsilon, norm, random_state=0)
    assert got == expected


def test_zero_epsilon_gives_the_clean_accuracy():
    clf, X, y, _, margin = linear_problem()
    assert pgd_accuracy(clf, X, y, 0.0) == clf.score(X, y) == np.mean(margin > 0)


def test_adversarial_inputs_are_in_the_set_and_fool_the_classifier():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=0).fit(X, y)
    epsilon = np.full(30, 0.2)
    epsilon[:5] = 0.0
    X_before = X.copy()
    accuracy, X_adv = pgd_accuracy(clf, X, y, epsilon, random_state=0, return_adversarial=True)
    np.testing.assert_array_equal(X, X_before)
    assert X_adv.shape == X.shape and X_adv.dtype == np.float32
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(X_adv[:, :5], X32[:, :5])
    assert np.all(np.abs(X_adv - X32) <= epsilon * (1 + 1e-6) + 1e-6)
    assert accuracy == np.mean(clf.predict(X_adv) == y)
    assert accuracy < clf.score(X, y)


def test_more_restarts_find_at_least_the_same_errors():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=0).fit(X, y)
    one = pgd_accuracy(clf, X, y, 0.3, steps=5, random_state=0)
    three = pgd_accuracy(clf, X, y, 0.3, steps=5, restarts=3, random_state=0)
    assert three <= one
    assert pgd_accuracy(clf, X, y, 0.3, steps=5, random_state=0) == one  # seeded


def test_the_default_attack_counts_a_row_robust_only_if_both_objectives_fail():
    # On more than two classes the default runs the cross-entropy and the margin
    # attacks from x; a row is robust exactly when each attack alone leaves it robust.
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    clf = RobustLossClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=0).fit(X, y)

    def robust_rows(objective):
        _, points = pgd_accuracy(clf, X, y, 0.05, objective=objective, return_adversarial=True)
        return clf.predict(points) == y

    ce, margin, both = robust_rows("ce"), robust_rows("margin"), robust_rows("both")
    np.testing.assert_array_equal(both, ce & margin)
    assert pgd_accuracy(clf, X, y, 0.05) == np.mean(ce & margin)
    assert (ce & ~margin).any() or (margin & ~ce).any()  # the two attacks differ here


def test_on_two_classes_the_default_attack_is_the_margin_attack():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    assert pgd_accuracy(clf, X, y, 0.2) == pgd_accuracy(clf, X, y, 0.2, objective="margin")


def test_pipeline_is_attacked_in_the_last_steps_input_space():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), RobustLossClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    ).fit(X, y)
    inner = pgd_accuracy(
        pipe[-1], pipe[0].transform(X), y, 0.2, random_state=3, return_adversarial=True
    )
    outer = pgd_accuracy(pipe, X, y, 0.2, random_state=3, return_adversarial=True)
    assert outer[0] == inner[0] < pipe.score(X, y)
    np.testing.assert_array_equal(outer[1], inner[1])


def test_string_labels_and_the_module_mode_are_kept():
    X, y = scaled_breast_cancer()
    labels = np.array(["benign", "malignant"])[y]
    clf = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, labels)
    clf.net_.module_.train()
    numeric = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    assert pgd_accuracy(clf, X, labels, 0.1, random_state=0) == pgd_accuracy(
        numeric, X, y, 0.1, random_state=0
    )
    assert clf.net_.module_.training


def test_ours_finds_at_least_the_errors_art_finds():
    pytest.importorskip("art")
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = RobustLossClassifier(hidden_layer_sizes=(32,), max_iter=10, random_state=0).fit(X, y)
    art_model = PyTorchClassifier(
        model=clf.net_.module_,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(X.shape[1],),
        nb_classes=10,
        clip_values=None,  # no [0, 1] box: tabular features
        device_type="cpu",
    )
    X32 = X.astype(np.float32)
    state = np.random.get_state()  # noqa: NPY002 - ART uses numpy's global RNG
    try:
        for epsilon in (0.1, 0.25):
            ours = pgd_accuracy(clf, X, y, epsilon, steps=20, random_state=0)
            ours_ce = pgd_accuracy(clf, X, y, epsilon, steps=20, objective="ce", random_state=0)
            for random_init in (0, 1):  # ART's start: x itself, or a uniform draw
                np.random.seed(0)  # noqa: NPY002 - ART's random start
                attack = ProjectedGradientDescent(
                    art_model,
                    norm=np.inf,
                    eps=epsilon,
                    eps_step=2.5 * epsilon / 20,
                    max_iter=20,
                    num_random_init=random_init,
                    batch_size=512,
                    verbose=False,
                )
                X_art = attack.generate(X32, y=y)
                assert np.all(np.abs(X_art - X32) <= epsilon + 1e-6)
                theirs = np.mean(art_model.predict(X_art).argmax(axis=1) == y)
                assert ours <= theirs, (epsilon, random_init, ours, theirs)
                # Their objective (the cross-entropy) run here finds as many too.
                assert ours_ce <= theirs, (epsilon, random_init, ours_ce, theirs)
    finally:
        np.random.set_state(state)  # noqa: NPY002


def test_eval_mode_context_restores_after_an_error():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout())
    with pytest.raises(RuntimeError), eval_mode(model):
        assert not model.training
        raise RuntimeError
    assert model.training and model[1].training


def test_pgd_accuracy_warns_nothing_on_a_plain_call():
    X, y = scaled_breast_cancer()
    clf = RobustLossClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pgd_accuracy(clf, X, y, 0.1, random_state=0)
