"""Answer extraction and equivalence, on hand cases and the reference data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from s1kit.evaluate.answers import choice_letter, extract_answer, is_equiv, last_boxed, score

DATA = Path("/work/shared/data")
SETS = {"math500": DATA / "math500" / "test.jsonl", "aime24": DATA / "aime24" / "aime24_nofigures.jsonl"}


def golds(name: str) -> list[str]:
    path = SETS[name]
    if not path.is_file():
        pytest.skip(f"reference data {path} is absent")
    with path.open() as f:
        return [str(json.loads(line)["answer"]) for line in f]


@pytest.mark.parametrize(
    "response, expected",
    [
        ("<|im_start|>think\n4 h -2\n<|im_start|>answer\nFinal Answer: 2", "2"),
        ("<|im_start|> think 4 h -2 <|im_start|> answer Final Answer: 2 <|im_end|>", "2"),
        ("<|im_start|>think\nAnswer: 9\n<|im_start|>answer\nAnswer: 3", "3"),  # after the delimiter only
        ("<|im_start|>answer\nSo $\\boxed{\\frac{1}{2}}$ and \\boxed{x^{2}}.", "x^{2}"),
        ("**Answer:** 42.\n\nBecause ...", "42"),
        ("Final Answer: 7 <|im_end|> <|im_start|> user", "7"),
        ("no delimiter, just 5", "no delimiter, just 5"),
    ],
)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


def test_last_boxed_balances_braces():
    assert last_boxed(r"\boxed{\frac{a}{b}} then \boxed{\sqrt{\frac{1}{2}}}") == r"\sqrt{\frac{1}{2}}"
    assert last_boxed(r"\boxed{cut off") is None


@pytest.mark.parametrize(
    "pred, gold, equal",
    [
        ("0.5", r"\frac{1}{2}", True),
        ("x = 5", "5", True),
        ("23", "023", True),  # AIME golds are zero-padded
        ("y = 2x + 3", "3", False),  # a bare parse would take the last number
        (r"3 \pm 2\sqrt{2}", "2", False),
        (r"\$36", "36", True),
        ("(B)", "B", True),
        (r"\text{(C)}", "C", True),
        ("The answer is D", "B", False),
        ("", "0", False),
    ],
)
def test_is_equiv(pred, gold, equal):
    assert is_equiv(pred, gold) is equal


def test_choice_letter():
    assert choice_letter("C. 4 meters") == "C" and choice_letter("I think it is (A)") == "A"
    assert choice_letter("none") is None


@pytest.mark.parametrize("name", sorted(SETS))
@pytest.mark.parametrize("fmt", ["<|im_start|>answer\nAnswer: {g}", "<|im_start|> answer \\boxed{{{g}}} <|im_end|>"])
def test_gold_answers_score_full_marks(name, fmt):
    wrong = [g for g in golds(name) if not score(fmt.format(g=g), g)[1]]
    assert wrong == []


@pytest.mark.parametrize("name, at_most", [("math500", 0.03), ("aime24", 0.0)])
def test_shuffled_answers_score_near_zero(name, at_most):
    gold = golds(name)
    shuffled = gold[:]
    random.Random(0).shuffle(shuffled)
    hits = [(g, s) for g, s in zip(gold, shuffled) if score(f"Answer: {s}", g)[1]]
    assert len(hits) / len(gold) <= at_most, hits
    # The few MATH500 hits are repeated values ("2" and "2"), not false positives.
    assert all(g.replace(" ", "") == s.replace(" ", "") for g, s in hits), hits
