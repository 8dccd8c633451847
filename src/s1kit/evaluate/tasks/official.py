"""The s1 paper's evaluation tasks: the official prompts, pinned data and scoring.

Prompts, copied exactly from the official fork's task code in simplescaling/s1 at 77272c6
(eval/lm-evaluation-harness/lm_eval/tasks/aime/utils.py:20 (QUERY_TEMPLATE),
eval/lm-evaluation-harness/lm_eval/tasks/openai_math/utils.py:20 (QUERY_TEMPLATE),
eval/lm-evaluation-harness/lm_eval/tasks/gpqa/openai/utils.py:12 (QUERY_TEMPLATE)):

- AIME and MATH500: ``QUERY_TEMPLATE = "{Question}"``, the problem as it is;
- GPQA Diamond: ``"{Question}\\n\\nA) {choice1}\\nB) {choice2}\\nC) {choice3}\\nD) {choice4}"``;
- the conditional-control variants (arXiv 2501.19393v3 Table 3) append ``"\\n\\n"`` and one sentence.
  The fork chose them with environment variables (PROMPTTOKEN=N, PROMPTSTEP=N, PROMPTLONG,
  PROMPTSHORT); here task metadata chooses them: ``control`` (none, tcc, scc, ccc-long,
  ccc-short) and ``budget`` (tcc/scc), e.g. ``TaskManager(metadata={"control": "tcc",
  "budget": 4000, "data_path": ...})`` or ``lm_eval --metadata '{"control": "tcc", ...}'``.

Data: every task's ``custom_dataset`` is :func:`load_docs`. With metadata ``data_path`` it
reads that local JSONL (the upstream columns: ``problem``/``answer`` for AIME and MATH,
``Question``/``Correct Answer``/``Incorrect Answer 1-3`` for GPQA); without, it loads the
hub dataset named in the task's ``dataset_kwargs`` (hub_path, hub_name, hub_split,
hub_revision), never with ``trust_remote_code``. (Not ``revision``: lm-eval calls
``custom_dataset(**metadata, **dataset_kwargs)`` and its CLI merges ``--model_args`` into the
metadata, so a model ``revision=`` would collide.) Either way the docs are built here: id (=
``records.question_hash``), source_id, question, answer (gold), prompt (the full prompt,
control suffix included; ``doc_to_text: prompt``) and, for GPQA, choice1-4.

GPQA answer order: the fork shuffled the choices with the global ``random`` module inside
``process_docs``
(eval/lm-evaluation-harness/lm_eval/tasks/gpqa/openai/utils.py:230 (random.shuffle)), so the order changed with everything that ran before.
Here (``gpqa_order.py``) each question gets its own ``random.Random(int(question_hash(q)[:8], 16) ^ shuffle_seed)``
(metadata ``shuffle_seed``, default 0); the gold letter follows the shuffle. Metadata
``choice_order: fork`` (``evaluate.semantics: fork``) gives the fork's order instead: one
``random.Random(shuffle_seed)`` shuffling the choice strings question after question, with
``shuffle_seed`` defaulting to 1234 (``gpqa_order.FORK_ENGINE_SEED``). That is the global-RNG state of an
official command when GPQA's process_docs first runs: lm-eval's ``random.seed(0)``
(eval/lm-evaluation-harness/lm_eval/evaluator.py:150 (random.seed)) comes before the model is
built (eval/lm-evaluation-harness/lm_eval/evaluator.py:201 (create_from_arg_string)), and
building the fork's vLLM model (seed 1234,
eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:94 (seed)) reseeds the driver
process's ``random`` with it (vLLM 0.6.4.post1: vllm/worker/worker.py:149 and :296, after the
warm-up, via vllm/platforms/interface.py:128); the tasks are built after that
(eval/lm-evaluation-harness/lm_eval/evaluator.py:232 (get_task_dict)) and nothing before GPQA
draws from ``random``. ``datasets``' map cache can replace that order with an earlier run's:
docs/fidelity.md ("GPQA choice order") gives the whole chain; ``shuffle_seed: 0`` is the
order of a first run without vLLM, such as eval/commands.sh:6 (--model dummy).

Scoring: ``answers.score`` (math_verify; letters for GPQA) instead of gpt-4o-mini, with
metadata ``scoring`` (``kit``, default, or ``fork``; ``evaluate.scoring`` in the config),
written into every doc so that ``process_results`` sees it. With ``kit`` a GPQA response
without a letter is wrong and an answer met only while thinking is not credited; ``fork``
does as the fork did (a missing letter is "A"; answers.py says which section is read). Several
samples per question (the ``*_agg64`` tasks) add ``avg@k``, ``maj@k`` and ``cov@k`` from
``evaluate.voting``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from s1kit.evaluate.answers import DEFAULT_SCORING, choice_letter, score, scoring_of
from s1kit.evaluate.semantics import DEFAULT_SEMANTICS, semantics_of
from s1kit.evaluate.tasks import read_jsonl
from s1kit.evaluate.voting import sample_metrics
from s1kit.records import question_hash

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- prompts

QUERY_TEMPLATE = "{Question}"
GPQA_TEMPLATE = "{Question}\n\nA) {choice1}\nB) {choice2}\nC) {choice3}\nD) {choice4}"
CONTROL_PROMPTS = {
    "tcc": "Think for up to {budget} tokens.",  # PROMPTTOKEN
    "scc": "Think for up to {budget} steps.",  # PROMPTSTEP
    "ccc-long": (  # PROMPTLONG
        "Answer after a long amount of thinking. If you feel like you are finished early, spend the extra "
        "time trying to double-check your work until you are absolutely sure that you have the correct answer."
    ),
    "ccc-short": "Answer after a short amount of thinking. Do not spend excessive time double-checking your work.",
}
CONTROLS = ("none", *CONTROL_PROMPTS)
_NEEDS_BUDGET = ("tcc", "scc")


def control_suffix(control: str | None = "none", budget: Any = None) -> str:
    """The sentence a control variant appends ("" for none); ValueError names a bad value."""
    control = "none" if control in (None, "") else str(control)
    if control not in CONTROLS:
        raise ValueError(f"metadata control={control!r}: expected one of {list(CONTROLS)}")
    if control == "none":
        if budget is not None:
            raise ValueError(f"metadata budget={budget!r} needs control tcc or scc")
        return ""
    if control in _NEEDS_BUDGET:
        ok = isinstance(budget, int) and not isinstance(budget, bool) or isinstance(budget, str) and budget.isdigit()
        if not ok or int(budget) <= 0:
            raise ValueError(f"metadata control={control!r} needs an integer budget > 0, got budget={budget!r}")
        return CONTROL_PROMPTS[control].format(budget=int(budget))
    if budget is not None:
        raise ValueError(f"metadata budget={budget!r} does not apply to control={control!r}")
    return CONTROL_PROMPTS[control]


def with_control(prompt: str, control: str | None = "none", budget: Any = None) -> str:
    """``prompt`` with the control sentence appended after a blank line, as the fork did."""
    suffix = control_suffix(control, budget)
    return f"{prompt}\n\n{suffix}" if suffix else prompt


def math_prompt(question: str, control: str | None = "none", budget: Any = None) -> str:
    return with_control(QUERY_TEMPLATE.format(Question=question), control, budget)


def gpqa_prompt(question: str, choices: Sequence[str], control: str | None = "none", budget: Any = None) -> str:
    if len(choices) != 4:
        raise ValueError(f"GPQA needs 4 choices, got {len(choices)}")
    text = GPQA_TEMPLATE.format(Question=question, **{f"choice{i + 1}": c for i, c in enumerate(choices)})
    return with_control(text, control, budget)


# ---------------------------------------------------------------------------- data


def hub_rows(hub_path: str, hub_name: str | None, hub_split: str, hub_revision: str | None) -> list[dict[str, Any]]:
    """Rows of a hub dataset at a revision (network or the local hub cache)."""
    import datasets  # heavy: datasets, only to read the hub

    if not hub_path:
        raise ValueError("no data_path in the task metadata and no hub_path in the task's dataset_kwargs")
    if not hub_revision or hub_revision == "main":
        log.warning("%s is not pinned (hub_revision=%r); results may change with the hub", hub_path, hub_revision)
    ds = datasets.load_dataset(hub_path, hub_name or None, split=hub_split, revision=hub_revision or None)
    return [dict(r) for r in ds]


def _field(row: dict, names: Sequence[str], where: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    raise ValueError(f"{where}: none of the fields {list(names)} (has {sorted(row)})")


def math_docs(rows: list[dict], control: str | None = "none", budget: Any = None, origin: str = "data") -> list[dict]:
    """AIME / MATH docs; the fork's process_docs field fallbacks (problem|question, answer|orig_answer)."""
    docs = []
    for n, row in enumerate(rows, 1):
        where = f"{origin} record {n}"
        question = str(_field(row, ("problem", "question", "orig_problem"), where))
        answer = _field(row, ("answer", "orig_answer", "orig_orig_answer"), where)
        source_id = row.get("unique_id", row.get("id", ""))
        docs.append(
            {
                "id": question_hash(question),
                "source_id": str(source_id),
                "question": question,
                "answer": str(answer),
                "prompt": math_prompt(question, control, budget),
            }
        )
    return docs


GPQA_FIELDS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def gpqa_docs(
    rows: list[dict], control: str | None = "none", budget: Any = None, shuffle_seed: int | None = None,
    origin: str = "data", choice_order: str = DEFAULT_SEMANTICS,
) -> list[dict]:
    """GPQA docs with shuffled choices in the order of semantics ``choice_order`` (per
    question, or the fork's sequence) and the gold letter; ``shuffle_seed`` None is that
    semantics' default (``Semantics.shuffle_seed``)."""
    order = semantics_of(choice_order, "task metadata choice_order")
    shuffle = order.gpqa_order(order.shuffle_seed if shuffle_seed is None else int(shuffle_seed))
    docs = []
    for n, row in enumerate(rows, 1):
        if "Question" not in row and "question" in row:  # s1kit's collected eval set (collect-eval)
            row = {**row, "Question": row["question"]}
        missing = [f for f in GPQA_FIELDS if row.get(f) is None]
        if missing:
            raise ValueError(f"{origin} record {n}: missing GPQA fields {missing} (has {sorted(row)})")
        question = str(row["Question"])
        incorrect = [str(row[f"Incorrect Answer {i}"]) for i in (1, 2, 3)]
        choices, letter = shuffle(question, str(row["Correct Answer"]), incorrect)
        docs.append(
            {
                "id": question_hash(question),
                "source_id": str(row.get("Record ID", "")),
                "question": question,
                **{f"choice{i + 1}": c for i, c in enumerate(choices)},
                "answer": letter,
                "prompt": gpqa_prompt(question, choices, control, budget),
            }
        )
    return docs


def load_docs(
    kind: str,
    data_path: str | None = None,
    control: str | None = "none",
    budget: Any = None,
    shuffle_seed: int | None = None,
    hub_path: str = "",
    hub_name: str | None = None,
    hub_split: str = "test",
    hub_revision: str | None = None,
    scoring: str = DEFAULT_SCORING,
    choice_order: str = DEFAULT_SEMANTICS,
    **_metadata: Any,
) -> dict[str, Any]:
    """``custom_dataset`` body: {"test": Dataset of docs} from ``data_path`` or the pinned hub
    dataset. lm-eval passes all task metadata and dataset_kwargs; other keys are ignored."""
    import datasets  # heavy: datasets, only when lm-eval builds a task

    control_suffix(control, budget)  # a bad control fails before any data is read
    scoring_of(scoring)
    if data_path:
        rows, origin = read_jsonl(data_path), str(data_path)
    else:
        rows, origin = hub_rows(hub_path, hub_name, hub_split, hub_revision), f"{hub_path}@{hub_revision}"
    if kind == "math":
        docs = math_docs(rows, control, budget, origin)
    elif kind == "gpqa":
        docs = gpqa_docs(rows, control, budget, shuffle_seed, origin, choice_order)
    else:
        raise ValueError(f"unknown task kind {kind!r}; expected math or gpqa")
    docs = [{**d, "scoring": scoring} for d in docs]
    return {"test": datasets.Dataset.from_list(docs, split=datasets.Split.TEST)}


# ---------------------------------------------------------------------------- scoring


def process_results(doc: dict, results: list, multiple_choice: bool = False) -> dict[str, float]:
    """One response (``[text]``): exact_match. Several (``[[text, ...]]``, the take_first_k
    filter of the agg tasks): exact_match of the first plus avg@k, maj@k, cov@k."""
    gold, scoring = str(doc["answer"]), doc.get("scoring", DEFAULT_SCORING)
    if results and isinstance(results[0], (list, tuple)):
        responses = list(results[0])
        if not responses:
            raise ValueError(f"doc {doc.get('id')}: no responses")
        scored = [score(r or "", gold, scoring) for r in responses]
        answers = [e for e, _ in scored]
        if multiple_choice:  # vote on letters: "C", "(C)" and "C) 4 m" are one answer
            answers = [choice_letter(a) or "" for a in answers]
        return sample_metrics(answers, [ok for _, ok in scored])
    _, correct = score(results[0] or "", gold, scoring)
    return {"exact_match": float(correct)}
