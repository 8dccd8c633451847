#!/usr/bin/env bash
# `make test-slurm`: the tiny DAG through a real (throwaway, two-node) Slurm cluster.
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when missing (apt-get; needs
# root), the Slurm executor plugin from its hash-pinned lock into .venv, starts the
# cluster of tests/slurm/cluster.sh, runs `snakemake --executor slurm` (profile
# tests/slurm/profile, with tests/slurm/config.yaml over the tiny default: training as a
# 2-node torchrun job) in a temporary copy of the repository, and checks that every job
# of the DAG went through sbatch, that training spanned both nodes and that the paper's
# claims came out. Every daemon is stopped by its PID on exit, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
VENV=${VENV:-$REPO/.venv}
T0=$(date +%s)
say() { echo "test-slurm [$(( $(date +%s) - T0 ))s]: $*"; }

[[ $(id -u) -eq 0 ]] || { echo "test-slurm: needs root (apt-get, /etc/slurm, daemons)" >&2; exit 1; }
missing=()
for b in slurmctld slurmd sbatch munged; do command -v "$b" > /dev/null || missing+=("$b"); done
if (( ${#missing[@]} )); then
    say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge > /dev/null
fi
"$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r requirements/slurm.lock

WORK=$(mktemp -d /tmp/s1kit-slurm-run.XXXXXX)
export S1KIT_SLURM_STATE=$WORK/cluster
cleanup() {
    local rc=$?
    # Jobs first, so that no job step outlives its slurmd.
    scancel --partition=ci 2> /dev/null || true
    "$REPO/tests/slurm/cluster.sh" stop || true
    if (( rc != 0 )); then
        echo "test-slurm: FAILED (rc $rc); logs kept in $WORK" >&2
        tail -n 30 "$WORK"/snakemake.log "$S1KIT_SLURM_STATE"/*.log 2> /dev/null >&2 || true
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$REPO/tests/slurm/cluster.sh" start
say "cluster up: $(sinfo --version), snakemake-executor-plugin-slurm $("$VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("snakemake-executor-plugin-slurm"))')"

# A copy of the tracked and unignored files: results, logs and .snakemake of the checkout
# are neither read nor touched.
mkdir -p "$WORK/repo"
git ls-files -z --cached --others --exclude-standard | tar -C "$REPO" --null -T - -cf - 2> /dev/null | tar -C "$WORK/repo" -xf -
cd "$WORK/repo"
export PATH=$VENV/bin:$PATH
# The user-facing profiles first: `--profile slurm` (./slurm -> profiles/slurm, with
# Apptainer) and the paper-scale workflow profile dry-run with the stand-in apptainer;
# the paper config when there is one.
paper_conf=()
[[ -e config/s1.yaml ]] && paper_conf=(--configfile config/s1.yaml)
PATH=$REPO/tests/slurm/standin:$PATH snakemake --profile slurm --workflow-profile profiles/paper \
    "${paper_conf[@]}" -n > "$WORK/dryrun_paper.txt" 2>&1 \
    || { tail -n 40 "$WORK/dryrun_paper.txt" >&2; echo "test-slurm: profile slurm dry-run failed" >&2; exit 1; }
grep -q "slurm_account=" "$WORK/dryrun_paper.txt" || { echo "test-slurm: profiles/slurm defaults not applied" >&2; exit 1; }
say "dry-run of --profile slurm --workflow-profile profiles/paper ${paper_conf[*]} OK"

# tests/slurm/config.yaml, when present, is layered over the tiny default for this run
# (e.g. the training launch on 2 nodes: train.runs.<run>.launch).
dag_conf=()
[[ -e tests/slurm/config.yaml ]] && dag_conf=(--configfile config/default.yaml tests/slurm/config.yaml)
snakemake -n --quiet rules "${dag_conf[@]}" > "$WORK/dryrun.txt" 2>&1
# Jobs the DAG will run, less the local target rule `all`.
expected=$(awk '$1 == "total" {print $2; exit}' "$WORK/dryrun.txt")
expected=$(( expected - 1 ))
say "running $expected jobs through sbatch"
snakemake --profile "$REPO/tests/slurm/profile" "${dag_conf[@]}" > "$WORK/snakemake.log" 2>&1
say "snakemake done"

"$VENV/bin/python" - "$WORK/snakemake.log" "$expected" "$S1KIT_SLURM_STATE/slurmctld.log" <<'PY'
import pathlib
import re
import sys

import yaml

log, expected = pathlib.Path(sys.argv[1]).read_text(), int(sys.argv[2])
ctld = pathlib.Path(sys.argv[3]).read_text()
extra = pathlib.Path("tests/slurm/config.yaml")
runs = yaml.safe_load(extra.read_text())["train"]["runs"] if extra.exists() else {}
submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
slurm_ids = {s for _, s, _ in submitted}
assert len(submitted) == expected, f"{len(submitted)} sbatch submissions, expected {expected}"
assert len(slurm_ids) == expected, "a Slurm job id was reused"
for _, sid, path in submitted:
    p = pathlib.Path(path.rstrip(")."))
    assert p.is_file(), f"Slurm log of job {sid} missing: {p}"
# slurmctld's own record: each job was allocated, and the jobs used both nodes.
# (the main scheduler logs "Allocate", the backfill scheduler "Started ... on").
allocated = dict(re.findall(r"sched: Allocate JobId=(\d+) NodeList=(\S+)", ctld))
allocated |= dict(re.findall(r"sched/backfill: _start_job: Started JobId=(\d+) in \S+ on (\S+)", ctld))
missing = slurm_ids - set(allocated)
assert not missing, f"Slurm job ids never allocated by slurmctld: {sorted(missing)}"
nodes = {allocated[s] for s in slurm_ids}
assert {"n1", "n2"} <= nodes, f"jobs ran on {nodes} only"
train = {p.split("/rule_train_sft/")[1].split("/")[0]: allocated[s] for _, s, p in submitted if "/rule_train_sft/" in p}
for run, spec in runs.items():
    if spec.get("launch", {}).get("nodes", 1) == 2:
        assert train.get(run) == "n[1-2]", f"training run {run} was to span both nodes, ran on {train.get(run)}"
print(f"test-slurm: training ran on {train}")
print(f"test-slurm: {len(submitted)} jobs went through sbatch (Slurm ids {min(map(int, slurm_ids))}.."
      f"{max(map(int, slurm_ids))}), on nodes {sorted(nodes)}")
PY
test -s results/paper/claims.csv || { echo "test-slurm: results/paper/claims.csv missing" >&2; exit 1; }
say "OK: claims.csv has $(($(wc -l < results/paper/claims.csv) - 1)) rows; every job went through sbatch"
# Checks: the profile dry-run, every job through sbatch with its Slurm log, allocated by
# slurmctld on both nodes, the 2-node training job, the claims.
echo "test-slurm: 5 passed, 0 failed"
