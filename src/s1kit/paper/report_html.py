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

SHORT = {"match": "match", "within tolerance": "within tol.", "off": "off", "not run": "not run",
         "cited": "cited", "error": "error", "tiny": "tiny"}
CLS = {"match": "match", "within tolerance": "within", "off": "off", "not run": "notrun", "cited": "cited",
       "error": "error", "tiny": "tiny"}
# claims.csv columns shown in a claim's details, in this order, with their labels; any
# other column (added later) follows under its own name.
DETAILS = [("claim_id", "claim"), ("description", "what"), ("paper_value", "paper value"),
           ("versions", "paper versions"), ("compared_to", "compared with"), ("unit", "unit"),
           ("tolerance", "tolerance"), ("reproduced_value", "reproduced (unrounded)"), ("target", "target file"), ("field", "field"), ("rebuild", "rebuild"),
           ("tiny_target", "tiny target"), ("tiny_value", "tiny value"), ("tiny_note", "tiny note"),
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
.banner{background:#fbefff;border:1px solid var(--tiny);border-radius:6px;padding:8px 12px;margin:8px 0}
.banner b{color:var(--tiny)}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{position:sticky;top:0;z-index:2;background:#f6f8fa;border-bottom:2px solid var(--line);font-size:13px}
tbody th{font-weight:600;background:#fcfcfd}
.summary td,.summary th{padding:3px 8px}.summary td.n{text-align:center;font-variant-numeric:tabular-nums}
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
    """One row per paper table: claims, coloured counts per status (columns of zeros hidden), a bar."""
    per_table = status_counts(frame, STATUSES)
    if tiny or (frame["tiny_value"] != "").any():
        for table, counts in per_table:
            counts["tiny"] = int(((frame["table"] == table) & (frame["tiny_value"] != "")).sum())
            if tiny:  # a tiny run reproduces nothing: "not run" counts the claims without a tiny analogue
                counts["not run"] -= counts["tiny"]
    shown = [s for s in (*STATUSES, "tiny") if any(c.get(s, 0) for _, c in per_table)]
    head = ('<colgroup><col style="width:24%"><col style="width:7%">' + "".join('<col style="width:8%">' for _ in shown)
            + "<col></colgroup>")
    th = "".join(f'<th class="n">{_e(SHORT[s])}</th>' for s in shown)
    rows = []
    for table, counts in per_table:
        n = int((frame["table"] == table).sum())
        cells = "".join(_pill(counts.get(s, 0), s) for s in shown)
        bar = _bar({s: counts.get(s, 0) for s in shown if s != "tiny" or tiny})
        rows.append(f'<tr><th><a href="#{anchor(table)}">{_e(table)}</a></th><td class="n">{n}</td>{cells}'
                    f"<td>{bar}</td></tr>")
    totals = {s: sum(c.get(s, 0) for _, c in per_table) for s in shown}
    cells = "".join(_pill(totals[s], s) for s in shown)
    rows.append(f'<tr><th>All claims</th><td class="n"><b>{len(frame)}</b></td>{cells}'
                f"<td>{_bar({s: n for s, n in totals.items() if s != 'tiny' or tiny})}</td></tr>")
    return (f'<table class="summary" id="summary-table">{head}<thead><tr><th>Paper table</th><th class="n">claims</th>'
            f"{th}<th>status</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _details(rec: Mapping[str, object], provenance: str) -> str:
    known = {c for c, _ in DETAILS} | HIDDEN
    items = [(lab, rec.get(c, "")) for c, lab in DETAILS] + [(c, v) for c, v in rec.items() if c not in known]
    out = []
    for lab, value in items:
        if value in ("", None) or (isinstance(value, float) and value != value):
            continue
        text = _e(value)
        if lab in ("rebuild", "target file", "field", "claim", "tiny target"):
            text = f"<code>{text}</code>"
        wide = ' class="wide"' if len(str(value)) > 14 else ""  # long values under their label, short beside
        out.append(f"<dt{wide}>{_e(lab)}</dt><dd{wide}>{text}</dd>")
    if provenance:
        out.append(f'<dt class="wide">provenance</dt><dd class="wide"><pre>{_e(provenance)}</pre></dd>')
    return '<dl class="more">' + "".join(out) + "</dl>"


def cell_html(rec: Mapping[str, object], tiny: bool, provenance: str = "") -> str:
    """One claim's cell: value, paper value, delta and badge; the details one click away."""
    status = str(rec["status"])
    d = decimals_of(str(rec["paper_value"]))
    paper = fmt(rec["paper_value"], d)
    if tiny and status != "cited":
        value = fmt(rec.get("tiny_value", ""), d)
        shown, cls = ("tiny", "tiny") if value else ("not run", "notrun")
        line = '<span class="p">tiny run, not a paper number</span>' if value else '<span class="p">no tiny analogue</span>'
        value = value or "—"
    elif status == "cited" and tiny:  # not beside tiny values: the paper value is in the details
        value, shown, cls = "", "cited", "cited"
        line = '<span class="p">cited baseline (paper value in details)</span>'
    elif status == "cited":
        value, shown, cls = paper, "cited", "cited"
        line = '<span class="p">cited baseline</span>'
    else:
        value = fmt(rec.get("reproduced_value", ""), d) or "—"
        shown, cls = status, CLS[status]
        delta = fmt_delta(rec.get("delta", ""), d)
        line = f'<span class="p">paper {paper}' + (f" · Δ {delta}" if delta else "") + "</span>"
    none = " none" if value == "—" else ""
    summary = (f'<span class="v{none}">{_e(value)}</span>{" " if value else ""}<span class="badge b-{cls}">{_e(SHORT[shown])}</span>'
               f"<br>{line}")
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
    if tiny:
        return ('<p class="muted legend">Each cell: the tiny run\'s analogue of the paper number (<b>tiny</b>), or '
                "<b>not run</b> where the tiny DAG has none, or <b>cited</b> for another lab's number. Click a cell "
                "for the claim id, the paper value, target file, rebuild command, provenance and notes.</p>")
    return ('<p class="muted legend">Each cell: the reproduced value (the paper\'s digits), the paper value and the '
            "difference, and its status: <b>match</b> equal after rounding, <b>within tol.</b> inside the claim's "
            "tolerance, <b>off</b> farther, <b>not run</b> no result yet, <b>cited</b> another lab's number. Click a "
            "cell for the claim id, target file, rebuild command, provenance and notes.</p>")


def report_html(frame: pd.DataFrame, header: str, tiny: bool, figures: Sequence[tuple[str, str, str]] = (),
                tables: Sequence[tuple[str, str]] = (), provenance: Mapping[str, str] | None = None,
                captions: Mapping[str, str] | None = None) -> str:
    """The whole page. ``figures``: (name, image URL, caption); ``tables``: (title, HTML);
    ``provenance``: target path -> text; ``captions``: paper table -> one line about it."""
    provenance, captions = provenance or {}, captions or {}
    counts = {s: int(n) for s, n in frame["status"].value_counts().items()}
    if tiny:
        counts["tiny"] = int((frame["tiny_value"] != "").sum())
        counts["not run"] = counts.get("not run", 0) - counts["tiny"]
    overall = " ".join(f'<span class="badge b-{CLS[s]}">{counts[s]} {_e(s)}</span>' for s in (*STATUSES, "tiny")
                       if counts.get(s, 0))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>s1kit claims report</title><style>{CSS}</style></head><body><main>",
           '<h1 id="top">s1kit claims report</h1>', f'<p class="muted" id="header">{_e(header)}</p>']
    if tiny:
        out.append('<div class="banner" id="tiny-banner"><b>Tiny default run.</b> These numbers come from the '
                   "tiny demo (make demo): they show that every stage runs and where each paper number would come "
                   "from. They are laid out like the paper's tables but are not paper numbers and are never "
                   "compared with the paper.</div>")
    out += [f'<section id="summary"><p><b>{len(frame)} claims</b> {overall}</p>', summary_table(frame, tiny),
            _legend(tiny) + "</section>"]
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
