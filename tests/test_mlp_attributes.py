"""Drop-in for MLPClassifier after fitting: its fitted attributes, with its meanings."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier

from skloss import AnyLossClassifier, EnsLossClassifier, RobustLossClassifier
from skloss.losses import Loss

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def public_fitted_attributes(estimator):
    names = {n for n in dir(estimator) if n.endswith("_") and not n.startswith("_")}
    return {n for n in names if _has(estimator, n)}


def _has(estimator, name):
    try:
        getattr(estimator, name)
    except AttributeError:
        return False
    return True


@pytest.mark.parametrize("early_stopping", [False, True])
def test_every_mlpclassifier_attribute_exists_with_its_type(iris, early_stopping):
    X, y = iris
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    params = {"hidden_layer_sizes": (7, 5), "max_iter": 15, "early_stopping": early_stopping}
    reference = MLPClassifier(random_state=0, **params).fit(frame, y)
    ours = RobustLossClassifier(random_state=0, **params).fit(frame, y)
    missing = public_fitted_attributes(reference) - public_fitted_attributes(ours)
    assert not missing
    assert isinstance(ours.loss_, float) and ours.loss_ == ours.loss_curve_[-1]
    assert ours.t_ == ours.n_iter_ * (len(y) - (15 if early_stopping else 0))
    assert ours.n_layers_ == reference.n_layers_ == 4
    assert ours.n_outputs_ == reference.n_outputs_ == 3
    assert ours.out_activation_ == reference.out_activation_ == "softmax"
    assert [c.shape for c in ours.coefs_] == [c.shape for c in reference.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in reference.intercepts_]
    if early_stopping:
        assert ours.best_loss_ is None is reference.best_loss_
        assert len(ours.validation_scores_) == ours.n_iter_
        assert ours.best_validation_score_ == max(ours.validation_scores_)
    else:
        assert ours.validation_scores_ is None is reference.validation_scores_
        assert ours.best_validation_score_ is None is reference.best_validation_score_
        assert ours.best_loss_ == min(ours.loss_curve_)


def test_coefs_and_intercepts_are_the_network(iris):
    X, y = iris
    clf = RobustLossClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    # MLPClassifier's forward pass, in numpy, from the fitted attributes alone.
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    proba = softmax(hidden @ clf.coefs_[1] + clf.intercepts_[1], axis=1)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    # Views of the weights, as in MLPClassifier: writing into them changes the model.
    clf.coefs_[1][:] = 0.0
    clf.intercepts_[1][:] = [0.0, 0.0, 1.0]
    assert (clf.predict(X) == 2).all()


def test_binary_one_logit_losses_report_a_logistic_output():
    X, y = load_iris(return_X_y=True)
    X, y = X[y < 2], y[y < 2]
    for clf in (
        AnyLossClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
        EnsLossClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
        RobustLossClassifier(loss="mw_auc", hidden_layer_sizes=(4,), max_iter=2),
    ):
        clf.fit(X, y)
        assert (clf.n_outputs_, clf.out_activation_) == (1, "logistic")
        assert clf.coefs_[-1].shape == (4, 1)


def test_unfitted_estimator_has_no_fitted_attributes():
    clf = RobustLossClassifier()
    assert not any(_has(clf, name) for name in ("coefs_", "intercepts_", "n_layers_"))
    assert not _has(clf, "n_outputs_") and not _has(clf, "out_activation_")


def test_a_module_without_linear_layers_says_where_its_weights_are(iris):
    import torch

    class Bilinear(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(n_features_in, n_outputs))

        def forward(self, x):
            return x @ self.scale

    X, y = iris
    clf = RobustLossClassifier(module=Bilinear, max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(AttributeError, match="net_.module_"):
        clf.coefs_  # noqa: B018
    assert clf.n_outputs_ == 3


def test_loss_function_is_the_fitted_loss_object(iris):
    X, y = iris
    clf = RobustLossClassifier(loss="aldr_kl", max_iter=2, random_state=0).fit(X, y)
    assert isinstance(clf.loss_function_, Loss) and clf.loss_function_.lam_.shape == (150,)
    assert clf.net_.criterion_.loss is clf.loss_function_
