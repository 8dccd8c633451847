"""GPQA (Idavidrein/gpqa): the extended set minus the Diamond questions."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from s1kit.records import question_hash
from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "Idavidrein/gpqa"
EXTENDED = "gpqa_extended/train/*.parquet"
DIAMOND = "gpqa_diamond/train/*.parquet"
SOURCE_TYPE = "Idavidrein/gpqa"
DOMAIN_COT = {"Chemistry": "science", "Biology": "science", "Physics": "science"}
CHOICES_TEMPLATE = "{question}\nAnswer Choices:\n(A) {0}\n(B) {1}\n(C) {2}\n(D) {3}"
CHOICE_COLUMNS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3", "Correct Answer")


def _with_choices(question: Any, solution: Any, meta: Mapping[str, Any], rng: random.Random) -> tuple[Any, Any]:
    """data/fix_gpqa.py:15 (process_example): the four answers (newlines stripped) shuffled by rng
    after the question, the correct letter after the solution."""
    choices = [meta.get(c) for c in CHOICE_COLUMNS]
    if not isinstance(question, str) or not all(isinstance(c, str) for c in choices):
        return question, solution  # malformed upstream row: left as it is
    choices = [c.strip("\n") for c in choices]
    correct = choices[-1]
    rng.shuffle(choices)
    letter = chr(65 + choices.index(correct))
    question = CHOICES_TEMPLATE.format(*choices, question=question)
    solution = (solution if isinstance(solution, str) else "") + "\n\nAnswer: " + letter
    return question, solution


def add_choices(records: list[Row], rng_for: Callable[[str], random.Random]) -> list[Row]:
    """The pool step's finish: GPQA question records with the multiple-choice format, in pool order.

    rng_for(question) gives the generator: one shared generator seeded once reproduces the
    official global ``random`` state, data/fix_gpqa.py:7 (random.seed) (collect.semantics
    official); one generator per question makes each order independent of the rows before it
    (kit).
    """
    out = []
    for r in records:
        question, solution = _with_choices(r["question"], r["solution"], json.loads(r["metadata"]),
                                           rng_for(r["question"]))
        out.append({**r, "id": question_hash(question), "question": question, "solution": solution})
    return out


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    """gpqa_extended rows whose Question is not a gpqa_diamond Question, as
    data/collect_data.py:244 (load_gpqa_extended); the pool step adds the answer choices (``add_choices``)."""
    del seed
    root = Path(paths["gpqa"])
    diamond = {x.get("Question") for x in read_rows(root, [DIAMOND])}
    out: list[Row] = []
    for x in read_rows(root, [EXTENDED]):
        if x.get("Question") in diamond:
            continue
        question, solution = x.pop("Question", None), x.pop("Explanation", None)
        r = row(question, SOURCE_TYPE, DOMAIN_COT.get(x.get("High-level domain"), "science"), solution)
        r["metadata"] = x
        out.append(r)
    return out


SOURCE = HubSource(
    name="gpqa",
    inputs={"gpqa": HubInput(REPO, files=(EXTENDED, DIAMOND), revision="refs/convert/parquet")},
    load=load,
    finish=add_choices,
    doc=(
        "GPQA from `Idavidrein/gpqa` (gated; data/collect_data.py:244 (load_gpqa_extended)): config "
        "gpqa_extended, train split, minus every row whose `Question` is a gpqa_diamond `Question` (546 - "
        "198 = 348); question = `Question`, solution = `Explanation`, cot_type science (all three "
        "High-level domains), source_type `Idavidrein/gpqa`. After collection (decontamination on the bare "
        "question, as the official loop does), the pool step rewrites each question as "
        "data/fix_gpqa.py:15 (process_example) does: `{Question}\\nAnswer Choices:\\n(A) ...(D) ...` with the "
        "four answers (stripped of newlines) shuffled, and `\\n\\nAnswer: <letter>` appended to the solution. "
        "The shuffle: under `collect.semantics: official` one `random.Random(collect.seed)` walked over the "
        "GPQA rows in pool order (the official global state after data/fix_gpqa.py:7 (random.seed)); under "
        "`kit` one generator per question (seed and text), so the order does not depend on the rows before. "
        "The repo holds CSV files, so this reads the hub's parquet export (`refs/convert/parquet`, "
        "`<config>/train/NNNN.parquet`). Paper: 348 (arXiv 2501.19393v3 Table 7)."
    ),
)
