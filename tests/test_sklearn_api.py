"""The estimator through scikit-learn's API: nested loss parameters, transform, pickle.

``loss__q`` reaches a loss given by name as it reaches a loss object, in
``set_params`` and in ``GridSearchCV``; ``transform`` returns the last hidden
layer; a fitted estimator pickles after its callbacks ran.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skloss import RobustLossClassifier
from skloss.losses import GCE

# Short fits on purpose: not converging is expected here.
pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def small(**params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 4, "random_state": 0, **params}
    return RobustLossClassifier(**params)


@pytest.mark.parametrize(
    "grid",
    [
        {"loss__q": [0.3, 0.9]},
        {"loss": ["gce"], "loss__q": [0.3, 0.9]},
    ],
)
def test_grid_search_nested_loss_params_with_loss_by_name(grid):
    X, y = load_iris(return_X_y=True)
    clf = small(loss="gce", max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(clf, grid, cv=2).fit(X, y)
    assert [p["loss__q"] for p in search.cv_results_["params"]] == [0.3, 0.9]
    assert search.best_estimator_.loss_function_ == GCE(q=search.best_params_["loss__q"])
    assert clf.loss == "gce"  # the user's estimator is left as it was


def test_set_params_on_loss_by_name_matches_loss_object():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_name = small(loss="gce").set_params(loss__q=0.4).fit(X, y)
        by_object = small(loss=GCE(q=0.4)).fit(X, y)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_object.predict_proba(X))


def test_transform_is_the_last_hidden_layer(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small().fit(X, y)
    hidden = clf.transform(X)
    layer = clf.net_.module_.features[0]
    expected = np.maximum(
        X @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy(), 0
    )
    np.testing.assert_allclose(hidden, expected, rtol=1e-5, atol=1e-6)
    head = clf.net_.module_.head
    logits = hidden @ head.weight.detach().double().numpy().T + head.bias.detach().double().numpy()
    np.testing.assert_allclose(logits, clf.decision_function(X), rtol=1e-4, atol=1e-5)


def test_fitted_estimator_pickles_after_callbacks(digits, tmp_path):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small(verbose=False).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
