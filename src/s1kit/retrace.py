"""Retrace: the same selected questions with another teacher's traces (s1K-1.1 = s1K + DeepSeek-R1).

s1.1 reuses s1K's 1,000 questions and replaces the Gemini traces with DeepSeek-R1's
(arXiv 2501.19393v3 Appendix A). ``retrace`` distills only the selected questions with the new teacher
(through the cached client, so a rerun pays nothing twice), grades the new attempts with
math-verify, recounts thinking tokens, and writes a selection directory with the same
files as ``s1kit select`` (dataset.parquet, ids.txt, composition.csv, sources.csv,
source_types.csv, summary.json). Questions whose new trace failed are left out and counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s1kit.distill import distill
from s1kit.features.grading import grade
from s1kit.hf import load_tokenizer
from s1kit.records import QUESTION_FIELDS, read_table, write_table
from s1kit.select import write_selection


def retrace(base_dataset: str | Path, pool: str | Path, length_tokenizer: str | Path, out_dir: str | Path,
            work_dir: str | Path, teacher: str, backend: str, options: dict[str, Any], model: str | None = None,
            params: dict[str, Any] | None = None, llm: dict[str, Any] | None = None) -> dict[str, Any]:
    base = read_table(base_dataset, required=["id", "selection_rank"]).to_pylist()
    base.sort(key=lambda r: r["selection_rank"])
    ids = {r["id"] for r in base}
    pool_table = read_table(pool, required=QUESTION_FIELDS)
    pool_rows = [r for r in pool_table.to_pylist() if r["id"] in ids]
    missing = ids - {r["id"] for r in pool_rows}
    if missing:
        raise ValueError(f"{base_dataset}: {len(missing)} selected id(s) not in {pool}, e.g. {sorted(missing)[0]}")
    work = Path(work_dir)
    write_table(work / "pool.parquet", pool_rows, schema=pool_table.schema)
    calls = distill(work / "pool.parquet", work / "traces.parquet", work / "ledger.jsonl", teacher, backend,
                    options, model=model, params=params, llm=llm, where=f"retrace.{Path(out_dir).name}.llm")
    grade(work / "traces.parquet", work / "pool.parquet", work / "grades.parquet")
    traces = {r["id"]: r for r in read_table(work / "traces.parquet").to_pylist()}
    grades = {r["id"]: r["correct"] for r in read_table(work / "grades.parquet").to_pylist()}
    tokenizer = load_tokenizer(length_tokenizer)
    selection, failed = [], []
    for r in base:
        t = traces[r["id"]]
        if t["finish_reason"] != "stop" or not t["thinking"]:
            failed.append(r["id"])
            continue
        selection.append(dict(
            r, teacher=teacher, thinking=t["thinking"], attempt=t["attempt"], thinking_masked=t["thinking_masked"],
            teacher_correct=grades.get(r["id"]),
            thinking_tokens=len(tokenizer(t["thinking"], add_special_tokens=False)["input_ids"])))
    return write_selection(out_dir, selection, teacher=teacher, base_selection_size=len(base),
                           failed_traces=len(failed), calls=calls)
