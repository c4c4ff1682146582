"""How a call to ``fit`` or ``partial_fit`` starts, and what it prepared before training.

Three ways to start, decided once per call by :meth:`FitMode.of`:

- ``FRESH``: a new network (and a new encoding of the targets), from scratch;
- ``WARM``: ``fit`` with ``warm_start`` on a fitted estimator: the same network,
  a new optimiser from the current parameters, ``max_iter`` epochs and the
  stopping rule, as ``MLPClassifier`` continues;
- ``CONTINUE``: ``partial_fit`` on a fitted estimator: the same network and
  optimiser, one epoch.

Whether the call is ``partial_fit`` (one epoch, no stopping rule, no validation
split, the stream's seed) is the other half of what a call is: ``incremental``.
"""

from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

__all__ = ["FitMode", "FitPlan", "Targets"]


class FitMode(Enum):
    """How one call starts: from scratch, warm, or continuing a stream."""

    FRESH = "fresh"
    WARM = "warm"
    CONTINUE = "continue"

    @classmethod
    def of(cls, fitted, incremental, warm_start):
        """The mode of a call on an estimator (``fitted``: it has a trained network)."""
        if not fitted:
            return cls.FRESH
        if incremental:
            return cls.CONTINUE
        return cls.WARM if warm_start else cls.FRESH


@dataclass
class Targets:
    """Encoded training targets and what the kind of target fitted from them.

    Attributes
    ----------
    values : numpy.ndarray
        The targets as the loss sees them (class indices; standardised values).
    n_targets : int
        What the loss's output count depends on: the number of classes, or of
        target columns (``loss.n_outputs(n_targets)``).
    fitted : dict
        Attributes to set on the estimator when the fit starts afresh
        (``{"classes_": ...}``, the target scaling, ...).
    """

    values: Any
    n_targets: int
    fitted: dict


@dataclass
class FitPlan:
    """Everything a call prepared before its first epoch, the estimator still unchanged."""

    mode: FitMode
    incremental: bool
    loss: Any
    backend: Optional[str]
    targets: Targets
    seed: int
    batch_size: int
    train_data: Any
    valid_data: Any
    net: Any  # the new net of a FRESH call, else None
