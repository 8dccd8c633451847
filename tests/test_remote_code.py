"""trust_remote_code (code shipped with a checkpoint) runs only for allowlisted models:
config evaluate.trust_remote_code, checked by `s1kit evaluate` before any model is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s1kit.cli import main
from s1kit.evaluate import run
from s1kit.evaluate.run import check_remote_code

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [{"trust_remote_code": True}, {"trust_remote_code": "True"},
                                  {"tokenizer_trust_remote_code": 1}, {"TRUST_REMOTE_CODE": "yes"}])
def test_refused_unless_allowlisted(args):
    with pytest.raises(ValueError, match=r"config evaluate.model_args: .* model 'qwen-x'.*evaluate.trust_remote_code"):
        check_remote_code(args, "qwen-x", ["other"])
    check_remote_code(args, "qwen-x", ["qwen-x"])


def test_off_values_need_no_allowlist():
    for args in ({}, None, {"trust_remote_code": False}, {"trust_remote_code": "false"}, {"tensor_parallel_size": 8}):
        check_remote_code(args, "m", [])


def test_cli_refuses_before_loading(tmp_path, monkeypatch, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "1", "question": "q", "answer": "1"}) + "\n")
    loaded = []

    def loader(*args):
        loaded.append(args)
        raise RuntimeError("stop after loading")

    monkeypatch.setattr(run, "_load_lm", loader)
    argv = ["evaluate", "--model", str(tmp_path / "m"), "--model-name", "m", "--task", "tiny_chains", "--data",
            str(data), "--setting", "bf-8", "--out-dir", str(tmp_path / "o"),
            "--model-args", json.dumps({"trust_remote_code": True})]
    assert main(argv) == 2
    assert "not in evaluate.trust_remote_code" in capsys.readouterr().err and not loaded
    # allowlisted: the argument reaches the model loader
    assert main([*argv, "--trust-remote-code", '["m"]']) == 1
    assert "stop after loading" in capsys.readouterr().err
    assert loaded and loaded[0][-1]["trust_remote_code"] is True


def test_rule_passes_the_allowlist(tmp_path):
    """The evaluate rule's shell command carries config evaluate.trust_remote_code (a dry run)."""
    (tmp_path / "o.yaml").write_text("evaluate: {model_args: {trust_remote_code: true}, trust_remote_code: [tiny-s1]}\n")
    exe = Path(sys.executable).parent / "snakemake"
    env = dict(os.environ, PATH=f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run([str(exe), "-n", "-p", "--cores", "1", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(tmp_path), "--configfile", str(REPO / "config" / "default.yaml"),
                          str(tmp_path / "o.yaml")], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    cmds = [line for line in out.stdout.splitlines() if "s1kit evaluate" in line]
    assert cmds and all("""--trust-remote-code '["tiny-s1"]'""" in c for c in cmds)
