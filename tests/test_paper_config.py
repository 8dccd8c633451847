"""config/s1.yaml, the paper at full scale, as a Snakemake dry run (no network, no GPU).

The DAG must reach every file target that a reproducible claim names, with the stages the
issues ask for: fetch on the login node, collection of all 16 sources, the five selections
and the funnel, s1K-1.1, seven 2-node training runs and the evaluation sweeps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from s1kit.paper.claims import load_claims
from s1kit.sources import PAPER_SOURCES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> str:
    wd = tmp_path_factory.mktemp("s1-dry")
    targets = sorted({c.target for c in load_claims() if c.kind == "reproduced"})
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd), "-n", "--printshellcmds",
           *targets, "results/paper/claims.csv", "--configfile", str(REPO / "config" / "s1.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _jobs(out: str) -> Counter:
    table = out[out.index("Job stats:"):].split("\n\n")[0]
    return Counter({m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)})


def test_every_reproducible_claim_target_is_in_the_dag(dry_run):
    jobs = _jobs(dry_run)
    assert jobs["fetch"] == 1 and jobs["collect_source"] == len(PAPER_SOURCES) == 16 and jobs["fetch_official"] == 3
    assert jobs["collect_eval_set"] >= 5 and jobs["collect_pool"] == 1
    assert jobs["select_s1k"] == 1 and jobs["select_ablation"] == 4 and jobs["select_retrace"] == 1
    assert jobs["train_sft"] == 7 and jobs["models_fetch_hub"] == 4  # 2 Qwen2.5 + the 2 control models
    evaluate = sum(n for job, n in jobs.items() if job.startswith("evaluate_"))
    assert evaluate >= 60 and jobs["paper_build"] == 1


def test_stages_run_as_the_paper_asks(dry_run):
    for source in PAPER_SOURCES:
        assert f"s1kit collect-source --source {source} --manifest resources/hub/manifests/{source}.json" in dry_run
    # the pool step as the official code runs it (docs/fidelity.md): semantics official, TMP_QUESTIONS_TO_KEEP
    # read from the pinned collect_data.py, the four official test sets, AIME appended after collection
    pool = next(line for line in dry_run.splitlines() if "s1kit collect-pool" in line)
    assert '"semantics": "official"' in pool and '"aime": {"decontaminate": false, "max_year": 2022}' in pool
    assert ("--official resources/official/simplescaling/s1/77272c6e925d610257a50b520bad15330b513389/data/"
            "collect_data.py") in pool
    evals = re.search(r"--eval (.*?) --config-json", pool).group(1).split()
    assert evals == [f"results/data/eval/{t}.jsonl" for t in ("aime24", "gpqa_diamond", "math500", "livecodebench_v4")]
    # the training runs span 2 nodes x 8 GPUs through srun + torchrun (c10d on the first node)
    assert re.search(r"nodes=2\b", dry_run) and "--nnodes=2 --nproc_per_node=8" in dry_run
    assert "--rdzv_backend=c10d" in dry_run
    for setting in ("bf-500", "bf-16000", "bf-auto", "wait-6", "rs-3500", "tcc-4096", "sccbf-16", "ccc-long",
                    "ignore-2-none", "plain"):
        assert f"--setting {setting}" in dry_run, setting
    assert "--model results/models/token-conditional-control --model-name token-conditional-control" in dry_run
    assert "--dtype float32 --model-args '{\"tensor_parallel_size\": 8}'" in dry_run
    # the control models are evaluated with Qwen2.5's tokenizer, as the official commands
    assert '"tokenizer": "results/models/Qwen2.5-32B-Instruct"' in dry_run
    assert "--backend vllm" in dry_run and "HF_HUB_OFFLINE=1" in dry_run
    # the fork's semantics, batched as the official --batch_size auto (issue 15)
    assert "--semantics fork --batch-size auto" in dry_run and "--semantics kit" not in dry_run


def test_fork_and_kit_runs_sit_side_by_side(dry_run):
    """Issue 15: w/o BF is plain (the fork's nottc), TCC from 1024, kit additions beside."""
    claims = {c.id: c for c in load_claims()}
    for cid, c in claims.items():
        if "-noBF." in cid:
            assert "/plain/" in c.target, cid
    for model in ("s1-32B", "s1.1-32B"):
        for task in ("aime24_nofigures", "openai_math", "gpqa_diamond_openai", "aime25_nofigures"):
            assert re.search(rf"--out-dir (?:\S+ )*results/eval/{re.escape(model)}/plain/{task}\b", dry_run), (model, task)
    for setting in ("tcc-1024", "tccbf-1024", "kit.bf-auto", "kit.wait-2", "kit.rs-3500"):
        assert f"--setting {setting}" in dry_run, setting
    kit = [c for c in claims.values() if c.semantics == "kit"]
    assert kit and all("/kit." in c.target and c.note.startswith("kit addition") for c in kit)
    # each kit claim shadows a paper claim on the same number
    for c in kit:
        twin = claims[c.id.removeprefix("kit.")]
        assert twin.semantics == "fork" and twin.versions == c.versions
        assert twin.target == c.target.replace("/kit.", "/")


def test_fork_runs_batch_tasks_as_the_official_commands(dry_run):
    """Issue 24.1: under fork semantics the tasks of one official command run in ONE lm-eval
    run (aime24_figures included), rejection sampling the two AIME24 variants together."""
    commands = [line for line in dry_run.splitlines() if "s1kit evaluate" in line]
    four = "--task aime24_figures aime24_nofigures openai_math gpqa_diamond_openai "
    assert any(four in c and "--setting bf-auto " in c and "--model-name s1-32B " in c for c in commands)
    rs = [c for c in commands if "--setting rs-3500 " in c]
    assert len(rs) == 1 and "--task aime24_figures aime24_nofigures --data" in rs[0]
    # kit additions keep one task per run
    assert all(re.search(r"--task \S+ --data", c) for c in commands if "--setting kit." in c)
