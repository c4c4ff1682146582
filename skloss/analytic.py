"""``AnalyticIncrementalClassifier``: closed-form, exemplar-free class-incremental learning.

Analytic class-incremental learning (ACIL, Zhuang et al., NeurIPS 2022) and its
generalised form (G-ACIL / GACL, Zhuang et al., 2024) replace the gradient training
of a classifier by regularised least squares on frozen features, solved
recursively: learning the data phase by phase gives *exactly* the weights of
learning it all at once, with no stored samples. The pieces, in the order the
data flows:

1. a frozen **backbone** maps ``X`` to embeddings ``X_E`` (the standardised raw
   features, a fitted scikit-learn transformer, a torch module, or the hidden
   layers of a fitted skloss estimator);
2. a random, fixed **buffer layer** expands them: ``X_B = act(X_E @ W_B)``;
3. a linear **head** ``W`` solves ``min ||Y - X_B W||^2 + gamma ||W||^2`` over
   everything seen, kept up to date by a Woodbury (recursive least-squares)
   update that costs ``O(b d^2)`` per batch of ``b`` rows, ``d = buffer_size``.
"""

import copy
import io
import pickle
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skloss._devices import resolve_device
from skloss.modules import ACTIVATIONS

__all__ = ["AnalyticIncrementalClassifier"]

_FLOAT64_BYTES = 8
_GIB = 2**30


class AnalyticIncrementalClassifier(ClassifierMixin, BaseEstimator):
    """Closed-form class-incremental classifier (ACIL / G-ACIL) with joint-training equivalence.

    Features come from a frozen ``backbone``, are expanded by a fixed random
    buffer layer ``X_B = act(X_E @ W_B)``, and a linear head is fitted by ridge
    regression onto one-hot targets. :meth:`partial_fit` updates the head
    recursively, so that after any sequence of calls the weights equal, up to
    rounding, those of one ridge regression on every row seen so far::

        W = (X_B^T X_B + gamma I)^-1 X_B^T Y

    whatever the order of the rows, the size of the batches, or which classes
    each batch contains: new classes may appear and old ones reappear at any call
    (class-incremental and generalised class-incremental learning), and no
    sample is stored. Two estimators trained on disjoint data can be combined
    into the joint solution with :meth:`merge` (federated analytic learning).
    Read more in the :doc:`user guide </user_guide/analytic>`.

    Parameters
    ----------
    backbone : None, transformer, torch.nn.Module or fitted skloss estimator, default=None
        The frozen feature extractor in front of the buffer layer:

        - None: the raw features, standardised with the mean and standard
          deviation of the *first* data learned (all of ``X`` in :meth:`fit`, the
          first call of :meth:`partial_fit`). The statistics are then frozen:
          re-standardising on later data would change the features of rows
          already learned and break the equivalence with joint training. If the
          first call is small, pass a ``StandardScaler`` fitted on
          representative data instead.
        - a fitted scikit-learn transformer (anything with ``transform``, e.g. a
          ``Pipeline``): ``X`` is passed to it as given (DataFrames with string
          columns included). Wrap it in :class:`sklearn.frozen.FrozenEstimator`
          where the classifier is cloned (``clone``, ``GridSearchCV``,
          ``cross_val_score``), otherwise the clone holds an unfitted copy.
        - a ``torch.nn.Module`` mapping ``(n_samples, n_features)`` to
          ``(n_samples, n_embedding)``: run in eval mode without gradients, on a
          deep copy, in its parameters' dtype (float32 by default).
        - a fitted skloss estimator (anything with ``net_``): the hidden layers
          of its network, ``net_.module_.features``.

    buffer_size : int, default=2048
        Width ``d`` of the random buffer layer. The head keeps a ``d x d``
        float64 matrix (32 MiB at 2048, 512 MiB at 8192), and each row learned
        costs ``O(d^2)``; see ``max_memory_bytes``.
    gamma : float, default=0.1
        Ridge penalty on the head's weights (ACIL's default). Larger values
        regularise more; G-ACIL's grid search chose 100 for its (unnormalised,
        high-dimensional) ImageNet-backbone features. Weights scale it: with
        ``sample_weight`` multiplied by ``c`` the fit equals one with
        ``gamma / c``.
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        Non-linearity of the buffer layer.
    init : {"uniform", "normal"}, default="uniform"
        Distribution of the buffer weights ``W_B`` (no bias): "uniform" draws from
        ``U(-1/sqrt(n_embedding), 1/sqrt(n_embedding))`` (torch's ``nn.Linear``
        default, as ACIL's reference code), "normal" from ``N(0, 1)`` (the papers'
        wording). For relu, scaling ``W_B`` by ``s`` equals dividing ``gamma`` by
        ``s^2``, so the two inits call for different ``gamma``.
    batch_size : int or "auto", default="auto"
        Rows per recursive update and per forward pass of the backbone. Changes
        the memory and speed, not the result. "auto" is
        ``min(256, max(64, buffer_size))``, the fastest on CPU at ``d = 2048``.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the buffer layer, the backbone (torch) and the head's matrices
        live; "auto" is CUDA when available. The head is always float64.
    random_state : int, RandomState instance or None, default=None
        Seeds the buffer weights. Estimators to be merged need the same buffer,
        so the same int.
    max_memory_bytes : float or None, default=2**31
        Refuse, before any work, a fit whose estimated peak memory (the ``d x d``
        float64 matrices it holds, see the user guide) exceeds this many bytes.
        None disables the check.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels learned, in the order their columns were created: :meth:`fit`
        sorts them (scikit-learn's convention); each :meth:`partial_fit` call
        appends the labels new to it, sorted. A label only gets a column once a
        row of it is learned (with positive weight).
    weight_ : torch.Tensor of shape (buffer_size, n_classes), float64
        The head ``W``; scores are ``X_B @ weight_``.
    inverse_autocorrelation_ : torch.Tensor of shape (buffer_size, buffer_size), float64
        ``R = (X_B^T X_B + gamma I)^-1`` over every row learned: the whole memory
        of the past that the recursive update needs.
    buffer_weight_ : torch.Tensor of shape (`n_embedding_`, buffer_size), float64
        The fixed random buffer weights ``W_B``.
    backbone_ : None, transformer or torch.nn.Module
        The feature extractor used: the transformer itself, or a deep copy of
        the torch module (in eval mode, on the estimator's device).
    n_embedding_ : int
        Width of the backbone's output (the buffer layer's input).
    mean_ : ndarray of shape (`n_features_in_`,)
        Feature means of the first data learned (only with ``backbone=None``).
    scale_ : ndarray of shape (`n_features_in_`,)
        Feature standard deviations of the first data learned, 1 for constant
        features (only with ``backbone=None``).
    n_samples_seen_ : int
        Rows learned (rows with zero weight are skipped).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.RidgeClassifier : The same head fitted once, with {-1, 1} targets.
    sklearn.linear_model.SGDClassifier : A gradient-trained classifier with ``partial_fit``.

    Notes
    -----
    Unlike scikit-learn's ``partial_fit``, which needs every class of the stream
    in ``classes=`` on its first call, :meth:`partial_fit` accepts labels never
    seen before at any call: that is the point of class-incremental learning.
    A label's column is created when the label is first learned, never earlier,
    because an empty column scores 0 and could win the argmax against classes
    whose scores are all negative.

    :meth:`predict_proba` is the softmax of the scores. The scores are ridge
    estimates of one-hot targets, close to 0 and 1, so these probabilities
    rank the classes as :meth:`predict` does but are far from calibrated (e.g.
    about 0.23 for a confident prediction among 10 classes); use
    :class:`sklearn.calibration.CalibratedClassifierCV` for probabilities.

    References
    ----------
    .. [1] H. Zhuang, Z. Weng, H. Wei, R. Xie, K.-A. Toh and Z. Lin, "ACIL:
       Analytic class-incremental learning with absolute memorization and
       privacy protection", NeurIPS 2022.
    .. [2] H. Zhuang, Y. Chen, D. Fang, R. He, K. Tong, H. Wei, Z. Zeng and
       C. Chen, "GACL: Exemplar-free generalized analytic continual learning",
       NeurIPS 2024 (arXiv:2403.15706, "G-ACIL").

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skloss.analytic import AnalyticIncrementalClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = AnalyticIncrementalClassifier(buffer_size=512, random_state=0)
    >>> clf = clf.partial_fit(X[y < 5], y[y < 5])    # the base classes
    >>> clf.classes_
    array([0, 1, 2, 3, 4])
    >>> for digit in range(5, 10):                   # then one new class at a time
    ...     clf = clf.partial_fit(X[y == digit], y[y == digit])
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> round(clf.score(X, y), 3)
    0.999
    """

    _parameter_constraints = {
        "backbone": [None, HasMethods(["transform"]), torch.nn.Module, BaseEstimator],
        "buffer_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions({"uniform", "normal"})],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "max_memory_bytes": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        backbone=None,
        *,
        buffer_size=2048,
        gamma=0.1,
        activation="relu",
        init="uniform",
        batch_size="auto",
        device="auto",
        random_state=None,
        max_memory_bytes=2**31,
    ):
        self.backbone = backbone
        self.buffer_size = buffer_size
        self.gamma = gamma
        self.activation = activation
        self.init = init
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.max_memory_bytes = max_memory_bytes

    # ---- learning ---------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Learn the joint solution on ``(X, y)`` from scratch.

        Accumulates ``C = X_B^T X_B + gamma I`` and ``X_B^T Y`` batch by batch and
        solves once (Cholesky), at ``O(n d^2 + d^3)``. Forgets anything learned
        before.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features; with a transformer backbone, anything it accepts.
        y : array-like of shape (n_samples,)
            Labels of any hashable type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; an integer weight equals repeating the row.
            Rows of weight 0 are skipped.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, y, weight = self._validate_training_data(X, y, sample_weight, reset=True)
        X, y, weight = _drop_zero_weight(X, y, weight)
        state = self._initial_state(X, weight, operation="fit")
        classes, codes = np.unique(y, return_inverse=True)
        d = self.buffer_size
        device = state["buffer_weight_"].device
        gram = torch.eye(d, dtype=torch.float64, device=device).mul_(self.gamma)
        cross = torch.zeros(d, len(classes), dtype=torch.float64, device=device)
        for features, targets in self._weighted_batches(state, X, codes, weight, len(classes)):
            gram.addmm_(features.T, features)
            cross.addmm_(features.T, targets)
        factor, info = torch.linalg.cholesky_ex(gram)
        del gram
        _check_cholesky(info, self.gamma)
        state["weight_"] = torch.cholesky_solve(cross, factor)
        state["inverse_autocorrelation_"] = torch.cholesky_inverse(factor)
        del factor
        state["classes_"] = classes
        state["n_samples_seen_"] = _num_samples(X)
        self._set_state(state)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Learn one more batch, keeping the joint solution over everything seen.

        Labels never seen before are welcome at any call (this departs on
        purpose from scikit-learn's rule that ``classes`` lists every label on
        the first call); each new label gets a zero column before the update.
        Known classes absent from the batch get zero targets, so the batch pulls
        their scores down on its rows, exactly as joint training would.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features of the batch; with a transformer backbone, anything it accepts.
        y : array-like of shape (n_samples,)
            Labels of the batch, known or new.
        classes : array-like, default=None
            Optional guard: if given, every label of ``y`` must be in it. It does
            not create columns (see the class's Notes) and may change between calls.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, used as given (not normalised): an integer
            weight equals repeating the row. Rows of weight 0 are skipped.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first_call = not hasattr(self, "weight_")
        if first_call:
            self._validate_params()
        X, y, weight = self._validate_training_data(X, y, sample_weight, reset=first_call)
        if classes is not None:
            unknown = np.setdiff1d(np.unique(y), np.asarray(classes))
            if unknown.size:
                raise ValueError(
                    f"y contains labels {unknown.tolist()} that are not in classes="
                    f"{np.asarray(classes).tolist()}. classes is only a guard here (new "
                    "labels may appear at any call); pass classes=None to accept any label."
                )
        X, y, weight = _drop_zero_weight(X, y, weight)
        if first_call:
            state = self._initial_state(X, weight, operation="partial_fit")
            d = self.buffer_size
            device = state["buffer_weight_"].device
            # The recursion starts from no data: R = (0 + gamma I)^-1, W = 0.
            state["inverse_autocorrelation_"] = torch.eye(
                d, dtype=torch.float64, device=device
            ).div_(self.gamma)
            state["weight_"] = torch.zeros(d, 0, dtype=torch.float64, device=device)
            state["classes_"] = y[:0]
            state["n_samples_seen_"] = 0
        else:
            state = self._get_state()
        classes_, codes = _grow_classes(state["classes_"], y)
        n_new = len(classes_) - state["weight_"].shape[1]
        weights_, inverse = state["weight_"], state["inverse_autocorrelation_"]
        if n_new:
            # A new class starts with a zero column: it has scored 0 on every row
            # learned so far, which is what joint training's zero targets give.
            weights_ = torch.cat([weights_, weights_.new_zeros(weights_.shape[0], n_new)], 1)
        state["classes_"] = classes_
        state["weight_"] = weights_
        if first_call:
            self._set_state(state)
        else:
            self.classes_ = classes_
            self.weight_ = weights_
        done = 0
        for features, targets in self._weighted_batches(state, X, codes, weight, len(classes_)):
            try:
                _woodbury_update(inverse, weights_, features, targets)
            except ValueError as error:
                raise ValueError(
                    f"{error} The first {done} rows of this call were learned."
                ) from error
            done += features.shape[0]
            self.n_samples_seen_ += features.shape[0]
        return self

    def merge(self, other):
        """Absorb what another estimator learned on disjoint data.

        With ``C_k = X_k^T X_k + gamma I`` the (regularised) autocorrelation of
        estimator ``k`` (the inverse of its ``inverse_autocorrelation_``), the
        joint solution of both data sets is::

            W = (C_a + C_b - gamma I)^-1 (C_a W_a + C_b W_b)

        since ``C_k W_k = X_k^T Y_k`` and the penalty is counted once. This is
        federated analytic learning: sites share ``(R_k, W_k)``, never rows.
        Costs ``O(d^3)``.

        Parameters
        ----------
        other : AnalyticIncrementalClassifier
            A fitted estimator with the same backbone, buffer weights, activation
            and ``gamma`` (same parameters and ``random_state``, and for
            ``backbone=None`` the same standardisation, i.e. the same first data
            or a shared fitted ``StandardScaler`` backbone). It is not modified.

        Returns
        -------
        self : object
            This estimator, now holding the joint solution; ``classes_`` keeps
            its order and appends ``other``'s new labels in ``other``'s order.
        """
        check_is_fitted(self)
        if not isinstance(other, AnalyticIncrementalClassifier):
            raise TypeError(
                f"merge needs another AnalyticIncrementalClassifier, got {type(other).__name__}."
            )
        check_is_fitted(other)
        self._check_mergeable(other)
        _check_label_kind(self.classes_, other.classes_)
        self._check_memory(self.n_embedding_, operation="merge")
        device = self.weight_.device
        other_weight = other.weight_.to(device)
        other_inverse = other.inverse_autocorrelation_.to(device)
        classes_, other_codes = _append_labels(self.classes_, other.classes_)
        n_classes = len(classes_)
        d = self.buffer_size

        cross = self.weight_.new_zeros(d, n_classes)
        gram = _spd_inverse(self.inverse_autocorrelation_, self.gamma)
        cross[:, : self.weight_.shape[1]] = gram @ self.weight_
        other_gram = _spd_inverse(other_inverse, self.gamma)
        cross[:, torch.as_tensor(other_codes, device=device)] += other_gram @ other_weight
        gram += other_gram
        del other_gram
        gram.diagonal().sub_(self.gamma)
        factor, info = torch.linalg.cholesky_ex(gram)
        del gram
        _check_cholesky(info, self.gamma)
        self.weight_ = torch.cholesky_solve(cross, factor)
        self.inverse_autocorrelation_ = torch.cholesky_inverse(factor)
        self.classes_ = classes_
        self.n_samples_seen_ += other.n_samples_seen_
        return self

    # ---- prediction -------------------------------------------------------------------
    def _scores(self, X):
        check_is_fitted(self)
        X = self._validate_features(X, reset=False)
        state = self._get_state()
        parts = [
            (self._buffer_features(state, rows) @ self.weight_).cpu()
            for rows in _row_batches(X, self._resolved_batch_size())
        ]
        return torch.cat(parts).numpy()

    def decision_function(self, X):
        """Compute the head's scores ``X_B @ weight_`` (ridge estimates of one-hot targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column per class of ``classes_``; for two classes, the score of
            ``classes_[1]`` minus that of ``classes_[0]``; for a single class, its score.
        """
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return scores[:, 0]
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Return the softmax of the scores: it ranks as :meth:`predict` does, uncalibrated.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return softmax(self._scores(X), axis=1)

    def predict(self, X):
        """Predict the label of the highest score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    # ---- scikit-learn metadata -------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        if _is_transformer(self.backbone):
            # X goes to the transformer as given, so it decides what it accepts.
            try:
                backbone_tags = get_tags(self.backbone)
                tags.input_tags.allow_nan = backbone_tags.input_tags.allow_nan
                tags.input_tags.sparse = backbone_tags.input_tags.sparse
            except Exception:  # not a scikit-learn estimator: no tags to inherit
                pass
        return tags

    # ---- validation -------------------------------------------------------------------
    def _transformer_input(self, reset):
        # After the first fit, the fitted backbone decides, not a changed parameter.
        return _is_transformer(self.backbone if reset else self.backbone_)

    def _validate_features(self, X, reset):
        if self._transformer_input(reset):
            # Checks n_features_in_ / feature names only; the transformer checks values.
            return validate_data(self, X, reset=reset, skip_check_array=True)
        return validate_data(
            self, X, reset=reset, accept_sparse="csr", dtype=(np.float64, np.float32)
        )

    def _validate_training_data(self, X, y, sample_weight, reset):
        if self._transformer_input(reset):
            X = validate_data(self, X, reset=reset, skip_check_array=True)
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
        else:
            X, y = validate_data(
                self, X, y, reset=reset, accept_sparse="csr", dtype=(np.float64, np.float32)
            )
        check_classification_targets(y)
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        if not reset and hasattr(self, "classes_") and len(self.classes_):
            _check_label_kind(self.classes_, y)
        return X, y, weight

    def _device(self):
        return resolve_device(self.device)

    def _resolved_batch_size(self):
        if self.batch_size == "auto":
            return min(256, max(64, self.buffer_size))
        return self.batch_size

    def _memory_estimate(self, n_embedding, operation):
        """Peak bytes of the float64 matrices an operation holds, and how many are d x d."""
        d, b = self.buffer_size, self._resolved_batch_size()
        # Measured peaks: partial_fit holds R only; fit holds C, then its Cholesky
        # factor and R (2 on CPU, 3 on CUDA, whose inverse takes a workspace);
        # merge holds both estimators' R, C_a, C_b and then the factor and new R
        # (5.6 on CPU).
        squares = {"partial_fit": 1, "fit": 3, "merge": 6}[operation]
        # Plus the buffer weights and a batch's features, projections and factor.
        other = d * n_embedding + 3 * b * d + b * b + b * n_embedding
        return _FLOAT64_BYTES * (squares * d * d + other), squares

    def _check_memory(self, n_embedding, operation):
        if self.max_memory_bytes is None:
            return
        needed, squares = self._memory_estimate(n_embedding, operation)
        if needed > self.max_memory_bytes:
            d = self.buffer_size
            raise ValueError(
                f"buffer_size={d} needs about {needed / _GIB:.2f} GiB for {operation} "
                f"({squares} float64 {d} x {d} matrices of {_FLOAT64_BYTES * d * d / _GIB:.2f} "
                "GiB each, the inverse autocorrelation R and its workspace), above "
                f"max_memory_bytes={self.max_memory_bytes:.4g}. Lower buffer_size (memory "
                "grows with its square) or raise max_memory_bytes (None disables the check)."
            )

    # ---- state ------------------------------------------------------------------------
    _STATE = (
        "backbone_", "n_embedding_", "buffer_weight_", "mean_", "scale_",
        "weight_", "inverse_autocorrelation_", "classes_", "n_samples_seen_",
    )

    def _get_state(self):
        return {name: getattr(self, name) for name in self._STATE if hasattr(self, name)}

    def _set_state(self, state):
        for name in self._STATE:
            if hasattr(self, name) and name not in state:
                delattr(self, name)  # e.g. mean_ of an earlier fit with backbone=None
        for name, value in state.items():
            setattr(self, name, value)

    def _initial_state(self, X, weight, operation):
        """Everything fixed at the first fit: backbone, standardisation, buffer weights.

        Returned, not set, so that an error (memory, backbone) leaves the estimator
        as it was.
        """
        device = self._device()
        state = {"backbone_": _resolve_backbone(self.backbone, device)}
        if state["backbone_"] is None:
            state["mean_"], state["scale_"] = _weighted_mean_and_scale(X, weight)
        state["n_embedding_"] = self._embedding_width(state, X)
        self._check_memory(state["n_embedding_"], operation)
        rng = check_random_state(self.random_state)
        n_in = state["n_embedding_"]
        if self.init == "uniform":
            bound = 1.0 / np.sqrt(n_in)
            buffer = rng.uniform(-bound, bound, size=(n_in, self.buffer_size))
        else:
            buffer = rng.standard_normal(size=(n_in, self.buffer_size))
        state["buffer_weight_"] = torch.from_numpy(buffer).to(device)
        return state

    def _embedding_width(self, state, X):
        if state["backbone_"] is None:
            return X.shape[1]
        probe = self._embed(state, _safe_indexing(X, np.arange(1)))
        return probe.shape[1]

    # ---- features ---------------------------------------------------------------------
    def _embed(self, state, rows):
        """Backbone output of a batch of rows, float64 on the device."""
        backbone = state["backbone_"]
        device = state["buffer_weight_"].device if "buffer_weight_" in state else self._device()
        if backbone is None:
            dense = rows.toarray() if sp.issparse(rows) else rows
            # A copy: the caller's array is never written, and a read-only one
            # (a memory map) would make torch warn.
            embedded = torch.tensor(np.asarray(dense, dtype=np.float64), device=device)
            mean = torch.from_numpy(state["mean_"]).to(device)
            scale = torch.from_numpy(state["scale_"]).to(device)
            return embedded.sub_(mean).div_(scale)
        if isinstance(backbone, torch.nn.Module):
            dense = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
            dtype = _module_dtype(backbone)
            inputs = torch.tensor(dense, dtype=dtype, device=device)
            try:
                with torch.no_grad():
                    embedded = backbone(inputs)
            except Exception as error:
                raise ValueError(
                    f"backbone failed on a batch of shape {tuple(inputs.shape)}: {error}. It must "
                    "map (n_samples, n_features) to (n_samples, n_embedding)."
                ) from error
        else:
            embedded = backbone.transform(rows)
            if sp.issparse(embedded):
                embedded = embedded.toarray()
            embedded = torch.as_tensor(np.asarray(embedded, dtype=np.float64))
        if not isinstance(embedded, torch.Tensor) or embedded.ndim != 2:
            raise ValueError(
                "backbone must return a 2-D array (n_samples, n_embedding); it returned shape "
                f"{tuple(getattr(embedded, 'shape', ()))}. Flatten its output, e.g. append "
                "torch.nn.Flatten() to the module."
            )
        embedded = embedded.to(device=device, dtype=torch.float64)
        if not torch.isfinite(embedded).all():
            raise ValueError(
                "backbone returned NaN or infinite features; check its input and weights."
            )
        return embedded

    def _buffer_features(self, state, rows):
        embedded = self._embed(state, rows)
        activation = ACTIVATIONS[self.activation]()
        return activation(embedded @ state["buffer_weight_"])

    def _weighted_batches(self, state, X, codes, weight, n_classes):
        """Yield ``(sqrt(w) * X_B, sqrt(w) * Y)``: weighted least squares as plain least squares."""
        batch_size = self._resolved_batch_size()
        device = state["buffer_weight_"].device
        for start in range(0, _num_samples(X), batch_size):
            index = np.arange(start, min(start + batch_size, _num_samples(X)))
            features = self._buffer_features(state, _safe_indexing(X, index))
            targets = torch.zeros(len(index), n_classes, dtype=torch.float64, device=device)
            targets[torch.arange(len(index)), torch.as_tensor(codes[index]).to(device)] = 1.0
            if weight is not None:
                root = torch.from_numpy(np.sqrt(weight[index])).to(device)[:, None]
                features = features * root
                targets = targets * root
            yield features, targets

    def _check_mergeable(self, other):
        problems = []
        for name in ("buffer_size", "gamma", "activation", "n_features_in_", "n_embedding_"):
            if getattr(self, name) != getattr(other, name):
                problems.append(f"{name} ({getattr(self, name)!r} vs {getattr(other, name)!r})")
        if not problems and not torch.equal(
            self.buffer_weight_, other.buffer_weight_.to(self.buffer_weight_.device)
        ):
            problems.append("buffer weights (use the same init and an int random_state)")
        if (self.backbone_ is None) != (other.backbone_ is None):
            problems.append("backbone (one is None)")
        elif self.backbone_ is None:
            if not (
                np.array_equal(self.mean_, other.mean_)
                and np.array_equal(self.scale_, other.scale_)
            ):
                problems.append(
                    "standardisation (backbone=None standardises with each estimator's "
                    "first data; share a fitted StandardScaler as backbone instead)"
                )
        elif not _same_backbone(self.backbone_, other.backbone_):
            problems.append("backbone (different objects or weights)")
        if problems:
            raise ValueError(
                "merge needs estimators that share backbone, buffer and gamma, so that "
                "their features are the same function of X; these differ: "
                + "; ".join(problems) + "."
            )


# ---- the linear algebra -------------------------------------------------------------------
def _woodbury_update(inverse, weight, features, targets):
    """One recursive least-squares step, in place, at ``O(b d^2)`` for ``b`` rows.

    With ``P = R X^T`` and ``K = (I + X P)^-1``: ``R <- R - P K P^T`` and
    ``W <- W + P K (Y - X W)``. ``I + X P`` is symmetric positive definite, so it
    is factored as ``L L^T`` and ``P K P^T = G G^T`` with ``G = P L^-T``: R stays
    symmetric by construction and only triangular solves of size ``b`` are needed.
    """
    projected = inverse @ features.T  # P, d x b
    system = features @ projected
    system.diagonal().add_(1.0)
    factor, info = torch.linalg.cholesky_ex(system)
    if info.item() != 0:
        raise ValueError(
            "the recursive update lost positive definiteness (features too large for "
            "float64 at this gamma); standardise the features or raise gamma."
        )
    gain_t = torch.linalg.solve_triangular(factor, projected.T, upper=False)  # G^T, b x d
    residual = targets - features @ weight
    correction = torch.linalg.solve_triangular(factor, residual, upper=False)
    weight.addmm_(gain_t.T, correction)
    inverse.addmm_(gain_t.T, gain_t, alpha=-1.0)


def _spd_inverse(matrix, gamma):
    factor, info = torch.linalg.cholesky_ex(matrix)
    _check_cholesky(info, gamma)
    return torch.cholesky_inverse(factor)


def _check_cholesky(info, gamma):
    if info.item() != 0:
        raise ValueError(
            f"the regularised autocorrelation is not positive definite in float64 at "
            f"gamma={gamma}; raise gamma or standardise the features."
        )


# ---- helpers ------------------------------------------------------------------------------
def _is_transformer(backbone):
    return (
        backbone is not None
        and not isinstance(backbone, torch.nn.Module)
        and not hasattr(backbone, "net_")
        and hasattr(backbone, "transform")
    )


def _resolve_backbone(backbone, device):
    if backbone is None:
        return None
    if isinstance(backbone, torch.nn.Module):
        module = copy.deepcopy(backbone)
    elif hasattr(backbone, "net_"):
        module = getattr(backbone.net_, "module_", None)
        features = getattr(module, "features", None)
        if not isinstance(features, torch.nn.Module):
            raise ValueError(
                f"backbone is a fitted {type(backbone).__name__} whose network "
                f"({type(module).__name__}) has no `.features` module (its hidden layers). "
                "Pass the torch module of the layers to use as backbone instead."
            )
        module = copy.deepcopy(features)
    elif hasattr(backbone, "transform"):
        try:
            check_is_fitted(backbone)
        except Exception as error:
            raise ValueError(
                f"backbone {type(backbone).__name__} is not fitted: fit it first. If it was "
                "fitted and this classifier was cloned (clone, GridSearchCV, "
                "cross_val_score), the clone got an unfitted copy: wrap the backbone in "
                "sklearn.frozen.FrozenEstimator so that clone keeps it fitted."
            ) from error
        return backbone
    else:
        raise TypeError(
            f"backbone must be None, a fitted transformer, a torch.nn.Module or a fitted "
            f"skloss estimator (with net_); got an unfitted or unknown "
            f"{type(backbone).__name__}. Fit it first."
        )
    return module.to(device).eval()


def _module_dtype(module):
    for tensor in module.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _same_backbone(first, second):
    if first is second:
        return True
    if isinstance(first, torch.nn.Module) and isinstance(second, torch.nn.Module):
        if type(first) is not type(second):
            return False
        a, b = first.state_dict(), second.state_dict()
        return a.keys() == b.keys() and all(
            torch.equal(a[key].cpu(), b[key].cpu()) for key in a
        )
    # Separately unpickled copies of one fitted transformer (federated sites)
    # are different objects with the same pickled state.
    try:
        return _pickled(first) == _pickled(second)
    except Exception:
        return False


def _pickled(obj):
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=4)
    return buffer.getvalue()


def _weighted_mean_and_scale(X, weight):
    """Weighted mean and standard deviation per feature, as StandardScaler computes them.

    Constant features (variance within rounding of zero) get scale 1, so they
    map to 0 rather than to a division by zero.
    """
    if sp.issparse(X):
        mean, variance = mean_variance_axis(X, axis=0, weights=weight)
    else:
        X = np.asarray(X, dtype=np.float64)
        mean = np.average(X, axis=0, weights=weight)
        variance = np.average((X - mean) ** 2, axis=0, weights=weight)
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    n = X.shape[0] if weight is None else weight.sum()
    eps = np.finfo(np.float64).eps
    # Rounding leaves a variance of order (n eps mean)^2 on a constant column.
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    scale = np.sqrt(variance)
    scale[constant] = 1.0
    return mean, scale


def _drop_zero_weight(X, y, weight):
    if weight is None or np.all(weight > 0):
        return X, y, weight
    keep = np.flatnonzero(weight > 0)
    return _safe_indexing(X, keep), y[keep], weight[keep]


def _check_label_kind(classes, y):
    textual = {"U", "S", "O"}
    if (classes.dtype.kind in textual) != (np.asarray(y).dtype.kind in textual):
        raise ValueError(
            f"y has labels of dtype {np.asarray(y).dtype} but the classes learned so far "
            f"{classes.tolist()} have dtype {classes.dtype}; use one label type for the "
            "whole stream."
        )


def _grow_classes(classes, y):
    """Append the labels of ``y`` not in ``classes`` (sorted); return classes and codes of y."""
    labels, inverse = np.unique(y, return_inverse=True)
    classes, label_codes = _append_labels(classes, labels)
    return classes, label_codes[inverse.reshape(-1)]


def _append_labels(classes, labels):
    """Append the ``labels`` not in ``classes``, in their order; return classes and their codes."""
    known = {label: code for code, label in enumerate(classes.tolist())}
    new = [label for label in labels.tolist() if label not in known]
    if new:
        classes = np.concatenate([classes, np.asarray(new, dtype=labels.dtype)])
        known.update({label: len(known) + i for i, label in enumerate(new)})
    return classes, np.array([known[label] for label in labels.tolist()], dtype=np.int64)


def _row_batches(X, batch_size):
    n = _num_samples(X)
    for start in range(0, n, batch_size):
        yield _safe_indexing(X, np.arange(start, min(start + batch_size, n)))
