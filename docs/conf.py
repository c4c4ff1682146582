"""Sphinx configuration of the skloss documentation.

Built by ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``)
in the project's virtual environment, where skloss is installed in editable mode.
The build needs no network: there is no intersphinx inventory to download.
"""

import os
import re
import sys
from importlib import metadata

# Document this checkout even where it is not installed (make docs installs it).
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ---- project --------------------------------------------------------------------------
project = "skloss"
author = "skloss developers"
copyright = "2025, skloss developers"
# Read from the installed metadata, not by importing skloss: conf.py must load even
# where the package is broken, so that Sphinx reports the import error itself.
try:
    release = metadata.version("skloss")
except metadata.PackageNotFoundError:
    release = "0.1.0"
version = ".".join(release.split(".")[:2])

# ---- general --------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
root_doc = "index"
templates_path = ["_templates"]
# benchmarks/*.rst are generated tables included by benchmarks.rst, not pages.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "benchmarks/*.rst"]
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
_SKIPPED_MEMBERS = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


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

# ---- HTML -----------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"skloss {release}"
html_theme_options = {
    "description": "scikit-learn classifiers in PyTorch with pluggable, robust losses",
    "fixed_sidebar": True,
}
html_show_sourcelink = False


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
