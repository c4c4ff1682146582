"""skorch's stock callbacks through the skloss estimators, as on a plain skorch net.

Each callback is checked for what it is for (a score that equals sklearn's on the
same predictions, a checkpoint that restores the same weights, a schedule that
sets the learning rates it should), not only for running.
"""

import copy
import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import (
    BatchScoring,
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    Freezer,
    GradientNormClipping,
    LoadInitState,
    LRScheduler,
    ParamMapper,
    PrintLog,
    ProgressBar,
    TrainEndCheckpoint,
)

from skloss import AnyLossClassifier, RobustLossClassifier

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0), y[:600]


def small(**params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0, **params}
    return RobustLossClassifier(**params)


def fit_quietly(clf, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_history_rows_carry_what_skorch_records(digits):
    X, y = digits
    clf = fit_quietly(small(early_stopping=True), X, y)
    row = clf.net_.history[-1]
    for key in (
        "epoch",
        "dur",
        "train_loss",
        "train_loss_best",
        "valid_loss",
        "valid_loss_best",
        "train_batch_count",
        "valid_batch_count",
    ):
        assert key in row, key
    n_train = len(y) - int(np.ceil(0.1 * len(y)))
    batches = [b for b in row["batches"] if "train_loss" in b]
    assert sum(b["train_batch_size"] for b in batches) == n_train
    assert len(batches) == row["train_batch_count"] == int(np.ceil(n_train / 200))
    # the epoch's train_loss is the size-weighted mean of its batch losses (skorch's rule)
    sizes = np.array([b["train_batch_size"] for b in batches])
    losses = np.array([b["train_loss"] for b in batches])
    assert row["train_loss"] == pytest.approx(float(losses @ sizes / sizes.sum()), rel=1e-6)
    flags = clf.net_.history[:, "train_loss_best"]
    curve = clf.net_.history[:, "train_loss"]
    expected = [bool(v < min(curve[:i], default=np.inf)) for i, v in enumerate(curve)]
    assert flags == expected


@pytest.mark.parametrize("on_train", [True, False])
def test_epoch_scoring_equals_sklearn_accuracy(digits, on_train):
    X, y = digits
    scoring = EpochScoring("accuracy", on_train=on_train, lower_is_better=False, name="acc")
    clf = fit_quietly(small(callbacks=[scoring], early_stopping=not on_train, max_iter=2), X, y)
    assert "acc" in clf.net_.history[-1] and "acc_best" in clf.net_.history[-1]
    if not on_train:
        # the validation pass scores the final weights: recompute on the held-out rows
        assert clf.net_.history[-1, "acc"] == pytest.approx(clf.net_.history[-1, "valid_acc"])
    else:
        # on_train scores the predictions made during the epoch, batch by batch
        assert 0.0 < clf.net_.history[-1, "acc"] <= 1.0


def test_epoch_scoring_without_caching_scores_the_final_weights(digits):
    X, y = digits
    scoring = EpochScoring("accuracy", on_train=True, use_caching=False, name="acc")
    clf = fit_quietly(small(callbacks=[scoring], max_iter=2), X, y)
    expected = accuracy_score(y, clf.predict(X))
    assert clf.net_.history[-1, "acc"] == pytest.approx(expected)


@pytest.mark.parametrize("on_train", [True, False])
def test_batch_scoring_records_per_batch_and_averages(digits, on_train):
    X, y = digits
    scoring = BatchScoring("accuracy", on_train=on_train, name="batch_acc")
    clf = fit_quietly(small(callbacks=[scoring], early_stopping=not on_train, max_iter=2), X, y)
    row = clf.net_.history[-1]
    prefix = "train" if on_train else "valid"
    batches = [b for b in row["batches"] if "batch_acc" in b]
    assert batches and all(f"{prefix}_batch_size" in b for b in batches)
    sizes = np.array([b[f"{prefix}_batch_size"] for b in batches])
    scores = np.array([b["batch_acc"] for b in batches])
    assert row["batch_acc"] == pytest.approx(float(scores @ sizes / sizes.sum()))


@pytest.mark.parametrize("monitor", [None, "train_loss_best"])
def test_checkpoint_and_load_init_state_restore_weights(digits, tmp_path, monitor):
    X, y = digits
    checkpoint = Checkpoint(monitor=monitor, dirname=str(tmp_path))
    clf = fit_quietly(small(callbacks=[checkpoint]), X, y)
    assert os.path.exists(tmp_path / "params.pt")
    assert any(clf.net_.history[:, "event_cp"])
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    if monitor is None:  # the last epoch is always saved
        for name, tensor in clf.net_.module_.state_dict().items():
            torch.testing.assert_close(saved[name], tensor)
    # A new fit that loads the checkpoint starts from its weights.
    loaded = {}

    class Spy(Callback):
        def on_train_begin(self, net, **kwargs):
            loaded.update(copy.deepcopy(net.module_.state_dict()))

    restart = small(
        max_iter=1,
        callbacks=[LoadInitState(Checkpoint(monitor=monitor, dirname=str(tmp_path))), Spy()],
    )
    fit_quietly(restart, X, y)
    for name, tensor in saved.items():
        torch.testing.assert_close(loaded[name], tensor)


def test_train_end_checkpoint_writes_final_weights(digits, tmp_path):
    X, y = digits
    clf = fit_quietly(small(callbacks=[TrainEndCheckpoint(dirname=str(tmp_path))]), X, y)
    saved = torch.load(tmp_path / "train_end_params.pt", weights_only=True)
    for name, tensor in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(saved[name], tensor)


@pytest.mark.parametrize("step_every", ["batch", "epoch"])
def test_lr_scheduler_policies(digits, step_every):
    X, y = digits
    scheduler = LRScheduler("StepLR", step_size=1, gamma=0.5, step_every=step_every)
    clf = fit_quietly(small(callbacks=[scheduler], max_iter=3), X, y)
    n_batches = clf.net_.history[-1, "train_batch_count"]
    steps = 3 * n_batches if step_every == "batch" else 3
    expected = 1e-3 * 0.5**steps
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(expected)


def test_lr_scheduler_resumes_on_a_warm_start_with_the_new_rate(digits):
    # A warm-start fit starts a new optimiser at the current learning_rate_init, and
    # skorch's scheduler resumes at the epoch count from that rate: a torch scheduler
    # built with last_epoch >= 0 takes one step at once, then one per epoch, so after
    # 2 epochs the rate is 0.01 * 0.5**3 (it was 1e-3 * 0.5**3 after the first fit).
    X, y = digits
    scheduler = LRScheduler("StepLR", step_size=1, gamma=0.5)
    clf = fit_quietly(small(callbacks=[scheduler], max_iter=3, warm_start=True), X, y)
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**3)
    fit_quietly(clf.set_params(learning_rate_init=0.01, max_iter=2), X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert clf.n_iter_ == 5 and group["initial_lr"] == 0.01
    assert group["lr"] == pytest.approx(0.01 * 0.5**3)


def test_ensloss_cosine_schedule_survives_a_warm_start():
    from sklearn.datasets import load_breast_cancer

    from skloss import EnsLossClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    clf = EnsLossClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True, random_state=0)
    fit_quietly(clf, X, y)
    fit_quietly(clf, X, y)
    assert clf.n_iter_ == 4 and clf.score(X, y) > 0.8


def test_skorch_early_stopping_is_a_stop_not_an_interrupt(digits):
    X, y = digits
    stopper = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0, threshold_mode="abs")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TrainingInterruptedWarning
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small(callbacks=[stopper], max_iter=20).fit(X, y)
    assert clf.n_iter_ == 2 == len(clf.loss_curve_)


def test_progress_bar_and_print_log(digits, capsys):
    X, y = digits
    fit_quietly(small(callbacks=[ProgressBar(), PrintLog()], verbose=True, max_iter=2), X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out  # PrintLog's table
    assert "epoch" in out.out


def test_gradient_norm_clipping_bounds_the_step(digits):
    X, y = digits
    seen = []

    class GradNorm(Callback):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            pass

        def on_batch_end(self, net, training, **kwargs):
            if training:
                grads = [p.grad for p in net.module_.parameters() if p.grad is not None]
                seen.append(
                    float(
                        torch.linalg.vector_norm(
                            torch.stack([torch.linalg.vector_norm(g) for g in grads])
                        )
                    )
                )

    fit_quietly(
        small(callbacks=[GradientNormClipping(gradient_clip_value=1e-3), GradNorm()], max_iter=1),
        X,
        y,
    )
    assert seen and max(seen) <= 1e-3 * (1 + 1e-4)


def test_freezer_and_param_mapper_freeze_weights(digits):
    X, y = digits
    first = small(max_iter=1)
    fit_quietly(first, X, y)
    clf = small(callbacks=[Freezer("features.0.*")], warm_start=True, max_iter=1)
    fit_quietly(clf, X, y)
    before = clf.net_.module_.features[0].weight.detach().clone()
    head_before = clf.net_.module_.head.weight.detach().clone()
    fit_quietly(clf, X, y)  # warm: the frozen layer must not move
    torch.testing.assert_close(clf.net_.module_.features[0].weight, before)
    assert not torch.equal(clf.net_.module_.head.weight, head_before)
    mapper = ParamMapper("head.*", fn=lambda p: p.requires_grad_(False), at=1)
    clf = fit_quietly(small(callbacks=[mapper], max_iter=2), X, y)
    assert not clf.net_.module_.head.weight.requires_grad


def test_callbacks_survive_clone_and_grid_search(digits):
    X, y = digits
    scoring = EpochScoring("accuracy", on_train=True, name="acc")
    clf = small(callbacks=[scoring], max_iter=2)
    cloned = clone(clf)
    assert cloned.callbacks[0] is not scoring
    fit_quietly(cloned, X, y)
    assert "acc" in cloned.net_.history[-1]
    assert not hasattr(scoring, "y_preds_")  # the user's callback was not used for training
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(clf, {"learning_rate_init": [1e-3, 1e-2]}, cv=2).fit(X, y)
    assert "acc" in search.best_estimator_.net_.history[-1]


def test_callbacks_work_on_every_estimator(digits):
    X, y = digits
    binary = (y == 3).astype(int)
    clf = AnyLossClassifier(
        hidden_layer_sizes=(16,),
        max_iter=2,
        random_state=0,
        callbacks=[EpochScoring("f1", on_train=True, name="f1")],
    )
    fit_quietly(clf, X, binary)
    assert 0.0 <= clf.net_.history[-1, "f1"] <= 1.0


def test_net_partial_fit_on_arrays_takes_encoded_labels(digits):
    X, y = digits
    clf = fit_quietly(small(max_iter=1), X, y)
    n_before = len(clf.net_.history)
    clf.net_.partial_fit(X.astype(np.float32), np.searchsorted(clf.classes_, y))
    assert len(clf.net_.history) == n_before + clf.net_.max_epochs
    with pytest.raises(ValueError, match="encoded labels"):
        clf.net_.partial_fit(X, y + 100)
    predicted = clf.net_.predict(X.astype(np.float32))
    np.testing.assert_array_equal(clf.classes_[predicted], clf.predict(X))
