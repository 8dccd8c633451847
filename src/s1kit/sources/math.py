"""MATH: the 12,000 training problems of OpenAI's PRM800K split of Hendrycks MATH.

Named ``math`` after config/s1.yaml; imports stay absolute, so the standard library's
``math`` is never shadowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "simplescaling/openaimath"  # formerly qfq/openaimath (the hub redirects the old name)
# The published 59K pool and s1K name the source by the organisation of the time.
SOURCE_TYPE_PREFIX = "qfq/openaimath/"


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """Every train row; source_type per MATH subject; the other columns (answer, level, ...) as metadata."""
    del seed  # no sampling
    out = []
    for rec in read_rows(paths["openaimath"], ("train.jsonl",)):
        meta = dict(rec)
        question, solution = meta.pop("problem", None), meta.pop("solution", None)
        out.append(row(question, f"{SOURCE_TYPE_PREFIX}{meta.get('subject')}", "math", solution, **meta))
    return out


SOURCE = HubSource(
    name="math",
    inputs={"openaimath": HubInput(REPO, files=("train.jsonl",))},
    load=load,
    doc=(
        "All 12,000 rows of `train.jsonl` in `simplescaling/openaimath` (PRM800K's split of MATH: MATH "
        "train plus the MATH test problems outside MATH500), as in "
        "data/collect_data.py:118 (load_math). question = `problem`, solution = `solution`, "
        "cot_type `math`, source_type `qfq/openaimath/<subject>`: the official code now reads "
        "`simplescaling/openaimath`, but the published 59K pool and s1K carry the old organisation "
        "name, so we keep it. Metadata: answer, subject, level, unique_id. The paper counts 11,999 "
        "(arXiv 2501.19393v3 Table 7), which we read as 12,000 less exact duplicates "
        "removed at pool level (not checked offline)."
    ),
)
