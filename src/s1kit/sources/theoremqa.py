"""TheoremQA: the test problems without a picture."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "TIGER-Lab/TheoremQA"
FILES = ("data/test-*.parquet",)


def has_picture(value: Any) -> bool:
    """A datasets Image cell: null, or a {bytes, path} struct (both null also means no picture)."""
    if value is None:
        return False
    if isinstance(value, dict):
        return value.get("bytes") is not None or value.get("path") is not None
    return True


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling
    out = []
    for rec in read_rows(paths["theoremqa"], FILES):
        if has_picture(rec.get("Picture")):
            continue
        # Picture is null on every kept row: nothing to keep, and image bytes are not JSON.
        meta = {k: v for k, v in rec.items() if k != "Picture"}
        question, solution = meta.pop("Question", None), meta.pop("Answer", None)
        out.append(row(question, f"TIGER-Lab/TheoremQA/{meta.get('Answer_type')}", "math", solution, **meta))
    return out


SOURCE = HubSource(
    name="theoremqa",
    inputs={"theoremqa": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "`TIGER-Lab/TheoremQA`, test split (`data/test-*.parquet`, plain parquet, no loading script), "
        "rows whose `Picture` is null, as in data/collect_data.py:157 (load_theoremqa). question "
        "= `Question`, solution = `Answer` (the answer only: TheoremQA has no worked solutions), "
        "cot_type `math`, source_type `TIGER-Lab/TheoremQA/<Answer_type>`. Metadata: the other columns "
        "but `Picture` (Answer_type, and id where the snapshot has one). Assumed schema: `Picture` is "
        "a datasets Image column (a struct of bytes and path, null when absent). Paper: 747 (800 "
        "problems less 53 with a picture), equal to the published pool's 360 float + 200 integer + 112 "
        "bool + 51 list of integer + 16 option + 8 list of float."
    ),
)
