"""Workflow conventions: `snakemake --lint` is clean, and every rule names itself for provenance.

`make lint` also runs `snakefmt --check Snakefile workflow` (settings in pyproject.toml
[tool.snakefmt]); that check is not repeated here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "workflow" / "rules"


@pytest.mark.parametrize("configfile", ["config/default.yaml", "config/s1.yaml", "config/review.yaml"])
def test_snakemake_lint_is_clean(configfile):
    """No lint at all: Snakemake exits 1 on any finding, and make lint runs exactly this."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--configfile", configfile],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]


def rule_blocks(text: str) -> dict[str, str]:
    """Rule name -> the text of its block (up to the next rule or top-level statement)."""
    starts = list(re.finditer(r"^(?P<indent>[ ]*)rule (?P<name>\w+):\n", text, re.M))
    blocks = {}
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        body = text[m.end():end]
        stop = re.search(rf"^(?!{m['indent']}[ ]|\s*$)", body, re.M)  # first line not indented deeper
        blocks[m["name"]] = body[:stop.start()] if stop else body
    return blocks


def test_rule_name_params_match_the_rules():
    """`{rule}` in a shell command is a false positive of --lint (its list of shell names lacks
    `rule`), so each rule passes its own name as params.rule, exported as S1KIT_RULE."""
    checked = 0
    for smk in sorted(RULES.glob("*.smk")):
        text = smk.read_text()
        assert "{rule}" not in text, f"{smk.name}: use {{params.rule}} (snakemake --lint flags {{rule}})"
        for name, body in rule_blocks(text).items():
            if "S1KIT_RULE" not in body:
                continue
            checked += 1
            assert "S1KIT_RULE={params.rule}" in body, (smk.name, name)
            assert re.search(rf'^\s+rule="{name}",$', body, re.M), f"{smk.name}: rule {name} needs params rule=\"{name}\""
    assert checked >= 20
