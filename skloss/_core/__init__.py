"""What every trained skloss estimator shares: validation, weights, seeding, the net, the epochs."""

from skloss._core.estimator import BaseLossEstimator
from skloss._core.fit_mode import FitMode, FitPlan, Targets

__all__ = ["BaseLossEstimator", "FitMode", "FitPlan", "Targets"]
