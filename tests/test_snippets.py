"""Every Python snippet in the README and the docs runs as written.

The snippets of one page run in order in one namespace, as a reader pasting them
one after another would run them. A snippet that needs what a test machine lacks
(a GPU, a database server, a file a command wrote) is listed in ``NEEDS`` with
the reason, and skipped; everything else must run.
"""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]
PAGES += sorted((ROOT / "docs" / "user_guide").glob("*.rst"))

#: (page, snippet number) -> why it cannot run here. A snippet is identified by its
#: position on the page (1-based) and must still start with the listed text.
NEEDS = {
    ("docs/user_guide/tuning.rst", 6): "reads the best_params.json that a `skloss tune` run wrote",
}

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore"),
]


def snippets(page):
    """The Python snippets of a Markdown or reStructuredText page, in order."""
    text = page.read_text()
    if page.suffix == ".md":
        return re.findall(r"```python\n(.*?)```", text, flags=re.S)
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*\.\. code-block:: python\s*$", line):
            body, j = [], i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(("   ", "\t"))):
                body.append(lines[j])
                j += 1
            indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            found.append("\n".join(b[indent:] for b in body).strip() + "\n")
    return found


def _pages_with_snippets():
    return [page for page in PAGES if snippets(page)]


@pytest.mark.parametrize(
    "page", _pages_with_snippets(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_snippets_run_as_written(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = {"__name__": "snippet"}
    name = page.relative_to(ROOT).as_posix()
    for number, code in enumerate(snippets(page), start=1):
        reason = NEEDS.get((name, number))
        if reason is not None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, f"{name} snippet {number}", "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - reported with the snippet
                pytest.fail(f"{name}, snippet {number} failed: {error!r}\n\n{code}")


def test_every_listed_exception_is_still_a_snippet():
    for (name, number), _ in NEEDS.items():
        assert number <= len(snippets(ROOT / name)), (name, number)
