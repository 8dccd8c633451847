"""Issue #16 items 5 and 6 without Snakemake runs: stale locks (s1kit.locks) and result files
checked against their provenance sha256 (s1kit.integrity), on reads and at workflow start."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time

import pytest

from s1kit import integrity, locks
from s1kit.cli import main
from s1kit.records import read_jsonl


@pytest.fixture
def produced(tmp_path, monkeypatch):
    """An eval set written by the real CLI under results/, so it has a provenance record."""
    monkeypatch.chdir(tmp_path)
    out = "results/data/eval/tiny_chains.jsonl"
    assert main(["collect-eval", "--task", "tiny_chains", "--n", "20", "--seed", "1", "--out", out]) == 0
    assert (tmp_path / "results/.provenance/data/eval/tiny_chains.jsonl.json").is_file()
    return out


def test_reader_names_a_result_changed_since_it_was_produced(produced, capsys):
    assert len(read_jsonl(produced)) == 20
    assert integrity.verify(".") == []
    data = open(produced, "rb").read()
    with open(produced, "wb") as fh:
        fh.write(data[: len(data) // 2])  # truncated
    with pytest.raises(integrity.CorruptResult, match=rf"^{produced}: changed since it was produced .* by s1kit "
                                                      "collect-eval"):
        read_jsonl(produced)
    problems = integrity.verify(".")
    assert len(problems) == 1 and problems[0].startswith(f"{produced}: changed since it was produced")
    assert produced in integrity.message(problems) and "nothing deleted" in integrity.message(problems)
    # the same command through the CLI: an error naming the file, exit 2, nothing written
    assert main(["collect-pool", "--raw", produced, "--eval", produced, "--config-json", "{}", "--out-pool", "results/p.parquet",
                 "--out-funnel", "results/f.csv", "--out-contaminated", "results/c.parquet",
                 "--out-duplicates", "results/d.parquet"]) == 2
    assert f"error: {produced}: changed since it was produced" in capsys.readouterr().err
    assert not os.path.exists("results/p.parquet")


def test_verify_skips_incomplete_outputs_and_unrecorded_files(produced):
    with open(produced, "a") as fh:
        fh.write("{}\n")
    assert integrity.verify(".")
    # Snakemake marks the outputs of a job it started (and that was killed) as incomplete
    marker = base64.urlsafe_b64encode(produced.encode()).decode()
    os.makedirs(".snakemake/incomplete", exist_ok=True)
    open(f".snakemake/incomplete/{marker}", "w").write("{}")
    assert integrity.verify(".") == []
    os.makedirs("results/other", exist_ok=True)
    open("results/other/x.jsonl", "w").write("not json\n")  # no record: not ours to judge
    assert integrity.verify(".") == []


def test_verify_rehashes_only_changed_files(produced, monkeypatch):
    assert integrity.verify(".") == []
    calls = []
    real = integrity.file_sha256
    monkeypatch.setattr(integrity, "file_sha256", lambda p: calls.append(p) or real(p))
    assert integrity.verify(".") == [] and calls == []  # size and mtime unchanged: the cached hash
    os.utime(produced, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert integrity.verify(".") == [] and len(calls) == 1


def _lock(tmp_path):
    d = tmp_path / ".snakemake" / "locks"
    d.mkdir(parents=True, exist_ok=True)
    (d / "0.output.lock").write_text("results/x\n")
    return d / "0.output.lock"


def test_no_lock_records_the_owner(tmp_path):
    assert locks.check(tmp_path, "make demo") is None
    owner = json.loads((tmp_path / ".snakemake" / locks.OWNER).read_text())
    assert owner == {"host": socket.gethostname(), "pid": os.getpid()}


def test_stale_lock_of_a_dead_owner_on_this_host_is_cleared(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = _lock(tmp_path)
    (tmp_path / ".snakemake" / locks.OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    msg = locks.check(tmp_path, "make demo")
    assert "removed the lock left by a Snakemake that is no longer running" in msg
    assert not lock.exists()


def test_lock_of_a_live_owner_or_another_host_is_kept_with_the_command(tmp_path):
    lock = _lock(tmp_path)
    (tmp_path / ".snakemake" / locks.OWNER).write_text(json.dumps({"host": "login2", "pid": 1}))
    msg = locks.check(tmp_path, "make demo")
    assert "on host login2" in msg and "snakemake --unlock" in msg and "`make demo` again" in msg
    assert lock.exists()
    (tmp_path / ".snakemake" / locks.OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    assert "snakemake --unlock" in locks.check(tmp_path, "make demo") and lock.exists()


def test_a_running_snakemake_in_the_directory_keeps_its_lock(tmp_path):
    lock = _lock(tmp_path)
    proc = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 30"], cwd=tmp_path)
    try:
        for _ in range(100):  # until exec has replaced bash
            if locks.snakemake_processes(tmp_path):
                break
            time.sleep(0.02)
        assert locks.snakemake_processes(tmp_path) == [proc.pid]
        assert f"Snakemake (pid {proc.pid}) is running" in locks.check(tmp_path, "make demo")
        assert lock.exists()
    finally:
        proc.kill()
        proc.wait()


def _rot(path) -> None:
    """Bit rot: one byte changed in place, size and modification time as they were."""
    st = os.stat(path)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_bit_rot_passes_the_cached_check_but_not_verify_paths(produced):
    """Issue #21 item 6, unit level: the start-up check trusts (size, mtime), so a same-size,
    same-mtime change passes it; verify_paths (the onstart check of the inputs of jobs about
    to run) rehashes and names the file."""
    assert integrity.verify(".") == []
    _rot(produced)
    assert integrity.verify(".") == []  # the (size, mtime) cache: why verify_paths exists
    bad = integrity.verify_paths([produced, "results/not-recorded.txt", f"./{produced}"])
    assert len(bad) == 1 and bad[0].startswith(f"{produced}: changed since it was produced")


class _Job:
    def __init__(self, inputs, outputs):
        self.input, self.output = inputs, outputs


class _Dag:
    def __init__(self, jobs):
        self.jobs = jobs

    def needrun_jobs(self):
        return self.jobs


def test_inputs_of_reruns_are_those_of_jobs_over_existing_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b", "old_out", "c"):
        open(name, "w").write(name)
    dag = _Dag([_Job(["a", "new_out"], ["old_out"]),  # reruns over an existing output: a is checked
                _Job(["c"], ["never_written"]),  # deletes nothing: c is left to the job's reader
                _Job(["new_out", "b"], ["old_out2", "old_out"])])  # new_out is rewritten by this run
    assert integrity.inputs_of_reruns(dag) == ["a", "b"]


def _snakemake(workdir, *args) -> subprocess.CompletedProcess:
    import shutil
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([exe, "--snakefile", str(repo / "Snakefile"), "--directory", str(workdir), "--cores", "2",
                           *args, "--configfile", str(repo / "config" / "default.yaml")],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.e2e
def test_bit_rot_in_an_input_stops_snakemake_before_it_deletes_outputs(tmp_path):
    """Issue #21 item 6 with the real Snakefile (the collect stage only): a raw source whose
    content changed at the same size and mtime, where Snakemake reruns collect_pool for it
    (the raw file is newer than the pool and its checksum differs from the recorded one). The
    run stops in onstart naming the file, and the pool and the other outputs are kept (on
    main @6bc88e6 Snakemake deleted them, then collect-pool failed on the file)."""
    target = "results/data/pool.parquet"
    proc = _snakemake(tmp_path, target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raw = sorted((tmp_path / "results/data/raw").glob("*.parquet"))[0]
    # the raw file rewritten with the same content (a rerun upstream did so): newer than the
    # pool, same checksum, so Snakemake keeps the pool; the start-up check rehashes and caches it
    later = os.stat(tmp_path / target).st_mtime_ns + 10**9
    os.utime(raw, ns=(later, later))
    assert integrity.verify(tmp_path) == []
    _rot(raw)
    assert integrity.verify(tmp_path) == []  # the start-up check alone would let the run go on
    before = {p: p.read_bytes() for p in (tmp_path / "results/data").rglob("*") if p.is_file()}
    proc = _snakemake(tmp_path, target)
    assert proc.returncode != 0, "the run went on with a rotten input"
    rel = raw.relative_to(tmp_path).as_posix()
    assert f"{rel}: changed since it was produced" in proc.stderr and "nothing deleted" in proc.stderr, \
        proc.stderr[-3000:]
    after = {p: p.read_bytes() for p in (tmp_path / "results/data").rglob("*") if p.is_file()}
    assert after == before  # the pool, funnel and quarantine files are all still there
