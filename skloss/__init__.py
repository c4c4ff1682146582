"""PyTorch estimators for scikit-learn, trained through skorch, with pluggable losses."""

from skloss import fused, losses, noise, robustness
from skloss._version import __version__
from skloss.analytic import AnalyticIncrementalClassifier
from skloss.anyloss import AnyLossClassifier
from skloss.distillation import DistillationClassifier
from skloss.ensloss import EnsLossClassifier
from skloss.regressor import RobustLossRegressor
from skloss.robust import RobustLossClassifier

__all__ = [
    "AnalyticIncrementalClassifier",
    "AnyLossClassifier",
    "DistillationClassifier",
    "EnsLossClassifier",
    "RobustLossClassifier",
    "RobustLossRegressor",
    "fused",
    "losses",
    "noise",
    "robustness",
]
