"""End to end: the whole Snakemake DAG on the tiny default (reduced training) in a temp dir.

Real Snakemake, real lm-eval, a real (tiny) transformers model; nothing is mocked. Takes a
few minutes on 2 cores; `make test-fast` skips it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
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
    # tiny values are never compared: their claims' status is "tiny" (issue 22: one vocabulary)
    assert all(c["status"] in {"tiny", "not run", "cited"} for c in claims)
    assert all((c["status"] == "tiny") == (c["tiny_value"] != "") for c in claims)
    assert (run_dir / "paper/verdict.txt").read_text().startswith("Verdict of the tiny run")
    for fig in ("scaling.png", "scaling.pdf", "composition-s1K.png"):
        assert (run_dir / "paper/figures" / fig).stat().st_size > 1000
    for table in ("results.csv", "results.md", "funnel.csv", "funnel.md", "training.html", "funnel_collect.html"):
        assert (run_dir / "paper/tables" / table).stat().st_size > 0
    assert 'id="tiny-banner"' in (run_dir / "paper/report.html").read_text()


def test_logs_are_clean_lines(run_dir):
    """tqdm bars (ours and the libraries') write lines, not carriage returns, into the rules' logs."""
    logs = sorted((run_dir.parent / "logs").rglob("*.log"))
    assert len(logs) > 10
    assert [p.name for p in logs if b"\r" in p.read_bytes()] == []
    train = (run_dir.parent / "logs/train/tiny-s1.log").read_text()
    assert "steps/s, ETA" in train


def test_snakemake_report_shows_the_claims(run_dir):
    """`snakemake --report` (make report): the claims report inline, tables and figures in the paper's categories."""
    import base64
    import re

    out = run_dir.parent / "snakemake-report.html"
    proc = snakemake(run_dir.parent, "--report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = out.read_text()
    for category in ("Data", "Selection", "Training", "Test-time scaling", "Claims"):
        assert f'"{category}"' in page, category
    # every result is embedded as a data URI; the claims report among them, whole (figures inlined)
    embedded = [base64.b64decode(m) for m in re.findall(r"data:text/html;charset=utf8;(?:filename=[^;]+;)?base64,([A-Za-z0-9+/=]+)", page)]
    claims = [b for b in embedded if b"s1kit claims report" in b]
    assert len(claims[0]) < 1_500_000  # Chromium shows data URIs up to 2 MB (base64: 4/3 of the page)
    assert claims and b"data:image/png;base64," in claims[0] and b'id="summary-table"' in claims[0]
    assert "composition-s1K" in page and "thinking-lengths-s1K" in page


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


# ---- kill -9 anywhere, then the same command resumes (issue #16, item 5) -------------------

# (stage, a process of that stage to wait for, seconds to let it run before the kill)
KILL_POINTS = [("collect", "s1kit collect-", 0.5), ("train", "s1kit train", 3.0),
               ("evaluate", "s1kit evaluate", 3.0), ("paper", "s1kit paper", 1.0)]
# values that differ between any two runs: wall times, rates, memory, timestamps
TIMING = re.compile(r"(^|_)(time|times|seconds|started|ended|date|latency_s|runtime_s|checkpoint_s|step_time_s"
                    r"|tokens_per_s|tokens_per_s_per_device|peak_memory_gb|mfu|gpu_hours|wall_s|elapsed_s)$")


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


# Paper renderings that print the training wall-clock (claim train.s1-32B.minutes): compared
# as line counts only; claims.csv and tables/training.csv without it (as CSV, below).
WALL_CLOCK_RENDERINGS = {"paper/report.md", "paper/report.html", "paper/tables/training.md",
                         "paper/tables/training.tex", "paper/tables/training.html"}


def _content(path: Path, results: Path):
    """A file's content with timing fields removed, the run's own directory as a placeholder."""
    rel = path.relative_to(results).as_posix()
    if path.suffix in (".json", ".jsonl"):
        text = path.read_text().replace(str(results.parent), "<workdir>")
        if path.suffix == ".json":
            return _untimed(json.loads(text))
        return [_untimed(json.loads(line)) for line in text.splitlines() if line.strip()]
    if rel == "paper/claims.csv":
        return [r for r in read_csv(path) if r.get("metric") != "train_runtime_s" and "train_runtime_s" not in r.values()]
    if rel == "paper/tables/training.csv":
        return [{k: v for k, v in r.items() if k != "minutes"} for r in read_csv(path)]
    if rel in WALL_CLOCK_RENDERINGS:
        return len(path.read_text().splitlines())
    return path.read_bytes()


def _stage_process(session: int, needle: str) -> int | None:
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(proc.name)) != session:
                continue
            if needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return int(proc.name)
        except (OSError, ValueError):
            continue
    return None


def _run_and_kill(workdir: Path, needle: str, after: float) -> None:
    """Start the run, wait for a process of the stage, then SIGKILL Snakemake and its jobs at once."""
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2",
           "--configfile", str(REPO / "config" / "default.yaml"), str(workdir / "override.yaml")]
    with open(workdir / "run.log", "a") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env, start_new_session=True)
        deadline = time.monotonic() + 1200
        while _stage_process(proc.pid, needle) is None:
            assert proc.poll() is None, f"the run ended before {needle!r} started"
            assert time.monotonic() < deadline, f"{needle!r} never started"
            time.sleep(0.05)
        time.sleep(after)
        assert proc.poll() is None, f"the run ended {after} s after {needle!r} started"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_kill9_anywhere_then_the_same_command_resumes(run_dir, tmp_path):
    """kill -9 of Snakemake and its jobs during collect, train, evaluate and paper; after each,
    the README's command (no --unlock, no --rerun-incomplete) resumes; the last run finishes
    with the same results as the uninterrupted run (test fixture run_dir), timing aside."""
    wd = tmp_path / "killed"
    wd.mkdir()
    (wd / "override.yaml").write_text(yaml.safe_dump(OVERRIDE))
    for stage, needle, after in KILL_POINTS:
        _run_and_kill(wd, needle, after)
        assert list((wd / ".snakemake" / "locks").glob("*.lock")), f"no lock left by the kill during {stage}"
    proc = snakemake(wd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "removed the lock left by a Snakemake that is no longer running" in proc.stderr
    log = (wd / "run.log").read_text()
    assert log.count("removed the lock left by a Snakemake") == len(KILL_POINTS) - 1, log[-3000:]
    ref_files = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*") if p.is_file() and ".provenance" not in p.parts)
    got_files = sorted(p.relative_to(wd / "results") for p in (wd / "results").rglob("*")
                       if p.is_file() and ".provenance" not in p.parts)
    assert got_files == ref_files
    differ = [str(f) for f in ref_files if _content(run_dir / f, run_dir) != _content(wd / "results" / f, wd / "results")]
    assert not differ, differ


# ---- a truncated result stops the next run before anything is deleted (issue #16, item 6) ----

MAIN_OUTPUTS = ["data/pool.parquet", "models/tiny-base/model.safetensors", "distill/oracle/traces.parquet",
                "features/featurized.parquet", "select/s1K/dataset.parquet", "train/tiny-s1/model/model.safetensors",
                "eval/tiny-s1/bf-0/tiny_chains/results.json", "paper/claims.csv"]


def _tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_truncated_result_is_named_and_nothing_else_is_lost(run_dir, tmp_path):
    """Each stage's main output truncated in turn (in a copy of the finished run): the next
    run stops before any job, naming the file, and every other file under results/ is left
    as it was; restored, the run is up to date again."""
    wd = tmp_path / "copy"
    shutil.copytree(run_dir.parent, wd, symlinks=True)  # copy2: modification times kept
    results = wd / "results"
    for rel in MAIN_OUTPUTS:
        path = results / rel
        data, st = path.read_bytes(), path.stat()
        path.write_bytes(data[: len(data) // 3])
        before = _tree(results)
        proc = snakemake(wd)
        assert proc.returncode != 0, f"the run went on with {rel} truncated"
        assert f"results/{rel}: changed since it was produced" in proc.stderr, proc.stderr[-3000:]
        assert "nothing was run" in proc.stderr
        assert _tree(results) == before, f"files changed or lost after truncating {rel}"
        path.write_bytes(data)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    proc = snakemake(wd, "-n")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stderr[-3000:]
