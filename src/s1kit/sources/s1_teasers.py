"""s1-teasers (simplescaling/s1-teasers): the paper's 23 quantitative brain-teasers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "simplescaling/s1-teasers"
FILES = ("data/train-*.parquet",)
SOURCE_TYPE = "qfq/quant"  # the name in the published 59K pool and s1K (the repo's original name)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _answer(value: Any) -> Any:
    """A numeric answer as text (the record's solution is a string); anything else as given."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """Every row: Question (stripped) and Answer; the other columns as metadata (unseeded)."""
    out: list[Row] = []
    for x in read_rows(Path(paths["s1_teasers"]), FILES):
        r = row(_strip(x.pop("Question", None)), SOURCE_TYPE, "math", _answer(x.pop("Answer", None)))
        r["metadata"] = x
        out.append(r)
    return out


SOURCE = HubSource(
    name="s1_teasers",
    inputs={"s1_teasers": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "s1-teasers from `simplescaling/s1-teasers` (train split, "
        "data/collect_data.py:275 (load_quant)): every row, question = `Question.strip()`, "
        "solution = `Answer`, cot_type math, source_type `qfq/quant` as in the published 59K pool. "
        "Paper: 23; no filter, so the raw count is the paper's."
    ),
)
