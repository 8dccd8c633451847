"""GPQA (Idavidrein/gpqa): the extended set minus the Diamond questions."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, read_rows, row

REPO = "Idavidrein/gpqa"
EXTENDED = "gpqa_extended/train/*.parquet"
DIAMOND = "gpqa_diamond/train/*.parquet"
SOURCE_TYPE = "Idavidrein/gpqa"
DOMAIN_COT = {"Chemistry": "science", "Biology": "science", "Physics": "science"}
CHOICES_TEMPLATE = "{question}\nAnswer Choices:\n(A) {0}\n(B) {1}\n(C) {2}\n(D) {3}"
CHOICE_COLUMNS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3", "Correct Answer")


def _with_choices(question: Any, solution: Any, x: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """The official format, data/fix_gpqa.py:13 (TEMPLATE): shuffled choices after the question,
    the letter after the solution.

    data/fix_gpqa.py:24 (random.shuffle) shuffled with the global ``random`` module, so the
    order depended on every row processed before; here each question gets its own generator
    (seed and question text), so the order is reproducible and independent of row order.
    """
    choices = [x.get(c) for c in CHOICE_COLUMNS]
    if not isinstance(question, str) or not all(isinstance(c, str) for c in choices):
        return question, solution  # malformed upstream row: left for the quality step
    choices = [c.strip("\n") for c in choices]
    correct = choices[-1]
    random.Random(f"{seed}\0{question}").shuffle(choices)
    letter = chr(65 + choices.index(correct))
    question = CHOICES_TEMPLATE.format(*choices, question=question)
    solution = (solution if isinstance(solution, str) else "") + "\n\nAnswer: " + letter
    return question, solution


def load(paths: Mapping[str, Path], seed: int, answer_choices: bool = True, choice_seed: int | None = 42
         ) -> list[Row]:
    """gpqa_extended rows whose Question is not a gpqa_diamond Question.

    answer_choices applies the multiple-choice format of data/fix_gpqa.py:15 (process_example)
    (choice_seed, default 42 as data/fix_gpqa.py:7 (random.seed) seeds; None uses the run seed).
    """
    root = Path(paths["gpqa"])
    diamond = {x.get("Question") for x in read_rows(root, [DIAMOND])}
    cseed = seed if choice_seed is None else choice_seed
    out: list[Row] = []
    for x in read_rows(root, [EXTENDED]):
        if x.get("Question") in diamond:
            continue
        question, solution = x.pop("Question", None), x.pop("Explanation", None)
        if answer_choices:
            question, solution = _with_choices(question, solution, x, cseed)
        r = row(question, SOURCE_TYPE, DOMAIN_COT.get(x.get("High-level domain"), "science"), solution)
        r["metadata"] = x
        out.append(r)
    return out


SOURCE = HubSource(
    name="gpqa",
    inputs={"gpqa": HubInput(REPO, files=(EXTENDED, DIAMOND), revision="refs/convert/parquet")},
    load=load,
    options={"answer_choices": True, "choice_seed": 42},
    doc=(
        "GPQA from `Idavidrein/gpqa` (gated; data/collect_data.py:244 (load_gpqa_extended)): "
        "config gpqa_extended, train split, minus every row whose `Question` is a gpqa_diamond "
        "`Question` (546 - 198 = 348); question = `Question`, solution = `Explanation`, cot_type "
        "science (all three High-level domains), source_type `Idavidrein/gpqa`. Then "
        "data/fix_gpqa.py:33 (TEMPLATE.format) rewrites each question as `{Question}\\nAnswer "
        "Choices:\\n(A) ...(D) ...` with the four answers (stripped of newlines) shuffled, and appends "
        "`\\n\\nAnswer: <letter>` to the solution; option `answer_choices` (default on) does the same, "
        "but shuffles with a per-question generator seeded by `choice_seed` (default 42) instead of "
        "the global `random` state (data/fix_gpqa.py:24 (random.shuffle)), whose order depends on "
        "all rows before (so letters differ from the published pool). The repo holds CSV files, so "
        "this reads the hub's parquet export (`refs/convert/parquet`, `<config>/train/NNNN.parquet`). "
        "Paper: 348 (arXiv 2501.19393v3 Table 7)."
    ),
)
