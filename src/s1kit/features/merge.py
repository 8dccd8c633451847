"""One featurized table: question + teacher trace + grades + domain + thinking length."""

from __future__ import annotations

from pathlib import Path

from s1kit.features.semantics import DEFAULT_SEMANTICS, semantics_of
from s1kit.hf import load_tokenizer
from s1kit.records import QUESTION_FIELDS, read_table, write_table


def _by_id(path: str | Path, required: list[str]) -> dict[str, dict]:
    return {r["id"]: r for r in read_table(path, required=["id", *required]).to_pylist()}


def merge(pool: str | Path, traces: str | Path, teacher_grades: str | Path, attempt_grades: dict[str, str],
          domains: str | Path, length_tokenizer: str | Path, out: str | Path,
          semantics: str = DEFAULT_SEMANTICS) -> int:
    """attempt_grades maps model name -> grades file; each becomes a `{model}_correct` column.

    thinking_tokens counts the thinking in the length tokenizer (the student's; Qwen2.5 in
    the paper). Missing features stay null so that the selection's first filter can count them.
    semantics (config featurize.semantics) picks which teacher traces count (Semantics.trace_ok).
    """
    trace_ok = semantics_of(semantics).trace_ok
    tokenizer = load_tokenizer(length_tokenizer)
    tr = _by_id(traces, ["thinking", "attempt", "finish_reason"])
    tg = _by_id(teacher_grades, ["correct"])
    dom = _by_id(domains, ["domain"])
    ag = {m: _by_id(p, ["correct"]) for m, p in attempt_grades.items()}
    rows = []
    for q in read_table(pool, required=QUESTION_FIELDS).to_pylist():
        t = tr.get(q["id"], {})
        ok = trace_ok(t)
        row = dict(q)
        row["thinking"] = t.get("thinking") if ok else None
        row["attempt"] = t.get("attempt") if ok else None
        row["thinking_masked"] = t.get("thinking_masked") if ok else None
        row["teacher_correct"] = tg.get(q["id"], {}).get("correct") if ok else None
        row["domain"] = dom.get(q["id"], {}).get("domain")
        row["thinking_tokens"] = len(tokenizer(row["thinking"], add_special_tokens=False)["input_ids"]) if ok else None
        for m, grades in ag.items():
            row[f"{m}_correct"] = grades.get(q["id"], {}).get("correct")
        rows.append(row)
    write_table(out, rows)
    return len(rows)
