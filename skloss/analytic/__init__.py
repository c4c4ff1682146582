"""Closed-form, exemplar-free class-incremental learning.

Analytic class-incremental learning (ACIL, Zhuang et al., NeurIPS 2022) and its
generalised form (G-ACIL / GACL, Zhuang et al., 2024) replace the gradient training
of a classifier by regularised least squares on frozen features, solved
recursively: learning the data phase by phase gives *exactly* the weights of
learning it all at once, with no stored samples. The pieces, in the order the
data flows, and the module that holds each:

1. a frozen **backbone** maps ``X`` to embeddings ``X_E`` (the raw features, a
   fitted transformer such as a ``StandardScaler`` or a fitted skloss estimator,
   or a torch module): ``_backbone``;
2. a random, fixed **buffer layer** expands them: ``X_B = act(X_E @ W_B)``:
   ``_buffer``;
3. a linear **head** ``W`` solves ``min ||Y - X_B W||^2 + gamma ||W||^2`` over
   everything seen, kept up to date by a Woodbury (recursive least-squares)
   update that costs ``O(b d^2)`` per batch of ``b`` rows, ``d = buffer_size``:
   ``_ridge``; its columns follow the growing label set: ``_labels``.

:class:`AnalyticIncrementalClassifier` (``estimator``) wires them into
scikit-learn's API, with the checks of each call (``_checks``) and what a call
changes, all or nothing, and what a pickle holds (``_state``).
"""

from skloss.analytic.estimator import AnalyticIncrementalClassifier

__all__ = ["AnalyticIncrementalClassifier"]
