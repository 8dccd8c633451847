"""`--config` on the snakemake command line (issue #21, item 5).

Snakemake reads a nested --config value with YAML's BaseLoader, so every scalar in it is a
string: `--config 'llm={max_cost_usd: 200}'` gave '200' and the schema refused it. The
Snakefile types such strings as a config file would (s1kit.config_check.coerce_strings).
Every --config command the kit prints (its messages, README, docs) is run here as a real
`snakemake -n` in a temporary directory.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s1kit.config_check import coerce_strings, command_line_values
from s1kit.llm.spend import TOTAL_KEY, Budget, config_flag

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


def test_strings_typed_where_the_schema_wants_another_type():
    """What Snakemake's reading leaves (every nested scalar a string), typed by the schema."""
    got = coerce_strings({
        "llm": {"max_cost_usd": "200"},
        "select": {"seed": "3", "keep_asy_pattern": "yes", "long_source_pattern": "007"},
        "distill": {"model": "null", "params": {"temperature": "0.7", "stop": "{4}"}, "llm": {"max_cost_usd": "-5"}},
        "evaluate": {"budgets": ["1", "2"], "batch_size": "auto", "tasks": ["007"], "limit": "null"},
        "train": {"runs": {"r": {"launch": {"container": "null", "gpus": "true", "rdzv_port": "29500"}}}},
    }, SCHEMA)
    assert got["llm"] == {"max_cost_usd": 200}
    # a string the schema accepts stays one, though YAML would read it otherwise (yes -> True, 007 -> 7)
    assert got["select"] == {"seed": 3, "keep_asy_pattern": "yes", "long_source_pattern": "007"}
    assert got["evaluate"]["tasks"] == ["007"] and got["evaluate"]["batch_size"] == "auto"
    assert got["evaluate"]["budgets"] == [1, 2] and got["evaluate"]["limit"] is None
    # distill.model accepts a string: "null" stays; invalid either way -> typed (the error: -5 < 0)
    assert got["distill"] == {"model": "null", "params": {"temperature": "0.7", "stop": "{4}"},
                              "llm": {"max_cost_usd": -5}}
    # ("null" is a valid image name; read from the arguments, `container: null` is None already)
    assert got["train"]["runs"]["r"]["launch"] == {"container": "null", "gpus": True, "rdzv_port": 29500}


def test_arguments_read_as_a_config_file_reads_them():
    """The raw KEY=VALUE arguments again, with YAML's full reading: numbers, null and quotes
    as in a config file (a quoted "3" stays a string); later arguments merge into earlier ones."""
    args = ['distill={model: null, params: {temperature: 0.7, stop: "3", n: 2}}', "select={seed: 3}",
            "distill={params: {n: 4}}", "paper=", "broken={a: [}"]
    got = command_line_values(args, {"broken": "{a: [}"})
    assert got == {"distill": {"model": None, "params": {"temperature": 0.7, "stop": "3", "n": 4}},
                   "select": {"seed": 3}, "paper": None, "broken": "{a: [}"}


def printed_config_flags() -> list[tuple[str, list[str]]]:
    """(where, --config arguments) of every snakemake command with --config in README, docs/ and src/."""
    found = []
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "src").rglob("*.py"))]
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "snakemake" not in line:
                continue
            for m in re.finditer(r"--config\s+((?:'[^']*'\s*|[A-Za-z_][\w.-]*=\S+\s*)+)", line):
                found.append((f"{path.relative_to(REPO)}:{n}", shlex.split(m.group(1))))
    return found


def spend_messages() -> list[tuple[str, str]]:
    """The spend-cap message of each kind of stage key (s1kit.llm.spend.Budget.report), with its config."""
    keys = [("distill.llm.max_cost_usd", "default.yaml"),
            ("featurize.grader.llm.client.max_cost_usd", "default.yaml"),
            ("retrace.s1K-1.1.llm.max_cost_usd", "s1.yaml")]
    out = []
    for key, config in keys:
        out.append((config, Budget(50.0, key, 200.0).report(10, 5, None)))
    out.append(("default.yaml", Budget(None, "distill.llm.max_cost_usd", 75.5).report(10, 5, None)))
    return out


def dry_run(tmp_path: Path, config: str, flags: list[str]) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    # the flag list must end the command line: --config takes every argument after it
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "-n", "-p", "--cores", "1",
           "--configfile", str(REPO / "config" / config), "--config", *flags]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_every_printed_config_command_runs(tmp_path):
    """Each --config of README/docs/src and of the spend-cap messages, as `snakemake -n` in a temp dir."""
    cases = [("default.yaml", where, flags) for where, flags in printed_config_flags()]
    assert any(where.startswith("docs/llm.md") for _, where, _ in cases), cases  # the resume command
    for config, msg in spend_messages():
        m = re.search(r"add (--config .*?) to the snakemake command", msg)
        assert m, msg
        cases.append((config, f"spend message: {m.group(1)}", shlex.split(m.group(1))[1:]))
    # the issue's own cases
    cases.append(("default.yaml", "issue #21.5", ["select={seed: 3}"]))
    cases.append(("default.yaml", "issue #21.5", ["llm={max_cost_usd: 200}"]))
    params = ['distill={params: {temperature: 0.7, stop: "3"}}']  # typed as in a config file
    cases.append(("default.yaml", "free-form values", params))
    failures = []
    for i, (config, where, flags) in enumerate(cases):
        assert not any(re.match(r"[\w-]+\.[\w.-]+=", f) for f in flags), f"{where}: dotted --config key {flags}"
        workdir = tmp_path / str(i)
        workdir.mkdir()
        proc = dry_run(workdir, config, flags)
        if proc.returncode != 0:
            failures.append(f"{where}: --config {' '.join(flags)}\n{(proc.stdout + proc.stderr)[-1500:]}")
        elif flags == ["select={seed: 3}"]:  # the typed value reaches the selection job
            assert re.search(r"s1kit select .*--config-json '[^']*\"seed\": 3\b", proc.stdout), proc.stdout[-3000:]
        elif flags == params:
            want = r"--params-json '{\"stop\": \"3\", \"temperature\": 0.7}'"
            assert re.search(want, proc.stdout), proc.stdout[-3000:]
    assert not failures, "\n\n".join(failures)


def test_spend_message_flag_sets_nested_keys_in_one_flag():
    assert config_flag({"distill.llm.max_cost_usd": 100, TOTAL_KEY: 400}) == (
        "--config 'distill={llm: {max_cost_usd: 100}}' 'llm={max_cost_usd: 400}'")
    # a retrace name may hold dots (s1K-1.1)
    assert config_flag({"retrace.s1K-1.1.llm.max_cost_usd": 12.345}) == (
        "--config 'retrace={s1K-1.1: {llm: {max_cost_usd: 12.35}}}'")


@pytest.mark.parametrize("flag", ["llm={max_cost_usd: -5}", "select={seed: three}"])
def test_a_wrong_typed_value_is_named(tmp_path, flag):
    proc = dry_run(tmp_path, "default.yaml", [flag])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    key = "llm.max_cost_usd" if "llm" in flag else "select.seed"
    assert re.search(rf"config {re.escape(key)}: ", out), out[-3000:]
