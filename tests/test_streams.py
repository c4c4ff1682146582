"""A stream of calls trains as documented: each call's own batches decide what depends on them.

``partial_fit`` chunks and warm starts may differ in size: the weight penalty
``alpha / (2 * batch_size)`` and the fused-head choice follow each call's batch
size, and the fitted attributes describe one training across calls.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback

from skloss import RobustLossClassifier

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


class GradientProbe(Callback):
    """Keeps the first training batch's gradients and the weights they were taken at."""

    def on_grad_computed(self, net, named_parameters, batch=None, training=False, **kwargs):
        if hasattr(self, "grads_"):
            return
        self.grads_ = {name: p.grad.detach().clone() for name, p in named_parameters}
        self.weights_ = {name: p.detach().clone() for name, p in named_parameters}
        self.batch_ = batch

    def on_train_begin(self, net, **kwargs):
        self.__dict__.pop("grads_", None)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_penalty_of_a_later_chunk_follows_its_own_batch_size(optimizer):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    alpha = 0.5
    clf = RobustLossClassifier(
        hidden_layer_sizes=(16,),
        alpha=alpha,
        optimizer=optimizer,
        random_state=0,
        callbacks=[("probe", GradientProbe())],
    )
    clf.partial_fit(X[:20], y[:20], classes=np.arange(10))  # batches of 20
    clf.partial_fit(X[20:1020], y[20:1020])  # batches of 200 ("auto")
    probe = dict(clf.net_.callbacks_)["probe"]
    # The loss gradient alone, computed independently from the same weights and rows.
    module = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    module[0].weight.data, module[0].bias.data = (
        probe.weights_["features.0.weight"],
        probe.weights_["features.0.bias"],
    )
    module[2].weight.data, module[2].bias.data = (
        probe.weights_["head.weight"],
        probe.weights_["head.bias"],
    )
    inputs, labels = probe.batch_
    assert inputs.shape[0] == 200
    torch.nn.functional.cross_entropy(module(inputs), labels).backward()
    # Penalty alpha / (2 * 200) * ||W||^2: its gradient is alpha / 200 * W on weight
    # matrices, nothing on biases.
    for name, loss_grad in (
        ("features.0.weight", module[0].weight.grad),
        ("head.weight", module[2].weight.grad),
    ):
        expected = loss_grad + alpha / 200 * probe.weights_[name]
        torch.testing.assert_close(probe.grads_[name], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(probe.grads_["head.bias"], module[2].bias.grad)


def test_a_user_optimizer_gets_the_penalty_of_each_chunk():
    X, y = load_digits(return_X_y=True)
    clf = RobustLossClassifier(hidden_layer_sizes=(16,), alpha=0.5, optimizer=torch.optim.Adam)
    clf.partial_fit(X[:20] / 16, y[:20], classes=np.arange(10))
    clf.partial_fit(X[20:1020] / 16, y[20:1020])
    weights, biases = clf.net_.optimizer_.param_groups
    assert weights["weight_decay"] == pytest.approx(0.5 / 200)  # torch adds decay * W
    assert biases["weight_decay"] == 0.0


@pytest.mark.filterwarnings("ignore:The number of unique classes")
def test_fused_head_choice_follows_each_chunk():
    rng = np.random.default_rng(0)
    n_classes = 21_000  # 200 rows x 21,000 float32 logits = 16.8 MB > the 16 MiB budget
    X = rng.normal(size=(2000, 4))
    y = rng.integers(0, n_classes, size=2000)
    clf = RobustLossClassifier(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X[:20], y[:20], classes=np.arange(n_classes))
    assert clf.net_.criterion_.fused_backend is None  # 20 x 21,000 logits fit
    clf.partial_fit(X, y)
    assert clf.net_.criterion_.fused_backend is not None


def test_validation_scores_span_warm_starts_like_the_loss_curve():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = RobustLossClassifier(
        hidden_layer_sizes=(16,),
        max_iter=4,
        early_stopping=True,
        n_iter_no_change=100,
        warm_start=True,
        random_state=0,
    )
    clf.fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 8 == len(clf.loss_curve_) == len(clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # The weights kept are those of the best epoch of the whole training: its score
    # is the validation accuracy of the model now.
    history = clf.net_.history
    assert [row["valid_acc"] for row in history] == clf.validation_scores_
    # The validation rows: a stratified 10% drawn with the fit's seed (random_state=0).
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    _, valid_rows = train_test_split(
        np.arange(len(y)), test_size=0.1, random_state=seed, stratify=y
    )
    accuracy = np.mean(clf.predict(X[valid_rows]) == y[valid_rows])
    assert accuracy == pytest.approx(clf.best_validation_score_)
