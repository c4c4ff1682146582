"""numpydoc validation of the docstrings as Python sees them.

``make lint`` runs ``numpydoc lint``, which reads the source: the estimators'
docstrings are assembled at import from named fragments
(:mod:`skloss._docstrings`), so the lint cannot see their parameter sections and
those class lines tell it so. Here the assembled docstrings are validated with the
same checks as the lint (``[tool.numpydoc_validation]`` in pyproject.toml).
"""

import re
from pathlib import Path

import pytest
from numpydoc.validate import validate

from skloss import AnyLossClassifier, EnsLossClassifier, RobustLossClassifier

ASSEMBLED = [RobustLossClassifier, AnyLossClassifier, EnsLossClassifier]


def _ignored_checks():
    # tomllib is Python 3.11+; the list is simple enough to read with a pattern.
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    block = re.search(r"\[tool\.numpydoc_validation\].*?checks = \[(.*?)\]", text, re.S).group(1)
    checks = set(re.findall(r'"(\w+)"', block))
    assert "all" in checks and "SA01" in checks  # the block was found
    return checks - {"all"}


@pytest.mark.parametrize("cls", ASSEMBLED, ids=lambda cls: cls.__name__)
def test_assembled_docstring_is_valid(cls):
    ignored = _ignored_checks()
    errors = [
        (code, message)
        for code, message in validate(f"{cls.__module__}.{cls.__qualname__}")["errors"]
        if code not in ignored
    ]
    assert errors == []
    documented = cls.__doc__
    for name in cls._get_param_names():
        assert f"    {name} : " in documented, f"{cls.__name__} does not document {name}"


@pytest.mark.parametrize("indent", ["", "    "])
def test_fragments_take_the_indentation_of_their_field(indent):
    # Python 3.13+ strips a docstring's common indentation; earlier versions keep it.
    from skloss._docstrings import Substitution, parameter_block

    def function():
        pass

    lines = ["Summary.", "", "Parameters", "----------", "%(common_parameters)s", ""]
    function.__doc__ = "\n".join(indent + line if line else line for line in lines)
    Substitution(common_parameters=parameter_block())(function)
    documented = function.__doc__.splitlines()
    assert indent + "hidden_layer_sizes : tuple of int, default=(100,)" in documented
    assert indent + "    Hidden layer widths of the default MLP, as in ``MLPClassifier``." in (
        documented
    )
