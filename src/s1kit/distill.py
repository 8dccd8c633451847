"""Distill stage: a teacher's thinking and attempt for every pool question (PAPER.md step 2)."""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from s1kit.llm import BACKENDS, Request
from s1kit.records import QUESTION_FIELDS, read_table, write_jsonl, write_table

TRACE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("teacher", pa.string()),
        ("thinking", pa.string()),
        ("attempt", pa.string()),
        ("finish_reason", pa.string()),
        ("error", pa.string()),
        ("usage", pa.string()),
        ("thinking_masked", pa.string()),  # JSON [[start, end], ...] spans left out of the SFT loss
    ]
)


def distill(pool_path: str | Path, out_traces: str | Path, out_ledger: str | Path, teacher: str,
            backend: str, options: dict[str, Any]) -> dict[str, int]:
    cls = BACKENDS.get(backend)
    known = set(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"config distill.options: unknown key(s) {unknown} for backend {backend!r}; known: {sorted(known)}")
    client = cls(**options)
    rows = read_table(pool_path, required=QUESTION_FIELDS).to_pylist()
    traces, ledger = [], []
    for row in tqdm(rows, desc=f"distill {teacher}", unit="q", mininterval=5):
        t0 = time.perf_counter()
        resp = client.complete(Request(model=teacher, messages=({"role": "user", "content": row["question"]},)))
        traces.append({
            "id": row["id"],
            "teacher": teacher,
            "thinking": resp.reasoning,
            "attempt": resp.text,
            "finish_reason": resp.finish_reason,
            "error": resp.error,
            "usage": json.dumps(resp.usage, sort_keys=True),
            "thinking_masked": json.dumps([list(span) for span in resp.masked]) if resp.masked else None,
        })
        ledger.append({"id": row["id"], "finish_reason": resp.finish_reason, "usage": resp.usage,
                       "latency_s": round(time.perf_counter() - t0, 6), "cost_usd": 0.0})
    write_table(out_traces, traces, schema=TRACE_SCHEMA)
    write_jsonl(out_ledger, ledger)
    ok = sum(1 for t in traces if t["finish_reason"] == "stop")
    return {"questions": len(rows), "ok": ok, "failed": len(rows) - ok}
