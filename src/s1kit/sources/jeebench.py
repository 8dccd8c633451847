"""JEEBench: every problem of its test split (maths, physics, chemistry)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "daman1209arora/jeebench"
FILES = ("test.json",)
# Physics is counted as maths, as in the official loader: its questions are mostly calculation.
SUBJECT_TO_COT = {"math": "math", "phy": "math", "chem": "science"}


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling
    out = []
    for rec in read_rows(paths["jeebench"], FILES):
        meta = dict(rec)
        question, solution = meta.pop("question", None), meta.pop("gold", None)
        subject = meta.get("subject")
        # An unknown subject maps to None (the official code raised KeyError); collection defaults it.
        out.append(row(question, f"{REPO}/{subject}", SUBJECT_TO_COT.get(subject), solution, **meta))
    return out


SOURCE = HubSource(
    name="jeebench",
    inputs={"jeebench": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "Every row of `daman1209arora/jeebench` (`test.json`, a JSON list, its only split), as in "
        "data/collect_data.py:208 (load_jeebench). question = `question`, solution = `gold` (the "
        "answer key only), cot_type `math` for math and phy, `science` for chem, source_type "
        "`daman1209arora/jeebench/<subject>`. Metadata: description, index, subject, type. Paper: 515, "
        "equal to the published pool's math 236 + chem 156 + phy 123."
    ),
)
