"""OlympiadBench: text-only English competition problems, open-ended and theorem proving, maths and physics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "Hothan/OlympiadBench"
# OE/TP: open-ended / theorem proof; TO: text-only (MM would be multimodal); en; COMP: competitions.
CONFIGS = ("OE_TO_maths_en_COMP", "OE_TO_physics_en_COMP", "TP_TO_maths_en_COMP", "TP_TO_physics_en_COMP")
FILES = tuple(f"OlympiadBench/{c}/*.parquet" for c in CONFIGS)
IMAGE_COLUMNS = tuple(f"image_{i}" for i in range(1, 6))  # empty in text-only configs; bytes are not JSON


def first(value: Any) -> Any:
    """The first worked solution (``solution`` is a list); None when there is none."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling
    out = []
    for pattern in FILES:  # one config after another, in the official order
        for rec in read_rows(paths["olympiadbench"], (pattern,)):
            meta = {k: v for k, v in rec.items() if k not in IMAGE_COLUMNS}
            question, solution = meta.pop("question", None), first(meta.pop("solution", None))
            source_type = f"Hothan/OlympiadBench/{meta.get('question_type')}/{meta.get('subject')}"
            out.append(row(question, source_type, "math", solution, **meta))
    return out


SOURCE = HubSource(
    name="olympiadbench",
    inputs={"olympiadbench": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "`Hothan/OlympiadBench`, the four English text-only competition configs OE_TO_maths_en_COMP, "
        "OE_TO_physics_en_COMP, TP_TO_maths_en_COMP and TP_TO_physics_en_COMP (open-ended and theorem "
        "proving, maths and physics), as in data/collect_data.py:195 (load_olympiad_bench). The "
        "repository is plain parquet, `OlympiadBench/<config>/<config>.parquet`, with no loading "
        "script (assumed layout, from its card's `configs`). question = `question` (the optional "
        "`context` is not prepended, as in the official code), solution = the first of the `solution` "
        "list, cot_type `math` (physics too), source_type "
        "`Hothan/OlympiadBench/<question_type>/<subject>`. Metadata: the other columns (final_answer, "
        "context, answer_type, unit, subfield, ...) except the image columns. The configs hold 674 + "
        "236 + 503 + 25 = 1,438 rows; the paper's 896 matches the published pool (503 + 236 + 132 + "
        "25), so 542 open-ended maths questions presumably duplicate questions of earlier sources and "
        "are dropped by the pool's exact dedup."
    ),
)
