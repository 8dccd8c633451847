"""Config validation errors: one line per problem, key path first, a suggestion for misspelled keys."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s1kit.config_check import ConfigError, check_config, config_errors, yaml_file_errors

REPO = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


@pytest.fixture
def config() -> dict:
    return yaml.safe_load((REPO / "config" / "default.yaml").read_text())


def test_valid_configs_have_no_problems(schema, config):
    assert config_errors(config, schema) == []
    assert config_errors(yaml.safe_load((REPO / "config" / "s1.yaml").read_text()), schema) == []


def test_misspelled_keys_get_a_suggestion(schema, config):
    config["trian"] = config.pop("train")
    config["collect"]["ngrm"] = config["collect"].pop("ngram")
    lines = config_errors(config, schema)
    assert "config trian: unknown key; did you mean 'train'?" in lines
    assert "config train: missing (required)" in lines
    assert "config collect.ngrm: unknown key; did you mean 'ngram'?" in lines
    assert len(lines) == 4


def test_wrong_values_one_short_line_each(schema, config):
    config["collect"]["seed"] = -1
    config["select"]["seed"] = "zero"
    config["xyzzy"] = {"a": list(range(1000))}  # nothing close: the allowed keys are listed instead
    lines = config_errors(config, schema)
    assert "config collect.seed: -1 is less than the minimum of 0" in lines
    assert "config select.seed: 'zero' is not of type 'integer'" in lines
    assert any(line.startswith("config xyzzy: unknown key (allowed: collect, ") for line in lines)
    assert all(len(line) < 400 for line in lines), lines  # never the whole offending value or schema


def test_check_config_raises_one_message(config):
    config["paper"]["mdoe"] = config["paper"].pop("mode")
    with pytest.raises(ConfigError) as e:
        check_config(config, SCHEMA_PATH)
    msg = str(e.value)
    assert msg.splitlines()[0].startswith("2 problems in the config (schema ")
    assert "config paper.mdoe: unknown key; did you mean 'mode'?" in msg


def test_snakemake_prints_the_problems_not_the_schema(tmp_path, config):
    """A real `snakemake -n` on a config with a misspelled top-level key."""
    config["trian"] = config.pop("train")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "-n",
                           "--configfile", str(bad)], capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config trian: unknown key; did you mean 'train'?" in out
    assert len(out.splitlines()) < 40, out  # was ~1,500 lines of schema
    assert "additionalProperties" not in out


# ---- issue #21, item 8: alias bombs and giant values ------------------------------------------

def bomb(kind: str, levels: int = 9) -> str:
    """A `distill.params` section whose YAML aliases expand to 9**levels values ("billion laughs")."""
    if kind == "list":
        lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    else:
        lines = ["a0: &a0 {x: lol}"]
        lines += [f"a{i}: &a{i} {{" + ",".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}" for i in range(1, levels)]
    return "distill:\n  params:\n" + "\n".join("    " + line for line in lines) + "\n"


def with_bomb(kind: str) -> str:
    """config/default.yaml with the bomb as its distill.params (the file's other keys kept)."""
    text = (REPO / "config" / "default.yaml").read_text()
    text, n = re.subn(r"^  params: \{\}.*$", bomb(kind).split("\n", 1)[1].rstrip("\n"), text, count=1, flags=re.M)
    assert n == 1
    return text


@pytest.mark.parametrize("kind", ["list", "map"])
def test_alias_bomb_in_a_config_file_is_named(tmp_path, kind):
    """Measured on the YAML node graph (linear): the file, the line and the key path."""
    path = tmp_path / "bomb.yaml"
    path.write_text(with_bomb(kind))
    (line,) = yaml_file_errors(path)
    assert line.startswith(f"config file {path}, line ") and "(distill.params.a5)" in line, line
    assert "alias bomb" in line
    assert yaml_file_errors(REPO / "config" / "s1.yaml") == []  # aliases within the bound are fine


@pytest.mark.parametrize("kind", ["list", "map"])
def test_alias_bomb_in_the_loaded_config_is_one_line(schema, kind):
    """Whatever path a bomb takes into the config (a --config value), check_config names it
    before validation or anything else walks it."""
    lines = config_errors(yaml.safe_load(with_bomb(kind)), schema)
    assert len(lines) == 1 and lines[0].startswith("config distill.params.a5: YAML aliases expand to "), lines


@pytest.mark.parametrize("how", ["default", "configfile"])
def test_snakemake_stops_on_an_alias_bomb(tmp_path, how):
    """Real `snakemake -n`: was a silent hang. `default`: the bomb in config/default.yaml, which
    the Snakefile loads (a mapping bomb: Snakemake's merge would expand it); `configfile`: a list
    bomb given with --configfile. (A mapping bomb given with --configfile is expanded by
    Snakemake's command line before the workflow is read: not reachable from the kit.)"""
    kind = "map" if how == "default" else "list"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "default.yaml").write_text(with_bomb(kind))
    extra = [] if how == "default" else ["--configfile", str(tmp_path / "config" / "default.yaml")]
    proc = snakemake(tmp_path, ["-n", *extra], timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"config file \S*default\.yaml, line \d+ \(distill\.params\.a5\): YAML aliases expand", out), out


def test_a_giant_string_is_refused_naming_its_key(schema, config):
    config["distill"]["params"] = {"system": "x" * 10_000_000}
    config["select"]["keep_asy_pattern"] = "y" * 5000
    lines = config_errors(config, schema)
    want = "config distill.params.system: 10,000,000 characters (limit 65,536; pass a large text as a file path)"
    assert want in lines
    assert "config select.keep_asy_pattern: 5,000 characters (limit 4,096)" in lines
    assert all(len(line) < 400 for line in lines)


def test_values_too_big_for_a_command_line_stop_the_dag_and_keep_old_outputs(tmp_path, config):
    """Many strings under the per-string bound together make a JSON argument over what one
    command-line argument holds: the DAG stops, naming the key, before any job runs, and the
    old outputs are still there (was "Argument list too long" after Snakemake deleted them)."""
    config["distill"]["params"] = {f"p{i}": "z" * 60_000 for i in range(3)}
    cfg = tmp_path / "big.yaml"
    cfg.write_text(yaml.safe_dump(config))
    old = {p: p.encode() for p in ("results/distill/oracle/traces.parquet", "results/distill/oracle/ledger.jsonl",
                                   "results/data/pool.parquet")}
    for rel, data in old.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    proc = snakemake(tmp_path, ["--configfile", str(cfg), "--cores", "1", "--forcerun", "distill_traces",
                                "results/distill/oracle/traces.parquet"], timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config distill.params: 180,0" in out and "bytes as JSON, over the 100,000" in out, out[-3000:]
    assert {rel: (tmp_path / rel).read_bytes() for rel in old} == old


def snakemake(workdir: Path, args: list[str], timeout: int) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


def test_paths_that_become_rule_files_refuse_braces(schema, config):
    """collect.hub.lock/dest/offline_mirror are rule inputs and outputs, where Snakemake reads
    {x} as a wildcard (issue #21, item 2): refused by the schema, naming the key."""
    config["collect"]["hub"] = {"lock": "config/{task}.lock.yaml", "dest": "res/{1,3}", "offline_mirror": "m{4}"}
    lines = config_errors(config, schema)
    for key in ("lock", "dest"):
        assert any(line.startswith(f"config collect.hub.{key}: ") and "does not match" in line for line in lines), lines
    assert any(line.startswith("config collect.hub.offline_mirror: ") for line in lines), lines
