"""NuminaMath-CoT: every aops_forum row, plus the rows of the published 500-question subset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows, table_rows

REPO = "AI-MO/NuminaMath-CoT"
SUBSET_REPO = "simplescaling/numinamath_500"  # formerly qfq/numinamath_500
FILES = ("data/train-*.parquet",)
AOPS = "aops_forum"
# `messages` repeats problem and solution as a chat; reading it would double the memory of
# an 860K-row scan for nothing.
SKIP_COLUMNS = ("messages",)


def _scan(directory: Path, subset: set[str]) -> list[Row]:
    """Rows of the train shards that are aops_forum or whose problem is in subset, in file order."""
    files = sorted(p for pat in FILES for p in Path(directory).glob(pat) if p.is_file())
    if not files:
        raise FileNotFoundError(f"{directory}: no file matches {list(FILES)}")
    problems = sorted(subset)
    rows: list[Row] = []
    for f in files:
        columns = [c for c in pq.read_schema(f).names if c not in SKIP_COLUMNS]
        table = pq.read_table(f, columns=columns)
        value_set = pa.array(problems, type=table.schema.field("problem").type)  # string or large_string
        # Kleene OR: a row with a null source but a subset problem is still kept.
        mask = pc.or_kleene(pc.equal(table["source"], AOPS), pc.is_in(table["problem"], value_set=value_set))
        rows.extend(table_rows(table.filter(mask), f))  # a row that is not UTF-8 is quarantined
    return rows


def load(paths: Mapping[str, Path], seed: int, keep_list: Iterable[str] = ()) -> list[Row]:
    """keep_list: problems kept besides the 500 (the official TMP_QUESTIONS_TO_KEEP under collect.semantics
    official, passed by s1kit.collect.write_source)."""
    del seed  # no sampling
    subset = {r.get("problem") for r in read_rows(paths["numinamath_500"], FILES)} | set(keep_list)
    subset.discard(None)
    rows = _scan(paths["numinamath"], subset)
    # Official order: the subset's (non-aops) rows first, then the aops_forum rows.
    ordered = [r for r in rows if r.get("source") != AOPS] + [r for r in rows if r.get("source") == AOPS]
    out = []
    for rec in ordered:
        meta = dict(rec)
        question, solution = meta.pop("problem", None), meta.pop("solution", None)
        out.append(row(question, f"AI-MO/NuminaMath-CoT/{meta.get('source')}", "math", solution, **meta))
    return out


SOURCE = HubSource(
    name="numinamath",
    inputs={"numinamath": HubInput(REPO, files=FILES),
            "numinamath_500": HubInput(SUBSET_REPO, files=FILES)},
    load=load,
    options={"keep_list": []},
    doc=(
        "`AI-MO/NuminaMath-CoT` train split (`data/train-*.parquet`): every row with source `aops_forum`, "
        "plus the non-aops rows whose `problem` is, verbatim, one of the 500 problems of "
        "`simplescaling/numinamath_500` (published as `qfq/numinamath_500`), as in "
        "data/collect_data.py:132 (load_numinamath). question = `problem`, solution = `solution`, cot_type "
        "`math`, source_type `AI-MO/NuminaMath-CoT/<source>`. Metadata: source (`messages` only repeats "
        "problem and solution and is not read). The official loader also keeps the non-aops rows whose "
        "problem is in TMP_QUESTIONS_TO_KEEP (data/collect_data.py:139 (TMP_QUESTIONS_TO_KEEP)); option "
        "`keep_list` does the same (collect.semantics official passes the list read from the pinned file). "
        "Paper: 30,660 (arXiv 2501.19393v3 Table 7)."
    ),
)
