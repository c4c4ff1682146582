"""``DistillationClassifier``: a small network that learns from a teacher model and the labels.

Also the two functions it scores the teacher with, for use on their own:
:func:`teacher_scores` (a fitted teacher) and :func:`out_of_fold_scores` (each row
scored by a copy of the teacher fitted without it).
"""

import numpy as np
from scipy.special import log_softmax
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils import get_tags
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import _num_samples

from skloss._atomic import unchanged_on_error
from skloss._core.fit_mode import FitMode
from skloss._docstrings import Substitution, attribute_block, parameter_block
from skloss._targets import BaseLossClassifier
from skloss._teacher import (
    LOG_FLOOR,
    aligned_scores,
    check_can_score,
    fit_teacher,
    fold_splitter,
    is_fitted,
    out_of_fold_scores,
    scores_by_fold,
    teacher_scores,
)
from skloss.losses import Loss, get_loss

__all__ = ["DistillationClassifier", "out_of_fold_scores", "teacher_scores"]


def _teacher_can_score(estimator):
    # partial_fit needs scores for every chunk: a fitted teacher can give them.
    return estimator.teacher is not None and is_fitted(estimator.teacher)


@Substitution(common_parameters=parameter_block(), common_attributes=attribute_block())
class DistillationClassifier(BaseLossClassifier):  # numpydoc ignore=PR01,PR02,PR04,PR07
    """A neural-network classifier that learns from a teacher model as well as the labels.

    Distillation: a small, fast network (the student) trained on the labels
    and on the class scores of a stronger model (the teacher: gradient
    boosting, an ensemble, any scikit-learn classifier), to keep much of what
    the teacher knows at a fraction of its prediction cost. The teacher's
    scores reach the loss for every training row: :class:`skloss.losses.PLD`
    (the default) fits the teacher's ranking of the classes with the label
    first; :class:`skloss.losses.KD` mixes cross-entropy with a softened KL
    divergence to the teacher.

    Parameters
    ----------
    teacher : classifier or None, default=None
        Any scikit-learn classifier with ``decision_function`` or
        ``predict_proba`` (a pipeline ending in one, a
        ``sklearn.frozen.FrozenEstimator``). None is
        ``HistGradientBoostingClassifier(random_state=...)``, seeded from
        ``random_state``.

        - **Unfitted** (None included): fitted inside. Each training row is
          scored by a copy of the teacher fitted on the other folds of ``cv``
          (out-of-fold scores: a teacher scoring its own training rows hands
          the student near-one-hot targets), and ``teacher_`` is a copy fitted
          on all rows: ``cv + 1`` teacher fits in all.
        - **Fitted**: used as given (no fit), scoring the training rows. If it
          was trained on them, its scores there are the memorised ones, the
          leakage out-of-fold scores avoid. ``clone`` (hence ``GridSearchCV``,
          ``cross_val_score``) returns a fitted teacher unfitted, so a search
          refits it in every fold, out of fold; wrap it in
          ``sklearn.frozen.FrozenEstimator`` to keep it fitted in every fold.

        ``teacher_scores`` passed to ``fit`` win over the teacher, which is then
        not used.
    loss : {"pld", "kd"} or skloss.losses.Loss, default="pld"
        A distillation loss: a registry name or an instance of a loss that
        requires ``teacher_scores``. Its hyperparameters (``temperature``, KD's
        ``alpha``) are searched as ``loss__temperature``. For a student without
        a teacher, use :class:`skloss.RobustLossClassifier`.
    cv : int, cross-validation splitter, iterable of splits or None, default=5
        The folds of the out-of-fold scores of an unfitted teacher: an int
        ``>= 2`` is ``StratifiedKFold(cv, shuffle=True)`` seeded from
        ``random_state`` (None is 5); a splitter (``split(X, y)``) or a list of
        ``(train, test)`` index pairs must put every row in exactly one test
        fold. Ignored for a fitted teacher and for ``teacher_scores``.
    %(common_parameters)s

    Attributes
    ----------
    %(common_attributes)s
    teacher_ : classifier or None
        The teacher whose scores were used: a copy of an unfitted ``teacher``
        fitted on all training rows (the student learnt from out-of-fold
        scores, not from this copy's); a fitted ``teacher`` itself; None when
        ``teacher_scores`` were passed to the last call.

    See Also
    --------
    skloss.losses.PLD : The default loss, usable in any torch loop.
    skloss.losses.KD : Hinton et al.'s distillation loss.
    skloss.distillation.out_of_fold_scores : The teacher's out-of-fold scores,
        to compute once and reuse for several students.

    Notes
    -----
    **Teacher scores** are log-probabilities: ``log_softmax(decision_function)``
    where the teacher has one ``decision_function`` score per class (a binary
    score ``d`` as the two scores ``[0, d]``), else ``log(predict_proba)``,
    floored at ``log`` of the smallest normal float32 (about -87.3). Columns are
    matched to ``classes_`` by label, whatever the order of the teacher's
    ``classes_``; a fitted teacher's extra classes are dropped and a class it
    does not know is an error. ``teacher_scores`` passed to ``fit`` hold one
    column per class in the order of ``classes_`` (the sorted labels), or, for
    two classes, one score of ``classes_[1]``; any scores whose softmax is the
    teacher's distribution do (logits, log-probabilities).

    **Metadata.** ``teacher_scores`` is per-row metadata, like ``groups``: in a
    ``Pipeline`` or ``GridSearchCV`` with metadata routing on
    (``sklearn.set_config(enable_metadata_routing=True)``), request it with
    ``set_fit_request(teacher_scores=True)``; the search passes each fold its
    rows.

    **Weights.** ``sample_weight`` weights the student's loss and is passed to
    the teacher's ``fit`` when it takes ``sample_weight``; ``class_weight`` is
    the student's alone.

    **Temperature lives in the loss** (``loss__temperature``), not in the
    estimator: one parameter in one place, the loss usable on its own, and the
    same search syntax as every other skloss loss.

    ``partial_fit`` is available with a fitted teacher, which scores every
    chunk (``teacher_scores`` passed with a chunk win): out-of-fold scores need
    the whole training set.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import DistillationClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = DistillationClassifier(LogisticRegression(), learning_rate_init=0.05,
    ...                              batch_size=32, random_state=0).fit(X, y)
    >>> type(clf.teacher_).__name__, clf.score(X, y) > 0.9
    ('LogisticRegression', True)
    """

    _parameter_constraints = {
        **BaseLossClassifier._parameter_constraints,
        "teacher": [None, HasMethods(["fit"])],
        "loss": [str, Loss],
        "cv": ["cv_object"],
    }

    def __init__(
        self,
        teacher=None,
        *,
        loss="pld",
        cv=5,
        hidden_layer_sizes=(100,),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        optimizer="adam",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=False,
        warm_start=False,
        module=None,
        device="auto",
        class_weight=None,
        callbacks=None,
        fused="auto",
        precision="32",
        inference_precision="32",
    ):
        self.teacher = teacher
        self.loss = loss
        self.cv = cv
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.module = module
        self.device = device
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.fused = fused
        self.precision = precision
        self.inference_precision = inference_precision

    def _make_loss(self):
        loss = get_loss(self.loss)
        if "teacher_scores" not in loss.requires:
            raise ValueError(
                f"loss {loss!r} does not learn from a teacher (it does not require "
                "teacher_scores); DistillationClassifier trains 'pld', 'kd' or another "
                "distillation loss. For a student without a teacher use "
                "skloss.RobustLossClassifier."
            )
        return loss

    # ---- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, teacher_scores=None):
        """Train the student on ``(X, y)`` and the teacher's scores of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features; the teacher receives them as given.
        y : array-like of shape (n_samples,)
            Labels of any hashable type.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the student's loss, also passed to the
            teacher's ``fit`` when it takes them.
        teacher_scores : array-like of shape (n_samples, n_classes), default=None
            The teacher's scores of the rows, one column per class of
            ``classes_`` (for two classes also ``(n_samples,)``, the score of
            ``classes_[1]``). Given, they win over ``teacher``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._distil(X, y, sample_weight, teacher_scores)

    @available_if(_teacher_can_score)
    def partial_fit(self, X, y, classes=None, sample_weight=None, teacher_scores=None):
        """Train one epoch on a chunk, scored by the fitted teacher.

        Available when ``teacher`` is fitted (or frozen): out-of-fold scores
        need the whole training set, a stream gives one chunk at a time.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features of this chunk.
        y : array-like of shape (n_samples,)
            Labels of this chunk.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.
        teacher_scores : array-like of shape (n_samples, n_classes), default=None
            This chunk's teacher scores; given, they win over ``teacher``.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        if classes is None and not hasattr(self, "net_"):
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the list of "
                "every label the stream will contain."
            )
        return self._distil(X, y, sample_weight, teacher_scores, classes, incremental=True)

    def _distil(self, X, y, sample_weight, given_scores, classes=None, incremental=False):
        with unchanged_on_error(self):
            plan = self._plan_student(X, y, sample_weight, classes, incremental)
            student_classes = plan.targets.fitted["classes_"]
            codes = plan.targets.values
            if given_scores is not None:
                scores, teacher = self._checked_scores(given_scores, student_classes), None
            else:
                teacher = self._teacher(plan.seed)
                check_can_score(teacher)
                if is_fitted(teacher):
                    scores = aligned_scores(teacher, X, student_classes)
                else:
                    labels = student_classes[codes]
                    splitter = self._splitter(codes, plan.seed)
                    scores = scores_by_fold(
                        teacher, X, labels, codes, student_classes, splitter, sample_weight
                    )
                    teacher = fit_teacher(teacher, X, labels, sample_weight)
            # Set before training: an interrupted fit keeps the teacher it learnt from.
            self.teacher_ = teacher
            return self._fit(
                X,
                y,
                sample_weight=sample_weight,
                classes=classes,
                incremental=incremental,
                extras={"teacher_scores": scores},
            )

    def _plan_student(self, X, y, sample_weight, classes, incremental):
        """Everything the core checks before training, leaving the estimator untouched.

        The teacher is trained only after the student's fit is known to be able to
        start: a bad parameter or input fails at once, not after ``cv + 1`` teacher
        fits. The core's plan needs teacher scores of the right length, which are
        not known yet: a placeholder stands in.
        """
        mode = FitMode.of(hasattr(self, "net_"), incremental, self.warm_start)
        try:
            placeholder = {"teacher_scores": np.zeros(_num_samples(X), dtype=np.float32)}
        except TypeError:  # not an array: validate_data reports it
            placeholder = {}
        saved = dict(self.__dict__)
        try:
            return self._plan_fit(X, y, sample_weight, classes, mode, incremental, placeholder)
        finally:
            self.__dict__.clear()
            self.__dict__.update(saved)

    def _teacher(self, seed):
        if self.teacher is None:
            return HistGradientBoostingClassifier(random_state=seed)
        return self.teacher

    def _splitter(self, codes, seed):
        return fold_splitter(5 if self.cv is None else self.cv, codes, seed)

    @staticmethod
    def _checked_scores(teacher_scores, classes):
        scores = np.asarray(teacher_scores)
        n_classes = len(classes)
        if scores.dtype.kind not in "iuf":
            raise ValueError(f"teacher_scores must hold numbers; got dtype {scores.dtype}.")
        scores = scores.astype(np.float64)
        if scores.ndim == 1 and n_classes == 2:
            scores = np.column_stack([np.zeros_like(scores), scores])
        if scores.ndim != 2 or scores.shape[1] != n_classes:
            raise ValueError(
                f"teacher_scores must have one column per class, in the order of classes_ "
                f"{classes.tolist()}: shape (n_samples, {n_classes})"
                + (" or (n_samples,) for the score of classes_[1]" if n_classes == 2 else "")
                + f"; got shape {np.shape(teacher_scores)}."
            )
        if not np.isfinite(scores).all():
            raise ValueError(
                "teacher_scores must be finite; log-probabilities of 0 are -inf: floor the "
                "probabilities first (e.g. np.log(np.maximum(p, 1e-30)))."
            )
        return np.maximum(log_softmax(scores, axis=1), LOG_FLOOR)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        teacher = HistGradientBoostingClassifier() if self.teacher is None else self.teacher
        try:
            # fit(X, y) hands X to the teacher: sparse input works when both take it.
            tags.input_tags.sparse = tags.input_tags.sparse and get_tags(teacher).input_tags.sparse
        except Exception:  # an invalid teacher is reported by fit, not by tags
            pass
        return tags
