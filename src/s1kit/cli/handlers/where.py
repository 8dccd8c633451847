"""Handler of `s1kit where`: where the paper outputs of a results tree are (no stage to import)."""

from __future__ import annotations

from pathlib import Path

from s1kit.cli.args import WhereArgs


def where_command(a: WhereArgs) -> None:
    root = Path(a.results)
    if not root.is_dir():
        raise ValueError(f"{root}: no such results tree (run `make demo` or snakemake first, or name the tree: "
                         "s1kit where <dir>)")
    for label, rel in [("scaling figure", "paper/figures"), ("tables", "paper/tables"),
                       ("claims", "paper/claims.csv"), ("claims report", "paper/report.html"),
                       ("report (Markdown)", "paper/report.md"),
                       ("selection funnel", "select/funnel.csv"), ("eval runs", "eval")]:
        print(f"{label:>17}: {root / rel}")
