"""The kind of target a job learns: classification or regression, chosen or detected.

Everything that differs between the two lives in one :class:`Task` object each
(:mod:`skloss.cli._classification`, :mod:`skloss.cli._regression`): the estimator,
the losses it may train, the noise, the folds, the metrics, the ranking, the peers
and the tuning objective. The jobs and the reports run one code path over a task.

``--task auto`` (the default) reads a bundled data set's own kind; for a CSV file,
a numeric target with more than :data:`MAX_AUTO_CLASSES` distinct values is a
quantity (regression) and anything else (text, booleans, a few numbers) holds
classes. The choice and its reason are the first line of the output; a choice
that cannot work (a text target for regression, a classification data set for
``--task regression``, a loss or noise kind of the other task) is a usage error
before any fit.
"""

from collections import namedtuple

import numpy as np

TASK_CHOICES = ("auto", "classification", "regression")
#: A numeric target with more distinct values than this reads as a quantity under
#: ``--task auto``; with at most this many, as class labels.
MAX_AUTO_CLASSES = 20
#: The kind of each bundled data set.
BUNDLED_TASKS = {
    "digits": "classification",
    "breast_cancer": "classification",
    "wine": "classification",
    "iris": "classification",
    "diabetes": "regression",
}

#: One split of a job: the training part's (noisy) targets, the test part's clean
#: ones, and which training rows the noise corrupted.
Fold = namedtuple("Fold", "X_train y_train X_test y_test corrupted")


def _tasks():
    from skloss.cli._classification import CLASSIFICATION
    from skloss.cli._regression import REGRESSION

    return {task.name: task for task in (CLASSIFICATION, REGRESSION)}


def is_numeric(y):
    """Whether ``y`` holds numbers (booleans are labels, not quantities)."""
    return np.asarray(y).dtype.kind in "fiu"


def choose_task(args, data, parser):
    """Return ``(task, reason)`` for ``--task`` and the data; a choice that cannot work exits 2."""
    tasks = _tasks()
    if args.csv is None:
        natural = BUNDLED_TASKS[data.name]
        if args.task not in ("auto", natural):
            parser.error(
                f"argument --task: --dataset {data.name} is a {natural} data set, not "
                f"{args.task}; pass --task {natural} (or auto), or choose another --dataset"
            )
        return tasks[natural], f"--dataset {data.name} is a {natural} data set"
    y = np.asarray(data.y)
    column = f"--target {args.target!r}"
    if args.task == "regression" and not is_numeric(y):
        example = str(np.unique(y.astype(str))[0])
        parser.error(
            f"argument --task: regression needs numeric targets, but {column} holds "
            f"{'booleans' if y.dtype.kind == 'b' else 'text'} such as {example!r}; pass "
            "--task classification (or auto), or pick a numeric --target column"
        )
    if args.task != "auto":
        return tasks[args.task], f"--task {args.task}"
    if not is_numeric(y):
        kind = "booleans" if y.dtype.kind == "b" else "text"
        return tasks["classification"], f"auto: {column} holds {kind}"
    n_distinct = len(np.unique(y))
    if n_distinct > MAX_AUTO_CLASSES:
        return tasks["regression"], (
            f"auto: {column} is numeric with {n_distinct} distinct values; pass --task "
            "classification to read them as classes"
        )
    return tasks["classification"], (
        f"auto: {column} is numeric with {n_distinct} distinct values (at most "
        f"{MAX_AUTO_CLASSES} read as classes); pass --task regression for a quantity"
    )


class Task:
    """What a job needs to know of its kind of target; subclassed once per kind.

    Class attributes name the estimator, the noise kinds (the first is the
    default), the peers, the metrics each fit records, the table's columns, the
    ranking and the chart; methods check the target, make the folds, score a
    fitted model and build the peers.
    """

    name = None
    #: What the targets are called in messages: "labels" or "targets".
    targets = None
    noise_kinds = ()
    default_noise = None
    #: ``skloss compare``'s default epochs per fit.
    compare_max_iter = None
    peers = ()
    #: Recorded for every fit; ``optional_metrics`` only where they mean something.
    metrics = ()
    optional_metrics = ()
    #: Summarised as mean and std over the folds.
    summary_metrics = ()
    #: ``(header, metric)`` of the table's score columns, shown when a row holds them.
    columns = ()
    #: ``(metric, sign)`` pairs: the ranking sorts by ``sign * mean`` descending.
    rank_by = ()
    #: The noisy-target score the noise-aware selection maximises (times ``sign``),
    #: and the clean metric it reports.
    selection = (None, 1, None)
    #: The chart: metric, axis label, y limits (None: from the values).
    chart = (None, None, None)
    #: The history column that tune's pruning reads.
    monitor = None
    #: The metric tune's trials are chosen by (``noisy_cv_<metric>`` in its reports).
    tune_metric = None
    #: How compare's folds and noise, the selection and tune's trials work, for the JSON.
    protocol = selection_rule = tune_protocol = None

    def estimator(self, **params):
        """A new skloss estimator of this task with ``params``."""
        raise NotImplementedError

    def check_noise(self, args, parser):
        """Fill in the default noise; report a kind or rate this task cannot use."""
        if args.noise_kind is None:
            args.noise_kind = self.noise_kinds[0]
        elif args.noise_kind not in self.noise_kinds:
            other = next(t for t in _tasks().values() if args.noise_kind in t.noise_kinds)
            parser.error(
                f"argument --noise-kind: {args.noise_kind} corrupts {other.name} "
                f"{other.targets}, and this run's task is {self.name}; choose "
                f"{' or '.join(self.noise_kinds)}"
            )
        if args.noise is None:
            args.noise = self.default_noise
        self.check_rate(args, parser)

    def check_rate(self, args, parser):
        """Report a ``--noise`` rate out of range for ``--noise-kind``."""
        raise NotImplementedError

    def check_losses(self, args, parser, y):
        """Fill in the default losses; report a loss of the other task."""
        from skloss.losses import LOSSES, list_losses

        if args.losses is None:
            args.losses = self.default_losses(y)
            return
        wrong = [
            name
            for name in args.losses
            if getattr(LOSSES[name], "cls", LOSSES[name]).target_kind != self.name
        ]
        if wrong:
            other = "regression" if self.name == "classification" else "classification"
            parser.error(
                f"argument --losses: {', '.join(wrong)} {'is a' if len(wrong) == 1 else 'are'} "
                f"{other} loss{'' if len(wrong) == 1 else 'es'}, and this run's task is "
                f"{self.name}; choose from {', '.join(list_losses(kind=self.name))}, or pass "
                f"--task {other}"
            )

    def default_losses(self, y):
        """The losses compared (and tuned) without ``--losses``."""
        raise NotImplementedError

    def check(self, y, args, parser):
        """Check the target and the task's options; return what the reports say of ``y``."""
        raise NotImplementedError

    def folds(self, X, y, args):
        """The :data:`Fold` objects of ``skloss compare``, noise on the training part only."""
        raise NotImplementedError

    def noisy_test_targets(self, y_test, args, fold):
        """The test fold's targets with the same noise, for the noise-aware selection."""
        raise NotImplementedError

    def score(self, model, fold, y_test_noisy, args):
        """The metrics of a fitted ``model`` on ``fold``'s clean (and noisy) test targets."""
        raise NotImplementedError

    def progress(self, record):
        """The scores of one fit, for its progress line."""
        raise NotImplementedError

    def peer(self, name, args):
        """A new peer estimator ``name``, configured from ``args``."""
        raise NotImplementedError

    def table_columns(self, args):
        """``(header, metric)`` of the table's score columns."""
        raise NotImplementedError

    def describe(self, about_y):
        """What :meth:`check` found, for the description line ("3 classes")."""
        raise NotImplementedError

    def settings(self, about_y, args):
        """What :meth:`check` found, for the settings in the JSON reports."""
        raise NotImplementedError

    # ---- skloss tune ---------------------------------------------------------------------
    def split(self, X, y, args):
        """``(X_train, X_test, y_noisy, y_test)``: one split, noise on the training part."""
        raise NotImplementedError

    def cv(self, args):
        """The splitter of the trials' cross-validation."""
        raise NotImplementedError

    def scoring(self, args):
        """The trials' CV scorer, higher is better (None: the estimator's ``score``)."""
        raise NotImplementedError

    def cv_score(self, trial_value):
        """A trial's value as the metric reported (``noisy_cv_<tune_metric>``)."""
        raise NotImplementedError

    def test_scores(self, y_test, predicted):
        """The clean test scores of a refitted configuration, ``tune_metric`` first."""
        raise NotImplementedError


def n_iter(estimator):
    """Epochs (or boosting iterations) a fitted model ran; 0 for closed-form ones."""
    inner = getattr(estimator, "regressor_", estimator)  # a TransformedTargetRegressor
    iterations = getattr(inner, "n_iter_", None)  # Ridge: None for its direct solvers
    return 0 if iterations is None else int(np.max(iterations))
