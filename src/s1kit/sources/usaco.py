"""USACO (codegenning/usacobench_formatted): the USACO benchmark's problems, test split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "codegenning/usacobench_formatted"
FILES = ("default/test/*.parquet",)


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """Every test row: question (stripped), no solution; the other columns as metadata (unseeded)."""
    out: list[Row] = []
    for x in read_rows(Path(paths["usaco"]), FILES):
        q = x.pop("question", None)
        r = row(q.strip() if isinstance(q, str) else q, REPO, "coding")
        r["metadata"] = x
        out.append(r)
    return out


SOURCE = HubSource(
    name="usaco",
    inputs={"usaco": HubInput(REPO, files=FILES, revision="refs/convert/parquet")},
    load=load,
    doc=(
        "USACO from `codegenning/usacobench_formatted` (test split, "
        "data/collect_data.py:268 (load_usaco)): every row, question = `question.strip()`, no "
        "solution, cot_type coding. Read from the hub's parquet export (`refs/convert/parquet`, "
        "`default/test/NNNN.parquet`) because the main branch's data layout is not documented; the "
        "only column relied on is `question`, all others go to metadata. Paper: 519; no filter, so the "
        "raw count is the paper's."
    ),
)
