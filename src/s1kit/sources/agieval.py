"""AGIEval (baber/agieval): SAT, LSAT, LogiQA and AQuA-RAT questions plus MATH level 5."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "baber/agieval"
# Configs whose question is passage + question + options, with the official cot_type of each.
WITH_PASSAGE = {"sat_en": "english", "sat_math": "math", "lsat_ar": "english", "lsat_lr": "english",
                "lsat_rc": "english", "logiqa": "math"}
NO_PASSAGE = ("aqua_rat",)
MATH = "math_agieval"
CONFIGS = (*WITH_PASSAGE, *NO_PASSAGE, MATH)
SPLITS = ("test", "few_shot")  # the official code concatenates both splits of every config


def split_files(config: str, split: str) -> tuple[str, ...]:
    """The parquet export's files for one config/split: the current layout and the pre-2024 one."""
    return (f"{config}/{split}/*.parquet", f"{config}/*-{split}.parquet", f"{config}/*-{split}-*.parquet")
MATH_LEVEL = 5


def _passage_question(x: dict[str, Any]) -> Any:
    """The official "(passage + '\\n\\n').strip() + question + '\\n' + '\\n'.join(options)".

    The strip removes the separator it has just added, so passage and question are joined
    with nothing between them: kept as the official pool has it. A non-string question
    stays as it is (quality quarantines it); a missing passage or options is empty.
    """
    passage, question, options = x.pop("passage", None), x.pop("question", None), x.pop("options", None)
    if not isinstance(question, str):
        return question
    passage = passage if isinstance(passage, str) else ""
    options = [o for o in options if isinstance(o, str)] if isinstance(options, list) else []
    return (passage + "\n\n").strip() + question + "\n" + "\n".join(options)


def _rows(root: Path, config: str) -> Iterator[dict[str, Any]]:
    for split in SPLITS:
        yield from read_rows(root, split_files(config, split))


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """All rows of the eight configs, test then few_shot, MATH restricted to level 5 (unseeded)."""
    root = Path(paths["agieval"])
    out: list[Row] = []
    for config in CONFIGS:
        for x in _rows(root, config):
            if config == MATH and x.get("level") != MATH_LEVEL:
                continue
            if config in WITH_PASSAGE:
                question, cot_type = _passage_question(x), WITH_PASSAGE[config]
            else:
                question, cot_type = x.pop("question", None), "math"
            solution = x.pop("solution", None)
            r = row(question, f"{REPO}/{config}", cot_type, solution)
            r["metadata"] = x  # the remaining upstream columns (label, answer, level, ...)
            out.append(r)
    return out


SOURCE = HubSource(
    name="agieval",
    inputs={"agieval": HubInput(REPO, files=tuple(f for c in CONFIGS for s in SPLITS for f in split_files(c, s)),
                                revision="refs/convert/parquet")},
    load=load,
    doc=(
        "AGIEval from `baber/agieval` (data/collect_data.py:215 (load_agieval)): configs sat_en, "
        "sat_math, lsat_ar, lsat_lr, lsat_rc and logiqa with question = passage + question + options "
        "(the official `(passage + '\\n\\n').strip()` drops the separator, so passage and question are "
        "joined directly, kept as-is), aqua_rat (question only) and math_agieval rows with `level == "
        "5`; test and few_shot splits of each. cot_type english for sat_en/lsat_*, math for the rest; "
        "source_type `baber/agieval/<config>`. The repo is a loading script that downloads the AGIEval "
        "v1 jsonl from GitHub, so this reads the hub's parquet export (`refs/convert/parquet`, layout "
        "`<config>/<split>/NNNN.parquet` or the older `<config>/agieval-<split>.parquet`; assumed "
        "columns as the script's: passage/question/options/label/solution/level). UNVERIFIED: the repo "
        "page shows no dataset viewer, so the export may not exist; then the fetch fails loudly and "
        "AGIEval needs another input. Paper: 2,385 (arXiv 2501.19393v3 Table 7)."
    ),
)
