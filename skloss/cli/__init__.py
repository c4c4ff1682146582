"""The ``skloss`` command line: compare losses under noise, tune them.

``skloss tune`` (:mod:`skloss.cli.tune`) runs an Optuna study of the loss and
training parameters, scored on noisy training targets and checked once on clean ones.

``skloss compare`` cross-validates one skloss estimator per loss beside
scikit-learn peers, on a bundled scikit-learn data set or a CSV file. Classification
(:class:`~skloss.RobustLossClassifier`; peers ``LogisticRegression``,
``HistGradientBoostingClassifier``, ``MLPClassifier(early_stopping=True)``): in every
fold the *training* labels are corrupted (:func:`skloss.noise.noisy_folds`) while the
test fold keeps its clean labels, ranked by accuracy. Regression
(:class:`~skloss.RobustLossRegressor`; peers ``Ridge``,
``HistGradientBoostingRegressor`` with squared and absolute error,
``MLPRegressor(early_stopping=True)``): a share of the training targets becomes
gross errors (:func:`skloss.noise.make_noisy_targets`), ranked by RMSE on the clean
test targets. ``--task`` chooses between them (``auto`` by default: see
:mod:`skloss.cli._tasks`); the first output line says which. The scores measure
how well each model recovers the truth from noisy supervision. It prints a ranked
table and writes ``results.json`` and ``results.png`` to ``--output``.

Run ``skloss compare --help`` (or ``python -m skloss compare --help``) for the
options. It needs the ``cli`` extra: ``pip install "skloss[cli]"``.

One module per job, ``compare`` and ``tune`` (its parser and its run), over shared
parts: ``_options`` (the options both take and their checks), ``_tasks`` (the kind
of target; ``_classification`` and ``_regression`` hold what differs: estimator,
noise, folds, metrics, peers, tuning objective), ``_data`` (bundled data sets, CSV
files), ``_models`` (the preprocessing, skloss pipelines and peers), ``_evaluate``
(compare's loop over folds and models), ``_study`` (tune's storage and study) and
``_report`` (output folder, tables, JSON, plots); ``_parser`` joins the jobs into
one command.
"""

import sys

from skloss.cli._data import load_bundled, load_csv
from skloss.cli._parser import build_parser
from skloss.cli._report import format_table

__all__ = ["build_parser", "format_table", "load_bundled", "load_csv", "main"]


def main(argv=None):
    """Run the ``skloss`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the ``cli`` extra is missing or
        the results cannot be written, 130 when interrupted (Ctrl-C; the
        partial results are written). Usage errors exit with status 2 (raised
        as :class:`SystemExit`, as :mod:`argparse` does), before any training.

    Examples
    --------
    >>> from skloss.cli import main
    >>> main(["compare", "--dataset", "iris", "--losses", "ce", "--folds", "2",
    ...       "--max-iter", "2", "--output", "/tmp/skloss-doctest", "--quiet"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.job(args, args.command_parser)
