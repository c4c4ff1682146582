"""Run every script in examples/ in fast mode and check that it succeeds."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_examples_are_found():
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.py", "pipeline_grid_search.py", "noisy_labels.py"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    # A fresh interpreter per script, as a user would run it, from a scratch folder
    # so that nothing an example might write lands in the checkout.
    env = {**os.environ, "SKLOSS_EXAMPLE_FAST": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
