"""Metrics of test-time scaling methods (arXiv 2501.19393v3 §3.2, Eq. 1-3).

A method is run at several compute settings; each gives a point (average thinking tokens,
accuracy in percent). Then:

- Control: the fraction of runs whose thinking stays within the budget's [min, max].
- Scaling: the average slope of accuracy against log2(thinking tokens) over all pairs of
  points, in accuracy points per doubling of thinking.
- Performance: the best accuracy.

Checked against arXiv 2501.19393v3 Table 3 with the points read off Figures 1 and 6: budget
forcing on AIME24 (Figure 1, 7 points) gives Scaling 14.8 (Table 3: 15) and Performance
56.7 (56.7); rejection sampling (6 points) gives -36.5 (Table 3: -35). The log2 axis is
what makes these match: the same AIME24 points give 21.4 per e-fold and 8.7 per 1000
tokens. MATH500 and GPQA (not in Table 3) give 10.4 and 6.2.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def control(thinking_tokens: Sequence[int], min_tokens: int | None, max_tokens: int | None) -> float:
    """Fraction (0-1) of runs with ``min_tokens <= thinking <= max_tokens``; None = no bound."""
    if not thinking_tokens:
        raise ValueError("control of no runs is undefined")
    lo = -math.inf if min_tokens is None else min_tokens
    hi = math.inf if max_tokens is None else max_tokens
    return sum(lo <= t <= hi for t in thinking_tokens) / len(thinking_tokens)


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
