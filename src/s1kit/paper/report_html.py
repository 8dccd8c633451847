"""report.html: the claims report a reviewer reads first.

A summary at the top (one row per paper table, coloured counts per status, as in MultiQC's
general-statistics table), then each paper table in the paper's own layout (rows = models or
methods, columns = benchmarks). A cell holds the reproduced value, the paper value, the
difference and a status badge; a click opens the claim id, target, rebuild command,
provenance and notes (``<details>``). Then the tables built from the runs and the figures.
Self-contained apart from the figure images; no script. Works from claims.csv's columns,
so columns added to claims.csv later appear in each claim's details.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd

from s1kit.paper.layout import STATUSES, Grid, anchor, decimals_of, fmt, fmt_delta, grids, status_counts
from s1kit.paper.requires import TIER_LABELS, TIERS

# Column heads of the summary's tiers (the full label is the head's tooltip and in the legend).
TIER_SHORT = {"cpu+network": "CPU+net", "gpu-eval": "GPU eval", "gpu-train": "GPU train", "api": "API $"}

SHORT = {"match": "match", "within tolerance": "within tol.", "off": "off", "not run": "not run",
         "cited": "cited", "error": "error", "tiny": "tiny"}
CLS = {"match": "match", "within tolerance": "within", "off": "off", "not run": "notrun", "cited": "cited",
       "error": "error", "tiny": "tiny"}
# claims.csv columns shown in a claim's details, in this order, with their labels; any
# other column (added later) follows under its own name.
DETAILS = [("claim_id", "claim"), ("description", "what"), ("paper_value", "paper value"),
           ("versions", "paper versions"), ("compared_to", "compared with"), ("unit", "unit"),
           ("tolerance", "tolerance"), ("band", "judged by"), ("reproduced_value", "reproduced (unrounded)"),
           ("stderr", "standard error (points)"), ("n", "questions"), ("requires", "needs (tier)"),
           ("needs", "needs"), ("command", "command"), ("rebuild", "whole pipeline"), ("target", "target file"),
           ("field", "field"), ("tiny_target", "tiny target"), ("tiny_value", "tiny value"),
           ("tiny_unit", "tiny unit"), ("tiny_note", "tiny note"), ("tiny_rebuild", "tiny rebuild"),
           ("note", "note")]
HIDDEN = {"table", "kind", "status", "delta"}  # shown in the cell itself

CSS = """
:root{--match:#1a7f37;--within:#6f8f00;--off:#cf222e;--notrun:#8c959f;--cited:#0969da;--error:#bc4c00;
--tiny:#8250df;--line:#d0d7de;--muted:#57606a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1240px;margin:0 auto;padding:14px 20px 40px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:28px 0 4px}h3{font-size:15px;margin:18px 0 4px}
p{margin:4px 0}.muted{color:var(--muted)}code{font-size:12px;background:#f6f8fa;padding:0 3px;border-radius:3px}
a.anchor{color:var(--notrun);text-decoration:none;margin-left:6px;font-weight:400}
.banner{background:#fbefff;border:1px solid var(--tiny);border-radius:6px;padding:4px 12px;margin:6px 0}
.banner b{color:var(--tiny)}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{position:sticky;top:0;z-index:2;background:#f6f8fa;border-bottom:2px solid var(--line);font-size:13px}
tbody th{font-weight:600;background:#fcfcfd}
.summary td,.summary th{padding:2px 8px}.summary td.n{text-align:center;font-variant-numeric:tabular-nums}
.summary th.n{text-align:center}
.pill{display:inline-block;min-width:2.2em;border-radius:10px;padding:0 7px;font-weight:600;color:#fff;text-align:center}
.zero{color:#c0c6cc}
.badge{display:inline-block;border-radius:9px;padding:0 6px;font-size:11px;font-weight:600;color:#fff;
white-space:nowrap;vertical-align:1px}
.match .pill,.b-match{background:var(--match)}.within .pill,.b-within{background:var(--within)}
.off .pill,.b-off{background:var(--off)}.notrun .pill,.b-notrun{background:var(--notrun)}
.cited .pill,.b-cited{background:var(--cited)}.error .pill,.b-error{background:var(--error)}
.tiny .pill,.b-tiny{background:var(--tiny)}
.bar{display:flex;height:12px;border-radius:3px;overflow:hidden;margin-top:4px;background:#eee}
.bar span{display:block;height:100%}
.bar .match{background:var(--match)}.bar .within{background:var(--within)}.bar .off{background:var(--off)}
.bar .notrun{background:#d8dee4}.bar .cited{background:#9ecbff}.bar .error{background:var(--error)}
.bar .tiny{background:var(--tiny)}
td.c-match{background:#dafbe1}td.c-within{background:#f0f7d4}td.c-off{background:#ffebe9}
td.c-error{background:#fff1e5}td.c-tiny{background:#fbefff}
.v{font-size:15px;font-weight:600;font-variant-numeric:tabular-nums}.v.none{color:var(--notrun);font-weight:400}
.p{color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums}
details>summary{cursor:pointer;list-style:none}details>summary::-webkit-details-marker{display:none}
details[open]>summary{border-bottom:1px dashed var(--line);padding-bottom:3px}
.more{font-size:12px;padding-top:4px;margin:0;display:grid;grid-template-columns:max-content minmax(0,1fr);
gap:1px 8px}.more dt{color:var(--muted)}.more dd{margin:0;min-width:0}.more .wide{grid-column:1/-1}
.more dd.wide{margin-bottom:3px}
.more pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;background:#f6f8fa;padding:4px;margin:2px 0}
.legend span{margin-right:10px}
.built{font-size:13px}.built td,.built th{padding:2px 6px}
.meta{font-size:11.5px;color:var(--muted);margin:2px 0;line-height:1.35;overflow-wrap:anywhere}
.verdict{border:1px solid var(--line);border-left:6px solid var(--notrun);border-radius:6px;margin:6px 0;
padding:0 10px}.verdict pre{margin:3px 0;font-size:12px;line-height:1.25;white-space:pre-wrap}
.v-pass{border-left-color:var(--match);background:#f3fbf5}.v-fail{border-left-color:var(--off);background:#fff5f4}
th.need,td.need{background:#f6f8fa}.need{font-size:11.5px;color:#6e5600}
figure{margin:14px 0;border:1px solid var(--line);border-radius:6px;padding:8px}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:13px;color:var(--muted);margin-top:6px}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _pill(n: int, status: str) -> str:
    return f'<td class="n {CLS[status]}"><span class="pill">{n}</span></td>' if n else '<td class="n zero">–</td>'


def _bar(counts: Mapping[str, int]) -> str:
    total = sum(counts.values()) or 1
    spans = "".join(f'<span class="{CLS[s]}" style="width:{100 * n / total:.2f}%" title="{n} {_e(s)}"></span>'
                    for s, n in counts.items() if n)
    return f'<div class="bar">{spans}</div>'


def summary_table(frame: pd.DataFrame, tiny: bool) -> str:
    """One row per paper table: claims, coloured counts per status (columns of zeros hidden), a bar,
    and what the claims not reproduced yet need, per tier (s1kit.paper.requires)."""
    per_table = status_counts(frame, STATUSES)
    shown = [s for s in STATUSES if any(c.get(s, 0) for _, c in per_table)]
    todo = frame[frame["status"].isin(["not run", "tiny", "error"]) & (frame["requires"] != "")] \
        if "requires" in frame else frame.iloc[0:0]
    tiers = [t for t in TIERS if (todo["requires"] == t).any()] if len(todo) else []
    head = ('<colgroup><col style="width:19%"><col style="width:6%">'
            + "".join('<col style="width:6.5%">' for _ in shown + tiers) + "<col></colgroup>")
    th = "".join(f'<th class="n">{_e(SHORT[s])}</th>' for s in shown)
    th += "".join(f'<th class="n need" title="not reproduced yet, needs {_e(TIER_LABELS[t])}">{_e(TIER_SHORT[t])}'
                  "</th>" for t in tiers)
    rows = []

    def need_cells(sub: pd.DataFrame) -> str:
        return "".join(f'<td class="n need">{int((sub["requires"] == t).sum()) or "–"}</td>' for t in tiers)

    for table, counts in per_table:
        n = int((frame["table"] == table).sum())
        cells = "".join(_pill(counts.get(s, 0), s) for s in shown)
        cells += need_cells(todo[todo["table"] == table]) if tiers else ""
        bar = _bar({s: counts.get(s, 0) for s in shown})
        rows.append(f'<tr><th><a href="#{anchor(table)}">{_e(table)}</a></th><td class="n">{n}</td>{cells}'
                    f"<td>{bar}</td></tr>")
    totals = {s: sum(c.get(s, 0) for _, c in per_table) for s in shown}
    cells = "".join(_pill(totals[s], s) for s in shown) + (need_cells(todo) if tiers else "")
    rows.append(f'<tr class="total"><th>All claims</th><td class="n"><b>{len(frame)}</b></td>{cells}'
                f"<td>{_bar(totals)}</td></tr>")
    return (f'<table class="summary" id="summary-table">{head}<thead><tr><th>Paper table</th>'
            f'<th class="n">claims</th>{th}<th>status</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def _details(rec: Mapping[str, object], provenance: str) -> str:
    known = {c for c, _ in DETAILS} | HIDDEN
    items = [(lab, rec.get(c, "")) for c, lab in DETAILS] + [(c, v) for c, v in rec.items() if c not in known]
    out = []
    for lab, value in items:
        if value in ("", None) or (isinstance(value, float) and value != value):
            continue
        text = _e(value)
        if lab in ("command", "whole pipeline", "tiny rebuild", "target file", "field", "claim", "tiny target"):
            text = f"<code>{text}</code>"
        wide = ' class="wide"' if len(str(value)) > 14 else ""  # long values under their label, short beside
        out.append(f"<dt{wide}>{_e(lab)}</dt><dd{wide}>{text}</dd>")
    if provenance:
        out.append(f'<dt class="wide">provenance</dt><dd class="wide"><pre>{_e(provenance)}</pre></dd>')
    return '<dl class="more">' + "".join(out) + "</dl>"


def _needs_short(rec: Mapping[str, object]) -> str:
    """What a claim not run needs, in a few words (the whole line and command are in the details)."""
    tier = str(rec.get("requires", ""))
    if not tier:
        return ""
    if tier == "cpu+network" and "review.yaml" in str(rec.get("command", "")):
        return "re-gradable on a CPU from the published samples (config/review.yaml)"
    needs = str(rec.get("needs", ""))
    if tier == "gpu-eval":
        return "needs 8 GPUs, ≤ ~8 GPU-hours per run"
    if tier == "gpu-train":
        hours = needs.split("about ", 1)[1].split(" GPU-hours", 1)[0] if "about " in needs else "?"
        return f"needs training on 16 H100 (~{hours} GPU-hours) + 8 GPUs"
    if tier == "api":
        return "needs paid API calls + GPUs (data pipeline)"
    return "needs a network (hub sources) + a CPU"


def cell_html(rec: Mapping[str, object], tiny: bool, provenance: str = "") -> str:
    """One claim's cell: value, paper value, delta and badge; the details one click away.

    A tiny value carries its own unit and the tiny badge, beside the paper value; a claim not
    run shows the paper value and what it needs."""
    status = str(rec["status"])
    d = decimals_of(str(rec["paper_value"]))
    paper = fmt(rec["paper_value"], d)
    unit = str(rec.get("unit", ""))
    paper_u = f"{paper} {unit}" if unit and unit not in ("%", "count") else paper + ("%" if unit == "%" else "")
    tiny_raw = rec.get("tiny_value", "")
    if status == "cited":
        value, shown, cls = ("", "cited", "cited") if tiny else (paper, "cited", "cited")
        line = ('<span class="p">cited baseline (paper value in details)</span>' if tiny
                else '<span class="p">cited baseline</span>')
    elif tiny and tiny_raw not in ("", None):
        tunit = str(rec.get("tiny_unit", "")) or unit
        td = 0 if tunit == "tokens" else d
        value = fmt(tiny_raw, td) + (f" {tunit}" if tunit not in ("%", "count", "") else "")
        shown, cls = "tiny", "tiny"
        line = f'<span class="p">tiny run, not compared · paper {_e(paper_u)}</span>'
    elif status in ("not run", "tiny"):
        value, shown, cls = "", "not run", "notrun"
        needs = _needs_short(rec)
        line = f'<span class="p">paper {_e(paper_u)}</span>' + (f'<br><span class="need">{_e(needs)}</span>'
                                                                 if needs else "")
    else:
        value = fmt(rec.get("reproduced_value", ""), d) or "—"
        se = rec.get("stderr", "")
        if value != "—" and se not in ("", None) and not (isinstance(se, float) and se != se):
            value += f" ± {float(se):.1f}"
        shown, cls = status, CLS[status]
        delta = fmt_delta(rec.get("delta", ""), d)
        line = f'<span class="p">paper {_e(paper_u)}' + (f" · Δ {delta}" if delta else "") + "</span>"
    summary = (f'<span class="v">{_e(value)}</span>{" " if value else ""}<span class="badge b-{cls}">'
               f"{_e(SHORT[shown])}</span><br>{line}")
    return (f'<td class="cell c-{cls}" id="c-{_e(rec["claim_id"])}"><details><summary>{summary}</summary>'
            f"{_details(rec, provenance)}</details></td>")


def grid_html(grid: Grid, tiny: bool, provenance: Mapping[str, str]) -> str:
    """A paper table as the paper lays it out; empty columns never exist (see layout.grids)."""
    first = 16 if len(grid.columns) > 3 else 20
    cols = f'<colgroup><col style="width:{first}%">' + "<col>" * len(grid.columns) + "</colgroup>"
    head = "<th></th>" + "".join(f"<th>{_e(c)}</th>" for c in grid.columns)
    rows = []
    for row in grid.rows:
        tds = []
        for col in grid.columns:
            rec = grid.cells.get((row, col))
            if rec is None:
                tds.append('<td class="cell"></td>')
                continue
            key = str(rec.get("tiny_target" if tiny else "target", ""))
            tds.append(cell_html(rec, tiny, provenance.get(key, "")))
        rows.append(f"<tr><th>{_e(row)}</th>{''.join(tds)}</tr>")
    return (f'<table class="claims">{cols}<thead><tr>{head}</tr></thead><tbody>' + "".join(rows)
            + "</tbody></table>")


def _legend(tiny: bool) -> str:
    tiers = ("<b>Needs</b>: " + "; ".join(f"<b>{_e(TIER_SHORT[t])}</b> {_e(TIER_LABELS[t])}" for t in TIERS)
             + " (the cheapest route under config/s1.yaml; ARTIFACT.md).")
    if tiny:
        return ('<p class="muted legend">Each cell: the tiny run\'s analogue of the paper number in its own unit '
                "(<b>tiny</b>, beside the paper value, never compared), or <b>not run</b> where the tiny DAG has "
                "none (with the paper value and what it needs), or <b>cited</b> for another lab's number. Click a "
                "cell for the claim id, the commands, target file, provenance and notes. " + tiers + "</p>")
    return ('<p class="muted legend">Each cell: the reproduced value (the paper\'s digits, ± its standard error '
            "where the run has one), the paper value and the difference, and its status: <b>match</b> equal after "
            "rounding, <b>within tol.</b> inside the claim's tolerance, <b>off</b> farther, <b>not run</b> no "
            "result yet (with what it needs), <b>cited</b> another lab's number. Click a cell for the claim id, "
            "the commands, target file, provenance and notes. " + tiers + "</p>")


def header_html(header: str, meta: Mapping[str, str]) -> str:
    """The run's identity, as MultiQC opens a report: results, code, config, packages, date, host."""
    items = [f"<b>{_e(k)}</b> {_e(v)}" for k, v in meta.items() if v and k not in ("results", "packages")]
    pkgs = f' · <b>packages</b> {_e(meta["packages"])}' if meta.get("packages") else ""
    return ((f'<p class="muted" id="header">{_e(header)}</p>' if header else "")
            + (f'<p class="meta" id="run-meta">{" · ".join(items)}{pkgs}</p>' if items or pkgs else ""))


def verdict_html(verdict: str, ok: bool | None) -> str:
    """The verdict `make demo` prints, first on the page."""
    cls = "v-pass" if ok else "v-fail" if ok is False else "v-info"
    return f'<section class="verdict {cls}" id="verdict"><pre>{_e(verdict.rstrip())}</pre></section>'


def report_html(frame: pd.DataFrame, header: str, tiny: bool, figures: Sequence[tuple[str, str, str]] = (),
                tables: Sequence[tuple[str, str]] = (), provenance: Mapping[str, str] | None = None,
                captions: Mapping[str, str] | None = None, verdict: str = "", verdict_ok: bool | None = None,
                meta: Mapping[str, str] | None = None) -> str:
    """The whole page. ``figures``: (name, image URL, caption); ``tables``: (title, HTML);
    ``provenance``: target path -> text; ``captions``: paper table -> one line about it;
    ``verdict``: the run's verdict (s1kit.paper.verdict); ``meta``: label -> value of the header."""
    provenance, captions = provenance or {}, captions or {}
    counts = {s: int(n) for s, n in frame["status"].value_counts().items()}
    overall = " ".join(f'<span class="badge b-{CLS[s]}">{counts[s]} {_e(s)}</span>' for s in STATUSES
                       if counts.get(s, 0))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>s1kit claims report</title><style>{CSS}</style></head><body><main>",
           '<h1 id="top">s1kit claims report</h1>']
    if tiny:  # the banner is the header: one line less above the summary
        out.append(f'<div class="banner" id="tiny-banner"><b>Tiny default run</b> (make demo, {_e(header)}): each '
                   "number sits where its paper number would come from. Not paper numbers; never compared with "
                   "them.</div>" + header_html("", meta or {}))
    else:
        out.append(header_html(header, meta or {}))
    if verdict:
        out.append(verdict_html(verdict, verdict_ok))
    # the verdict already counts the claims by status: the badges line only without one
    head = "" if verdict else f'<p><b>{len(frame)} claims</b> {overall}</p>'
    out += [f'<section id="summary">{head}', summary_table(frame, tiny), _legend(tiny) + "</section>"]
    for grid in grids(frame):
        aid = anchor(grid.table)
        out.append(f'<section id="{aid}"><h2>{_e(grid.table)}<a class="anchor" href="#{aid}">#</a>'
                   f'<a class="anchor" href="#top">↑ top</a></h2>')
        if grid.table in captions:
            out.append(f'<p class="muted">{_e(captions[grid.table])}</p>')
        out += [grid_html(grid, tiny, provenance), "</section>"]
    if tables:
        out.append('<h2 id="built-tables">Tables built from the runs<a class="anchor" href="#built-tables">#</a></h2>')
        for title, body in tables:
            tid = "built-" + anchor(title)
            out += [f'<section id="{tid}" class="built"><h3>{_e(title)}<a class="anchor" href="#{tid}">#</a></h3>',
                    body, "</section>"]
    if figures:
        out.append('<h2 id="figures">Figures<a class="anchor" href="#figures">#</a></h2>')
        for name, src, caption in figures:
            fid = "fig-" + anchor(name)
            out.append(f'<figure id="{fid}"><img src="{_e(src)}" alt="{_e(caption)}">'
                       f"<figcaption>{_e(caption)}</figcaption></figure>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
