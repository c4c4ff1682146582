"""The scripts in examples/: sphinx-gallery format, and each runs to the end.

``make docs`` executes every example in full through sphinx-gallery (a failing
example fails the build). The test suite runs each one shortened
(``SKLOSS_EXAMPLE_FAST=1`` only cuts epochs and data: a few seconds per script),
so that ``make test`` alone still catches an example broken by a change in skloss.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_are_found():
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.py", "pipeline_grid_search.py", "noisy_labels.py"} <= names
    # sphinx-gallery needs a header for the gallery's index page.
    assert (ROOT / "examples" / "GALLERY_HEADER.rst").is_file()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_is_in_gallery_format(script):
    source = script.read_text()
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, f"{script.name}: no module docstring (the gallery's title and intro)"
    lines = docstring.strip("\n").splitlines()
    # An rst title: a line, then '=' underlining it exactly, then the introduction.
    assert len(lines) >= 3 and re.fullmatch(r"=+", lines[1]), (
        f"{script.name}: the docstring must start with a title underlined by '='"
    )
    assert len(lines[1]) == len(lines[0]), f"{script.name}: the underline is not as long"
    assert "\n# %%\n" in source, f"{script.name}: no '# %%' cell separators"
    # The shortened mode is for the tests only and hidden from the rendered page.
    if "SKLOSS_EXAMPLE_FAST" in source:
        start, end = (
            source.index("# sphinx_gallery_start_ignore"),
            source.index("# sphinx_gallery_end_ignore"),
        )
        assert start < source.index("SKLOSS_EXAMPLE_FAST") < end, (
            f"{script.name}: SKLOSS_EXAMPLE_FAST outside a sphinx_gallery ignore block"
        )


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    # A fresh interpreter per script, as a user would run it, from a scratch folder
    # so that nothing an example might write lands in the checkout; PYTHONPATH makes
    # it import this checkout's skloss rather than whichever one is installed.
    env = {
        **os.environ,
        "SKLOSS_EXAMPLE_FAST": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
