"""No config value runs as shell code (issue #16, item 1).

Every string in config/default.yaml, config/s1.yaml and config/review.yaml (values, list
items, null optionals and mapping keys) is replaced by a shell-metacharacter payload. The
schema must reject it, or the workflow must refuse it at DAG time naming the value, or
else it reaches the rules' shell lines only as data: the real Snakemake CLI renders every
job's shell command (`snakemake -n -p --forceall`), each command is run by bash with
stand-ins for s1kit, srun, torchrun, apptainer, scontrol and squeue (on PATH; no Slurm or
Apptainer here), and no payload may create its marker file, while the payload's marker
must reach the stand-in s1kit's argv.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)

# Three payloads, one per quoting context a value could be wrongly pasted into: bare (or
# inside double quotes: $(...) and backticks still run), inside '...', inside "...". Each
# also holds braces (issue #21, item 2): Snakemake formats a plain string param with the
# job's wildcards ({task} -> the task's name, {4} -> WildcardError); none may be rewritten.
BRACES = "{{task}}m-{{teacher}}\\boxed{{answer}}x{{4}}y{{1,3}}"
PAYLOADS = {
    "bare": "PWN{i}" + BRACES + "$(touch pwned{i}a)`touch pwned{i}b`;touch pwned{i}c #\ntouch pwned{i}d",
    "single": "PWN{i}" + BRACES + "';touch pwned{i}e;'",
    "double": "PWN{i}" + BRACES + '";touch pwned{i}f;"',
}

# Stand-ins: s1kit records its argv (fields split by 0x1f, records by 0x1e); the launchers
# drop their own flags and run the rest, as the real ones would.
STANDINS = {
    "s1kit": 'for a in "$@"; do printf "%s\\037" "$a"; done >> "$S1KIT_ARGV_LOG"; printf "\\036" >> "$S1KIT_ARGV_LOG"',
    "srun": 'while [[ "$1" == -* ]]; do shift; done; exec "$@"',
    "torchrun": 'while [[ "$1" == -* ]]; do shift; done; exec "$@"',
    "apptainer": 'shift; while [[ "$1" == -* ]]; do shift; done; shift; exec "$@"',
    "scontrol": "echo node1",
    "squeue": "echo node1",
}


def leaves(node, path=()):
    """(path, kind) of every string or null value, list item and mapping key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, ("key", k)), "key"
            yield from leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, (*path, i))
    elif node is None or isinstance(node, str):
        yield path, "value"


def mutate(cfg: dict, path: tuple, payload: str) -> None:
    *head, last = path
    node = cfg
    for p in head:
        node = node[p]
    if isinstance(last, tuple):  # rename a mapping key, keeping the order
        items = [(payload if k == last[1] else k, v) for k, v in node.items()]
        node.clear()
        node.update(items)
    else:
        node[last] = payload


def dotted(path: tuple) -> str:
    return ".".join(f"<key {p[1]}>" if isinstance(p, tuple) else str(p) for p in path)


def dag_check(cfg: dict) -> bool:
    """The workflow's own DAG-time check of train.runs (train.smk calls it per run): False
    when it refuses the config with an error naming the key, as it would before any job."""
    from s1kit.sft.launch import check_run

    for run, spec in cfg["train"]["runs"].items():
        try:
            check_run(run, spec.get("hparams", {}), spec.get("launch"))
        except ValueError as e:
            assert f"train.runs.{run}" in str(e), e
            return False
    return True


def snakemake_exe() -> str:
    return shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"


def render(workdir: Path, cfg: dict) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([snakemake_exe(), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
                           "--configfile", str(workdir / "config.yaml"), "-n", "-p", "--forceall", "--cores", "2"],
                          capture_output=True, text=True, env=env, timeout=300)


def run_commands(workdir: Path, out: str) -> list[list[str]]:
    """Run every rendered shell command with the stand-ins; the argv lists s1kit received."""
    bindir = workdir / "standin-bin"
    bindir.mkdir(exist_ok=True)
    for name, body in STANDINS.items():
        (bindir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bindir / name).chmod(0o755)
    for logs in re.findall(r"^\s+log: (.+)$", out, re.M):
        for log in logs.split(", "):
            (workdir / log).parent.mkdir(parents=True, exist_ok=True)
    argv_log = workdir / "argv.log"
    argv_log.write_text("")
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", S1KIT_ARGV_LOG=str(argv_log))
    commands = re.findall(r"^Shell command: (.*?)(?=\n\n|\n\[|\nJob stats|\Z)", out, re.M | re.S)
    assert commands, out[-3000:]
    for cmd in commands:
        subprocess.run(["bash", "-c", cmd], cwd=workdir, env=env, capture_output=True, timeout=60)
    return [rec.split("\x1f")[:-1] for rec in argv_log.read_text().split("\x1e") if rec]


@pytest.mark.parametrize("config", ["default.yaml", "s1.yaml", "review.yaml"])
def test_no_config_value_runs_as_shell(tmp_path, config):
    base = yaml.safe_load((REPO / "config" / config).read_text())
    candidates = list(leaves(base))
    assert len(candidates) > 40
    for mode, template in PAYLOADS.items():
        workdir = tmp_path / mode
        workdir.mkdir()
        accepted, schema_refused, dag_refused = {}, [], []
        for i, (path, _) in enumerate(candidates):
            cfg = copy.deepcopy(base)
            mutate(cfg, path, template.format(i=i))
            if not VALIDATOR.is_valid(cfg):
                schema_refused.append(path)
            elif not dag_check(cfg):
                dag_refused.append(path)
            else:
                accepted[i] = path
        # every name that becomes a wildcard or a path is refused by the schema
        refused = {dotted(p) for p in schema_refused}
        for must in ("models.<key tiny-base>", "collect.sources.<key tiny_math>", "models.tiny-base.kind",
                     "official.commit", "containers.data", "train.runs.tiny-s1.selection",
                     "evaluate.tasks.0"):
            if config == "default.yaml":
                assert must in refused, must
        # everything else at once; a value refused at DAG time must be named
        while True:
            cfg = copy.deepcopy(base)
            # deepest first: a renamed key must not hide the paths below it
            for i, path in sorted(accepted.items(), key=lambda kv: -len(kv[1])):
                mutate(cfg, path, template.format(i=i))
            proc = render(workdir, cfg)
            if proc.returncode == 0:
                break
            named = [i for i in accepted if re.search(rf"PWN{i}\b", proc.stderr + proc.stdout)]
            assert named, f"DAG refused a payload without naming it:\n{proc.stderr[-3000:]}"
            dag_refused += [accepted.pop(i) for i in named]
        argvs = run_commands(workdir, proc.stdout + proc.stderr)
        pwned = sorted(p.name for p in workdir.rglob("pwned*"))
        assert not pwned, f"payloads ran ({mode}): " + ", ".join(
            f"{dotted(accepted[int(n[len('pwned'):-1])])} -> {n}" for n in pwned)
        reached = {i for i in accepted for argv in argvs if any(f"PWN{i}" in a for a in argv)}
        # the payload arrived intact as one argument (or inside one JSON argument)
        for argv in argvs:
            for a in argv:
                for m in re.finditer(r"PWN(\d+)", a):
                    want = template.format(i=m.group(1))
                    assert want in a or json.dumps(want)[1:-1] in a, (a, want)
        assert len(reached) >= 10, sorted(dotted(accepted[i]) for i in reached)


def test_braces_in_config_values_reach_s1kit_intact(tmp_path):
    """Issue #21, item 2: `{task}` in evaluate.gen_kwargs.until reached the job as the task's
    name, `m-{teacher}` (distill.model) as m-oracle, `\\boxed{answer}` was mangled and a regex
    quantifier ({4}, {1,3}) in select.*pattern stopped the DAG with a bare WildcardError. The
    real Snakemake renders every job (`-n -p --forceall`); the stand-in s1kit records its argv."""
    import json as _json

    base = yaml.safe_load((REPO / "config/default.yaml").read_text())
    until = ["{task}", "\\boxed{answer}", "{4}", "{1,3}"]
    base["evaluate"]["gen_kwargs"]["until"] = until
    base["distill"]["model"] = "m-{teacher}"
    base["distill"]["params"] = {"stop{1,3}": ["{task}", "\\boxed{answer}"]}  # braces in a key too
    base["select"]["benchmark_sources"]["olympiad"]["pattern"] = "^tiny_olympiad{1,3}"
    base["select"]["long_source_pattern"] = "^tiny_m{1}ath"
    base["select"]["keep_asy_pattern"] = "^tiny_olympia[d]{4}"
    base["train"]["runs"]["tiny-s1"]["hparams"]["system_prompt"] = "Answer in \\boxed{answer}; {run}"
    assert VALIDATOR.is_valid(base)
    proc = render(tmp_path, base)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    argvs = run_commands(tmp_path, proc.stdout + proc.stderr)

    def flag(argv, name):
        return argv[argv.index(name) + 1]

    by_cmd: dict[str, list[list[str]]] = {}
    for argv in argvs:
        by_cmd.setdefault(argv[0], []).append(argv)
    (distill,) = by_cmd["distill"]
    assert flag(distill, "--model") == "m-{teacher}"
    assert _json.loads(flag(distill, "--params-json")) == {"stop{1,3}": ["{task}", "\\boxed{answer}"]}
    evals = by_cmd["evaluate"]
    assert evals and all(_json.loads(flag(a, "--base-gen-kwargs"))["until"] == until for a in evals)
    selects = by_cmd["select"]
    assert len(selects) == len(base["select"]["selections"])
    for argv in selects:
        cfg = _json.loads(flag(argv, "--config-json"))
        assert cfg["benchmark_sources"]["olympiad"]["pattern"] == "^tiny_olympiad{1,3}"
        assert cfg["long_source_pattern"] == "^tiny_m{1}ath"
        assert cfg["keep_asy_pattern"] == "^tiny_olympia[d]{4}"
    (train,) = by_cmd["train"]
    assert _json.loads(flag(train, "--config-json"))["system_prompt"] == "Answer in \\boxed{answer}; {run}"
