"""docs/DESIGN.md names every module and CLI command that exists and none that does not;
docs/README.md is the index of docs/.

DESIGN.md's "Package" section is a table whose first cell is a module's path relative to
src/s1kit (`evaluate/budget.py`) or a package (`evaluate/`); its "Commands" section is a
table whose first cell is `s1kit <command>`, one row per subcommand of the real parser.
"""

from __future__ import annotations

import argparse
import ast
import re
from functools import cache
from pathlib import Path

from s1kit.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "s1kit"
DOCS = ROOT / "docs"


def design() -> str:
    return (DOCS / "DESIGN.md").read_text(encoding="utf-8")


def first_cells(title: str) -> list[str]:
    """The backticked first cell of every table row in DESIGN.md's section `## <title>`."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", design(), re.M | re.S)
    assert m, f"docs/DESIGN.md has no section '## {title}'"
    return re.findall(r"^\| `([^`]+)` \|", m.group(1), re.M)


def modules() -> set[str]:
    """Every module under src/s1kit by its path from there; a package by its folder (`llm/`)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if path.name != "__init__.py":
            found.add(rel.as_posix())
        elif rel.parent != Path("."):
            found.add(f"{rel.parent.as_posix()}/")
    return found


@cache
def commands() -> set[str]:
    """The subcommands of `s1kit --help`, from the parser the CLI builds."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


@cache
def top_level_names(path: Path) -> set[str]:
    """Names a module defines or imports at its top level."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def resolves(dotted: str) -> bool:
    """`s1kit.a.b` is a module or package, or `s1kit.a.name` a name at the top of module a."""
    parts = dotted.split(".")[1:]
    for i in range(len(parts), 0, -1):
        base = PACKAGE.joinpath(*parts[:i])
        for file in (base.with_suffix(".py"), base / "__init__.py"):
            if file.exists():
                return i == len(parts) or parts[i] in top_level_names(file)
    return not parts


def test_every_module_is_in_the_package_table_and_every_row_exists():
    listed = first_cells("Package")
    assert len(listed) == len(set(listed)), sorted({m for m in listed if listed.count(m) > 1})
    missing, stale = sorted(modules() - set(listed)), sorted(set(listed) - modules())
    assert not missing, f"modules missing from DESIGN.md's Package table: {missing}"
    assert not stale, f"DESIGN.md's Package table lists modules that do not exist: {stale}"


def test_every_command_is_in_the_commands_table_and_every_row_exists():
    listed = {cell.removeprefix("s1kit ") for cell in first_cells("Commands")}
    missing, stale = sorted(commands() - listed), sorted(listed - commands())
    assert not missing, f"commands missing from DESIGN.md's Commands table: {missing}"
    assert not stale, f"DESIGN.md's Commands table lists commands that do not exist: {stale}"


def test_names_in_the_prose_exist():
    """`s1kit.x.y` names, module paths and `s1kit <command>` anywhere in DESIGN.md."""
    text = design()
    stale = [d for d in sorted(set(re.findall(r"\bs1kit(?:\.\w+)+", text))) if not resolves(d)]
    stale += [p for p in sorted(set(re.findall(r"\bs1kit/[\w/]+\.py\b", text)))
              if not (PACKAGE.parent / p).exists()]
    # `evaluate/budget.py` (from src/s1kit) or `tests/test_lint.py` (from the repository root)
    stale += [p for p in sorted(set(re.findall(r"`([\w/]+\.py)`", text)))
              if not (PACKAGE / p).exists() and not (ROOT / p).exists()]
    stale += [f"s1kit {c}" for c in sorted(set(re.findall(r"`s1kit ([a-z][a-z-]*)", text)) - commands())]
    assert not stale, f"DESIGN.md names what does not exist: {stale}"


def test_docs_readme_indexes_every_doc():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)", index)
    assert not [t for t in links if "://" not in t and not (DOCS / t).exists()], links
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.name != "README.md" and p.name not in links]
    assert not missing, f"docs/README.md does not link {missing}"
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")
