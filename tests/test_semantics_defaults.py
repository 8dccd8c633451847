"""Each stage's semantics default is declared in the config schema (`default:`), which the
workflow fills in when it validates the config (Snakemake's validate, common.smk); the rules
then read config[stage]["semantics"]. The kit's Python default, used when a stage runs
outside the workflow, must say the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from s1kit.collect import CollectConfig
from s1kit.evaluate import answers
from s1kit.evaluate import semantics as evaluate_semantics
from s1kit.features import semantics as featurize_semantics
from s1kit.select import SelectConfig

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def field_default(cls: type, name: str) -> object:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


# (stage, key) -> the Python default of that switch
PYTHON_DEFAULTS = {
    ("collect", "semantics"): field_default(CollectConfig, "semantics"),
    ("featurize", "semantics"): featurize_semantics.DEFAULT_SEMANTICS,
    ("select", "semantics"): field_default(SelectConfig, "semantics"),
    ("select", "domain_sampling"): field_default(SelectConfig, "domain_sampling"),
    ("evaluate", "semantics"): evaluate_semantics.DEFAULT_SEMANTICS,
    ("evaluate", "scoring"): answers.DEFAULT_SCORING,
}


@pytest.mark.parametrize(("stage", "key"), sorted(PYTHON_DEFAULTS))
def test_python_default_is_the_schema_default(stage, key):
    spec = SCHEMA["properties"][stage]["properties"][key]
    assert "default" in spec, f"config schema {stage}.{key}: no default:"
    assert spec["default"] in spec["enum"]
    assert PYTHON_DEFAULTS[(stage, key)] == spec["default"], f"{stage}.{key}"


def test_validation_fills_the_schema_defaults():
    """What the rules rely on: a config without the switches gets the schema's values."""
    from snakemake.utils import validate  # heavy: snakemake, only for this check

    config = yaml.safe_load((REPO / "config" / "default.yaml").read_text())
    for stage, key in PYTHON_DEFAULTS:
        config[stage].pop(key, None)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))  # fills in place
    for stage, key in PYTHON_DEFAULTS:
        assert config[stage][key] == SCHEMA["properties"][stage]["properties"][key]["default"]
