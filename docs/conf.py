"""Sphinx configuration of the skloss documentation.

Built by ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``)
in the project's virtual environment, where skloss is installed in editable mode, and
checked by ``make docs-check`` (``tools/check_docs.py``, headless Chromium).
The build needs no network, and neither do the pages it writes: there is no
intersphinx inventory to download, and MathJax is copied into the output
(``_static/mathjax``) from the ``sphinx-mathjax-offline`` package instead of being
loaded from a CDN.
"""

import os
import re
import sys

# Document this checkout even where it is not installed (make docs installs it).
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ---- project --------------------------------------------------------------------------
project = "skloss"
author = "skloss developers"
copyright = "2025, skloss developers"
# Parsed from skloss/_version.py, the one version source, not imported: conf.py must
# load even where the package is broken, so that Sphinx reports the import error itself.
with open(os.path.join(ROOT, "skloss", "_version.py"), encoding="utf-8") as _file:
    release = re.search(r'^__version__ = "([^"]+)"$', _file.read(), re.MULTILINE).group(1)
version = ".".join(release.split(".")[:2])

# ---- general --------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # Copies MathJax 3 (its files ship in the wheel) to _static/mathjax and points
    # mathjax_path there: math renders with no network.
    "sphinx-mathjax-offline",
    "numpydoc",
    # The Markdown tables that benchmarks/ writes under docs/benchmarks/ are included
    # as they are (`.. include:: x.md` with `:parser: myst_parser.sphinx_`).
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
root_doc = "index"
templates_path = ["_templates"]
# docs/benchmarks/ holds generated tables included by benchmarks.rst, not pages.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "benchmarks/*"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# A benchmark's Markdown starts at whatever heading level its script chose; MyST
# nests it under the including section either way, and says so once per include.
suppress_warnings = ["myst.header"]
# `text` in docstrings is code, as in scikit-learn's docs.
default_role = "literal"
add_module_names = False

# ---- autodoc / autosummary ------------------------------------------------------------
# Stub pages for every object listed in api.rst go to docs/api/generated/
# (git-ignored; rebuilt on every build).
autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
# The class template (_templates/autosummary/class.rst) documents members inherited
# from skloss's own base classes, but not those of scikit-learn's BaseEstimator /
# ClassifierMixin or torch's Module: their docstrings hold references into those
# projects' docs, which cannot resolve here.

# scikit-learn attaches set_{fit,partial_fit,score}_request and get_metadata_routing
# to every estimator class; they are documented by scikit-learn.
_SKIPPED_MEMBERS = re.compile(r"^(set_\w+_request|get_metadata_routing|set_output)$")


def _skip_member(app, what, name, obj, skip, options):
    if _SKIPPED_MEMBERS.match(name):
        return True
    return None


# ---- numpydoc -------------------------------------------------------------------------
# autosummary templates list the members; numpydoc must not list them again
# (which would warn about duplicate object descriptions).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Docstring style checks are run by `python -m numpydoc lint` (configured in
# pyproject.toml), not during the build.
numpydoc_validation_checks = set()

# ---- intersphinx ----------------------------------------------------------------------
# Enabled for explicit cross-project links, but with no inventories: builds run
# without network access, and fetching https://docs.python.org/... would fail.
intersphinx_mapping = {}

# ---- doctest (sphinx-build -b doctest docs docs/_build/doctest) ----------------------
doctest_global_setup = "import numpy as np"


# ---- sphinx-gallery -------------------------------------------------------------------
# examples/*.py become docs/auto_examples/ (git-ignored), executed at every build with
# their printed output and figures. Each is sized to run in seconds on 2 cores; the
# test suite runs them too, shortened (SKLOSS_EXAMPLE_FAST=1, tests/test_examples.py).
# The gallery's order lives in docs/_ext/gallery_order.py and is named by a string, so
# that the configuration pickles (Sphinx warns about a class here).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # execute every example, not only plot_*.py
    "ignore_pattern": r"(__init__|/_[^/]*)\.py$",
    "within_subsection_order": "gallery_order.GalleryOrder",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    # Links from the examples' code to the API pages, and from each API page to the
    # examples that use it (the class template's minigallery).
    "doc_module": ("skloss",),
    "backreferences_dir": "api/generated/backreferences",
    "image_scrapers": ("matplotlib",),
    # Its computation-times page loads jQuery and DataTables from CDNs; the build log
    # prints the same times.
    "write_computation_times": False,
}

# ---- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skloss {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {
    # Pages with no section navigation of their own use the full width.
    "index": [],
    "install": [],
    "quickstart": [],
    "choosing": [],
    "benchmarks": [],
    "changelog": [],
    "contributing": [],
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["skloss.css"]


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
