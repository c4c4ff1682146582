"""Warnings and errors that skloss raises, in one place (as ``sklearn.exceptions``)."""

__all__ = [
    "NoGradientWarning",
    "NoiseEstimateWarning",
    "PrecisionWarning",
    "TrainingInterruptedWarning",
]


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C, ``KeyboardInterrupt``) and ended early.

    The estimator is left fitted as of the last completed epoch: its weights,
    ``n_iter_`` and ``loss_curve_`` all describe that epoch. Code that runs
    several fits (``skloss compare``) catches this warning to stop and report
    what it completed.
    """


class NoGradientWarning(UserWarning):
    """The loss gives no gradient at the start of this fit: the model will not train.

    Raised before training from scratch by a loss whose hyperparameters truncate
    every sample at a uniform start (the stateless truncated GCE with
    ``k > 1/K``); the message names the parameter to change. Fine-tuning a
    fitted model (``warm_start``) does not warn.
    """


class PrecisionWarning(UserWarning):
    """A reduced ``precision`` was asked for where the hardware has no fast path for it.

    ``precision="bf16-mixed"`` on a CPU without native bfloat16 arithmetic
    (``avx512_bf16`` or AMX), or a GPU without bfloat16 support: bfloat16 would
    be emulated, many times slower than float32, so the estimator trains (or
    predicts) in float32 instead and says so once per process and device type.
    """


class NoiseEstimateWarning(UserWarning):
    """An estimated transition matrix is too ill-conditioned to correct a score with.

    :func:`skloss.noise.clean_accuracy_scorer` (and ``skloss compare/tune
    --selection-score clean_accuracy``) estimate ``T`` on each training fold;
    where that estimate is near-singular (condition number above
    :data:`skloss.losses.correction.MAX_CONDITION`, as when the confident joint
    overstates pair-flip noise near 50%), inverting it would amplify sampling
    error beyond use. That fold is then scored by plain accuracy on its noisy
    labels (the estimate under ``T = I``), for every candidate alike, and this
    warning says which fold.
    """
