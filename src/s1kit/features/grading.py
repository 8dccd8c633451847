"""Grade attempts against solutions: math-verify (free, the tiny default) or an LLM judge
with the official grading prompt (the paper: Claude 3.5 Sonnet).

math-verify: the answer is the text after the last "Answer:" (or the last \\boxed{}).

LLM (as the official featurization does): the system prompt is the official grading.txt,
the user turn is ``## Problem`` / ``## Attempt`` / ``## Correct answer``, and the verdict is
the response's last line, "Yes" or "No". A question without a solution is not sent
(correct = null). An unparsable verdict or a truncated response is a recorded failure:
correct = null, ``reason`` says why; the official scripts instead re-asked forever.

Unfinished attempts (``finish_reason`` other than stop: cut at the token limit) depend on
``featurize.semantics`` (features/semantics.py, ``grades_unfinished``): ``official`` grades
them like any other, as data/featurization.py:65 (user_prompt) grades every attempt it is
given; ``kit`` does not send them (correct = null, so the selection's feature filter drops
the question).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from s1kit.evaluate.answers import score
from s1kit.features.llm_jobs import LLMJob, run_job
from s1kit.features.semantics import DEFAULT_SEMANTICS, Semantics, semantics_of
from s1kit.llm import Request, Response
from s1kit.llm.client import fingerprint
from s1kit.records import atomic_write_text, read_table, write_table

GRADE_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("correct", pa.bool_())])
# LLM grades add why a grade is missing (or was not asked for); null when the verdict parsed.
LLM_GRADE_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("correct", pa.bool_()),
                              ("reason", pa.string())])
GRADERS = ("math_verify", "llm")
# The official user turn, data/featurization.py:65 (user_prompt).
USER_TEMPLATE = "## Problem\n{question}\n\n## Attempt\n{attempt}\n\n## Correct answer\n{solution}"


def grading_request(question: str, attempt: str, solution: str, prompt: str, job: LLMJob) -> Request:
    """The official prompt goes in ``system`` (cached by the anthropic backend where long enough)."""
    return Request(model=job.model, system=prompt,
                   messages=({"role": "user", "content": USER_TEMPLATE.format(
                       question=question, attempt=attempt, solution=solution)},),
                   params=dict(job.params), template_version=fingerprint(USER_TEMPLATE))


def parse_verdict(text: str) -> tuple[bool | None, str | None]:
    """(correct, None) from a last line "Yes"/"No", else (None, reason).

    Like the official check (``completion.split("\\n")[-1] in ["Yes", "No"]``), case-sensitive,
    but a trailing newline, markdown emphasis, quotes or a final period around the word are
    tolerated, since they do not change the verdict.
    """
    last = text.rstrip().split("\n")[-1].strip() if text.strip() else ""
    word = last.strip("*_`\"' ").rstrip(".").strip("*_`\"' ")
    if word in ("Yes", "No"):
        return word == "Yes", None
    return None, f"unparsable verdict: last line {last[:80]!r}"


def _verdict_reason(resp: Response) -> str | None:
    return parse_verdict(resp.text)[1]


def math_verify_grades(rows: list[dict], gold: dict[str, str | None], text_field: str) -> list[bool]:
    out = []
    for r in rows:
        solution = gold.get(r["id"])
        out.append(bool(solution is not None and r[text_field] and score(r[text_field], solution)[1]))
    return out


def llm_grades(rows: list[dict], questions: dict[str, dict], text_field: str, prompt: str, job: LLMJob,
               ledger_out: str | Path | None, desc: str, sem: Semantics
               ) -> tuple[list[bool | None], list[str | None], dict]:
    """Grades and reasons per row; only rows with a solution and an attempt are sent (under
    semantics kit, only finished attempts, and neither text empty)."""
    correct: list[bool | None] = [None] * len(rows)
    reason: list[str | None] = [None] * len(rows)
    send, ids, requests = [], [], []
    for i, r in enumerate(rows):
        q = questions.get(r["id"])
        if q is None:
            reason[i] = "question not in pool"
        elif q.get("solution") is None or (not sem.sends_empty and not q["solution"]):
            # official: only a None solution is skipped, an empty one is graded (data/featurization.py:56 (solution))
            reason[i] = "no solution: not graded"
        elif not sem.grades_unfinished and r.get("finish_reason") not in (None, "stop"):
            reason[i] = f"attempt unfinished ({r['finish_reason']}): not sent"  # a truncated attempt is no feature
        elif not sem.sends_empty and not r[text_field]:  # official sends every attempt, empty ones too
            correct[i], reason[i] = False, "empty attempt: not sent, graded No"
        elif r[text_field] is None:  # no answer at all (a failed call): nothing to send
            reason[i] = "no attempt: not graded"
        else:
            send.append(i)
            ids.append(r["id"])
            requests.append(grading_request(q["question"], r[text_field], q["solution"], prompt, job))
    responses, summary = run_job(job, ids, requests, _verdict_reason, ledger_out, desc, "featurize.grader.llm")
    for i, resp in zip(send, responses):
        if resp.ok:
            correct[i], reason[i] = parse_verdict(resp.text)
        else:
            reason[i] = resp.error or f"finish_reason {resp.finish_reason}"
    return correct, reason, summary


def grade(attempts_path: str | Path, pool_path: str | Path, out: str | Path, text_field: str = "attempt",
          model_field: str = "model", backend: str = "math_verify", prompt_path: str | Path | None = None,
          job: LLMJob | None = None, ledger_out: str | Path | None = None,
          agreement_out: str | Path | None = None, semantics: str = DEFAULT_SEMANTICS) -> dict[str, Any]:
    """Grade every attempt row. ``backend`` is config ``featurize.grader.backend``. With the llm
    backend, ``agreement_out`` also runs math-verify and writes their agreement report, and
    ``semantics`` (config ``featurize.semantics``) decides whether unfinished attempts and empty
    texts are sent."""
    if backend not in GRADERS:
        raise ValueError(f"config featurize.grader.backend: {backend!r} is not one of {list(GRADERS)}")
    sem = semantics_of(semantics)
    pool = {r["id"]: r for r in read_table(pool_path, required=["id", "question", "solution"]).to_pylist()}
    gold = {i: r["solution"] for i, r in pool.items()}
    rows = read_table(attempts_path, required=["id", text_field]).to_pylist()
    models = [r.get(model_field) or r.get("teacher") for r in rows]
    if backend == "math_verify":
        if agreement_out:
            raise ValueError("an agreement report needs featurize.grader.backend llm (math-verify runs beside it)")
        ok = math_verify_grades(rows, gold, text_field)
        write_table(out, [{"id": r["id"], "model": m, "correct": c} for r, m, c in zip(rows, models, ok)],
                    schema=GRADE_SCHEMA)
        return {"graded": len(rows), "correct": sum(ok)}
    if prompt_path is None:
        raise ValueError("featurize.grader.backend llm needs the official grading prompt (--prompt)")
    prompt = Path(prompt_path).read_text(encoding="utf-8")
    if "Yes" not in prompt or "No" not in prompt:
        raise ValueError(f"{prompt_path}: not a grading prompt (it never asks for 'Yes' or 'No')")
    job = job or LLMJob()
    correct, reason, summary = llm_grades(rows, pool, text_field, prompt, job, ledger_out,
                                          desc=f"grade {Path(attempts_path).stem}", sem=sem)
    write_table(out, [{"id": r["id"], "model": m, "correct": c, "reason": why}
                      for r, m, c, why in zip(rows, models, correct, reason)], schema=LLM_GRADE_SCHEMA)
    info: dict[str, Any] = {"graded": sum(c is not None for c in correct), "correct": sum(c is True for c in correct),
                            "missing": sum(c is None for c in correct), **summary}
    if agreement_out:
        report = agreement(correct, math_verify_grades(rows, gold, text_field),
                           a_name=f"llm:{job.model}", b_name="math_verify")
        atomic_write_text(agreement_out, json.dumps(report, indent=2, sort_keys=True) + "\n")
        info["cohen_kappa"] = report["cohen_kappa"]
    return info


def agreement(a: list[bool | None], b: list[bool | None], a_name: str = "a", b_name: str = "b") -> dict[str, Any]:
    """Counts and Cohen's kappa of two graders over the rows where both gave a grade.

    kappa = (p_o - p_e) / (1 - p_e), p_e from each grader's own "Yes" rate; null when
    undefined (no rows, or both graders constant and identical: p_e = 1).
    """
    if len(a) != len(b):
        raise ValueError(f"agreement: {len(a)} grades from {a_name} vs {len(b)} from {b_name}")
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    n = len(pairs)
    yy = sum(1 for x, y in pairs if x and y)
    nn = sum(1 for x, y in pairs if not x and not y)
    yn = sum(1 for x, y in pairs if x and not y)
    ny = n - yy - nn - yn
    kappa = p_o = None
    if n:
        p_o = (yy + nn) / n
        pa_yes, pb_yes = (yy + yn) / n, (yy + ny) / n
        p_e = pa_yes * pb_yes + (1 - pa_yes) * (1 - pb_yes)
        kappa = None if p_e == 1 else (p_o - p_e) / (1 - p_e)
    return {"a": a_name, "b": b_name, "rows": len(a), "compared": n,
            "missing_a": sum(x is None for x in a), "missing_b": sum(y is None for y in b),
            "both_yes": yy, "both_no": nn, "a_yes_b_no": yn, "a_no_b_yes": ny, "disagree": yn + ny,
            "observed_agreement": p_o, "cohen_kappa": kappa}


def agreement_files(a_path: str | Path, b_path: str | Path, out: str | Path) -> dict[str, Any]:
    """The agreement report of two grade files, joined on (id, model); rows in only one are counted."""
    def load(p):
        rows = read_table(p, required=["id", "model", "correct"]).to_pylist()
        return {(r["id"], r["model"]): r["correct"] for r in rows}

    ga, gb = load(a_path), load(b_path)
    keys = sorted(set(ga) & set(gb), key=lambda k: (str(k[0]), str(k[1])))
    report = agreement([ga[k] for k in keys], [gb[k] for k in keys], a_name=str(a_path), b_name=str(b_path))
    report["only_a"], report["only_b"] = len(set(ga) - set(gb)), len(set(gb) - set(ga))
    atomic_write_text(out, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
