"""The verdict `make demo` prints and the report opens with; README's typical-run table.

The README's "typical run (seed 0)" table is typical_markdown() of the committed
src/s1kit/paper/typical_run.json, which a real `make demo` run wrote (its results.json
values); every tiny run's verdict says whether it reproduced it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from s1kit.paper.verdict import (binomial_se, load_typical, monotone_within_se, paper_verdict, tiny_verdict,
                                 typical_markdown, typical_table)

REPO = Path(__file__).resolve().parents[1]


def evals(acc: dict[str, float], n: int = 200, wait: dict[str, float] | None = None) -> pd.DataFrame:
    rows = []
    for setting, a in {**acc, **(wait or {})}.items():
        method, _, param = setting.partition("-")
        rows.append({"model": "tiny-s1", "setting": setting, "task": "tiny_chains", "method": method, "param": param,
                     "n": n, "accuracy_pct": a, "avg_thinking_tokens": 10.0, "path": ""})
    return pd.DataFrame(rows, columns=["model", "setting", "task", "method", "param", "n", "accuracy_pct",
                                       "avg_thinking_tokens", "path"])


def claims(statuses: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"status": statuses, "requires": ["gpu-eval"] * len(statuses)})


def test_binomial_se():
    assert binomial_se(50.0, 100) == pytest.approx(5.0)
    assert binomial_se(56.7, 30) == pytest.approx(9.05, abs=0.01)  # one AIME question is 3.3 points; SE 9
    assert binomial_se(100.0, 200) == 0.0 and math.isnan(binomial_se(50.0, 0))


def test_a_dip_within_the_standard_error_passes_and_a_real_fall_fails():
    ok = evals({"bf-0": 16.5, "bf-8": 17.0, "bf-16": 26.5, "bf-24": 25.0, "bf-auto": 100.0})
    from s1kit.paper.verdict import budget_curve

    assert monotone_within_se(budget_curve(ok)) == []  # 26.5 -> 25.0: SE ~4.4 points at n=200
    bad = evals({"bf-0": 16.5, "bf-16": 40.0, "bf-24": 20.0, "bf-auto": 100.0})
    falls = monotone_within_se(budget_curve(bad))
    assert falls and falls[0].startswith("bf-16 40.0 -> bf-24 20.0")


def test_tiny_verdict_pass_and_fail():
    frame = claims(["tiny", "not run", "cited"])
    good = tiny_verdict(evals({"bf-0": 10.0, "bf-8": 30.0, "bf-auto": 99.0}, wait={"wait-1": 6.0, "wait-2": 11.0}),
                        frame, "results/paper/report.html")
    text = good.text()
    assert good.ok and text.splitlines()[-1] == "PASS: open results/paper/report.html"
    assert "PASS  bf-auto accuracy 99.0% (n=200, SE 0.7) >= 95%" in text
    assert 'wait-1 6.0%' in text and "wait-2 11.0%" in text  # reported as they are, not judged
    assert "claims: 3: 1 tiny, 1 not run, 1 cited" in text
    low = tiny_verdict(evals({"bf-0": 10.0, "bf-auto": 90.0}), frame, "r.html")
    assert low.ok is False and "FAIL  bf-auto accuracy 90.0%" in low.text() and low.lines[-1].startswith("FAIL")
    assert tiny_verdict(evals({}), frame, "r.html").ok is False  # no budget runs: nothing shown, no pass


def test_verdict_says_whether_the_typical_run_was_reproduced():
    typical = load_typical()
    table = typical["table"]
    same = evals({s: v["accuracy"] for s, v in table.items() if s.startswith("bf-")},
                 wait={s: v["accuracy"] for s, v in table.items() if s.startswith("wait-")})
    for s, v in table.items():
        same.loc[same["setting"] == s, "avg_thinking_tokens"] = v["thinking"]
    assert "identical to README's typical run" in tiny_verdict(same, claims(["tiny"]), "r", typical).text()
    same.loc[same["setting"] == "bf-8", "accuracy_pct"] += 0.5
    assert "differs from README's typical run" in tiny_verdict(same, claims(["tiny"]), "r", typical).text()


def test_paper_verdict_counts():
    v = paper_verdict(pd.DataFrame({"status": ["match", "off", "not run"], "requires": ["gpu-eval"] * 3}), "r.html")
    assert v.ok is None and "claims: 3: 1 match, 1 off, 1 not run" in v.text()
    assert "1 GPU evaluation" in v.text()


def test_readme_typical_run_is_the_committed_run():
    """README's table is generated from typical_run.json (a real make demo's results); fails when they drift."""
    typical = load_typical()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- typical-run:start", 1)[1].split("-->", 1)[1].split("<!-- typical-run:end -->")[0]
    assert block.strip() == typical_markdown(typical["table"]).strip()
    assert typical["config"] == "config/default.yaml" and typical["table"]["bf-auto"]["accuracy"] >= 95.0
    # the note beside it: identical across runs on one kind of machine
    assert re.search(r"identical\s+across\s+runs\s+on\s+one\s+kind\s+of\s+machine", readme)


def test_typical_table_orders_budgets_then_waits():
    t = typical_table(evals({"bf-auto": 100.0, "bf-16": 26.5, "bf-0": 16.5}, wait={"wait-2": 11.0, "wait-1": 6.0}))
    assert list(t) == ["bf-0", "bf-16", "bf-auto", "wait-1", "wait-2"]
    assert typical_markdown(t).splitlines()[2] == "| accuracy % | 16.5 | 26.5 | 100.0 | 6.0 | 11.0 |"
