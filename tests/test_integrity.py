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
