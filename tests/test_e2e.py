"""End to end: the whole Snakemake DAG on the tiny default (reduced training) in a temp dir.

Real Snakemake, real lm-eval, a real (tiny) transformers model; nothing is mocked. Takes a
few minutes on 2 cores; `make test-fast` skips it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from s1kit.paper.claims import load_claims

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e

# Shorter training and a smaller eval set than `make demo`; everything else is the default.
OVERRIDE = {
    "train": {"runs": {"tiny-s1": {"hparams": {"max_steps": 1200, "log_every": 200}}}},
    "evaluate": {"limit": 100},
}


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2",
           "--configfile", str(REPO / "config" / "default.yaml"), str(workdir / "override.yaml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("e2e")
    # Snakemake merges config files key by key: the other hparams stay as in default.yaml
    (wd / "override.yaml").write_text(yaml.safe_dump(OVERRIDE))
    proc = snakemake(wd)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted((wd / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{proc.stderr[-4000:]}\n{logs}")
    return wd / "results"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_collect_funnel_adds_up(run_dir):
    rows = {r["source"]: r for r in read_csv(run_dir / "data/funnel_collect.csv")}
    total = rows.pop("total")
    for col in ("loaded", "quarantined", "contaminated", "duplicates", "kept"):
        assert int(total[col]) == sum(int(r[col]) for r in rows.values())
    for r in rows.values():
        loaded, quar, cont, dup, kept = (int(r[c]) for c in ("loaded", "quarantined", "contaminated",
                                                              "duplicates", "kept"))
        assert loaded - quar - cont - dup == kept and quar >= 1 and cont >= 4 and dup >= 3, r
        assert int(r["quarantined_empty_question"]) == 1  # each synthetic source plants one empty question
    assert pq.read_metadata(run_dir / "data/pool.parquet").num_rows == int(total["kept"])
    assert pq.read_metadata(run_dir / "data/quarantine/contaminated.parquet").num_rows > 0


def test_selection_funnel_and_outputs(run_dir):
    funnel = {r["step"]: int(r["count"]) for r in read_csv(run_dir / "select/funnel.csv")}
    assert list(funnel) == ["collected", "with_features", "after_format", "after_difficulty", "preselected",
                            "selected"]
    # an empty question is quarantined at collection now, so nothing lacks features in the tiny run
    assert funnel["collected"] >= funnel["with_features"] > funnel["after_format"] >= funnel["after_difficulty"]
    assert 0 < funnel["preselected"] < funnel["selected"] == 1000
    ids = (run_dir / "select/s1K/ids.txt").read_text().split()
    assert len(ids) == len(set(ids)) == 1000
    table = pq.read_table(run_dir / "select/s1K/dataset.parquet")
    assert table.column("id").to_pylist() == ids
    summary = json.loads((run_dir / "select/s1K/summary.json").read_text())
    assert summary["domains"] >= 40


def test_training_and_scaling_curve(run_dir):
    metrics = json.loads((run_dir / "train/tiny-s1/metrics.json").read_text())
    assert metrics["steps"] == 1200
    assert metrics["loss_curve"][0]["loss"] > 5 * metrics["loss_curve"][-1]["loss"]
    acc = {}
    for res in run_dir.glob("eval/tiny-s1/*/tiny_chains/results.json"):
        r = json.loads(res.read_text())
        acc[r["setting"]] = r
        samples = (res.parent / "samples.jsonl").read_text().splitlines()
        assert len(samples) == r["n"] == 100
        if r["setting"].startswith("bf-") and r["setting"] != "bf-auto":
            budget = int(r["setting"][3:])
            assert max(json.loads(s)["thinking_tokens"] for s in samples) <= budget
    assert set(acc) >= {"bf-0", "bf-16", "bf-32", "bf-64", "bf-auto", "wait-1", "wait-2"}
    # The tiny default's point: accuracy rises with the thinking budget.
    assert acc["bf-auto"]["accuracy"] >= acc["bf-0"]["accuracy"] + 0.3
    assert acc["bf-64"]["avg_thinking_tokens"] > acc["bf-16"]["avg_thinking_tokens"]


def test_paper_outputs(run_dir):
    claims = read_csv(run_dir / "paper/claims.csv")
    assert {c["claim_id"] for c in claims} == {c.id for c in load_claims()}
    assert any(c["tiny_value"] for c in claims)
    assert all(c["status"] in {"not run", "cited"} for c in claims)  # tiny values are never compared
    for fig in ("scaling.png", "scaling.pdf", "composition-s1K.png"):
        assert (run_dir / "paper/figures" / fig).stat().st_size > 1000
    for table in ("results.csv", "results.md", "funnel.csv", "funnel.md"):
        assert (run_dir / "paper/tables" / table).stat().st_size > 0


def test_rerun_is_a_no_op(run_dir):
    proc = snakemake(run_dir.parent, "-n")
    assert proc.returncode == 0, proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_selection_seed_reruns_only_its_dependents(run_dir):
    over = yaml.safe_load((run_dir.parent / "override.yaml").read_text())
    over["select"] = {"seed": 1}
    (run_dir.parent / "override.yaml").write_text(yaml.safe_dump(over))
    try:
        proc = snakemake(run_dir.parent, "-n", "--quiet", "rules")
    finally:
        (run_dir.parent / "override.yaml").write_text(yaml.safe_dump(OVERRIDE))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for rule in ("select_s1k", "select_ablation", "train_sft", "evaluate_run", "paper_build"):
        assert rule in out
    for rule in ("collect_pool", "distill_traces", "featurize_merge", "models_build_tiny"):
        assert rule not in out


def test_provenance_names_the_rule(run_dir):
    """Every rule's shell sets S1KIT_RULE from Snakemake's {rule}; records carry it."""
    for path, rule in (("data/pool.parquet", "collect_pool"), ("select/s1K/ids.txt", "select_s1k"),
                       ("train/tiny-s1/metrics.json", "train_sft"), ("paper/claims.csv", "paper_build")):
        rec = json.loads((run_dir / ".provenance" / f"{path}.json").read_text())
        assert rec["rule"] == rule, (path, rec["rule"])
