"""Behaviour pinned across refactors: fixed-seed fits give these exact weights and predictions.

The digests were computed on main at 43a7a5b (before the estimator core was split
by kind of target) with ``python tests/test_behaviour_digests.py``: a SHA-256 over
every tensor of the trained network (or the analytic head), ``loss_curve_``,
``n_iter_``, ``predict_proba`` and ``predict``. A change that alters what any of
these fits computes changes its digest; such a change must say so and regenerate
them. The three ``robust_ce`` digests and ``robust_gce_weighted`` were regenerated
when the gradients of cross-entropy and the comp-sum family became closed-form in the
lean training step (``Loss.batch_loss_and_gradient``: ``from_nll'(nll)`` times softmax
minus one-hot): the same fits up to float rounding (``predict_proba`` within 3e-8 of
autograd's, the same ``predict`` and ``n_iter_``, ``loss_curve_`` within 5e-8 relative).

Bit-identical float32 training depends on the BLAS kernels of the CPU: the digests
hold for the torch build and CPU capability they were computed on
(``RECORDED_ON``); elsewhere the test is skipped with that reason, and the in-process
reproducibility tests (tests/test_reproducibility.py) still run.
"""

import hashlib
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler

RECORDED_ON = ("2.13.0+cpu", "AVX2")

DIGESTS = {
    "robust_ce": "7bf732957b574ece983644da56a0e811ee780093f3100444b76d119d0dc3c2e5",
    "robust_ce_early_stopping": "f4af84868cb20f5d4ac4dae48425fe2cc3bf718debab71a990aa8986d59da849",
    "robust_ce_partial_fit": "fd09db9882d3f49247626c371bebd24e2e439489f4034c90d8f8e7ee4cbaa6fa",
    "robust_gce_weighted": "8a0a9690d8cab43178175d8475edded870aeaa8d63197d3a1c347bec34a21f08",
    "robust_aldr_kl_warm_start": "6bcd19978ce45eabe4d07b1862c91f479f36847fdc65c0add300c5d5abd6ba67",
    "robust_mw_auc_binary": "da23a2f7963bf7df6c4541105b3fa3ccc3d7b2c1e442168c44a8a667c9bab4bc",
    "anyloss_f1": "81009083c0a5548a204a8ac7f1532ae0c604538fdb03cced156218bf49a5ffea",
    "anyloss_gmean_multiclass": "4f3d0766cf9f285c863409638f4340dd0735e315df327c74c3b25abb228d5613",
    "anyloss_mcc_early_stopping": "3901012c2490b4329af84f5d8a969a747354df122b1115a89b09a75c834801cd",  # noqa: E501
    "ensloss_default": "30ef0cd2c5ded81fe507a70d6419b2ff101303a8c23ea2d282f448be573300d8",
    "ensloss_boxcox_resample": "1eccb90294c9a29489b045d2a8b8a15d8e28782dc6c134ed8aee783c7ead3b88",
    "ensloss_adam_constant": "4599c2c544e6697323604621482f2ad2b86cb21e60704811bb6cd58c3e697b32",
    "analytic_fit": "dfc95cd6bc9d5e7f4660de0c0a289feb1d725602f661c5e212f9bd2fb6614b88",
    "analytic_stream": "961950d067d3f30d350023e491b4820507fa50d10b55431609ae1a12a1575197",
    "analytic_scaled_weighted": "13a09686f9b9056c01efc36124e49c6c256abf5a9ebad8dd8e7d50cb08ba79f3",
}


def _data():
    X, y = load_digits(return_X_y=True)
    X = (X[:360] / 16.0).astype(np.float64)
    y = y[:360]
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = StandardScaler().fit_transform(Xb)[:300]
    yb = yb[:300]
    return X, y, Xb, yb


def _digest(est, X):
    h = hashlib.sha256()
    if hasattr(est, "net_"):
        for key, tensor in est.net_.module_.state_dict().items():
            h.update(key.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        h.update(repr([float(v) for v in est.loss_curve_]).encode())
        h.update(repr(int(est.n_iter_)).encode())
    else:
        h.update(est.weight_.cpu().numpy().tobytes())
    h.update(np.ascontiguousarray(est.predict_proba(X)).tobytes())
    h.update(np.asarray(est.predict(X)).astype(str).tobytes())
    return h.hexdigest()


def cases():
    """Name -> a function returning a fitted estimator and the rows to predict."""
    from skloss import (
        AnalyticIncrementalClassifier,
        AnyLossClassifier,
        EnsLossClassifier,
        RobustLossClassifier,
    )

    X, y, Xb, yb = _data()
    small = {"hidden_layer_sizes": (16,), "max_iter": 6, "random_state": 0}
    w = np.linspace(0.5, 2.0, len(y))

    def robust_ce():
        return RobustLossClassifier(**small).fit(X, y), X

    def robust_ce_early_stopping():
        return RobustLossClassifier(early_stopping=True, **small).fit(X, y), X

    def robust_ce_partial_fit():
        est = RobustLossClassifier(**small)
        est.partial_fit(X[:180], y[:180], classes=np.arange(10))
        est.partial_fit(X[180:], y[180:])
        return est, X

    def robust_gce_weighted():
        est = RobustLossClassifier(loss="gce", class_weight="balanced", **small)
        return est.fit(X, y, sample_weight=w), X

    def robust_aldr_kl_warm_start():
        est = RobustLossClassifier(loss="aldr_kl", warm_start=True, **small)
        est.fit(X, y)
        est.fit(X, y)
        return est, X

    def robust_mw_auc_binary():
        return RobustLossClassifier(loss="mw_auc", **small).fit(Xb, yb), Xb

    def anyloss_f1():
        return AnyLossClassifier(**small).fit(Xb, yb), Xb

    def anyloss_gmean_multiclass():
        return AnyLossClassifier(metric="gmean", **small).fit(X, y), X

    def anyloss_mcc_early_stopping():
        return AnyLossClassifier(metric="mcc", early_stopping=True, **small).fit(Xb, yb), Xb

    def ensloss_default():
        return EnsLossClassifier(**small).fit(Xb, yb), Xb

    def ensloss_boxcox_resample():
        est = EnsLossClassifier(boxcox_lambda=0.5, lambda_resample_every=2, **small)
        return est.fit(Xb, yb), Xb

    def ensloss_adam_constant():
        est = EnsLossClassifier(optimizer="adam", lr_schedule="constant", batch_norm=False, **small)
        return est.fit(Xb, yb, sample_weight=np.linspace(0.5, 2.0, len(yb))), Xb

    def analytic_fit():
        return AnalyticIncrementalClassifier(buffer_size=64, random_state=0).fit(X, y), X

    def analytic_stream():
        est = AnalyticIncrementalClassifier(
            buffer_size=64, random_state=0, activation="tanh", init="normal"
        )
        for digit in range(10):
            est.partial_fit(X[y == digit], y[y == digit])
        return est, X

    def analytic_scaled_weighted():
        est = AnalyticIncrementalClassifier(StandardScaler().fit(X), buffer_size=64, random_state=0)
        return est.fit(X, y, sample_weight=w), X

    functions = [
        robust_ce,
        robust_ce_early_stopping,
        robust_ce_partial_fit,
        robust_gce_weighted,
        robust_aldr_kl_warm_start,
        robust_mw_auc_binary,
        anyloss_f1,
        anyloss_gmean_multiclass,
        anyloss_mcc_early_stopping,
        ensloss_default,
        ensloss_boxcox_resample,
        ensloss_adam_constant,
        analytic_fit,
        analytic_stream,
        analytic_scaled_weighted,
    ]
    return {f.__name__: f for f in functions}


def compute(name):
    """The digest of case ``name``, trained on one thread (BLAS blocking depends on it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator, X = cases()[name]()
            return _digest(estimator, X)
    finally:
        torch.set_num_threads(threads)


def _platform():
    return (torch.__version__, torch.backends.cpu.get_cpu_capability())


def test_every_case_has_a_digest():
    assert set(cases()) == set(DIGESTS)


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_fixed_seed_fit_is_unchanged(name):
    if _platform() != RECORDED_ON:
        pytest.skip(f"digests recorded on torch/CPU {RECORDED_ON}, this is {_platform()}")
    assert compute(name) == DIGESTS[name]


if __name__ == "__main__":
    print("platform:", _platform())
    for case in cases():
        print(f'    "{case}": "{compute(case)}",')
