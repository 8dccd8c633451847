"""Distill stage: a teacher's thinking and attempt for every pool question (arXiv 2501.19393v3 §2.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from s1kit.llm import Request, make_client
from s1kit.records import QUESTION_FIELDS, read_jsonl, read_table, write_jsonl, write_table

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
            backend: str, options: dict[str, Any], model: str | None = None,
            params: dict[str, Any] | None = None, llm: dict[str, Any] | None = None,
            where: str = "distill.llm") -> dict[str, int]:
    """Every call goes through the cached client (s1kit.llm.client): a rerun after a crash or
    a deleted output pays for nothing already answered. `llm` holds the client's settings
    (max_retries, rpm, workers, retry_failures, prices, max_cost_usd), config key `where`.
    At the spend cap the client raises SpendCapReached: the answers so far are cached and
    listed in the ledger's ``.partial`` file, the outputs are not written. So too when the key
    is missing or refused (CredentialError, never cached) or every request failed (AllFailed);
    some failures are kept in the traces with their errors, with a warning."""
    llm = dict(llm or {})
    workers = llm.pop("workers", 4)
    partial = Path(out_ledger).with_name(Path(out_ledger).name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        client = make_client(backend, options, ledger_path=partial, where=where, **llm)
    except ValueError as e:
        raise ValueError(f"config {where.rsplit('.', 1)[0]}: {e}") from None
    rows = read_table(pool_path, required=QUESTION_FIELDS).to_pylist()
    requests = [Request(model=model or teacher, messages=({"role": "user", "content": r["question"]},),
                        params=dict(params or {})) for r in rows]
    responses = client.complete_many(requests, workers=workers, desc=f"distill {teacher}")
    client.check_answers(responses, partial)  # every request failed: an error, nothing written
    traces = [{
        "id": row["id"],
        "teacher": teacher,
        "thinking": resp.reasoning,
        "attempt": resp.text,
        "finish_reason": resp.finish_reason,
        "error": resp.error,
        "usage": json.dumps(resp.usage, sort_keys=True),
        "thinking_masked": json.dumps([list(span) for span in resp.masked]) if resp.masked else None,
    } for row, resp in zip(rows, responses)]
    # The client logs calls as they finish; the stage's ledger is in pool order, by question id.
    calls: dict[str, dict[str, Any]] = {}
    for rec in read_jsonl(partial) if partial.exists() else []:
        calls.setdefault(rec["key"], rec)
    ledger = [dict(calls.get(client.key(req), {}), id=row["id"]) for row, req in zip(rows, requests)]
    write_table(out_traces, traces, schema=TRACE_SCHEMA)
    write_jsonl(out_ledger, ledger)
    partial.unlink(missing_ok=True)
    ok = sum(1 for t in traces if t["finish_reason"] == "stop")
    return {"questions": len(rows), "ok": ok, "failed": len(rows) - ok}
