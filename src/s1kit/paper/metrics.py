"""Table 3's Control / Scaling / Performance of a method, aggregated over its runs.

The definitions live in ``s1kit.evaluate.metrics`` (one definition for the whole kit);
this module only decides which runs feed them and turns undefined values into NaN so that
a table cell stays empty instead of the build failing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from s1kit.evaluate.metrics import control, performance, scaling

SOURCE = "s1kit.evaluate.metrics"
Point = tuple[float, float]  # (average thinking tokens, accuracy in %)


def method_metrics(points: Sequence[Point], controls: Sequence[float]) -> dict[str, float]:
    """Control (%), Scaling and Performance (%) of one method from its runs.

    ``points`` are (avg thinking tokens, accuracy %) per run and ``controls`` the runs'
    ``run_control`` (1 within its budget, 0 not, NaN unknown). Control is their mean, in %.
    Scaling uses the runs with positive thinking tokens (a log2 axis has no 0, e.g. bf-0)
    and is NaN with fewer than two distinct token counts.
    """
    try:
        in_control = 100 * control(list(controls))
    except ValueError:  # no run could be judged
        in_control = math.nan
    usable = [(float(t), float(a)) for t, a in points if t > 0]
    try:
        slope = float(scaling(usable))
    except ValueError:  # fewer than two distinct token counts
        slope = math.nan
    return {
        "control": in_control,
        "scaling": slope,
        "performance": float(performance(list(points))) if points else math.nan,
    }
