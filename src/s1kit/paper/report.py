"""The claims report: each registry claim beside the value its target file holds.

Status of a claim:
  cited             a baseline the kit does not reproduce
  not run           its target (or, in a CSV, its row) does not exist, or the results are
                    the tiny run's
  match             reproduced value, rounded to the paper's digits, equals the paper value
  within tolerance  |rounded reproduced - paper| <= tolerance
  off               farther than that
  error             the target exists but lacks the field (only without --strict)
A claim with several paper values (v1/v3, paper/notebook) is compared with the closest one.
"""

from __future__ import annotations

import html
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from s1kit.paper.claims import Claim, FieldError, RowNotFound, resolve_field
from s1kit.paper.io import write_csv, write_text
from s1kit.paper.render import to_html, to_markdown

COLUMNS = ["claim_id", "table", "description", "kind", "paper_value", "versions", "unit", "target", "field",
           "tolerance", "reproduced_value", "compared_to", "delta", "status", "rebuild", "tiny_target",
           "tiny_value", "tiny_note", "note"]
STATUSES = ("match", "within tolerance", "off", "not run", "cited", "error")
TINY_NOTE = "tiny default run — not a paper number"
EPS = 1e-9  # rounding noise: 93.2 - 93.0 is 0.2000000000000028


@dataclass(frozen=True)
class Sources:
    """Where targets resolve: ``results/paper/...`` -> ``paper_dir``, other ``results/...`` -> ``results_dir``."""

    results_dir: Path
    paper_dir: Path

    def path(self, target: str) -> Path:
        rel = Path(target).relative_to("results")
        if rel.parts and rel.parts[0] == "paper":
            return self.paper_dir.joinpath(*rel.parts[1:])
        return self.results_dir / rel


@dataclass(frozen=True)
class Comparison:
    delta: float
    status: str
    version: str


def compare(claim: Claim, value: float) -> Comparison:
    """Compare a reproduced value with the closest paper version, after rounding to the paper's digits."""
    rounded = round(value, claim.decimals)
    best: Comparison | None = None
    for label, paper in claim.versions.items():
        delta = round(rounded - paper, claim.decimals)
        if abs(delta) <= EPS:
            status = "match"
        elif abs(delta) <= claim.allowed(paper) + EPS:
            status = "within tolerance"
        else:
            status = "off"
        if best is None or abs(delta) < abs(best.delta):
            best = Comparison(delta, status, label)
    assert best is not None  # versions is never empty (validated on load)
    return best


def _read(sources: Sources | None, target: str | None, field: str | None, claim: Claim,
          strict: bool, what: str = "claim") -> tuple[float | None, str, str]:
    """(value, problem, remark): no value and no problem means not run; ``remark`` says why."""
    if sources is None or not target or not field:
        return None, "", ""
    path = sources.path(target)
    if not path.exists():
        return None, "", ""
    try:
        return resolve_field(path, field, claim.scale), "", ""
    except RowNotFound as e:  # e.g. a method never run: not produced rather than broken
        return None, "", str(e)
    except FieldError as e:
        if strict:
            raise FieldError(f"{what} {claim.id}: {e}") from None
        print(f"warning: {what} {claim.id}: {e}", file=sys.stderr)
        return None, str(e), ""


def _paper(value: float, decimals: int) -> str:
    """A paper value as printed (93.0 stays 93.0, 59029 stays 59029)."""
    return f"{value:.{decimals}f}"


def _num(x: float | None, digits: int = 4) -> float | str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def claim_row(claim: Claim, own: Sources | None, tiny: Sources | None, strict: bool = False) -> dict[str, object]:
    """One claims.csv row. ``own`` is None for a tiny results tree (nothing there reproduces a paper number)."""
    row: dict[str, object] = {
        "claim_id": claim.id, "table": claim.table, "description": claim.description, "kind": claim.kind,
        "paper_value": _paper(claim.paper_value, claim.decimals),
        "versions": "; ".join(f"{k}={_paper(v, claim.decimals)}" for k, v in claim.versions.items())
        if len(claim.versions) > 1 else "",
        "unit": claim.unit, "target": claim.target or "", "field": claim.field or "",
        "tolerance": claim.tolerance_text(), "reproduced_value": "", "compared_to": "", "delta": "",
        "status": "cited" if claim.kind == "cited" else "not run",
        "rebuild": f"snakemake {claim.target}" if claim.target else "",
        "tiny_target": claim.tiny_target or "", "tiny_value": "", "tiny_note": "", "note": claim.note or "",
    }
    if claim.kind == "reproduced":
        value, problem, remark = _read(own, claim.target, claim.field, claim, strict)
        if value is not None:
            cmp = compare(claim, value)
            row.update(reproduced_value=_num(value), compared_to=cmp.version if len(claim.versions) > 1 else "",
                       delta=_num(cmp.delta, claim.decimals), status=cmp.status)
        elif problem or remark:
            row.update(status="error" if problem else "not run",
                       note="; ".join(filter(None, [claim.note, problem or remark])))
    tiny_value, tiny_problem, _ = _read(tiny, claim.tiny_target, claim.tiny_field, claim, strict, "tiny value of claim")
    if tiny_value is not None:
        row.update(tiny_value=_num(tiny_value), tiny_note=TINY_NOTE)
    elif tiny_problem:
        row.update(tiny_note=f"error: {tiny_problem}")
    return row


def claims_frame(claims: Sequence[Claim], own: Sources | None, tiny: Sources | None, strict: bool = False) -> pd.DataFrame:
    """All claim rows, registry order."""
    return pd.DataFrame([claim_row(c, own, tiny, strict) for c in claims], columns=COLUMNS)


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = Counter(frame["status"])
    return {s: counts[s] for s in STATUSES if counts[s]}


def _groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(t, frame[frame["table"] == t].drop(columns=["table"])) for t in dict.fromkeys(frame["table"])]


def report_markdown(frame: pd.DataFrame, header: str, sections: Sequence[tuple[str, str]] = ()) -> str:
    """report.md: header, status counts, one claims table per paper table, then extra sections."""
    counts = ", ".join(f"{n} {s}" for s, n in status_counts(frame).items())
    out = ["# s1kit claims report", "", header, "", f"{len(frame)} claims: {counts}.", ""]
    for table, group in _groups(frame):
        out += [f"## {table}", "", to_markdown(group)]
    for title, body in sections:
        out += [f"## {title}", "", body.rstrip("\n"), ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;font-size:13px}
table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}
th{background:#f3f3f3}.match{background:#d9f2d9}.within{background:#eef7d0}.off{background:#f8d0d0}
.notrun{color:#888}.cited{color:#557}.error{background:#f8e0b0}img{max-width:100%}"""
_STATUS_CLASS = {"match": "match", "within tolerance": "within", "off": "off", "not run": "notrun",
                 "cited": "cited", "error": "error"}


def report_html(frame: pd.DataFrame, header: str, figures: Sequence[tuple[str, str]] = (),
                tables: Sequence[tuple[str, str]] = ()) -> str:
    """report.html: the same content as report.md, self-contained apart from figure images.

    ``figures`` are (relative image path, caption); ``tables`` are (title, HTML table).
    """
    counts = ", ".join(f"{n} {s}" for s, n in status_counts(frame).items())
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>s1kit claims report</title>',
           f"<style>{_CSS}</style></head><body>", "<h1>s1kit claims report</h1>",
           f"<p>{html.escape(header)}</p>", f"<p>{len(frame)} claims: {html.escape(counts)}.</p>"]
    for table, group in _groups(frame):
        out += [f"<h2>{html.escape(table)}</h2>", to_html(group, {"status": _STATUS_CLASS})]
    for title, body in tables:
        out += [f"<h2>{html.escape(title)}</h2>", body]
    for src, caption in figures:
        out += [f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_claims(frame: pd.DataFrame, path: str | Path) -> Path:
    return write_csv(path, frame)


def write_report(markdown: str, html_text: str, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    return [write_text(out_dir / "report.md", markdown), write_text(out_dir / "report.html", html_text)]
