"""The paper's own layout of the claims: one grid per paper table, rows x columns from claim ids.

Claim ids read ``<table>.<row>.<column>`` (claims.yaml); a few tables put the parts
elsewhere (``figure1.<task>.<point>.<quantity>``: the point is the row). Model names hold
dots (``s1.1-32B``, ``Qwen2.5-32B-Instruct``), so a part that starts with a digit right
after a part ending in one is glued back (``s1`` + ``1-32B``); ``rs.3500`` stays two parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

STATUSES = ("match", "within tolerance", "off", "tiny", "not run", "cited", "error")  # see s1kit.paper.report
# id prefix -> (indices of the row parts, indices of the column parts); default: row = the
# middle parts, column = the last part. "s1K" puts the dataset (s1K, s1K-1.1) in the column.
_LAYOUT: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "figure1": ((2,), (1, 3)),
    "seqlen": ((1,), (2, 3)),
}
_TRANSPOSED = {"s1K", "s1K-1.1"}
# Display names of id parts used as column headers (benchmarks first, as the paper prints them).
LABELS = {"aime24": "AIME24", "aime25": "AIME25", "math500": "MATH500", "gpqa": "GPQA", "accuracy": "acc. (%)",
          "thinking_tokens": "thinking tokens", "avg_thinking": "avg. thinking (K)", "questions": "questions",
          "control": "Control (%)", "scaling": "Scaling", "performance": "Performance (%)",
          "samples_cut": "samples cut (%)", "tries": "tries", "teacher_correct": "teacher correct (%)",
          "steps": "steps", "minutes": "minutes", "gpu_hours": "GPU-hours", "domains": "domains"}


def id_parts(claim_id: str) -> list[str]:
    """``table1.s1.1-32B.aime24`` -> ``['table1', 's1.1-32B', 'aime24']``."""
    parts: list[str] = []
    for piece in claim_id.split("."):
        if parts and re.search(r"\d$", parts[-1]) and re.match(r"\d", piece) and len(parts) > 1:
            parts[-1] += "." + piece
        elif parts and parts[0].startswith("s1K") and len(parts) == 1 and re.match(r"\d", piece):
            parts[-1] += "." + piece  # s1K-1.1: the dataset name itself
        else:
            parts.append(piece)
    return parts


def label(part: str) -> str:
    return LABELS.get(part, part.replace("_", " "))


# Row labels as the paper prints them (Table 3's methods, Table 4's strings, block sizes).
ROW_LABELS = {"budget-forcing": "Budget forcing", "tcc": "Token-conditional control (TCC)",
              "tcc-bf": "TCC + budget forcing", "scc": "Step-conditional control (SCC)",
              "scc-bf": "SCC + budget forcing", "ccc": "Class-conditional control",
              "rejection-sampling": "Rejection sampling", "no-extrapolation": "No extrapolation",
              "2x-none": "2x without string", "2x-Alternatively": '2x "Alternatively"', "2x-Hmm": '2x "Hmm"',
              "2x-Wait": '2x "Wait"', "block4096": "block 4,096", "block32768": "block 32,768",
              "s1-32B-noBF": "s1-32B w/o budget forcing", "s1.1-32B-noBF": "s1.1-32B w/o budget forcing"}
KIT = "kit semantics"  # the mark of a kit-addition row (claims.yaml ``semantics: kit``)
# The paper's order of first appearance (arXiv 2501.19393v3: Figure 1 on page 1, §2 data and
# s1K, §4 Table 1, §5 Tables 2-4, then Table 5 and the appendices); others follow in registry order.
PAPER_ORDER = ("Figure 1", "Data pipeline", "Collected sources", "s1K composition", "Table 1", "Table 2",
               "Table 3", "Table 4", "Table 5 (v3)", "Sequence length ablation", "Rejection sampling", "Training")


def row_label(row: str) -> str:
    """A row in the paper's words where ROW_LABELS knows it (``2x-Wait`` -> ``2x "Wait"``), else as it is."""
    return ROW_LABELS.get(row, row)


def place(claim_id: str, unit: str = "") -> tuple[str, str]:
    """(row, column) of a claim in its paper table's grid; a kit addition (``kit.<id>``) sits in
    its paper claim's table on a row of its own, marked ``(kit semantics)``."""
    if claim_id.startswith("kit."):
        row, col = place(claim_id.removeprefix("kit."), unit)
        return f"{row} ({KIT})", col
    parts = id_parts(claim_id)
    head = parts[0]
    if head == "rs" and len(parts) == 3:  # rs.3500.tries: the threshold is the row
        return f"≤{int(parts[1]):,} thinking tokens", label(parts[2])
    if head in _TRANSPOSED:
        if len(parts) == 3 and parts[1] == "domain":  # s1K.domain.Number-theory
            return f"{parts[2].replace('-', ' ')} (domain)", head
        return " ".join(label(p) for p in parts[1:]) or head, head
    if head in _LAYOUT:
        rows, cols = _LAYOUT[head]
        return (" ".join(re.sub(r"^p(\d+)$", r"point \1", parts[i]) for i in rows if i < len(parts)),
                " ".join(label(parts[i]) for i in cols if i < len(parts)))
    if len(parts) <= 2:  # funnel.collected: one value per row, headed by its unit
        return label(parts[-1]), unit or "value"
    return row_label(" ".join(parts[1:-1])), label(parts[-1])


@dataclass(frozen=True)
class Grid:
    """A paper table's claims as rows x columns; ``cells[(row, col)]`` is the claim row (a dict)."""

    table: str
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], dict]


def grids(frame: pd.DataFrame) -> list[Grid]:
    """One grid per paper table, in the paper's order (PAPER_ORDER); rows and columns in order of first use.

    A column no claim fills does not exist; two claims in one cell are an error (ids are unique).
    """
    out = []
    for table in paper_order(frame["table"]):
        rows: dict[str, None] = {}
        cols: dict[str, None] = {}
        cells: dict[tuple[str, str], dict] = {}
        for rec in frame[frame["table"] == table].to_dict("records"):
            row, col = place(str(rec["claim_id"]), str(rec.get("unit", "")))
            if (row, col) in cells:
                raise ValueError(f"claims {cells[(row, col)]['claim_id']} and {rec['claim_id']} share "
                                 f"row {row!r}, column {col!r} of {table}")
            rows.setdefault(row)
            cols.setdefault(col)
            cells[(row, col)] = rec
        out.append(Grid(str(table), list(rows), list(cols), cells))
    return out


def paper_order(tables: Sequence[str] | pd.Series) -> list[str]:
    """The distinct tables, PAPER_ORDER first, the rest in order of first appearance."""
    seen = list(dict.fromkeys(str(t) for t in tables))
    rank = {t: i for i, t in enumerate(PAPER_ORDER)}
    return sorted(seen, key=lambda t: (rank.get(t, len(PAPER_ORDER)), seen.index(t)))


def anchor(text: str) -> str:
    """An HTML id from a table name: ``Table 5 (v3)`` -> ``table-5-v3``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def decimals_of(paper_value: str) -> int:
    """Digits the paper prints, read back from claims.csv's paper_value (``93.0`` -> 1)."""
    _, _, frac = str(paper_value).partition(".")
    return len(frac)


def fmt(value: object, decimals: int) -> str:
    """A number with the paper's digits and thousands separators; '' for empty."""
    if value in ("", None) or (isinstance(value, float) and value != value):
        return ""
    return f"{float(value):,.{decimals}f}"


def fmt_delta(value: object, decimals: int) -> str:
    if value in ("", None) or (isinstance(value, float) and value != value):
        return ""
    v = float(value)
    return "±0" if abs(v) < 10 ** -(decimals + 1) else f"{v:+,.{decimals}f}"


def status_counts(frame: pd.DataFrame, statuses: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
    """Per paper table (registry order): status -> count, with every status present (0 if none)."""
    out = []
    for table in paper_order(frame["table"]):
        counts = frame.loc[frame["table"] == table, "status"].value_counts()
        out.append((str(table), {s: int(counts.get(s, 0)) for s in statuses}))
    return out
