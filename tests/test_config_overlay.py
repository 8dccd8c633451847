"""Overlay configs can switch a backend (issue #16, item 9): `--configfile default.yaml b.yaml`
where b switches distill.backend gets b's options only, not the oracle's merged in."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from s1kit.settings import switch_backend_options

REPO = Path(__file__).resolve().parents[1]


def merged(*layers):
    from snakemake.utils import update_config

    out: dict = {}
    for layer in layers:
        update_config(out, json.loads(json.dumps(layer)))
    return out


def test_switch_replaces_options_of_the_switched_section_only():
    base = {"distill": {"backend": "oracle", "options": {"error_rate": 0.02, "seed": 0}},
            "featurize": {"grader": {"backend": "llm", "llm": {"backend": "gemini", "options": {"timeout": 5}}}}}
    over = {"distill": {"backend": "openai_compat", "options": {"base_url": "http://localhost:1"}},
            "featurize": {"grader": {"llm": {"options": {"max_tokens": 9}}}}}
    cfg = merged(base, over)
    assert cfg["distill"]["options"]["error_rate"] == 0.02  # Snakemake's key-by-key merge
    changed = switch_backend_options(cfg, [base, over])
    assert changed == ["distill"]
    assert cfg["distill"]["options"] == {"base_url": "http://localhost:1"}
    # the same backend: options still merge
    assert cfg["featurize"]["grader"]["llm"]["options"] == {"timeout": 5, "max_tokens": 9}


def test_switch_back_and_later_layers_merge():
    a = {"distill": {"backend": "oracle", "options": {"error_rate": 0.1}}}
    b = {"distill": {"backend": "gemini", "options": {"api_key_env": "K"}}}
    c = {"distill": {"options": {"timeout": 3}}}  # no backend: adds to b's
    cfg = merged(a, b, c)
    switch_backend_options(cfg, [a, b, c])
    assert cfg["distill"]["options"] == {"api_key_env": "K", "timeout": 3}
    d = {"distill": {"backend": "oracle"}}  # switched again, without options: none left
    cfg = merged(a, b, c, d)
    switch_backend_options(cfg, [a, b, c, d])
    assert cfg["distill"]["options"] == {}
    # no switch at all: nothing touched
    cfg = merged(a, c)
    assert switch_backend_options(cfg, [a, c]) == [] and cfg["distill"]["options"] == {"error_rate": 0.1, "timeout": 3}


def test_overlay_on_default_switches_distill_backend(tmp_path):
    """The real workflow: an overlay on default.yaml that switches distill to openai_compat
    validates and renders the distill job with the new backend's options alone."""
    over = {"distill": {"backend": "openai_compat", "model": "m",
                        "options": {"base_url": "http://127.0.0.1:9", "api_key_env": None}}}
    (tmp_path / "over.yaml").write_text(yaml.safe_dump(over))
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "-n", "-p",
                           "--configfile", str(REPO / "config/default.yaml"), str(tmp_path / "over.yaml"),
                           "--cores", "1", "results/distill/oracle/traces.parquet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = re.search(r"^Shell command: (.*s1kit distill .*)$", proc.stdout, re.M).group(1)
    argv = shlex.split(line.split(" > ")[0])
    assert argv[argv.index("--backend") + 1] == "openai_compat"
    assert json.loads(argv[argv.index("--options-json") + 1]) == {"base_url": "http://127.0.0.1:9", "api_key_env": None}
