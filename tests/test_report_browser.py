"""report.html laid out by a real headless browser (Debian's chromium) at 1280 px.

Asserts with the browser's own layout: the summary counts equal claims.csv's, no table is
wider than the viewport (and the page never scrolls sideways), and the summary sits above
the fold. Skips with a reason where chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from browser import chromium, measure
from s1kit.paper.layout import paper_order
from s1kit.paper.report_html import TIER_SHORT
from test_paper_build import paper_tree, run_cli, tiny_tree  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium not installed (apt-get install chromium)")

WIDTH = 1280


def _expected_rows(claims: pd.DataFrame) -> dict[str, pd.Series]:
    return {t: g["status"].value_counts() for t, g in claims.groupby("table", sort=False)}


def _check_layout(m: dict) -> None:
    assert m["viewport"][0] == WIDTH
    assert m["docScrollWidth"] <= WIDTH, f"page scrolls sideways: {m['docScrollWidth']} px"
    wide = [t for t in m["tables"] if t["right"] > WIDTH or t["scrollWidth"] > WIDTH]
    assert not wide, f"tables wider than the viewport: {wide}"
    assert m["summaryBottom"] is not None and m["summaryBottom"] <= m["viewport"][1], \
        f"summary ends at {m['summaryBottom']} px, below the fold ({m['viewport'][1]} px)"


def test_paper_report_in_chromium(paper_tree: Path):  # noqa: F811
    assert run_cli("--results-dir", str(paper_tree)) == 0
    out = paper_tree / "paper"
    m = measure(out / "report.html", WIDTH, 800)
    _check_layout(m)
    assert not m["banner"]
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False, dtype=str)
    heads = m["summaryHeads"]
    assert heads[:2] == ["Paper table", "claims"]
    rows = {r[0]: dict(zip(heads, r)) for r in m["summaryRows"]}
    assert list(rows)[:-1] == paper_order(claims["table"])  # one row per paper table, the paper's order
    assert list(rows)[:5] == ["Figure 1", "Data pipeline", "Collected sources", "s1K composition", "Table 1"]
    label = {"match": "match", "within tol.": "within tolerance", "off": "off", "not run": "not run",
             "cited": "cited", "error": "error", "tiny": "tiny"}
    shown = [h for h in heads if h in label]
    assert {"match", "off", "not run", "cited"} <= set(shown)
    for table, counts in _expected_rows(claims).items():
        for head in shown:
            want = int(counts.get(label[head], 0))
            assert rows[table][head] == (str(want) if want else "–"), (table, head)
        assert rows[table]["claims"] == str(int(counts.sum()))
    assert rows["All claims"]["claims"] == str(len(claims))
    assert rows["All claims"]["match"] == str(int((claims["status"] == "match").sum()))


def test_tiny_report_in_chromium(tiny_tree: Path):  # noqa: F811
    assert run_cli("--results-dir", str(tiny_tree)) == 0
    out = tiny_tree / "paper"
    m = measure(out / "report.html", WIDTH, 800)
    _check_layout(m)
    assert m["banner"]
    heads = m["summaryHeads"]
    assert "match" not in heads and "off" not in heads  # nothing is compared with the paper
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False, dtype=str)
    total = dict(zip(heads, m["summaryRows"][-1]))
    n_tiny = int((claims["tiny_value"] != "").sum())
    # one vocabulary (issue 22): the page's counts are claims.csv's statuses, "tiny" among them
    assert n_tiny and total["tiny"] == str(n_tiny) == str(int((claims["status"] == "tiny").sum()))
    assert total["not run"] == str(int((claims["status"] == "not run").sum()))  # no tiny analogue
    assert total["cited"] == str(int((claims["status"] == "cited").sum()))
    # what the rest needs, per tier, beside the statuses (issue 22)
    needs = {h: v for h, v in total.items() if h in TIER_SHORT.values()}
    todo = claims[claims["status"].isin(["not run", "tiny", "error"]) & (claims["requires"] != "")]
    assert needs and sum(int(v) for v in needs.values() if v != "–") == len(todo)
