"""``AnalyticIncrementalClassifier``: the estimator (validation, the stream of calls, outputs).

The linear algebra lives in :mod:`skloss.analytic._ridge`, the backbone in
:mod:`skloss.analytic._backbone` and the growing label set in
:mod:`skloss.analytic._labels`; this module wires them into scikit-learn's API.
"""

from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skloss._devices import resolve_device
from skloss._scores import decision_scores
from skloss.analytic import _backbone, _labels, _ridge
from skloss.modules import ACTIVATIONS

__all__ = ["AnalyticIncrementalClassifier"]

# The parameters that define the feature map and the penalty of the learned
# solution; those that change what a prediction computes are a subset.
_MODEL_PARAMETERS = ("backbone", "buffer_size", "gamma", "activation", "init", "random_state")
_PREDICTION_PARAMETERS = ("backbone", "activation")


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
    This holds with every parameter's default: the feature map depends on the
    parameters only, never on the data learned.
    Read more in the :doc:`user guide </user_guide/analytic>`.

    Parameters
    ----------
    backbone : None, transformer, torch.nn.Module or fitted skloss estimator, default=None
        The frozen feature extractor in front of the buffer layer:

        - None: the raw features, as float64, unchanged. No statistic is taken
          from the data (standardising with the first batch's mean and scale
          would make the features depend on how the stream starts, and break
          the equivalence with joint training). To standardise, pass a
          ``StandardScaler`` fitted on data known up front (e.g. the base
          classes' rows) as the backbone: it is used frozen.
        - a fitted transformer (any object with ``transform``, e.g. a
          ``StandardScaler``, a ``Pipeline``, or a fitted skloss estimator,
          whose ``transform`` gives its last hidden layer): ``X`` is passed to
          it as given (DataFrames with string columns included). Wrap it in
          :class:`sklearn.frozen.FrozenEstimator` where the classifier is
          cloned (``clone``, ``GridSearchCV``, ``cross_val_score``), otherwise
          the clone holds an unfitted copy.
        - a ``torch.nn.Module`` mapping ``(n_samples, n_features)`` to
          ``(n_samples, n_embedding)``: run in eval mode without gradients, on a
          deep copy, in its parameters' dtype (float32 by default).
        - a fitted skloss estimator without ``transform`` (anything with
          ``net_``): a deep copy of the hidden layers of its network,
          ``net_.module_.features``.

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
        self._check_params()
        X, y, weight = self._validate_training_data(X, y, sample_weight, reset=True)
        X, y, weight = _drop_zero_weight(X, y, weight)
        backbone, buffer_weight = self._new_feature_map(X, operation="fit")
        classes, codes = np.unique(y, return_inverse=True)
        batches = self._weighted_batches(backbone, buffer_weight, X, codes, weight, len(classes))
        head, inverse = _ridge.solve(
            batches, self.buffer_size, len(classes), self.gamma, buffer_weight.device
        )
        # Set together, after every step that can fail: an error leaves the
        # estimator as it was.
        self._set_feature_map(backbone, buffer_weight)
        self.weight_ = head
        self.inverse_autocorrelation_ = inverse
        self.classes_ = classes
        self.n_samples_seen_ = _num_samples(X)
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
            self._check_params()
        else:
            self._check_model_parameters_unchanged("partial_fit", _MODEL_PARAMETERS)
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
            backbone, buffer_weight = self._new_feature_map(X, operation="partial_fit")
            head, inverse = _ridge.empty_solution(
                self.buffer_size, self.gamma, buffer_weight.device
            )
            self._set_feature_map(backbone, buffer_weight)
            self.weight_ = head
            self.inverse_autocorrelation_ = inverse
            self.classes_ = y[:0]
            self.n_samples_seen_ = 0
        classes_, codes = _labels.grow_classes(self.classes_, y)
        head = _ridge.add_class_columns(self.weight_, len(classes_) - len(self.classes_))
        done = 0
        batches = self._weighted_batches(
            self.backbone_, self.buffer_weight_, X, codes, weight, len(classes_)
        )
        for features, targets in batches:
            try:
                _ridge.woodbury_update(self.inverse_autocorrelation_, head, features, targets)
            except ValueError as error:
                raise ValueError(
                    f"{error} The first {done} rows of this call were learned."
                ) from error
            # New labels get their columns once rows of them are learned, so that
            # an error in the first batch leaves the estimator as it was.
            self.weight_, self.classes_ = head, classes_
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
            and ``gamma`` (same parameters and ``random_state``; the default
            ``backbone=None`` qualifies). It is not modified.

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
        self._check_model_parameters_unchanged("merge", _MODEL_PARAMETERS)
        other._check_model_parameters_unchanged("merge", _MODEL_PARAMETERS)
        self._check_mergeable(other)
        _labels.check_label_kind(self.classes_, other.classes_)
        _ridge.check_memory(
            self.buffer_size,
            self.n_embedding_,
            self._resolved_batch_size(),
            "merge",
            self.max_memory_bytes,
        )
        device = self.weight_.device
        classes_, other_columns = _labels.append_labels(self.classes_, other.classes_)
        self.weight_, self.inverse_autocorrelation_ = _ridge.merge_solutions(
            (self.weight_, self.inverse_autocorrelation_),
            (other.weight_.to(device), other.inverse_autocorrelation_.to(device)),
            other_columns,
            len(classes_),
            self.gamma,
        )
        self.classes_ = classes_
        self.n_samples_seen_ += other.n_samples_seen_
        return self

    # ---- prediction -------------------------------------------------------------------
    def _scores(self, X):
        check_is_fitted(self)
        self._check_model_parameters_unchanged("prediction", _PREDICTION_PARAMETERS)
        X = self._validate_features(X, reset=False)
        n, batch_size = _num_samples(X), self._resolved_batch_size()
        parts = [
            (
                self._features(_safe_indexing(X, np.arange(start, min(start + batch_size, n))))
                @ self.weight_
            ).cpu()
            for start in range(0, n, batch_size)
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
        return decision_scores(self._scores(X))

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
        if _backbone.is_transformer(self.backbone):
            # X goes to the transformer as given, so it decides what it accepts.
            try:
                backbone_tags = get_tags(self.backbone)
                tags.input_tags.allow_nan = backbone_tags.input_tags.allow_nan
                tags.input_tags.sparse = backbone_tags.input_tags.sparse
            except Exception:  # not a scikit-learn estimator: no tags to inherit
                pass
        return tags

    # ---- the feature map ---------------------------------------------------------------
    def _new_feature_map(self, X, operation):
        """Backbone and buffer weights of a first fit, checked before any work.

        Returned, not set, so that an error (memory, backbone) leaves the estimator
        as it was. Nothing here depends on the values of ``X`` (only on the
        backbone's output width): the feature map is fixed by the parameters.
        """
        device = resolve_device(self.device)
        backbone = _backbone.resolve(self.backbone, device)
        n_embedding = _backbone.embed(backbone, _safe_indexing(X, np.arange(1)), device).shape[1]
        _ridge.check_memory(
            self.buffer_size,
            n_embedding,
            self._resolved_batch_size(),
            operation,
            self.max_memory_bytes,
        )
        rng = check_random_state(self.random_state)
        if self.init == "uniform":
            bound = 1.0 / np.sqrt(n_embedding)
            buffer = rng.uniform(-bound, bound, size=(n_embedding, self.buffer_size))
        else:
            buffer = rng.standard_normal(size=(n_embedding, self.buffer_size))
        return backbone, torch.from_numpy(buffer).to(device)

    def _set_feature_map(self, backbone, buffer_weight):
        self.backbone_ = backbone
        self.buffer_weight_ = buffer_weight
        self.n_embedding_ = buffer_weight.shape[0]
        # The parameters the learned R and W depend on, as they were: learning on
        # with others would mix two feature maps (or penalties) in one solution.
        self._model_parameters = {name: getattr(self, name) for name in _MODEL_PARAMETERS}

    def _check_model_parameters_unchanged(self, operation, names):
        recorded = getattr(self, "_model_parameters", None)
        if recorded is None:  # unpickled from a version that did not record them
            return
        for name in names:
            before, now = recorded[name], getattr(self, name)
            if not _same_parameter(before, now):
                raise ValueError(
                    f"{name} was {before!r} when this estimator was first fitted and is "
                    f"{now!r} now, but its learned weights belong to the first; {operation} "
                    f"would mix the two. Set it back (set_params({name}=...)) or call fit to "
                    "start afresh with the new value."
                )

    def _check_params(self):
        self._validate_params()
        # bool is an int to Python, and to the parameter constraints above.
        for name in ("buffer_size", "gamma", "batch_size", "max_memory_bytes"):
            if isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(
                    f"{name}={getattr(self, name)!r} is a bool; pass a number "
                    f"(see the {name} parameter's documentation)."
                )

    def _features(self, rows):
        return _buffer_features(self.backbone_, self.buffer_weight_, self.activation, rows)

    def _weighted_batches(self, backbone, buffer_weight, X, codes, weight, n_classes):
        """Yield ``(sqrt(w) * X_B, sqrt(w) * Y)``: weighted least squares as plain least squares."""
        batch_size = self._resolved_batch_size()
        device = buffer_weight.device
        n = _num_samples(X)
        for start in range(0, n, batch_size):
            index = np.arange(start, min(start + batch_size, n))
            rows = _safe_indexing(X, index)
            features = _buffer_features(backbone, buffer_weight, self.activation, rows)
            targets = _labels.one_hot(codes[index], n_classes, device)
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
        if not _backbone.same_backbone(self.backbone_, other.backbone_):
            problems.append("backbone (different objects or weights; share one fitted backbone)")
        if problems:
            raise ValueError(
                "merge needs estimators that share backbone, buffer and gamma, so that "
                "their features are the same function of X; these differ: "
                + "; ".join(problems)
                + "."
            )

    # ---- validation -------------------------------------------------------------------
    def _transformer_input(self, reset):
        # After the first fit, the fitted backbone decides, not a changed parameter.
        return _backbone.is_transformer(self.backbone if reset else self.backbone_)

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
            _labels.check_label_kind(self.classes_, y)
        return X, y, weight

    def _resolved_batch_size(self):
        if self.batch_size == "auto":
            return min(256, max(64, self.buffer_size))
        return self.batch_size


def _buffer_features(backbone, buffer_weight, activation, rows):
    """``act(backbone(rows) @ W_B)``, float64 on the buffer's device."""
    embedded = _backbone.embed(backbone, rows, buffer_weight.device)
    if embedded.shape[1] != buffer_weight.shape[0]:
        raise ValueError(
            f"backbone returned {embedded.shape[1]} features per row, but the buffer layer "
            f"was built for n_embedding_={buffer_weight.shape[0]} at the first fit. The "
            "backbone must stay frozen: do not refit or change it after fitting this "
            "classifier (or call fit to start afresh)."
        )
    return ACTIVATIONS[activation]()(embedded @ buffer_weight)


def _same_parameter(before, now):
    if before is now:
        return True
    plain = (Real, str)
    return isinstance(before, plain) and isinstance(now, plain) and before == now


def _drop_zero_weight(X, y, weight):
    if weight is None or np.all(weight > 0):
        return X, y, weight
    keep = np.flatnonzero(weight > 0)
    return _safe_indexing(X, keep), y[keep], weight[keep]
