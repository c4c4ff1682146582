"""Warnings and errors that skloss raises, in one place (as ``sklearn.exceptions``)."""

__all__ = ["TrainingInterruptedWarning"]


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C, ``KeyboardInterrupt``) and ended early.

    The estimator is left fitted as of the last completed epoch: its weights,
    ``n_iter_`` and ``loss_curve_`` all describe that epoch. Code that runs
    several fits (``skloss compare``) catches this warning to stop and report
    what it completed.
    """
