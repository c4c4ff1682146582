"""What differs per kind of target: one module each (classification; regression next)."""

from skloss._targets.classification import BaseLossClassifier

__all__ = ["BaseLossClassifier"]
