"""Training with a loss corrected for the noise, its transition matrix estimated inside ``fit``.

:class:`LossCorrectionClassifier` wraps a skloss classifier: ``fit`` estimates the
transition matrix ``T`` from the noisy labels (:func:`estimate_transition`, ``cv``
fits of a cheap auxiliary model) unless it is given, then trains a clone of the
classifier with the forward or backward corrected loss
(:class:`skloss.losses.ForwardCorrection`, :class:`skloss.losses.BackwardCorrection`).
A meta-estimator, because the estimate needs the features and a model of its own,
which a loss (pure torch) has neither of.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skloss._input_checks import unique_labels
from skloss.losses import get_loss
from skloss.losses.correction import check_transition
from skloss.noise.transition import estimate_transition

__all__ = ["LossCorrectionClassifier"]

CORRECTIONS = ("forward", "backward")


def _estimator_has(method):
    def check(self):
        inner = self.estimator_ if hasattr(self, "estimator_") else self._inner()
        return hasattr(inner, method)

    return check


class LossCorrectionClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A skloss classifier trained with a loss corrected for class-conditional label noise.

    ``fit`` estimates the transition matrix ``T[i, j] = P(noisy label j | true
    class i)`` from out-of-fold probabilities of ``transition_estimator`` (the
    confident joint, :func:`skloss.noise.estimate_transition`; ``cv`` extra fits
    of that model), or takes the one given, and trains a clone of ``estimator``
    with ``loss=ForwardCorrection(T)`` or ``BackwardCorrection(T)`` (Patrini et
    al., 2017). The network then predicts the *clean* classes. Correction suits
    noise that depends on the class (pair-flip, a confusable pair of classes);
    under symmetric noise a bounded loss does as well without an estimate.

    Parameters
    ----------
    estimator : skloss classifier, default=None
        The classifier to train; it must take a ``loss`` parameter (as
        :class:`skloss.RobustLossClassifier` does), which the correction
        replaces. None is ``RobustLossClassifier()``.
    correction : {"forward", "backward"}, default="forward"
        ``"forward"`` scores ``T^T softmax(z)`` against the noisy label and does
        not invert ``T``; ``"backward"`` mixes the cross-entropies by ``T^-1``
        (unbiased, but unbounded below and refused for a near-singular ``T``).
    transition : "estimate" or array-like of shape (n_classes, n_classes), \
default="estimate"
        ``"estimate"`` estimates ``T`` in ``fit``; a matrix is used as given (rows
        true classes, columns noisy labels, both in sorted class order).
    transition_estimator : classifier, default=None
        The model whose out-of-fold probabilities estimate ``T``; None is
        ``LogisticRegression(max_iter=1000)``. Unused when ``transition`` is a
        matrix.
    cv : int, cross-validation splitter or iterable, default=5
        Folds of that estimate (each class needs at least ``cv`` samples).
    random_state : int, default=None
        Seeds the folds of the estimate (the wrapped estimator keeps its own).
    refine_transition : bool, default=False
        Refine the estimate once before training: a clone of ``estimator`` is
        trained on the same ``cv`` folds with the forward correction through the
        first estimate, and ``T`` is counted again from its out-of-fold
        probabilities of the clean classes (``estimate_transition(refine=...)``).
        The first estimate counts ``transition_estimator``'s own errors as
        noise; the corrected network makes fewer of them where it classifies
        better than ``transition_estimator``. ``cv`` more fits of
        ``estimator``. Unused when ``transition`` is a matrix.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``, trained with the corrected loss.
    transition_ : ndarray of shape (n_classes, n_classes)
        The transition matrix used.
    noise_rate_ : ndarray of shape (n_classes,)
        ``1 - diag(transition_)``: each class's share of wrong labels.
    classes_ : ndarray of shape (n_classes,)
        The classes, sorted.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when they are all strings.

    See Also
    --------
    skloss.noise.estimate_transition : The estimate of ``T``.
    skloss.losses.ForwardCorrection : The forward-corrected loss, for a known ``T``.

    References
    ----------
    .. [1] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach",
       CVPR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skloss import RobustLossClassifier
    >>> from skloss.noise import LossCorrectionClassifier, make_noisy_labels
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy, _ = make_noisy_labels(y, 0.3, kind="pairflip", random_state=0)
    >>> clf = LossCorrectionClassifier(
    ...     RobustLossClassifier(early_stopping=True, random_state=0), random_state=0
    ... ).fit(X / 16, y_noisy)
    >>> clf.transition_.shape, clf.estimator_.loss
    ((10, 10), ForwardCorrection(transition=array(...)))
    >>> clf.predict(X[:5] / 16)
    array([0, 1, 2, 3, 4])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "correction": [StrOptions(set(CORRECTIONS))],
        "transition": [StrOptions({"estimate"}), "array-like"],
        "transition_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": ["cv_object"],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "refine_transition": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        correction="forward",
        transition="estimate",
        transition_estimator=None,
        cv=5,
        random_state=None,
        refine_transition=False,
    ):
        self.estimator = estimator
        self.correction = correction
        self.transition = transition
        self.transition_estimator = transition_estimator
        self.cv = cv
        self.random_state = random_state
        self.refine_transition = refine_transition

    def _inner(self):
        if self.estimator is None:
            from skloss import RobustLossClassifier

            return RobustLossClassifier()
        return self.estimator

    def _checked_inner(self):
        inner = clone(self._inner())
        if "loss" not in inner.get_params(deep=False):
            raise ValueError(
                f"estimator must take a 'loss' parameter for the correction to replace (as "
                f"skloss.RobustLossClassifier does); {type(inner).__name__} has none. Put "
                "preprocessing around this classifier (make_pipeline(scaler, "
                "LossCorrectionClassifier(...))), not inside it."
            )
        return inner

    def fit(self, X, y, sample_weight=None):
        """Estimate the noise (unless given), then train with the corrected loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features.
        y : array-like of shape (n_samples,)
            The noisy labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the corrected loss (the estimate of ``T`` counts
            every sample once).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._validate_params()
        inner = self._checked_inner()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype="numeric")
        check_classification_targets(y)
        classes = unique_labels(y)
        if len(y) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to train, got n_samples = "
                f"{len(y)}."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 class "
                f"({classes.tolist()})."
            )
        if isinstance(self.transition, str):
            estimate = estimate_transition(
                X,
                y,
                self.transition_estimator,
                self.cv,
                random_state=self.random_state,
                refine=inner if self.refine_transition else None,
            )
            transition = estimate.transition
        else:
            transition = check_transition(self.transition, len(classes))
        loss = get_loss(self.correction, transition=transition)
        inner.set_params(loss=loss)
        self.estimator_ = inner.fit(X, y, sample_weight=sample_weight)
        self.transition_ = transition
        self.noise_rate_ = 1.0 - np.diag(transition)
        self.classes_ = self.estimator_.classes_
        return self

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Clean class probabilities of the corrected network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        X = self._checked_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        X = self._checked_X(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """The corrected network's logits (scores of the clean classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            As the wrapped estimator's ``decision_function``.
        """
        X = self._checked_X(X)
        return self.estimator_.decision_function(X)

    def predict(self, X):
        """Predicted (clean) labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        X = self._checked_X(X)
        return self.estimator_.predict(X)

    def _checked_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse="csr", dtype="numeric", reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        return tags
