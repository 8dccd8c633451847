"""Grade attempts against solutions with math-verify (the tiny default's grader backend).

The paper grades with Claude 3.5 Sonnet and the official prompt; that judge joins as an
LLM backend. Here an answer is the text after the last "Answer:" (or the last \\boxed{}).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from s1kit.evaluate.answers import score
from s1kit.records import read_table, write_table

GRADE_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("correct", pa.bool_())])


def grade(attempts_path: str | Path, pool_path: str | Path, out: str | Path, text_field: str = "attempt",
          model_field: str = "model") -> dict[str, int]:
    gold = {r["id"]: r["solution"] for r in read_table(pool_path, required=["id", "solution"]).to_pylist()}
    rows = read_table(attempts_path, required=["id", text_field]).to_pylist()
    out_rows = []
    for r in rows:
        solution = gold.get(r["id"])
        ok = bool(solution is not None and r[text_field] and score(r[text_field], solution)[1])
        out_rows.append({"id": r["id"], "model": r.get(model_field) or r.get("teacher"), "correct": ok})
    write_table(out, out_rows, schema=GRADE_SCHEMA)
    return {"graded": len(out_rows), "correct": sum(r["correct"] for r in out_rows)}
