"""The import graph of src/s1kit: no circles, imports at the top of each module (an import
inside a function says why with a ``# heavy:`` comment), and a light CLI start."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "s1kit"
HEAVY = ("torch", "transformers", "vllm", "lm_eval")  # what a light import must not pull in


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import statement brings in, as dotted paths (``from a import b`` -> ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert node.level == 0, "s1kit imports are absolute"
    return [f"{node.module}.{a.name}" for a in node.names]


def owner(dotted: str) -> str | None:
    """The s1kit module that ``dotted`` names or lies in; None outside s1kit."""
    while dotted and dotted not in modules():
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def imports_of(path: Path) -> list[ast.Import | ast.ImportFrom]:
    return [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, (ast.Import, ast.ImportFrom))]


def graph() -> dict[str, set[str]]:
    """Module -> the s1kit modules it imports anywhere (top level or inside functions)."""
    return {name: {m for node in imports_of(path) for d in imported(node) if (m := owner(d)) and m != name}
            for name, path in modules().items()}


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle (``[a, b, ..., a]``), or None: a depth-first search for an edge back into the path."""
    done: set[str] = set()
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        if m in path:
            return path[path.index(m):] + [m]
        if m in done:
            return None
        path.append(m)
        for n in sorted(edges[m]):
            if circle := visit(n):
                return circle
        path.pop()
        done.add(m)
        return None

    return next((c for m in sorted(edges) if (c := visit(m))), None)


def test_find_circle_finds_one():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_circle():
    assert find_circle(graph()) is None


def unexplained_imports(path: Path) -> list[str]:
    """``file:line`` of each import inside a function without ``# heavy:`` on its line or the line above."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = set()  # a set: an import in a nested function is walked once per enclosing function
    for fn in ast.walk(ast.parse(text)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                    if "# heavy:" not in here and not above.strip().startswith("# heavy:"):
                        found.add(node.lineno)
    return [f"{path.relative_to(PACKAGE.parent)}:{n}: {lines[n - 1].strip()}" for n in sorted(found)]


def test_imports_inside_functions_say_why():
    """Imports belong at the top; only heavy optional ones (torch, transformers, vllm, lm_eval, ...)
    may wait for the function that needs them, each saying so (``# heavy: <why>``)."""
    bad = [line for path in modules().values() for line in unexplained_imports(path)]
    assert not bad, "imports inside functions without a '# heavy:' comment:\n" + "\n".join(bad)


@pytest.mark.parametrize("module", ["s1kit.records", "s1kit.provenance", "s1kit.cli"])
def test_light_modules_do_not_import_torch(module):
    code = (f"import json, sys; import {module}; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], f"import {module} pulls in {out.stdout.strip()}"
