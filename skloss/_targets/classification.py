"""Classification: what the classifiers add to the core (labels, class weights, probabilities).

Labels of any hashable type are encoded as positions in ``classes_``; the loss
sees those codes and declares how many outputs it needs for the classes
(``loss.n_outputs(n_classes)``); ``predict_proba`` goes through the loss's link.
"""

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils import compute_sample_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets

from skloss._core.estimator import BaseLossEstimator
from skloss._core.fit_mode import FitMode, Targets
from skloss._input_checks import check_class_weight_values, unique_labels
from skloss._scores import decision_scores, predicted_codes, probability_columns
from skloss._targets.bags import BagResponses, bag_codes, bag_proportion_accuracy

__all__ = ["BaseLossClassifier", "ClassLabels"]


class _Accuracy:
    """The validation accuracy of one pass, accumulated on the device."""

    def __init__(self, device):
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.n_rows = 0

    def update(self, logits, codes, loss):
        predicted = predicted_codes(logits)
        if codes.dtype.is_floating_point:
            # Label proportions: each row is class 1 with its bag's share, so a
            # prediction is right with that probability (the accuracy for 0/1).
            expected = torch.where(predicted == 1, codes, 1 - codes).sum()
            self.correct = self.correct + expected
        else:
            self.correct += (predicted == codes).sum()
        self.n_rows += codes.shape[0]

    def result(self):
        return self.correct.item() / self.n_rows


class ClassLabels:
    """What the net knows of classification targets: codes in ``[0, n_classes)``."""

    score_name = "valid_acc"

    def new_score(self, device):
        return _Accuracy(device)

    def check_encoded(self, y, n_targets):
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= n_targets:
            raise ValueError(
                f"y must hold encoded labels, integers in [0, {n_targets}) (positions in the "
                "estimator's classes_); use estimator.partial_fit for the original labels."
            )
        return y

    def net_predict(self, net, X):
        return net.predict_proba(X).argmax(axis=1)


class BaseLossClassifier(BagResponses, ClassifierMixin, BaseLossEstimator):
    """The classification part of the skloss estimators; not for direct use.

    Subclasses define ``__init__`` with their own parameters plus the common
    parameters (:data:`skloss._docstrings.COMMON_PARAMETERS`), and implement
    :meth:`_make_loss`.
    """

    _parameter_constraints = {
        **BaseLossEstimator._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "fused": [StrOptions({"auto"}), "boolean"],
    }
    _target_kind = "classification"
    _target_codec = ClassLabels()

    def fit(self, X, y, sample_weight=None, bags=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numpy, pandas, scipy sparse; float or int).
        y : array-like of shape (n_samples,)
            Labels of any hashable type; with ``bags``, each bag's share of the
            positive class (a number in [0, 1]) repeated on its rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row (any hashable ids), for learning from label
            proportions with a loss of bags (``loss="bag_bce"``, binary only):
            ``classes_`` is then ``[0, 1]``, ``y`` must be constant within
            each bag, and ``early_stopping`` holds out whole bags. Metadata:
            inside a ``Pipeline`` or a search, request it with
            ``set_fit_request(bags=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if bags is not None and np.ndim(y) == 2 and np.shape(y)[1] > 1:
            raise ValueError(
                "learning from label proportions is binary only: y must hold one share of "
                f"the positive class per row; got shape {np.shape(y)}. For more classes, "
                "fit one classifier per class on its share."
            )
        return self._fit(X, y, sample_weight=sample_weight, extras={"bags": bags})

    def partial_fit(self, X, y, classes=None, sample_weight=None, bags=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features of this chunk.
        y : array-like of shape (n_samples,)
            Labels of this chunk (with ``bags``, the bags' shares of class 1).
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call and must
            not change afterwards (scikit-learn's rule). Not needed with
            ``bags`` (the classes are ``[0, 1]``).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row of this chunk (see :meth:`fit`); a chunk holds
            whole bags.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        if classes is None and bags is None and not hasattr(self, "net_"):
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the list of "
                "every label the stream will contain."
            )
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            classes=classes,
            incremental=True,
            extras={"bags": bags},
        )

    def score(self, X, y, sample_weight=None, bags=None):
        """Accuracy; with ``bags``, how well the predicted shares match the bags'.

        With ``bags``, ``y`` holds each bag's share of class 1 and the score is
        ``1 - |predicted share - share|`` per bag (the predicted share is the
        bag's mean predicted label), averaged with the bags weighted by their
        size: the accuracy when every bag is one row. Use it to choose ``rho``
        by cross-validation (``set_score_request(bags=True)``, ``GroupKFold``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels; with ``bags``, each bag's share of class 1.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        bags : array-like of shape (n_samples,), default=None
            A bag id per row.

        Returns
        -------
        float
            The accuracy, or the bags' share agreement, in [0, 1].
        """
        if bags is None:
            return super().score(X, y, sample_weight=sample_weight)
        _, codes = bag_codes(bags)
        predicted = (self.predict(X) == self.classes_[-1]).astype(float)
        return bag_proportion_accuracy(np.asarray(y, dtype=float), predicted, codes, sample_weight)

    # ---- the kind of target -----------------------------------------------------------
    def _encode_targets(self, y, mode, incremental, classes, loss, sample_weight):
        if "bags" in loss.requires:
            return self._encode_proportions(y, mode, classes)
        unique_labels(y)  # labels of mixed types: a clear error before sklearn's
        check_classification_targets(y)
        if incremental:
            classes = self._stream_classes(classes, y, mode is FitMode.FRESH)
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, which sees one "
                    "chunk at a time. Compute weights on a large sample of the stream with "
                    "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
                )
            codes = np.searchsorted(classes, y)
        else:
            classes, codes = unique_labels(y, return_inverse=True)
            if mode is FitMode.WARM and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as in the "
                    f"previous call to fit: previously {self.classes_.tolist()}, now "
                    f"{classes.tolist()}. Set warm_start=False to start afresh."
                )
        return Targets(codes, len(classes), {"classes_": classes})

    def _stream_classes(self, classes, y, first_call):
        """The classes of a partial_fit stream, checked against this chunk."""
        if classes is not None:
            classes = unique_labels(np.asarray(classes), name="classes")
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first call to "
                    f"partial_fit ({self.classes_.tolist()}); it must not change."
                )
        else:
            classes = self.classes_
        try:
            unknown = np.setdiff1d(unique_labels(y), classes).tolist()
        except (TypeError, ValueError):
            unknown = [label for label in set(y.tolist()) if label not in set(classes.tolist())]
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown} that are not in classes="
                f"{classes.tolist()}; pass every label of the stream in classes on the "
                "first call."
            )
        return classes

    def _check_targets(self, targets, loss, n_samples, mode):
        classes = targets.fitted["classes_"]
        if n_samples is not None and n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to train, got "
                f"n_samples = {n_samples}."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got only "
                f"{classes.tolist()}."
            )
        loss.check_n_classes(len(classes))

    def _check_loss_continues(self, loss, n_targets):
        loss.check_n_classes(n_targets, from_scratch=False)

    def _target_noun(self):
        return "classes"

    def _target_weights(self, targets, incremental):
        if self.class_weight is None:
            return None
        classes = targets.fitted["classes_"]
        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            check_class_weight_values(class_weight)
            unknown = set(class_weight) - set(classes.tolist())
            if unknown and not incremental:
                raise ValueError(
                    f"class_weight names labels {sorted(unknown, key=str)} that are not in "
                    f"y (classes: {classes.tolist()})."
                )
            class_weight = {k: v for k, v in class_weight.items() if k in set(classes.tolist())}
        return compute_sample_weight(class_weight, classes[targets.values])

    def _validation_split(self, targets, seed):
        split = self._bag_split(seed)
        if split is not None:
            return split
        codes = targets.values
        index = np.arange(len(codes))
        counts = np.bincount(codes)
        n_valid = int(np.ceil(self.validation_fraction * len(index)))
        stratify = codes if counts.min() >= 2 and n_valid >= len(counts) else None
        return self._checked_split(index, seed, stratify)

    # ---- prediction -------------------------------------------------------------------
    def decision_function(self, X):
        """Logits of the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes, the score of ``classes_[1]`` relative to ``classes_[0]``.
        """
        return decision_scores(self._outputs(X)).numpy()

    def predict_proba(self, X):
        """Class probabilities, through the loss's link (softmax unless it says otherwise).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return self._outputs(X, self._probabilities).numpy()

    def _probabilities(self, logits):
        return probability_columns(self.loss_function_.link(logits))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``; ``-inf`` where a probability is 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels (from ``classes_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        # Block by block, so that only the labels of all rows are ever held.
        codes = self._outputs(X, lambda logits: self._probabilities(logits).argmax(dim=1))
        return self.classes_[codes.numpy()]

    @property
    def out_activation_(self):
        """str: the output function, ``"logistic"`` for one output, else ``"softmax"``."""
        return "logistic" if self.n_outputs_ == 1 else "softmax"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            binary_only = self._make_loss().binary_only
        except Exception:  # an invalid loss is reported by fit, not by tags
            binary_only = False
        tags.classifier_tags.multi_class = not binary_only
        return tags
