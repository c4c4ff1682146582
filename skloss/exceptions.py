"""Warnings and errors that skloss raises, in one place (as ``sklearn.exceptions``)."""

__all__ = ["NoGradientWarning", "TrainingInterruptedWarning"]


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
