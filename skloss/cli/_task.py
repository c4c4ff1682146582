"""What a job needs of its kind of target: the :class:`Task` interface, folds, helpers.

One :class:`Task` per kind (:mod:`skloss.cli._classification`,
:mod:`skloss.cli._regression`); :mod:`skloss.cli._tasks` chooses between them.
"""

from collections import namedtuple

import numpy as np

__all__ = ["Fold", "Task", "is_numeric", "n_iter"]

#: One split of a job: the training part's (noisy) targets, the test part's clean
#: ones, and which training rows the noise corrupted.
Fold = namedtuple("Fold", "X_train y_train X_test y_test corrupted")


def is_numeric(y):
    """Whether ``y`` holds numbers (booleans are labels, not quantities)."""
    return np.asarray(y).dtype.kind in "fiu"


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

    #: Every task made, by name (the other tasks name a noise kind's owner).
    made = {}

    def __init__(self):
        Task.made[self.name] = self

    def estimator(self, **params):
        """A new skloss estimator of this task with ``params``."""
        raise NotImplementedError

    def check_noise(self, args, parser):
        """Fill in the default noise; report a kind or rate this task cannot use."""
        if args.noise_kind is None:
            args.noise_kind = self.noise_kinds[0]
        elif args.noise_kind not in self.noise_kinds:
            other = next(t for t in Task.made.values() if args.noise_kind in t.noise_kinds)
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
    inner = getattr(inner, "estimator_", inner)  # a LossCorrectionClassifier
    iterations = getattr(inner, "n_iter_", None)  # Ridge: None for its direct solvers
    return 0 if iterations is None else int(np.max(iterations))
