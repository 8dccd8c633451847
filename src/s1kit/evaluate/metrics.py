"""Metrics of test-time scaling methods (arXiv 2501.19393v3 §3.2, Table 3).

A method is run at several compute settings (runs); each gives a point (average thinking
tokens, accuracy in percent). Then:

- Control: the fraction of the method's runs whose measured compute lies within that run's
  [min, max]. The measure is the run's AVERAGE thinking tokens (not each sample's), against
  the token budget the setting asks for (``bf-N``, ``tcc-N``, ``tccbf-N``, ``rs-N``: max N);
  step-conditional control (``scc-N``, ``sccbf-N``) is held to its step budget: the run's
  average number of thinking steps <= N; class-conditional control (``ccc-short``,
  ``ccc-long``) to the direction it asks for, against the same model and task run with the
  same generation and no class prompt (``bf-auto``, :data:`CCC_REFERENCE`): short thinks at
  most as long, long at least as long. Settings without a budget of their own (``bf-auto``,
  ``wait-N``, ``plain``) are always within.
- Scaling: the average slope of accuracy against log2(thinking tokens) over all pairs of
  points, in accuracy points per doubling of thinking.
- Performance: the best accuracy.

Checked in tests/test_evaluate_metrics.py against Table 3 with the points the paper gives
for budget forcing (Figure 1, AIME24: Control 100%, Scaling 14.8 vs 15, Performance 56.7)
and rejection sampling (Control 100%, Scaling -36.5 vs -35 from points read off a figure,
Performance 40.0). The log2 axis is what makes these match: the same AIME24 points give
21.4 per e-fold and 8.7 per 1000 tokens.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence

from s1kit.evaluate.settings import base_name

TOKENS, STEPS = "avg_thinking_tokens", "avg_thinking_steps"
CCC_REFERENCE = "bf-auto"  # the run class-conditional control is compared with
_BUDGETED = re.compile(r"^(bf|tcc|tccbf|rs)-(\d+)$")
_STEPPED = re.compile(r"^(scc|sccbf)-(\d+)$")
# A step of the step-conditional model opens with "<|im_start|>" and its count of steps left.
_STEP = re.compile(r"<\|im_start\|>\s*\d+")


def within(value: float, lo: float | None = None, hi: float | None = None) -> bool:
    """``lo <= value <= hi``; None = no bound."""
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def run_bounds(setting: str, reference_tokens: float | None = None) -> tuple[str, float | None, float | None]:
    """(measure, min, max) of one run's Control constraint, from its setting name.
    ``reference_tokens``: the :data:`CCC_REFERENCE` run's average thinking tokens (ccc only).
    A ``kit.`` / ``fork.`` prefix (the semantics the run used) does not change the bounds."""
    setting = base_name(setting)
    if m := _BUDGETED.match(setting):
        return TOKENS, None, int(m.group(2))
    if m := _STEPPED.match(setting):
        return STEPS, None, int(m.group(2))
    if setting == "ccc-short":
        return TOKENS, None, reference_tokens
    if setting == "ccc-long":
        return TOKENS, reference_tokens, None
    return TOKENS, None, None


def run_control(setting: str, measures: Mapping[str, float | None], reference_tokens: float | None = None) -> float:
    """1.0 if the run's measure is within its bounds, 0.0 if not, NaN when it cannot be told
    (no measure recorded, or a ccc run without its reference run)."""
    measure, lo, hi = run_bounds(setting, reference_tokens)
    value = measures.get(measure)
    is_ccc = base_name(setting).startswith("ccc-")
    if value is None or math.isnan(value) or (is_ccc and reference_tokens is None):
        return math.nan
    return 1.0 if within(value, lo, hi) else 0.0


def control(run_controls: Sequence[float]) -> float:
    """Control (0-1) of a method: the mean of its runs' :func:`run_control` (NaN ones left out)."""
    known = [c for c in run_controls if c is not None and not math.isnan(c)]
    if not known:
        raise ValueError("control of no runs is undefined")
    return sum(known) / len(known)


def thinking_steps(response: str) -> int:
    """Steps of a step-conditional response: its ``<|im_start|>N`` openings."""
    return len(_STEP.findall(response))


def scaling(points: Sequence[tuple[float, float]]) -> float:
    """Mean over all pairs a < b (by thinking tokens) of (acc_b - acc_a) / log2(tok_b / tok_a)."""
    pts = sorted(points)
    if any(tok <= 0 for tok, _ in pts):
        raise ValueError(f"thinking tokens must be > 0 for a log2 axis: {pts}")
    slopes = [
        (acc_b - acc_a) / math.log2(tok_b / tok_a)
        for (tok_a, acc_a), (tok_b, acc_b) in itertools.combinations(pts, 2)
        if tok_b > tok_a  # equal compute has no slope
    ]
    if not slopes:
        raise ValueError(f"scaling needs two points with different thinking tokens: {pts}")
    return sum(slopes) / len(slopes)


def performance(points: Sequence[tuple[float, float]]) -> float:
    """The best accuracy over the points."""
    if not points:
        raise ValueError("performance of no points is undefined")
    return max(acc for _, acc in points)
