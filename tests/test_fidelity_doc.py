"""docs/fidelity.md: every test a row names exists (file and test function)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_every_named_test_exists():
    text = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    nodes = set(NODE.findall(text))
    assert nodes, "docs/fidelity.md names no test"
    missing = [f"{path}::{name}" for path, name in sorted(nodes)
               if not (ROOT / path).exists()
               or not re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M)]
    assert not missing, f"docs/fidelity.md names tests that do not exist: {missing}"
