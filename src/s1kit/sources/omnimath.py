"""Omni-MATH: every problem of its single (test) split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, read_rows, row

REPO = "KbsdJames/Omni-MATH"
FILES = ("test.jsonl",)


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling: the official OmniMATHSelection exists but is not configured
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
        "Every row of `KbsdJames/Omni-MATH` (`test.jsonl`, its only split), as the official code loads it "
        "through data/collect_data.py:418 (load_generic); data/collect_data.py:303 (select_examples_omni_math) "
        "(hard problems per sub-domain) is defined but not used in the configuration. question = `problem`, solution = "
        "`solution`, cot_type `math`, source_type `KbsdJames/Omni-MATH`. Metadata: domain, difficulty, "
        "answer, source. Paper: 4,238; the upstream card announces 4,428 problems, so we expect the difference to be questions already taken from an earlier source and "
        "dropped by the pool's exact dedup (not checked offline)."
    ),
)
