"""Config validation errors: one line per problem, key path first, a suggestion for misspelled keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from s1kit.config_check import ConfigError, check_config, config_errors

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
