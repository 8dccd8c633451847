"""OlympicArena: English, text-only problems of its 7 subjects, test and val splits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "GAIR/OlympicArena"
SUBJECTS = ("Math", "Physics", "Chemistry", "Biology", "Geography", "Astronomy", "CS")
SPLITS = ("test", "val")  # the official loader concatenates every test split, then every val split
SUBJECT_TO_COT = {"Math": "math", "CS": "coding"}  # every other subject: "science"
# Unit-test cases of the CS problems: megabytes per row and of no use to distillation.
DROP_FROM_METADATA = ("test_cases",)
FILES = tuple(f"{subject}/{split}-*.parquet" for split in SPLITS for subject in SUBJECTS)


def selected(rec: Row) -> bool:
    return rec.get("language") == "EN" and rec.get("modality") == "text-only"


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # no sampling
    out = []
    for pattern in FILES:  # one file per subject and split, read in the official order
        for rec in read_rows(paths["olympicarena"], (pattern,)):
            if not selected(rec):
                continue
            meta = {k: v for k, v in rec.items() if k not in DROP_FROM_METADATA}
            question, solution = meta.pop("problem", None), meta.pop("solution", None)
            subject = meta.get("subject")
            out.append(row(question, f"GAIR/OlympicArena/{subject}", SUBJECT_TO_COT.get(subject, "science"),
                           solution, **meta))
    return out


SOURCE = HubSource(
    name="olympicarena",
    inputs={"olympicarena": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "`GAIR/OlympicArena`, the test and val splits of its 7 subject configs (Math, Physics, "
        "Chemistry, Biology, Geography, Astronomy, CS), rows with language `EN` and modality "
        "`text-only`, as in data/collect_data.py:146 (load_olympic_arena). The hub repository "
        "holds plain parquet files, `<Subject>/{test,val}-*.parquet`, with no loading script, so they "
        "are read directly (`trust_remote_code` was a no-op there). question = `problem`, solution = "
        "`solution`, cot_type `math` (Math), `coding` (CS) or `science`, source_type "
        "`GAIR/OlympicArena/<subject>`. Metadata: the other columns (id, prompt, answer, answer_type, "
        "unit, figure_urls, language, modality, ...) except `test_cases` (CS unit tests, megabytes per "
        "row; the official code kept them). Paper: 4,250, the sum of the published pool's 7 subject "
        "counts (Math 2,203, Chemistry 661, Physics 516, Biology 352, Astronomy 217, Geography 211, CS "
        "90)."
    ),
)
