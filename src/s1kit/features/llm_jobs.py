"""Shared plumbing of the LLM featurization jobs (grading, MSC domains): settings, the
cached client and the stage ledger (the official prompt files come from s1kit.sources.fetch.fetch_official).

Every call goes through ``s1kit.llm.make_client`` (cache, retries, rate limit, ledger),
the same code path as distillation; a rerun pays for nothing already answered.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1kit.llm import Request, Response, make_client
from s1kit.records import read_jsonl, write_jsonl
from s1kit.settings import from_dict

@dataclass(frozen=True)
class LLMJob:
    """Config ``featurize.grader.llm`` / ``featurize.domains.llm``: which backend and model
    answer, with which sampling parameters and client settings."""

    backend: str = "anthropic"
    model: str = "claude-3-5-sonnet-20241022"
    options: dict[str, Any] = field(default_factory=dict)  # backend constructor arguments (base_url, ...)
    # The official scripts send max_tokens 8192 and the API's default temperature.
    params: dict[str, Any] = field(default_factory=lambda: {"max_tokens": 8192})
    # max_retries, rpm, workers, retry_failures, prices, max_cost_usd
    client: dict[str, Any] = field(default_factory=dict)
    # domains only: "system" puts the MSC rubric in the (cached) system prompt; "user" keeps
    # the official layout, rubric after the question in the user turn (nothing to cache).
    rubric_in: str = "system"

    def __post_init__(self) -> None:
        if self.rubric_in not in ("system", "user"):
            raise ValueError(f"rubric_in must be 'system' or 'user', got {self.rubric_in!r}")
        if not isinstance(self.params, dict) or not isinstance(self.client, dict) \
                or not isinstance(self.options, dict):
            raise ValueError("options, params and client must be mappings")


def job_from_dict(raw: dict[str, Any] | None, where: str) -> LLMJob:
    """An LLMJob from a config mapping; errors name the config key ``where``."""
    try:
        return from_dict(LLMJob, raw, where)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith("config ") else f"config {where}: {msg}") from None


def run_job(job: LLMJob, ids: Sequence[str], requests: Sequence[Request],
            validate: Callable[[Response], str | None], ledger_out: str | Path | None, desc: str,
            where: str) -> tuple[list[Response], dict[str, Any]]:
    """Responses in request order, and a summary (calls, cache hits, tokens, dollars, failures by
    reason). The ledger (one line per request, in input order, with its id) goes to ``ledger_out``."""
    client_opts = dict(job.client)
    workers = int(client_opts.pop("workers", 4))
    partial = Path(ledger_out).with_name(Path(ledger_out).name + ".partial") if ledger_out else None
    if partial is not None:
        partial.unlink(missing_ok=True)
    try:
        client = make_client(job.backend, job.options, ledger_path=partial, where=f"{where}.client", **client_opts)
    except (ValueError, TypeError) as e:
        raise ValueError(f"config {where}: {e}") from None
    responses = client.complete_many(list(requests), workers=workers, desc=desc, validate=validate)
    client.check_answers(responses, partial)  # every request failed: an error, nothing written
    if partial is not None:
        calls: dict[str, dict[str, Any]] = {}
        for rec in read_jsonl(partial) if partial.exists() else []:
            calls.setdefault(rec["key"], rec)
        write_jsonl(ledger_out, [dict(calls.get(client.key(r), {}), id=i) for i, r in zip(ids, requests)])
        partial.unlink(missing_ok=True)
    reasons = collections.Counter(failure_kind(r.error) for r in responses if not r.ok)
    summary = {k: client.totals[k] for k in ("requests", "cached", "calls", "failed", "input_tokens",
                                              "output_tokens")}
    summary["cost_usd"] = round(client.totals["cost_usd"], 6)
    summary["failures"] = dict(sorted(reasons.items()))
    return responses, summary


def failure_kind(error: str | None) -> str:
    """A short reason class for the ledger summary: 'truncated', 'invalid: unparsable verdict', ..."""
    if not error:
        return "error"
    head = error.split(":", 2)
    if head[0] == "invalid" and len(head) > 1:
        return f"invalid:{head[1]}"
    return head[0][:60]

