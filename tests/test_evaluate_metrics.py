"""Control, Scaling and Performance on hand-computed examples, and Table 3 rebuilt by the
kit's metric code (s1kit.paper.tables.scaling_methods_table over results.json files) from
the per-setting numbers the paper gives.

Which of Table 3's rows can be rebuilt: budget forcing (Figure 1's AIME24 points and the
sweep's budgets) and rejection sampling (the thresholds, average thinking tokens and
accuracies given with its figure). The appendix tables behind TCC, TCC + BF, SCC, SCC + BF
and CCC (per setting: instructed tokens / steps, average thinking tokens, steps used,
accuracy) are not in ../shared/PAPER.md, the only copy of the paper's numbers the kit may
use; those rows are parametrized below and skip, naming what is missing, until the numbers
are added to APPENDIX.
"""

from __future__ import annotations

import pytest

import json
import math

from s1kit.evaluate.metrics import control, performance, run_bounds, run_control, scaling, thinking_steps

# PAPER.md Figure 1, AIME24 (average thinking tokens, accuracy %); Table 3 budget forcing.
AIME24_BF = [(500, 0.0), (1000, 13.3), (2000, 30.0), (3933, 43.3), (5300, 50.0), (6657, 53.3), (7320, 56.7)]
# PAPER.md rejection sampling on AIME24; Table 3 rejection sampling.
AIME24_RS = [(2957, 40.0), (3737, 36.7), (4305, 33.3), (4611, 30.0), (4940, 26.7), (5008, 23.3)]


def test_control_is_per_run_average_within_budget():
    # tcc at 1024..16384 instructed tokens, each run averaging 7-8K thinking tokens: only
    # 8192 and 16384 hold their budget -> 2 of 5 runs = 40% (however many samples overran).
    runs = {"tcc-1024": 7900, "tcc-2048": 7200, "tcc-4096": 8300, "tcc-8192": 7100, "tcc-16384": 7500}
    flags = [run_control(s, {"avg_thinking_tokens": t}) for s, t in runs.items()]
    assert flags == [0.0, 0.0, 0.0, 1.0, 1.0] and control(flags) == pytest.approx(0.4)
    assert run_control("bf-500", {"avg_thinking_tokens": 500}) == 1.0  # the bound is inclusive
    assert run_control("bf-auto", {"avg_thinking_tokens": 30000}) == 1.0  # no budget of its own
    assert math.isnan(run_control("bf-500", {}))  # nothing recorded: cannot be told
    assert control([1.0, math.nan, 0.0]) == 0.5
    with pytest.raises(ValueError):
        control([math.nan])


def test_step_and_class_conditional_constraints():
    assert run_bounds("sccbf-64") == ("avg_thinking_steps", None, 64)
    assert run_bounds("kit.rs-3500") == run_bounds("fork.rs-3500") == ("avg_thinking_tokens", None, 3500)
    assert run_control("scc-16", {"avg_thinking_tokens": 900, "avg_thinking_steps": 20}) == 0.0
    assert run_control("scc-32", {"avg_thinking_tokens": 9000, "avg_thinking_steps": 31.5}) == 1.0
    # Class-conditional: short at most, long at least the reference run's thinking.
    assert run_control("ccc-short", {"avg_thinking_tokens": 5000}, reference_tokens=6000) == 1.0
    assert run_control("ccc-long", {"avg_thinking_tokens": 5500}, reference_tokens=6000) == 0.0
    assert math.isnan(run_control("ccc-long", {"avg_thinking_tokens": 5500}))  # no reference run
    text = "<|im_start|>16\nstep<|im_start|>15\nstep<|im_start|>14\nstep<|im_start|>answer\nAnswer: 3"
    assert thinking_steps(text) == 3


def test_scaling_hand_computed():
    # One doubling, +10 points: slope 10.
    assert scaling([(100, 20.0), (200, 30.0)]) == pytest.approx(10.0)
    # Pairs (1,2): 10/1, (1,3): 30/2, (2,3): 20/1 -> mean 15; order of points does not matter.
    assert scaling([(400, 40.0), (100, 10.0), (200, 20.0)]) == pytest.approx(15.0)
    assert scaling([(100, 50.0), (400, 30.0)]) == pytest.approx(-10.0)
    # Equal compute has no slope and is skipped.
    assert scaling([(100, 10.0), (100, 20.0), (200, 30.0)]) == pytest.approx((20 + 10) / 2)
    with pytest.raises(ValueError):
        scaling([(100, 10.0)])


def test_scaling_matches_table3():
    assert scaling(AIME24_BF) == pytest.approx(15, abs=0.5)  # 14.85
    assert scaling(AIME24_RS) == pytest.approx(-35, abs=2)  # -36.5 from points read off a figure
    assert performance(AIME24_BF) == 56.7 and performance(AIME24_RS) == 40.0
    # Per doubling: the unit of thinking tokens does not matter.
    assert scaling([(t / 1000, a) for t, a in AIME24_BF]) == pytest.approx(scaling(AIME24_BF))


# ---- Table 3 rebuilt from the paper's per-setting numbers ------------------------------------

# (setting, average thinking tokens, AIME24 accuracy %). Budget forcing: Figure 1's AIME24
# points at the sweep's budgets and "auto"; rejection sampling: the thresholds with the
# average thinking tokens and accuracies of its figure.
TABLE3_RUNS = {
    "bf": [("bf-500", 500, 0.0), ("bf-1000", 1000, 13.3), ("bf-2000", 2000, 30.0), ("bf-4000", 3933, 43.3),
           ("bf-8000", 5300, 50.0), ("bf-16000", 6657, 53.3), ("bf-auto", 7320, 56.7)],
    "rs": [("rs-3500", 2957, 40.0), ("rs-4000", 3737, 36.7), ("rs-5000", 4305, 33.3), ("rs-6000", 4611, 30.0),
           ("rs-8000", 4940, 26.7), ("rs-16000", 5008, 23.3)],
}
# Table 3 (Control %, Scaling, Performance %) and how close a rebuild must come: Scaling of
# points read off a figure within 2, the rest exact.
TABLE3 = {
    "bf": ("budget forcing", 100, 15, 56.7, 0.5),
    "tcc": ("token-conditional control", 40, -24, 40.0, 0.5),
    "tccbf": ("token-conditional control + budget forcing", 100, 13, 40.0, 0.5),
    "scc": ("step-conditional control", 60, 3, 36.7, 0.5),
    "sccbf": ("step-conditional control + budget forcing", 100, 6, 36.7, 0.5),
    "ccc": ("class-conditional control", 50, 25, 36.7, 0.5),
    "rs": ("rejection sampling", 100, -35, 40.0, 2.0),
}
MISSING = ("the appendix's per-setting numbers are not in ../shared/PAPER.md: instructed budget, average "
           "thinking tokens (and steps used for SCC) and AIME24 accuracy of every {} run, plus the "
           "no-prompt reference run for CCC")


def _write(root, setting, tokens, acc, **extra):
    path = root / "eval" / "s1-32B" / setting / "aime24_nofigures" / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": "s1-32B", "task": "aime24_nofigures", "setting": setting, "n": 30,
                                "accuracy": acc / 100, "avg_thinking_tokens": tokens, **extra}))


@pytest.mark.parametrize("method", [
    m if m in TABLE3_RUNS else pytest.param(m, marks=pytest.mark.skip(reason=MISSING.format(m)))
    for m in TABLE3])
def test_table3_rebuilt_from_the_papers_numbers(tmp_path, method):
    from s1kit.paper.results import find_eval_results, load_eval_results
    from s1kit.paper.tables import scaling_methods_table

    for setting, tokens, acc in TABLE3_RUNS[method]:
        _write(tmp_path, setting, tokens, acc)
    data, _ = scaling_methods_table(load_eval_results(find_eval_results(tmp_path)))
    name, ctrl, slope, perf, tol = TABLE3[method]
    row = data[data["method"] == name].iloc[0]
    assert row["control"] == pytest.approx(ctrl)
    assert row["scaling"] == pytest.approx(slope, abs=tol)
    assert row["performance"] == pytest.approx(perf)
    assert row["runs"] == len(TABLE3_RUNS[method])
