"""SciEval: a seeded sample of 250 answered questions, balanced over tasks and SocraticQA topics.

The sample follows data/collect_data.py:355 (select_examples_scieval) step by step, quirks included, so that
seed 42 (the official one) over the same upstream rows picks the same rows:

* the order is ``datasets.Dataset.shuffle(seed)``'s: numpy's ``default_rng(seed).permutation``;
* each task gets ``ceil(n / n_tasks)`` places and each ``topic`` value ``ceil(SocraticQA's places /
  n_topic_values)``; only SocraticQA rows have a topic, so ``None`` counts as one more topic;
* a row is taken once for its topic while its topic has places (which spends a SocraticQA place,
  whatever the row's task) and once more for its task while the task has places, so a row can
  be emitted twice: the pool's exact dedup drops the copy, as the official pipeline's did;
* the walk stops when exactly n rows (copies counted) are taken, or at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, read_rows, row

REPO = "OpenDFM/SciEval"
# datasets' file-name split inference at the revisions s1 used: test = *-test-*.json sorted,
# validation = the "valid" then the "dev" file; the official loader concatenates test, validation.
TEST_FILES = ("scieval-test-local.json", "scieval-test.json")
VALIDATION_FILES = ("scieval-valid.json", "scieval-dev.json")
N_SAMPLES = 250
TASK_TO_COT = {"SocraticQA": "science", "reagent selection": "science",
               "MedQA": "health science", "PubMedQA": "health science"}
# The official rewrite of the prompt tails into questions.
REWRITES = (("\nOptimal solvent:", "\nWhat is the optimal solvent?"),
            ("\nOptimal ligand:", "\nWhat is the optimal ligand?"),
            ("\nOptimal reactant:", "\nWhat is the optimal reactant?"))


def clean_question(question: Any) -> Any:
    """Drop the trailing "\\n\\nAnswer:" prompt and turn "Optimal X:" tails into questions."""
    if not isinstance(question, str):
        return question
    question = question.split("\n\nAnswer:")[0]
    for old, new in REWRITES:
        question = question.replace(old, new)
    return question


def shuffled_order(n: int, seed: int) -> list[int]:
    """The row order of ``datasets.Dataset.shuffle(seed=seed)`` on n rows."""
    import numpy as np

    return np.random.default_rng(seed).permutation(n).tolist()


def select_balanced(rows: Sequence[Row], n: int, seed: int) -> list[Row]:
    """The official SciEval sample (see the module docstring); may contain a row twice, adjacently."""
    if not rows or n <= 0:
        return []
    tasks = {r.get("task_name") for r in rows}
    task_left = dict.fromkeys(tasks, math.ceil(n / len(tasks)))
    topics = {r.get("topic") for r in rows}
    topic_left = dict.fromkeys(topics, math.ceil(task_left.get("SocraticQA", 0) / len(topics)))
    picked: list[Row] = []
    for i in shuffled_order(len(rows), seed):
        rec = rows[i]
        topic, task = rec.get("topic"), rec.get("task_name")
        if topic_left[topic] > 0:
            picked.append(rec)
            topic_left[topic] -= 1
            if "SocraticQA" in task_left:
                task_left["SocraticQA"] -= 1
        if task_left[task] > 0:
            picked.append(rec)
            task_left[task] -= 1
        if len(picked) == n:
            break
    return picked


def answered_rows(directory: Path) -> list[Row]:
    """Test then validation rows, in the official order, that have an answer."""
    rows = [r for name in TEST_FILES + VALIDATION_FILES for r in read_rows(directory, (name,))]
    return [r for r in rows if r.get("answer") is not None]


def to_row(rec: Row) -> Row:
    meta = dict(rec)
    question, answer = clean_question(meta.pop("question", None)), meta.pop("answer", None)
    # The official solution is answer[0]; an empty list gives None instead of an IndexError.
    solution = (answer[0] if answer else None) if isinstance(answer, list) else answer
    source_type = f"{REPO}/{meta.get('category')}/{meta.get('type')}/{meta.get('task_name')}"
    return row(question, source_type, TASK_TO_COT.get(meta.get("task_name")), solution, **meta)


def load(paths: Mapping[str, Path], seed: int, n: int = N_SAMPLES) -> list[Row]:
    return [to_row(r) for r in select_balanced(answered_rows(paths["scieval"]), n, seed)]


SOURCE = HubSource(
    name="scieval",
    inputs={"scieval": HubInput(REPO, files=TEST_FILES + VALIDATION_FILES)},
    load=load,
    options={"n": N_SAMPLES},
    doc=(
        "`OpenDFM/SciEval`, its test then validation split (the JSON files `scieval-test-local.json`, "
        "`scieval-test.json`, then `scieval-valid.json`, `scieval-dev.json`: the files datasets "
        "assigns to those splits by name; no loading script), rows with an `answer`, then "
        "data/collect_data.py:355 (select_examples_scieval) of 250 rows, balanced over the four "
        "tasks (SocraticQA, reagent selection, MedQA, PubMedQA) and SocraticQA's topics and seeded by "
        "`seed` (42 reproduces the official shuffle). question = `question` without its trailing "
        "\"Answer:\" and with \"Optimal solvent/ligand/reactant:\" made a question; solution = the "
        "first answer; cot_type `science` (SocraticQA, reagent selection) or `health science` (MedQA, "
        "PubMedQA); source_type `OpenDFM/SciEval/<category>/<type>/<task_name>`. Metadata: category, "
        "topic, ability, type, task_name, prompt, cot_prompt, id. The official selection can take a "
        "row twice (once for its topic, once for its task) and counts non-SocraticQA rows under a "
        "`None` topic; we keep that, so the 250 emitted rows hold fewer distinct questions, and the "
        "pool's exact dedup drops the copies. That is our reading of the paper's 227 (the published "
        "pool: chemistry SocraticQA 52, reagent selection 43, MedQA 43, PubMedQA 35, biology "
        "SocraticQA 29, physics SocraticQA 25), not checked offline. Not applied here: the official "
        "selection first force-kept the questions of a temporary hand-made list, "
        "data/collect_data.py:357 (TMP_QUESTIONS_TO_KEEP), and sampled 250 minus their number."
    ),
)
