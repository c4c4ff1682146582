"""``AnalyticIncrementalClassifier``: the estimator (the stream of calls, outputs).

The linear algebra lives in :mod:`skloss.analytic._ridge`, the backbone in
:mod:`skloss.analytic._backbone`, the buffer layer in :mod:`skloss.analytic._buffer`,
the growing label set in :mod:`skloss.analytic._labels`, the checks of a call in
:mod:`skloss.analytic._checks`, and what a call changes (all or nothing) and what a
pickle holds in :mod:`skloss.analytic._state`; this module wires them into
scikit-learn's API.
"""

from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from skloss._devices import resolve_device
from skloss._input_checks import unique_labels
from skloss._scores import decision_scores
from skloss.analytic import _backbone, _buffer, _checks, _labels, _ridge, _state
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
        float64 matrix (32 MiB at 2048, 512 MiB at 8192) to learn on, and each
        row learned costs ``O(d^2)``; see ``max_memory_bytes`` and
        :meth:`drop_learning_state`.
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
    inverse_autocorrelation_ : torch.Tensor of shape (buffer_size, buffer_size), float64, or None
        ``R = (X_B^T X_B + gamma I)^-1`` over every row learned: the whole memory
        of the past that the recursive update needs. None after
        :meth:`drop_learning_state` (prediction does not use it).
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

    Every call is all or nothing: after a call that raised (bad input, a
    backbone error, a failed update) or was interrupted (``KeyboardInterrupt``,
    re-raised), the estimator is exactly as before the call, rows of a call's
    earlier batches included; a one-row stream pays no copy for this.

    A pickle holds what prediction needs (the head ``W``, and the buffer weights
    unless an int ``random_state`` draws them again) and ``R``, ``8 d^2`` bytes
    (half after :meth:`fit` or :meth:`merge`, whose ``R`` is exactly symmetric).
    :meth:`drop_learning_state` leaves ``R`` out, for a model that only predicts.
    Predictions are bit-identical after loading.

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
        with _state.all_or_nothing(self) as call:
            self._check_params()
            X, y, weight = _checks.validate_training_data(self, X, y, sample_weight, reset=True)
            X, y, weight = _checks.drop_zero_weight(X, y, weight)
            backbone, buffer_weight = self._new_feature_map(X, operation="fit")
            classes, codes = unique_labels(y, return_inverse=True)
            batches = self._weighted_batches(
                backbone, buffer_weight, X, codes, weight, len(classes)
            )
            head, inverse = _ridge.solve(
                batches, self.buffer_size, len(classes), self.gamma, buffer_weight.device
            )
            call.commit(
                {
                    **self._feature_map_attributes(backbone, buffer_weight),
                    "weight_": head,
                    "inverse_autocorrelation_": inverse,
                    "classes_": classes,
                    "n_samples_seen_": _num_samples(X),
                }
            )
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
        with _state.all_or_nothing(self) as call:
            self._check_params()
            first_call = not hasattr(self, "weight_")
            if not first_call:
                _checks.check_model_parameters_unchanged(self, "partial_fit", _MODEL_PARAMETERS)
                _checks.check_learning_state(self, "partial_fit")
            X, y, weight = _checks.validate_training_data(
                self, X, y, sample_weight, reset=first_call
            )
            if classes is not None:
                _checks.check_classes_guard(classes, y)
            X, y, weight = _checks.drop_zero_weight(X, y, weight)
            if first_call:
                backbone, buffer_weight = self._new_feature_map(X, operation="partial_fit")
                head, inverse = _ridge.empty_solution(
                    self.buffer_size, self.gamma, buffer_weight.device
                )
                learned = self._feature_map_attributes(backbone, buffer_weight)
                known, n_seen = y[:0], 0
            else:
                backbone, buffer_weight = self.backbone_, self.buffer_weight_
                head, inverse = self.weight_, self.inverse_autocorrelation_
                learned, known, n_seen = {}, self.classes_, self.n_samples_seen_
                if _num_samples(X) > self._resolved_batch_size():
                    # Several batches write R several times: learn on a copy, bound
                    # at the end, so that a failure in a later batch costs nothing.
                    # A one-batch call writes the estimator's R once, at the commit.
                    inverse = inverse.clone()
            classes_, codes = _labels.grow_classes(known, y)
            head = _ridge.add_class_columns(head, len(classes_) - len(known))
            gain_t = None
            batches = self._weighted_batches(
                backbone, buffer_weight, X, codes, weight, len(classes_)
            )
            for features, targets in batches:
                if gain_t is not None:
                    _ridge.downdate(inverse, gain_t)
                head, gain_t = _ridge.woodbury_step(inverse, head, features, targets)
            learned.update(
                weight_=head,
                inverse_autocorrelation_=inverse,
                classes_=classes_,
                n_samples_seen_=n_seen + _num_samples(X),
            )
            call.commit(learned, downdate=(inverse, gain_t))
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
        with _state.all_or_nothing(self) as call:
            check_is_fitted(self)
            if not isinstance(other, AnalyticIncrementalClassifier):
                raise TypeError(
                    "merge needs another AnalyticIncrementalClassifier, got "
                    f"{type(other).__name__}."
                )
            check_is_fitted(other)
            _checks.check_model_parameters_unchanged(self, "merge", _MODEL_PARAMETERS)
            _checks.check_model_parameters_unchanged(other, "merge", _MODEL_PARAMETERS)
            _checks.check_learning_state(self, "merge")
            _checks.check_learning_state(other, "merge", whose="the other estimator")
            _checks.check_mergeable(self, other)
            _labels.check_label_kind(self.classes_, other.classes_, name="other.classes_")
            _ridge.check_memory(
                self.buffer_size,
                self.n_embedding_,
                self._resolved_batch_size(),
                "merge",
                self.max_memory_bytes,
            )
            device = self.weight_.device
            classes_, other_columns = _labels.append_labels(self.classes_, other.classes_)
            weight, inverse = _ridge.merge_solutions(
                (self.weight_, self.inverse_autocorrelation_),
                (other.weight_.to(device), other.inverse_autocorrelation_.to(device)),
                other_columns,
                len(classes_),
                self.gamma,
            )
            call.commit(
                {
                    "weight_": weight,
                    "inverse_autocorrelation_": inverse,
                    "classes_": classes_,
                    "n_samples_seen_": self.n_samples_seen_ + other.n_samples_seen_,
                }
            )
        return self

    def drop_learning_state(self):
        """Keep only what prediction needs: forget ``R``, after which the estimator cannot learn on.

        ``inverse_autocorrelation_`` (``R``, a ``buffer_size x buffer_size``
        float64 matrix: 32 MiB at the default 2048) is the whole memory of the
        past that :meth:`partial_fit` and :meth:`merge` need; prediction needs
        only the buffer and the head (``buffer_size x n_classes``). After this
        call ``inverse_autocorrelation_`` is None, :meth:`partial_fit` and
        :meth:`merge` refuse with a message saying so, and :meth:`fit` starts
        afresh as always. Predictions do not change. Use it before pickling a
        model that is only to predict: the pickle shrinks from ``8 d^2`` bytes
        (``4 d^2`` after :meth:`fit`) to about ``8 d K`` (see the user guide).

        Returns
        -------
        self : object
            This estimator, prediction-only.

        Examples
        --------
        >>> import pickle
        >>> from sklearn.datasets import load_wine
        >>> from skloss.analytic import AnalyticIncrementalClassifier
        >>> X, y = load_wine(return_X_y=True)
        >>> clf = AnalyticIncrementalClassifier(buffer_size=512, random_state=0).fit(X, y)
        >>> round(len(pickle.dumps(clf)) / 2**10)  # KiB: R's upper triangle, 512 * 513 / 2 * 8 B
        1039
        >>> clf = clf.drop_learning_state()
        >>> round(len(pickle.dumps(clf)) / 2**10)  # KiB: the head W, 512 * 3 * 8 B
        13
        """
        check_is_fitted(self)
        self.inverse_autocorrelation_ = None
        return self

    def __getstate__(self):
        # The buffer weights when an int seed draws them again, and half of a
        # symmetric R, stay out of the pickle (see skloss.analytic._state).
        return _state.packed(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_state.unpacked(state))

    # ---- prediction -------------------------------------------------------------------
    def _scores(self, X):
        check_is_fitted(self)
        _checks.check_model_parameters_unchanged(self, "prediction", _PREDICTION_PARAMETERS)
        X = _checks.validate_features(self, X, reset=False)
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

        Nothing here depends on the values of ``X`` (only on the backbone's
        output width): the feature map is fixed by the parameters.
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
        buffer = _buffer.draw_weights(n_embedding, self.buffer_size, self.init, self.random_state)
        return backbone, buffer.to(device)

    def _feature_map_attributes(self, backbone, buffer_weight):
        return {
            "backbone_": backbone,
            "buffer_weight_": buffer_weight,
            "n_embedding_": buffer_weight.shape[0],
            # The parameters the learned R and W depend on, as they were: learning on
            # with others would mix two feature maps (or penalties) in one solution.
            "_model_parameters": {name: getattr(self, name) for name in _MODEL_PARAMETERS},
        }

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
        return _buffer.features(self.backbone_, self.buffer_weight_, self.activation, rows)

    def _weighted_batches(self, backbone, buffer_weight, X, codes, weight, n_classes):
        """Yield ``(sqrt(w) * X_B, sqrt(w) * Y)``: weighted least squares as plain least squares."""
        batch_size = self._resolved_batch_size()
        device = buffer_weight.device
        n = _num_samples(X)
        for start in range(0, n, batch_size):
            index = np.arange(start, min(start + batch_size, n))
            rows = _safe_indexing(X, index)
            features = _buffer.features(backbone, buffer_weight, self.activation, rows)
            targets = _labels.one_hot(codes[index], n_classes, device)
            if weight is not None:
                root = torch.from_numpy(np.sqrt(weight[index])).to(device)[:, None]
                features = features * root
                targets = targets * root
            yield features, targets

    def _resolved_batch_size(self):
        if self.batch_size == "auto":
            return min(256, max(64, self.buffer_size))
        return self.batch_size
