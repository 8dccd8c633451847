"""Render a DataFrame as Markdown, LaTeX (booktabs, fitted to the line width) or HTML, and write the CSV/MD/TeX trio.

Hand-written rather than ``DataFrame.to_markdown``/``to_latex`` so that the output does
not depend on optional packages (tabulate, jinja2) and stays byte-stable across versions.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from s1kit.paper.io import write_csv, write_text

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def cell(value: Any) -> str:
    """Text of one cell: empty for NaN/None, integers without ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (pipes escaped)."""
    def esc(v: Any) -> str:
        return cell(v).replace("|", r"\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


_NUMERIC_CELL = re.compile(r"^-?[\d,]+(\.\d+)?( ± [\d,]+(\.\d+)?)?( \([\d,]+\))?$")  # 1,234.5; 56.7 ± 9.0 (7,320)
LONG_TEXT = 24  # a text column with a longer cell wraps (tabularx X column) instead of widening the table
LATEX_PACKAGES = ("booktabs", "graphicx", "tabularx")
LATEX_HEADER = ("% s1kit table. Needs in the preamble: " + " ".join(f"\\usepackage{{{p}}}" for p in LATEX_PACKAGES)
                + "\n% (booktabs: rules; tabularx: wrapped text columns; graphicx: \\resizebox, used only when the "
                "table is wider than \\linewidth).\n")


def _numeric_column(values: pd.Series) -> bool:
    cells = [cell(v) for v in values]
    return any(cells) and all(_NUMERIC_CELL.match(c) for c in cells if c)


def _latex_cell(value: Any) -> str:
    return latex_escape(cell(value)).replace("±", "$\\pm$")


def to_latex(df: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A booktabs table that fits the page in one- and two-column documents (packages: LATEX_HEADER).

    Numbers right-aligned; a table with long text cells is a ``table*`` (both columns of a
    two-column paper, the text width of a one-column one) whose text columns wrap (tabularx
    ``X`` over the full width: in one narrow column they would hold a word per line); any
    other table is a ``table`` scaled down to the column by TeX itself (``\\resizebox`` only
    if its natural width exceeds it).
    """
    long_cols = [c for c in df.columns if not _numeric_column(df[c]) and df[c].map(lambda v: len(cell(v))).max() > LONG_TEXT]
    align = "".join(">{\\raggedright\\arraybackslash}X" if c in long_cols else "r" if _numeric_column(df[c]) else "l"
                    for c in df.columns)
    env = "table*" if long_cols else "table"
    out = [LATEX_HEADER.rstrip("\n"), f"\\begin{{{env}}}[t]", "\\centering", "\\small", "\\setlength{\\tabcolsep}{4pt}"]
    if caption:
        out.append(f"\\caption{{{latex_escape(caption)}}}")
    if label:
        out.append(f"\\label{{{label}}}")
    body = ["\\toprule", " & ".join(latex_escape(str(c)) for c in df.columns) + " \\\\", "\\midrule"]
    body += [" & ".join(_latex_cell(v) for v in row) + " \\\\" for row in df.itertuples(index=False)]
    body += ["\\bottomrule"]
    if long_cols:
        out += [f"\\begin{{tabularx}}{{\\linewidth}}{{{align}}}", *body, "\\end{tabularx}"]
    else:  # natural width, scaled down only if wider than the line
        out += [f"\\sbox0{{\\begin{{tabular}}{{{align}}}", *body, "\\end{tabular}}",
                "\\ifdim\\wd0>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox0}\\else\\usebox0\\fi"]
    out.append(f"\\end{{{env}}}")
    return "\n".join(out) + "\n"


def to_html(df: pd.DataFrame, cell_class: dict[str, dict[str, str]] | None = None) -> str:
    """An HTML table; ``cell_class[column][value]`` adds a CSS class to matching cells."""
    cell_class = cell_class or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        tds = []
        for col, v in zip(df.columns, row):
            cls = cell_class.get(col, {}).get(cell(v))
            attr = f' class="{cls}"' if cls else ""
            tds.append(f"<td{attr}>{html.escape(cell(v))}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"


TABLE_PAGE_CSS = ("body{font:14px/1.45 system-ui,sans-serif;margin:16px;color:#1f2328}table{border-collapse:collapse}"
                  "td,th{border-bottom:1px solid #d0d7de;padding:3px 8px;text-align:left}"
                  "thead th{background:#f6f8fa}p{color:#57606a;max-width:60em}")


def table_page(display: pd.DataFrame, caption: str) -> str:
    """A small self-contained HTML page of one table (Snakemake's report shows it inline)."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>{TABLE_PAGE_CSS}</style></head>'
            f"<body><p>{html.escape(caption)}</p>{to_html(display)}</body></html>\n")


def write_table(data: pd.DataFrame, display: pd.DataFrame, stem: str | Path, caption: str, label: str,
                latex: tuple[pd.DataFrame, str] | None = None) -> list[Path]:
    """Write ``stem.csv`` (machine-readable ``data``), ``stem.md``/``stem.html``/``stem.tex`` (formatted ``display``).

    ``latex``: (display, caption) of the LaTeX table where it must differ to fit a column.
    """
    stem = Path(stem)
    md = f"{caption}\n\n{to_markdown(display)}" if caption else to_markdown(display)
    tex_display, tex_caption = latex if latex is not None else (display, caption)
    return [
        write_csv(stem.with_suffix(".csv"), data),
        write_text(stem.with_suffix(".md"), md),
        write_text(stem.with_suffix(".html"), table_page(display, caption)),
        write_text(stem.with_suffix(".tex"), to_latex(tex_display, tex_caption, label)),
    ]
