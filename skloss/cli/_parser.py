"""The argument parser of the ``skloss`` command: one subcommand per job."""

import argparse

from skloss.cli import compare, tune
from skloss.cli._options import version


def build_parser():
    """Return the argument parser of the ``skloss`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the ``compare`` and ``tune`` subcommands; a parsed
        subcommand's namespace holds ``job(args, parser)`` and its
        ``command_parser``.

    Examples
    --------
    >>> from skloss.cli import build_parser
    >>> args = build_parser().parse_args(["compare", "--dataset", "iris", "--losses", "ce,mae"])
    >>> args.losses
    ['ce', 'mae']
    """
    parser = argparse.ArgumentParser(
        prog="skloss",
        description="skloss: scikit-learn classifiers and regressors with pluggable (robust) "
        "losses.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    compare.add_parser(sub)
    tune.add_parser(sub)
    return parser
