"""The ``skloss`` command line: compare losses under label noise, tune them.

``skloss tune`` (:mod:`skloss.cli.tune`) runs an Optuna study of the loss and
training parameters, scored on noisy labels and checked once on clean ones.

``skloss compare`` cross-validates one :class:`~skloss.RobustLossClassifier`
per loss, beside scikit-learn peers (``LogisticRegression``,
``HistGradientBoostingClassifier``, ``MLPClassifier(early_stopping=True)``), on a
bundled scikit-learn data set or a CSV file. In every fold the *training* labels
are corrupted (:func:`skloss.noise.noisy_folds`) while the test fold keeps its
clean labels, so the scores measure how well each model recovers the true
classes from noisy supervision. It prints a ranked table and writes
``results.json`` and ``results.png`` to ``--output``.

Run ``skloss compare --help`` (or ``python -m skloss compare --help``) for the
options. It needs the ``cli`` extra: ``pip install "skloss[cli]"``.

One module per job, ``compare`` and ``tune`` (its parser and its run), over shared
parts: ``_options`` (the options both take and their checks), ``_data`` (bundled
data sets, CSV files), ``_models`` (the preprocessing, skloss pipelines and
peers), ``_evaluate`` (compare's loop over folds and models), ``_study`` (tune's
storage and study) and ``_report`` (output folder, tables, JSON, plots);
``_parser`` joins the jobs into one command.
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
