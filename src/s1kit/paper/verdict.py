"""The verdict of a run: what `make demo` prints last and the report shows first.

Tiny run (the default config): the checks the tiny demo exists to show, each with its
numbers, and the claims by status; the "Wait" rounds are reported as they are (the tiny
student never saw "Wait" and reads it as a new step: docs/tiny-demo.md), not judged.
Paper run: the claims by status and by what the rest needs.

The README's "typical run (seed 0)" table is rendered from ``typical_run.json`` beside this
file (tests/test_paper_verdict.py keeps them equal); a tiny run says whether it reproduced it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from s1kit.paper.layout import STATUSES
from s1kit.paper.requires import TIER_LABELS, tier_counts

BF_AUTO_MIN = 95.0  # % the tiny student reaches with its whole thinking (make demo: 100.0)
TYPICAL_MODEL, TYPICAL_TASK = "tiny-s1", "tiny_chains"


@dataclass
class Verdict:
    ok: bool | None  # None: nothing to judge (a paper run)
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def binomial_se(pct: float, n: int) -> float:
    """Standard error of an accuracy in points: sqrt(p (1-p) / n) x 100."""
    p = pct / 100
    return 100 * math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else math.nan


def _budget(setting: str) -> float:
    param = setting.split("-", 1)[1]
    return math.inf if param == "auto" else float(param)


def budget_curve(evals: pd.DataFrame, model: str = TYPICAL_MODEL, task: str = TYPICAL_TASK) -> pd.DataFrame:
    """The bf-* runs of one model and task, by budget (bf-auto last)."""
    rows = evals[(evals["model"] == model) & (evals["task"] == task) & (evals["method"] == "bf")].copy()
    rows["budget"] = rows["setting"].map(_budget)
    return rows.sort_values("budget").reset_index(drop=True)


def monotone_within_se(curve: pd.DataFrame) -> list[str]:
    """Budget steps where accuracy falls by more than the two runs' combined binomial SE."""
    bad = []
    for a, b in zip(curve.itertuples(), curve.iloc[1:].itertuples()):
        se = math.hypot(binomial_se(a.accuracy_pct, a.n), binomial_se(b.accuracy_pct, b.n))
        if b.accuracy_pct < a.accuracy_pct - se:
            bad.append(f"{a.setting} {a.accuracy_pct:.1f} -> {b.setting} {b.accuracy_pct:.1f} (SE {se:.1f})")
    return bad


def typical_table(evals: pd.DataFrame, model: str = TYPICAL_MODEL, task: str = TYPICAL_TASK) -> dict[str, dict]:
    """setting -> {accuracy, thinking} of the bf-* and wait-* runs, rounded as the README prints them."""
    rows = evals[(evals["model"] == model) & (evals["task"] == task) & evals["method"].isin(["bf", "wait"])]
    order = sorted(rows.itertuples(), key=lambda r: (r.method != "bf", _budget(r.setting) if r.method == "bf"
                                                      else float(r.param)))
    return {r.setting: {"accuracy": round(float(r.accuracy_pct), 1), "thinking": round(float(r.avg_thinking_tokens)),
                        "n": int(r.n)} for r in order}


def typical_markdown(table: dict[str, dict]) -> str:
    """The README table: one column per setting, accuracy and average thinking tokens."""
    names = list(table)
    lines = ["| setting | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
             "| accuracy % | " + " | ".join(f"{table[s]['accuracy']:.1f}" for s in names) + " |",
             "| avg thinking tokens | " + " | ".join(str(table[s]["thinking"]) for s in names) + " |"]
    return "\n".join(lines) + "\n"


def load_typical(path: str | Path | None = None) -> dict | None:
    """The committed typical run: {"config": ..., "machine": ..., "table": {setting: ...}}; None if absent."""
    path = Path(path) if path else Path(str(resources.files("s1kit.paper").joinpath("typical_run.json")))
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _counts(frame: pd.DataFrame) -> str:
    counts = frame["status"].value_counts()
    return ", ".join(f"{int(counts[s])} {s}" for s in STATUSES if counts.get(s, 0))


def _needs(frame: pd.DataFrame) -> str:
    # the claims not reproduced yet (as the report's summary counts them): no value, a tiny one, or an error
    todo = frame[(frame["status"].isin(["not run", "tiny", "error"])) & (frame["requires"] != "")]
    return ", ".join(f"{n} {TIER_LABELS[t]}" for t, n in tier_counts(list(todo["requires"])).items())


def tiny_verdict(evals: pd.DataFrame, frame: pd.DataFrame, report: str, typical: dict | None = None) -> Verdict:
    """The tiny demo's checks; ``ok`` is False when a check fails or the budget runs are missing."""
    v = Verdict(ok=True, lines=["Verdict of the tiny run (make demo):"])
    curve = budget_curve(evals)
    if curve.empty or not (curve["setting"] == "bf-auto").any():
        v.ok = False
        v.lines.append("  FAIL  no bf-* / bf-auto results of tiny-s1 on tiny_chains")
    else:
        auto = curve[curve["setting"] == "bf-auto"].iloc[0]
        passed = bool(auto.accuracy_pct >= BF_AUTO_MIN)
        v.ok = bool(v.ok and passed)
        v.lines.append(f"  {'PASS' if passed else 'FAIL'}  bf-auto accuracy {auto.accuracy_pct:.1f}% "
                       f"(n={int(auto.n)}, SE {binomial_se(auto.accuracy_pct, int(auto.n)):.1f}) >= {BF_AUTO_MIN:.0f}%")
        bad = monotone_within_se(curve)
        v.ok = bool(v.ok and not bad)
        steps = " -> ".join(f"{r.setting.removeprefix('bf-')} {r.accuracy_pct:.1f}" for r in curve.itertuples())
        v.lines.append(f"  {'PASS' if not bad else 'FAIL'}  accuracy non-decreasing along the budgets within the "
                       f"binomial SE: {steps}" + (f"; falls: {'; '.join(bad)}" if bad else ""))
    waits = evals[(evals["model"] == TYPICAL_MODEL) & (evals["task"] == TYPICAL_TASK) & (evals["method"] == "wait")]
    if not waits.empty:
        v.lines.append("  info  \"Wait\" rounds, as they are: " + ", ".join(
            f"{r.setting} {r.accuracy_pct:.1f}% ({r.avg_thinking_tokens:.0f} thinking tokens)"
            for r in waits.sort_values("param").itertuples())
            + " (never seen in training: docs/tiny-demo.md)")
    if typical is not None:
        table, want = typical_table(evals), typical.get("table", {})
        diffs = [f"{s} {want[s]['accuracy']:.1f} -> {table[s]['accuracy']:.1f}" for s in want
                 if s in table and (want[s]["accuracy"], want[s]["thinking"]) != (table[s]["accuracy"], table[s]["thinking"])]
        if table.keys() == want.keys() and not diffs:
            v.lines.append("  info  identical to README's typical run (seed 0)")
        elif table:
            v.lines.append("  info  differs from README's typical run (seed 0; a changed config, code or machine): "
                           + ("; ".join(diffs) or "other settings"))
    v.lines.append(f"  claims: {len(frame)}: {_counts(frame)}")
    if "requires" in frame:
        v.lines.append(f"  paper numbers, by what reproducing them needs: {_needs(frame)} (ARTIFACT.md)")
    v.lines.append(f"{'PASS' if v.ok else 'FAIL'}: open {report}")
    return v


def paper_verdict(frame: pd.DataFrame, report: str) -> Verdict:
    """A paper run judges nothing here: the claims by status say it all."""
    lines = ["Verdict of the paper run:", f"  claims: {len(frame)}: {_counts(frame)}"]
    if "requires" in frame:
        lines.append(f"  not reproduced yet, by what they need: {_needs(frame) or 'none'} (ARTIFACT.md)")
    lines.append(f"open {report}")
    return Verdict(ok=None, lines=lines)
