"""Omni-MATH: every problem of its single (test) split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "KbsdJames/Omni-MATH"
FILES = ("test.jsonl",)


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling: data/collect_data.py:303 (select_examples_omni_math) is not configured
    out = []
    for rec in read_rows(paths["omnimath"], FILES):
        meta = dict(rec)
        question, solution = meta.pop("problem", None), meta.pop("solution", None)
        out.append(row(question, REPO, "math", solution, **meta))
    return out


SOURCE = HubSource(
    name="omnimath",
    inputs={"omnimath": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "Every row of `KbsdJames/Omni-MATH` (`test.jsonl`, its only split), as "
        "data/collect_data.py:418 (load_generic) loads it; the hard-problems-per-sub-domain "
        "selection, data/collect_data.py:303 (select_examples_omni_math), is defined but its "
        "entry is commented out, data/collect_data.py:417 (select_examples_omni_math). question = "
        "`problem`, solution = `solution`, cot_type `math`, source_type `KbsdJames/Omni-MATH`. "
        "Metadata: domain, difficulty, answer, source. Paper: 4,238 "
        "(arXiv 2501.19393v3 Table 7); the upstream card announces 4,428 problems, so "
        "we expect the difference to be questions already taken from an earlier source and dropped by "
        "the pool's exact dedup (not checked offline)."
    ),
)
