"""Control, Scaling and Performance on hand-computed examples and the paper's points."""

from __future__ import annotations

import pytest

from s1kit.evaluate.metrics import control, performance, scaling

# PAPER.md Figure 1, AIME24 (average thinking tokens, accuracy %); Table 3 budget forcing.
AIME24_BF = [(500, 0.0), (1000, 13.3), (2000, 30.0), (3933, 43.3), (5300, 50.0), (6657, 53.3), (7320, 56.7)]
# PAPER.md rejection sampling on AIME24; Table 3 rejection sampling.
AIME24_RS = [(2957, 40.0), (3737, 36.7), (4305, 33.3), (4611, 30.0), (4940, 26.7), (5008, 23.3)]


def test_control():
    assert control([10, 20, 30, 40], None, 30) == 0.75
    assert control([10, 20, 30, 40], 15, 30) == 0.5
    assert control([5], None, None) == 1.0
    with pytest.raises(ValueError):
        control([], None, 10)


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
