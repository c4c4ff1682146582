"""Robust accuracy of a fitted skloss classifier under a projected-gradient attack.

:func:`pgd_accuracy` attacks the network of a fitted skloss classifier (or of
the last step of a :class:`~sklearn.pipeline.Pipeline`, in that step's input
space) with untargeted PGD on the cross-entropy and reports the share of rows
still classified correctly; :func:`make_pgd_scorer` turns it into a scorer for
``GridSearchCV`` and ``cross_val_score``.

No clamping to ``[0, 1]`` happens anywhere: tabular features are not pixels.
This is why torchattacks, whose attacks clamp every input to ``[0, 1]``, does
not fit here; the reference implementation the tests compare with is ART's
``ProjectedGradientDescent`` on a ``PyTorchClassifier`` with
``clip_values=None``.
"""

import numbers

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data

from skloss._scores import probability_columns
from skloss._targets import BaseLossClassifier
from skloss._training.build import module_device
from skloss.losses.adversarial import (
    NORMS,
    checked_epsilon,
    eval_mode,
    projected_gradient_ascent,
)

__all__ = ["OBJECTIVES", "make_pgd_scorer", "pgd_accuracy"]

# Rows attacked at once: small enough for any tabular network's activations.
_BLOCK_ROWS = 1024


def _attacked_classifier(estimator, X):
    """The skloss classifier under attack and ``X`` in its input space."""
    if isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        last = estimator.steps[-1][1]
        if isinstance(last, BaseLossClassifier):
            return last, estimator[:-1].transform(X)
        kind = type(last).__name__
    else:
        last, kind = estimator, type(estimator).__name__
    if not isinstance(last, BaseLossClassifier):
        raise TypeError(
            "estimator must be a fitted skloss classifier trained through a torch network "
            "(RobustLossClassifier, AnyLossClassifier, EnsLossClassifier, ...) or a Pipeline "
            f"whose last step is one; got {kind}."
        )
    return last, X


def _checked_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _check_settings(epsilon, norm, steps, restarts, step_size, objective):
    """The attack's settings checked before any work; ``epsilon`` as an array."""
    epsilon = checked_epsilon(epsilon)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}.")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
    _checked_positive_int(steps, "steps")
    _checked_positive_int(restarts, "restarts")
    if step_size is not None and (
        isinstance(step_size, bool)
        or not isinstance(step_size, numbers.Real)
        or not np.isfinite(step_size)
        or step_size <= 0
    ):
        raise ValueError(
            f"step_size must be None or a number > 0 (a fraction of epsilon), got {step_size!r}."
        )
    return epsilon


def _encoded_labels(classifier, y, n_samples):
    y = column_or_1d(y, warn=True)
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} labels but X has {n_samples} rows; give one per row.")
    position = {label: code for code, label in enumerate(classifier.classes_.tolist())}
    codes = [position.get(label) for label in y.tolist()]
    unknown = sorted(
        {repr(label) for label, code in zip(y.tolist(), codes, strict=True) if code is None}
    )
    if unknown:
        raise ValueError(
            f"y holds labels the classifier never saw: {', '.join(unknown[:5])}; its classes_ "
            f"are {classifier.classes_.tolist()}."
        )
    return np.asarray(codes, dtype=np.int64)


#: What the attack raises: ``"margin"``, the best other class's score minus the
#: label's (Carlini and Wagner's), ``"ce"``, the cross-entropy (Madry et al.), or
#: ``"both"``, one attack with each from every start.
OBJECTIVES = ("both", "margin", "ce")


def _class_scores(logits):
    # A one-logit binary network scores classes_[1] by z: [0, z] are its two logits
    # (softmax([0, z])[1] = sigmoid(z)), so one objective serves every network.
    if logits.shape[1] == 1:
        return torch.cat([torch.zeros_like(logits), logits], dim=1)
    return logits


def _margin(scores, codes):
    labelled = scores.gather(1, codes[:, None])[:, 0]
    others = scores.scatter(1, codes[:, None], float("-inf"))
    return others.max(dim=1).values - labelled


class _Attack:
    # One evaluation: the network, how it predicts, and the attack's settings.

    def __init__(self, classifier, epsilon, norm, steps, step_size, objective):
        self.module = classifier.net_.module_
        self.link = classifier.loss_function_.link
        self.epsilon, self.norm, self.steps, self.step_size = epsilon, norm, steps, step_size
        if objective != "both":
            self.objectives = (objective,)
        elif len(classifier.classes_) <= 2:
            # On two classes both step the same way (the cross-entropy is an increasing
            # function of the margin); the margin's gradient never underflows.
            self.objectives = ("margin",)
        else:
            self.objectives = ("ce", "margin")

    def predicted(self, logits):
        # The estimator's own rule (predict): argmax of its probability columns.
        return probability_columns(self.link(logits)).argmax(dim=1)

    def run(self, inputs, codes, fooled, found, generator, start, name):
        # Attack one block with the objective `name`; mark (fooled) and keep (found)
        # the misclassified points.

        def record(points, logits):
            wrong = (self.predicted(logits) != codes) & ~fooled
            found[wrong] = points[wrong]
            fooled[wrong] = True

        def objective(logits):
            scores = _class_scores(logits)
            if name == "margin":
                return _margin(scores, codes)
            return F.cross_entropy(scores, codes, reduction="none")

        last = projected_gradient_ascent(
            self.module,
            inputs,
            objective,
            self.epsilon,
            norm=self.norm,
            steps=self.steps,
            step_size=self.step_size,
            generator=generator,
            start=start,
            track=record,
        )
        with torch.no_grad():
            record(last, self.module(last))
        return last


def pgd_accuracy(
    estimator,
    X,
    y,
    epsilon,
    norm="linf",
    *,
    steps=20,
    restarts=1,
    step_size=None,
    objective="both",
    random_state=None,
    return_adversarial=False,
):
    """Accuracy of a fitted classifier under an untargeted PGD attack.

    Each row ``x`` may be moved anywhere within ``epsilon`` in the network's
    input space; the attack raises the cross-entropy of the label and the best
    other class's score over the label's by projected gradient ascent
    (:func:`skloss.losses.adversarial.projected_gradient_ascent`: signed steps
    for L-infinity, normalised steps for L2, the network in eval mode). A row
    counts as robust only if the classifier predicts its label at ``x`` and at
    every point the attack visits, in every restart.

    Parameters
    ----------
    estimator : skloss classifier or Pipeline
        A fitted skloss classifier trained through a torch network, or a fitted
        ``Pipeline`` whose last step is one: the attack then runs in the last
        step's input space (``X`` goes through the earlier steps first, so a
        ``StandardScaler`` before it makes ``epsilon`` a number of standard
        deviations).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The clean samples (never modified).
    y : array-like of shape (n_samples,)
        Their true labels, from the classifier's ``classes_``.
    epsilon : float or array-like of shape (n_features_net,)
        The perturbation budget in the network's input units: one number, or
        one per input feature of the network (0 freezes a feature).
    norm : {"linf", "l2"}, default="linf"
        ``|delta_j| <= epsilon_j``, or ``sum_j (delta_j / epsilon_j)^2 <= 1``.
    steps : int, default=20
        Ascent steps per restart.
    restarts : int, default=1
        Starts per row and objective: the first at ``x``, the others at uniform
        draws in the set. More restarts find at least the same errors.
    step_size : float, default=None
        Each step as a fraction of ``epsilon``; None gives ``2.5 / steps``.
    objective : {"both", "margin", "ce"}, default="both"
        What the attack raises: the cross-entropy of the label (Madry et al.'s
        PGD), ``max_{k != y} h_k(x') - h_y(x')`` (Carlini and Wagner's margin),
        or each in turn from every start (``"both"``: twice the work on more
        than two classes, where neither finds every error the other finds; on
        two classes both take the same steps and the margin alone runs).
    random_state : int, RandomState instance or None, default=None
        Seeds the uniform starts of the restarts after the first (restart ``r``
        draws from its own stream, so adding restarts keeps the earlier ones'
        draws); one restart draws nothing.
    return_adversarial : bool, default=False
        Also return the attacked inputs.

    Returns
    -------
    accuracy : float
        The share of rows classified correctly under attack.
    X_adversarial : ndarray of shape (n_samples, n_features_net), float32
        Only with ``return_adversarial=True``: in the network's input space, a
        misclassified point for each row the attack broke (``x`` itself when
        the clean prediction is wrong), the last restart's final point
        otherwise.

    Raises
    ------
    TypeError
        If ``estimator`` is not a skloss classifier or a Pipeline ending in one.
    ValueError
        For a bad ``epsilon``, ``norm``, ``steps``, ``restarts``,
        ``step_size`` or ``objective``, labels the classifier does not know,
        or shapes that do not match.

    See Also
    --------
    make_pgd_scorer : The same measure as a scorer for model selection.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skloss import RobustLossClassifier
    >>> from skloss.robustness import pgd_accuracy
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), RobustLossClassifier(
    ...     learning_rate_init=0.05, batch_size=32, random_state=0)).fit(X, y)
    >>> clean = model.score(X, y)
    >>> robust = pgd_accuracy(model, X, y, epsilon=0.1, random_state=0)
    >>> robust <= clean
    True
    """
    epsilon = _check_settings(epsilon, norm, steps, restarts, step_size, objective)
    classifier, X_net = _attacked_classifier(estimator, X)
    check_is_fitted(classifier)
    X_net = validate_data(classifier, X_net, accept_sparse="csr", dtype="numeric", reset=False)
    n_samples, n_features = X_net.shape
    if epsilon.ndim == 1 and epsilon.shape[0] != n_features:
        raise ValueError(
            f"epsilon has {epsilon.shape[0]} entries but the network's input has {n_features} "
            "features; give one number, or one per feature of the last step's input."
        )
    codes = _encoded_labels(classifier, y, n_samples)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    restart_seeds = [
        int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(restarts)
    ]
    attack = _Attack(classifier, epsilon, norm, steps, step_size, objective)
    device = module_device(attack.module)
    generators = [torch.Generator(device=device).manual_seed(s) for s in restart_seeds]
    n_robust, blocks = 0, []
    with eval_mode(attack.module):
        for start in range(0, n_samples, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, n_samples))
            block = X_net[rows]
            block = block.toarray() if sp.issparse(block) else np.asarray(block)
            inputs = torch.as_tensor(block, dtype=torch.float32, device=device)
            block_codes = torch.as_tensor(codes[rows], device=device)
            with torch.no_grad():
                fooled = attack.predicted(attack.module(inputs)) != block_codes
            found = inputs.clone()
            for restart, generator in enumerate(generators):
                start_rule = "clean" if restart == 0 else "uniform"
                for name in attack.objectives:
                    last = attack.run(
                        inputs, block_codes, fooled, found, generator, start_rule, name
                    )
            n_robust += int((~fooled).sum())
            if return_adversarial:
                blocks.append(torch.where(fooled[:, None], found, last).cpu().numpy())
    accuracy = n_robust / n_samples
    if return_adversarial:
        return accuracy, np.concatenate(blocks)
    return accuracy


def make_pgd_scorer(
    epsilon,
    norm="linf",
    *,
    steps=20,
    restarts=1,
    step_size=None,
    objective="both",
    random_state=0,
):
    """A scorer ``scorer(estimator, X, y)`` returning :func:`pgd_accuracy`.

    For ``GridSearchCV(..., scoring=make_pgd_scorer(0.1))`` and
    ``cross_val_score``: the hyperparameters of an adversarial loss (``nu``,
    ``beta``) trade clean accuracy for robustness, so select them by robust
    accuracy, not by the clean score.

    Parameters
    ----------
    epsilon : float or array-like of shape (n_features_net,)
        The perturbation budget in the network's input units.
    norm : {"linf", "l2"}, default="linf"
        The perturbation norm.
    steps : int, default=20
        Ascent steps per restart.
    restarts : int, default=1
        Attacks per row.
    step_size : float, default=None
        Each step as a fraction of ``epsilon``; None gives ``2.5 / steps``.
    objective : {"both", "margin", "ce"}, default="both"
        What the attack raises (see :func:`pgd_accuracy`).
    random_state : int, RandomState instance or None, default=0
        Seeds the random starts; an int scores every candidate against the same
        draws.

    Returns
    -------
    callable
        ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> scorer = make_pgd_scorer(epsilon=0.1)
    >>> scorer  # doctest: +NORMALIZE_WHITESPACE
    make_pgd_scorer(epsilon=0.1, norm='linf', steps=20, restarts=1, step_size=None,
                    objective='both', random_state=0)
    """
    settings = {
        "epsilon": epsilon,
        "norm": norm,
        "steps": steps,
        "restarts": restarts,
        "step_size": step_size,
        "objective": objective,
        "random_state": random_state,
    }
    _check_settings(epsilon, norm, steps, restarts, step_size, objective)
    return _PGDScorer(settings)


class _PGDScorer:
    # A picklable scorer (joblib workers receive it) that calls pgd_accuracy.

    def __init__(self, settings):
        self.settings = settings

    def __call__(self, estimator, X, y, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                "the PGD scorer counts every row once: it takes no sample_weight; drop it "
                "from the scoring call."
            )
        return pgd_accuracy(estimator, X, y, **self.settings)

    def __repr__(self):
        args = ", ".join(f"{name}={value!r}" for name, value in self.settings.items())
        return f"make_pgd_scorer({args})"
