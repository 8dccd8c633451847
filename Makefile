# Two commands for a newcomer: `make demo` and `make test`. Both create .venv from the
# hash-checked lock on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
# Where torch 2.13.0+cpu comes from if pip's configured indexes lack it, e.g.
#   make demo PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_EXTRA ?=

.PHONY: install demo test test-fast lint dryrun lock bench clean

install: $(STAMP)

$(STAMP): requirements/cpu.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps $(PIP_EXTRA) -r requirements/cpu.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# .venv/bin on PATH so that the rules find the `s1kit` console script.
export PATH := $(abspath $(BIN)):$(PATH)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	@$(BIN)/s1kit where results

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e"

lint: $(STAMP)
	$(BIN)/snakemake --lint

dryrun: $(STAMP)
	$(BIN)/snakemake -n

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_wait.py

# Regenerate the lock after editing requirements/cpu.in (needs pip-tools; not run by CI).
lock:
	$(PYTHON) -m piptools compile --generate-hashes --allow-unsafe --strip-extras \
		-o requirements/cpu.lock requirements/cpu.in

clean:
	rm -rf results logs .snakemake
