"""Crossword clues (0xharib/xword1): 1,000 clues drawn with the official shuffle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from s1kit.sources.hub import HubInput, HubSource, Row, read_rows, row

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


def load(paths: Mapping[str, Path], seed: int, n: int = 1000, sample_seed: int | None = 42) -> list[Row]:
    """n rows in the order of ``datasets.Dataset.shuffle(seed=sample_seed)``, then mapped.

    datasets' shuffle is ``np.random.default_rng(seed).permutation(len)``; the official
    RandomSampling then keeps the first n. sample_seed None uses the run seed.
    """
    rows = read_rows(Path(paths["xword"]), FILES)
    rng = np.random.default_rng(seed if sample_seed is None else sample_seed)
    out: list[Row] = []
    for i in rng.permutation(len(rows))[:n]:
        x = dict(rows[int(i)])
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
    options={"n": 1000, "sample_seed": 42},
    doc=(
        "Crossword clues from `0xharib/xword1` (train split, "
        "data/collect_data.py:255 (load_xword)): question = the fixed instruction + `\\n\\n` + "
        "the text after `### Clue: ` in `input`, solution = `output`, cot_type crossword. Sampling as "
        "data/collect_data.py:469 (shuffle) with "
        "data/collect_data.py:432 (load_xword, None, 1000): `Dataset.shuffle(seed=42)` "
        "(numpy `default_rng(42).permutation`) then the first 1,000 (options `n`, `sample_seed`; None "
        "= run seed). The repo holds JSON files whose row order decides the sample, so this reads the "
        "hub's parquet export (`refs/convert/parquet`, `default/train/NNNN.parquet`), which is the row "
        "order `datasets` loads. Paper: 999 (arXiv 2501.19393v3 Table 7), which we read "
        "as one of the 1,000 being an exact duplicate removed by dedup (not checked offline)."
    ),
)
