"""scikit-learn compatible PyTorch classifiers, trained through skorch, with pluggable losses."""

import importlib.metadata as _metadata

from skloss import fused, losses, noise
from skloss.analytic import AnalyticIncrementalClassifier
from skloss.anyloss import AnyLossClassifier
from skloss.ensloss import EnsLossClassifier
from skloss.robust import RobustLossClassifier

try:
    __version__ = _metadata.version("skloss")
except _metadata.PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.1.0"

__all__ = [
    "AnalyticIncrementalClassifier",
    "AnyLossClassifier",
    "EnsLossClassifier",
    "RobustLossClassifier",
    "fused",
    "losses",
    "noise",
]
