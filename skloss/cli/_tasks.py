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

import numpy as np

from skloss.cli._classification import CLASSIFICATION
from skloss.cli._regression import REGRESSION
from skloss.cli._task import is_numeric

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


def _tasks():
    return {task.name: task for task in (CLASSIFICATION, REGRESSION)}


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
