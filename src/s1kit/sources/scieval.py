"""SciEval: answered questions; the pool step keeps a seeded sample of 250, balanced over tasks and topics.

The loader emits every answered row; ``select_balanced`` is the pool step's sampler
(s1kit.collect.select), run after decontamination as the official code runs
data/collect_data.py:355 (select_examples_scieval), quirks included, so that seed 42 (the
official one) over the same rows picks the same rows:

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

import numpy as np

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

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


def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
    del seed  # the sample is drawn by the pool step, after decontamination
    return [to_row(r) for r in answered_rows(paths["scieval"])]


SOURCE = HubSource(
    name="scieval",
    inputs={"scieval": HubInput(REPO, files=TEST_FILES + VALIDATION_FILES)},
    load=load,
    sample=N_SAMPLES,
    sampler="balanced",
    doc=(
        "`OpenDFM/SciEval`, its test then validation split (the JSON files `scieval-test-local.json`, "
        "`scieval-test.json`, then `scieval-valid.json`, `scieval-dev.json`: the files datasets assigns to "
        "those splits by name; no loading script), rows with an `answer` "
        "(data/collect_data.py:164 (load_scieval)). question = `question` without its trailing \"Answer:\" "
        "and with \"Optimal solvent/ligand/reactant:\" made a question; solution = the first answer; cot_type "
        "`science` (SocraticQA, reagent selection) or `health science` (MedQA, PubMedQA); source_type "
        "`OpenDFM/SciEval/<category>/<type>/<task_name>`. Metadata: category, topic, ability, type, "
        "task_name, prompt, cot_prompt, id. The pool step then keeps 250 rows (option `sample`) after "
        "decontamination with the official selection (data/collect_data.py:355 (select_examples_scieval)): "
        "balanced over the four tasks and the topics, seeded by `collect.seed` (42 reproduces the official "
        "shuffle); under `collect.semantics: official` the questions of the official TMP_QUESTIONS_TO_KEEP "
        "list (data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP), read from the pinned file) are kept first "
        "and 250 minus their number are drawn. The selection can take a row twice (once for its topic, once "
        "for its task) and counts non-SocraticQA rows under a `None` topic; the pool's exact dedup drops "
        "the copies. Paper: 227 (arXiv 2501.19393v3 Table 7)."
    ),
)
