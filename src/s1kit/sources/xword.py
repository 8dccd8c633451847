"""Crossword clues (0xharib/xword1): every clue; the pool step keeps 1,000 of a seeded shuffle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "0xharib/xword1"
FILES = ("default/train/*.parquet",)
INSTRUCTION = ("Solve the crossword puzzle. You are presented with a clue as input and the number of letters in "
               "brackets.")
CLUE_MARKER = "### Clue: "


def _question(text: Any) -> Any:
    """The official instruction + the text after "### Clue: "; None when the marker is missing."""
    if not isinstance(text, str):
        return text
    parts = text.split(CLUE_MARKER)
    return INSTRUCTION + "\n\n" + parts[1] if len(parts) > 1 else None


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """Every row, mapped, in the file order ``datasets`` loads (the sample is the pool step's)."""
    del seed
    out: list[Row] = []
    for x in read_rows(Path(paths["xword"]), FILES):
        x = dict(x)
        inp = x.pop("input", None)
        r = row(_question(inp), REPO, "crossword", x.pop("output", None))
        if r["question"] is None and inp is not None:
            x["input"] = inp  # keep the unparsable clue visible in quarantine
        r["metadata"] = x
        out.append(r)
    return out


SOURCE = HubSource(
    name="xword",
    inputs={"xword": HubInput(REPO, files=FILES, revision="refs/convert/parquet")},
    load=load,
    sample=1000,
    doc=(
        "Crossword clues from `0xharib/xword1` (train split, data/collect_data.py:255 (load_xword)): "
        "question = the fixed instruction + `\\n\\n` + the text after `### Clue: ` in `input`, solution = "
        "`output`, cot_type crossword. The pool step keeps 1,000 (option `sample`) after decontamination, "
        "as the official loop does (data/collect_data.py:469 (shuffle)): `Dataset.shuffle(seed)` (numpy "
        "`default_rng(seed).permutation`, `collect.seed`, 42 in the paper config) then the first 1,000; "
        "under `collect.semantics: official` minus the questions of the official TMP_QUESTIONS_TO_KEEP list "
        "found here, which are appended. The repo holds JSON files whose row order decides the sample, so "
        "this reads the hub's parquet export (`refs/convert/parquet`, `default/train/NNNN.parquet`), which "
        "is the row order `datasets` loads. Paper: 999 (arXiv 2501.19393v3 Table 7): one of the 1,000 is an "
        "exact duplicate removed by dedup (our reading, not checked offline)."
    ),
)
