"""The claims report: each registry claim beside the value its target file holds.

Status of a claim:
  cited             a baseline the kit does not reproduce
  tiny              a tiny default run: its analogue of the number is in tiny_value, never
                    compared with the paper (a tiny run reproduces nothing)
  not run           its target (or, in a CSV, its row) does not exist (in a tiny run: the
                    claim has no tiny analogue)
  match             reproduced value, rounded to the paper's digits, equals the paper value
  within tolerance  |rounded reproduced - paper| <= tolerance
  off               farther than that
  error             the target exists but lacks the field (only without --strict)
A claim with several paper values (v1/v3, paper/notebook) is compared with the closest one.
One vocabulary for claims.csv, report.md, report.html and the build's log line.

Every reproduced claim also says what it needs (``requires``: the tier of its cheapest
route under config/s1.yaml, s1kit.paper.requires; ``needs``; ``command``, the cheapest
route's command; ``rebuild``, the whole pipeline's) and the band a reproduction is judged by
(``n``, ``band``: one question in points and the binomial standard error at the paper value).
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from s1kit.paper.claims import Claim, FieldError, RowNotFound, resolve_field
from s1kit.paper.requires import EVAL_ONLY_RULES, TIERS, rebuild_command, requirement
from s1kit.paper.io import write_csv, write_text
from s1kit.paper.layout import STATUSES, decimals_of, fmt, fmt_delta, grids
from s1kit.paper.layout import status_counts as layout_counts
from s1kit.paper.render import to_markdown
from s1kit.paper.results import accuracy_stderr
from s1kit.paper.verdict import binomial_se
from s1kit.paper.report_html import report_html as report_html_page
from s1kit.sidecar import load_record

COLUMNS = ["claim_id", "table", "description", "kind", "paper_value", "versions", "unit", "target", "field",
           "tolerance", "reproduced_value", "stderr", "compared_to", "delta", "status", "requires", "needs",
           "command", "rebuild", "n", "band", "tiny_target", "tiny_value", "tiny_unit", "tiny_note", "tiny_rebuild",
           "note", "semantics", "stack"]
# Questions per benchmark (arXiv 2501.19393v3 §4.1: AIME24 30, MATH500 500, GPQA Diamond 198; AIME25 30).
TASK_N = {"aime24_nofigures": 30, "aime25_nofigures": 30, "openai_math": 500, "gpqa_diamond_openai": 198}
# Tiny values of these units are shown in tokens: 46,284 tokens, not "0.0" M tokens.
TOKEN_UNITS = {"K tokens": 1e3, "M tokens": 1e6}
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


def _stack(sources: Sources | None, target: str | None) -> str:
    """The software stack an evaluation result came from (results.json ``stack``: official
    or current), "" for other targets or before the run."""
    if sources is None or not target or not target.endswith("results.json"):
        return ""
    path = sources.path(target)
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("stack", "")) if path.exists() else ""
    except (OSError, ValueError):
        return ""


def _paper(value: float, decimals: int) -> str:
    """A paper value as printed (93.0 stays 93.0, 59029 stays 59029)."""
    return f"{value:.{decimals}f}"


def _num(x: float | None, digits: int = 4) -> float | str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def _eval_accuracy(claim: Claim) -> bool:
    """An accuracy claim read from an evaluation run's results.json."""
    return claim.unit == "%" and bool(claim.target) and claim.target.endswith("results.json")


def _eval_n(claim: Claim) -> int | None:
    """Questions behind an accuracy claim of an evaluation run (None for other claims)."""
    if not _eval_accuracy(claim):
        return None
    return TASK_N.get(claim.target.split("/")[-2])


def band_text(claim: Claim, n: int | None) -> str:
    """The band a reproduction of a one-run accuracy is judged by: one question, and the
    binomial SE at the paper value (both in points). Greedy runs repeat exactly on one
    stack; the SE is the spread a different draw of questions or samples would give."""
    if not n:
        return ""
    se = binomial_se(claim.paper_value, n)
    sampled = "/rs-" in claim.target if claim.target else False
    run = "one sampled run (temperature 1)" if sampled else "one greedy run"
    return f"one question = {100 / n:.1f} points; binomial SE at {claim.paper_value:g}% = {se:.1f} points (n={n}, {run})"


def _stderr(sources: Sources | None, claim: Claim) -> float | None:
    """The reproduced accuracy's standard error in points, where results.json has it."""
    if sources is None or not _eval_accuracy(claim):
        return None
    try:
        data = json.loads(sources.path(claim.target).read_text(encoding="utf-8"))
        se = accuracy_stderr(data, float(data["accuracy"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if math.isnan(se) else 100 * se


def tiny_display(claim: Claim, value: float) -> tuple[float, str]:
    """A tiny value in its own unit: token units back to tokens (46,284 tokens, not 0.0 M tokens)."""
    if claim.unit in TOKEN_UNITS:
        return round(value * TOKEN_UNITS[claim.unit]), "tokens"
    return value, claim.unit


def claim_row(claim: Claim, own: Sources | None, tiny: Sources | None, strict: bool = False,
              reviewable: frozenset[str] | set[str] = frozenset(),
              eval_rules: tuple[str, ...] = EVAL_ONLY_RULES) -> dict[str, object]:
    """One claims.csv row. ``own`` is None for a tiny results tree (nothing there reproduces a paper number).
    ``reviewable``: claim ids config/review.yaml re-grades; ``eval_rules``: s1kit.paper.requires.eval_rules."""
    req = requirement(claim.id, claim.target, reviewable, eval_rules) if claim.kind == "reproduced" else None
    n = _eval_n(claim)
    row: dict[str, object] = {
        "claim_id": claim.id, "table": claim.table, "description": claim.description, "kind": claim.kind,
        "paper_value": _paper(claim.paper_value, claim.decimals),
        "versions": "; ".join(f"{k}={_paper(v, claim.decimals)}" for k, v in claim.versions.items())
        if len(claim.versions) > 1 else "",
        "unit": claim.unit, "target": claim.target or "", "field": claim.field or "",
        "tolerance": claim.tolerance_text(), "reproduced_value": "", "stderr": "", "compared_to": "", "delta": "",
        "status": "cited" if claim.kind == "cited" else "not run",
        "requires": req.tier if req else "", "needs": req.needs if req else "",
        "command": req.commands[0] if req else "",
        "rebuild": rebuild_command(claim.target) if claim.target else "",
        "n": n or "", "band": band_text(claim, n),
        "tiny_target": claim.tiny_target or "", "tiny_value": "", "tiny_unit": "", "tiny_note": "",
        "tiny_rebuild": rebuild_command(claim.tiny_target, None) if claim.tiny_target else "",
        "note": claim.note or "",
        # fork: the paper's evaluation semantics; kit: the kit's corrected one (a kit addition)
        "semantics": claim.semantics if claim.kind == "reproduced" else "",
        "stack": _stack(own, claim.target),
    }
    if claim.kind == "reproduced":
        value, problem, remark = _read(own, claim.target, claim.field, claim, strict)
        if value is not None:
            cmp = compare(claim, value)
            se = _stderr(own, claim)
            row.update(reproduced_value=_num(value), stderr=_num(se, 2) if se is not None else "",
                       compared_to=cmp.version if len(claim.versions) > 1 else "",
                       delta=_num(cmp.delta, claim.decimals), status=cmp.status)
        elif problem or remark:
            row.update(status="error" if problem else "not run",
                       note="; ".join(filter(None, [claim.note, problem or remark])))
    tiny_value, tiny_problem, _ = _read(tiny, claim.tiny_target, claim.tiny_field, claim, strict, "tiny value of claim")
    if tiny_value is not None:
        shown, unit = tiny_display(claim, tiny_value)
        row.update(tiny_value=_num(shown), tiny_unit=unit, tiny_note=TINY_NOTE)
        if own is None and row["status"] == "not run":  # a tiny run: the claim's status says so
            row["status"] = "tiny"
    elif tiny_problem:
        row.update(tiny_note=f"error: {tiny_problem}")
    return row


def claims_frame(claims: Sequence[Claim], own: Sources | None, tiny: Sources | None, strict: bool = False,
                 reviewable: frozenset[str] | set[str] = frozenset(),
                 eval_rules: tuple[str, ...] = EVAL_ONLY_RULES) -> pd.DataFrame:
    """All claim rows, registry order."""
    return pd.DataFrame([claim_row(c, own, tiny, strict, reviewable, eval_rules) for c in claims], columns=COLUMNS)


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = Counter(frame["status"])
    return {s: counts[s] for s in STATUSES if counts[s]}


# One line per paper table under its heading (arXiv 2501.19393v3; the tables' own captions, shortened).
CAPTIONS = {
    "Table 1": "Main results: accuracy (%) on AIME24, MATH500 and GPQA Diamond (arXiv 2501.19393v3 Table 1).",
    "Table 5 (v3)": "Extrapolation with \"Wait\" and AIME25 (arXiv 2501.19393v3 Table 5).",
    "Table 2": "Data ablations: 1K-random, 1K-diverse, 1K-longest, 59K-full and s1K, budget forcing at ~30K "
               "thinking tokens (arXiv 2501.19393v3 Table 2).",
    "Table 3": "Test-time scaling methods on AIME24: Control (%), Scaling (slope) and Performance (%) "
               "(arXiv 2501.19393v3 Table 3).",
    "Table 4": "Budget-forcing extrapolation: the string appended when the end of thinking is suppressed "
               "(arXiv 2501.19393v3 Table 4).",
    "Sequence length ablation": "Training block size 4096 vs 32768: accuracy (%) and average thinking tokens.",
    "Figure 1": "The s1-32B scaling curve with budget forcing: points (average thinking tokens, accuracy) read "
                "off the published figure (arXiv 2501.19393v3 Figure 1).",
    "Data pipeline": "Questions left after each step of the s1K selection (arXiv 2501.19393v3 §2).",
    "Collected sources": "Questions per source and average thinking length in K tokens (arXiv 2501.19393v3 Appendix C).",
    "s1K composition": "s1K's size, thinking tokens, domains and teacher-graded correctness.",
    "Rejection sampling": "Rejection sampling on AIME24 at temperature 1: tries, accuracy and thinking tokens per "
                          "threshold.",
    "Training": "s1-32B training: steps, wall-clock minutes and GPU-hours.",
}


def provenance_text(path: Path, shown_as: str) -> str:
    """The first step of ``s1kit trace``: the command that produced ``path``, when and where, from its record.

    The whole chain (every input down to the raw sources, checksums verified) is one command
    away; it is not inlined because it hashes every file along the way.
    """
    try:
        rec = load_record(path) if path.exists() else None
    except (OSError, ValueError):
        rec = None
    if rec is None:
        return ""
    code = rec.get("code") or {}
    ver = (code.get("git_sha") or "?")[:12] + (" dirty" if code.get("dirty") else "")
    cont = (rec.get("container") or {}).get("image", "none")
    lines = [f"{shown_as}", f"  <- {rec.get('command', '?')}",
             f"     {rec.get('started', '?')} .. {rec.get('ended', '?')} on {rec.get('host', '?')}, "
             f"rule {rec.get('rule') or '-'}, code {ver}, container {cont}"]
    inputs = [i.get("path", "?") for i in rec.get("inputs", [])]
    if inputs:
        more = f" (+{len(inputs) - 6} more)" if len(inputs) > 6 else ""
        lines.append("     inputs: " + ", ".join(inputs[:6]) + more)
    return "\n".join(lines)


def provenance_map(frame: pd.DataFrame, sources: Sources | None, column: str) -> dict[str, str]:
    """target -> provenance text, once per target file that exists."""
    if sources is None:
        return {}
    out = {}
    for target in dict.fromkeys(t for t in frame[column] if t):
        text = provenance_text(sources.path(str(target)), str(target))
        if text:
            out[str(target)] = text
    return out


def _md_cell(rec: dict, tiny: bool) -> str:
    d = decimals_of(str(rec["paper_value"]))
    status = str(rec["status"])
    if status == "cited":
        return f"{fmt(rec['paper_value'], d)} (cited)"
    if tiny and rec.get("tiny_value", "") != "":
        unit = str(rec.get("tiny_unit", ""))
        value = fmt(rec["tiny_value"], 0 if unit == "tokens" else d)
        return f"{value}{' tokens' if unit == 'tokens' else ''} (tiny) / {fmt(rec['paper_value'], d)}"
    if status in ("not run", "tiny"):
        tier = str(rec.get("requires", ""))
        return f"– / {fmt(rec['paper_value'], d)}" + (f" (needs {tier})" if tier else "")
    value = fmt(rec.get("reproduced_value", ""), d) or "–"
    se = rec.get("stderr", "")
    if se not in ("", None):
        value += f" ± {float(se):.1f}"
    delta = fmt_delta(rec.get("delta", ""), d)
    return f"**{value}** / {fmt(rec['paper_value'], d)}" + (f" ({delta})" if delta else "") + f" {status}"


def report_markdown(frame: pd.DataFrame, header: str, sections: Sequence[tuple[str, str]] = (),
                    tiny: bool = False, verdict: str = "", meta: dict[str, str] | None = None) -> str:
    """report.md: verdict, header, the per-table summary, each paper table in its own layout, then extra sections.

    A cell reads ``**reproduced** / paper (delta) status``, ``tiny value (tiny) / paper`` or
    ``– / paper (needs <tier>)``; claim ids, targets and commands follow each table in a collapsed list.
    """
    counts = ", ".join(f"{n} {s}" for s, n in status_counts(frame).items())
    out = ["# s1kit claims report", ""]
    if verdict:
        out += ["```", verdict.rstrip("\n"), "```", ""]
    if tiny:
        out += [f"> **Tiny default run** ({header}). These are the tiny default run's numbers (make demo), laid "
                "out like the paper's tables and never compared with the paper.", ""]
    else:
        out += [header, ""]
    if meta:
        out += [" · ".join(f"{k}: {v}" for k, v in meta.items() if v), ""]
    out += [f"{len(frame)} claims: {counts}.", ""]
    shown = [s for s in STATUSES if (frame["status"] == s).any()]
    todo = frame[frame["status"].isin(["not run", "tiny", "error"]) & (frame["requires"] != "")]
    tiers = [t for t in TIERS if (todo["requires"] == t).any()]
    summary = pd.DataFrame([{"Paper table": t, "claims": sum(c.values()), **{s: c[s] for s in shown},
                             **{f"needs {x}": int(((todo["table"] == t) & (todo["requires"] == x)).sum())
                                for x in tiers}}
                            for t, c in layout_counts(frame, STATUSES)])
    out += [to_markdown(summary)]
    for grid in grids(frame):
        rows = [{"": row, **{c: _md_cell(grid.cells[(row, c)], tiny) if (row, c) in grid.cells else ""
                             for c in grid.columns}} for row in grid.rows]
        out += [f"## {grid.table}", ""]
        if grid.table in CAPTIONS:
            out += [CAPTIONS[grid.table], ""]
        out += [to_markdown(pd.DataFrame(rows)), "<details><summary>Claims, targets, what they need, commands</summary>",
                ""]
        for rec in grid.cells.values():
            where = f" `{rec['target']}` `{rec['field']}`" if rec["target"] else " (cited)"
            needs = f" — needs: {rec['needs']}; `{rec['command']}`" if rec.get("needs") else ""
            band = f" — judged by: {rec['band']}" if rec.get("band") else ""
            note = f" — {rec['note']}" if rec["note"] else ""
            out.append(f"- `{rec['claim_id']}`{where}{needs}{band}{note}")
        out += ["", "</details>", ""]
    for title, body in sections:
        out += [f"## {title}", "", body.rstrip("\n"), ""]
    return "\n".join(out)


def report_html(frame: pd.DataFrame, header: str, figures: Sequence[tuple[str, str, str]] = (),
                tables: Sequence[tuple[str, str]] = (), tiny: bool = False,
                provenance: dict[str, str] | None = None, verdict: str = "", verdict_ok: bool | None = None,
                meta: dict[str, str] | None = None) -> str:
    """report.html (see report_html.py)."""
    return report_html_page(frame, header, tiny, figures, tables, provenance, CAPTIONS, verdict, verdict_ok, meta)


def write_claims(frame: pd.DataFrame, path: str | Path) -> Path:
    return write_csv(path, frame)


def write_report(markdown: str, html_text: str, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    return [write_text(out_dir / "report.md", markdown), write_text(out_dir / "report.html", html_text)]
