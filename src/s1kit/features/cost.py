"""Estimated tokens and dollars of a config's LLM calls, before any call (``s1kit cost``).

Calls counted: the teacher (distill; one per question), the grader (featurize.grader, llm
backend: the teacher's attempt plus one attempt per ``featurize.attempt_models``, for
every question with a solution) and the MSC classifier (featurize.domains, llm backend:
one per question). Student attempts run on a GPU (vLLM) and cost no API dollars. Free
backends (oracle, replay, math_verify, metadata) count 0.

Tokens: the prompts are built exactly as the jobs build them; lengths not known before
the calls (teacher output, attempts, the judges' explanations) come from
``featurize.cost.assumptions``. Text -> tokens is chars/4 (rounded up) unless a local
tokenizer is given (Claude's is not public, so chars/4 is the usual estimate).

Prompt caching: the shared system prefix (the grading prompt; the MSC rubric with
``rubric_in: system``) is charged at the cache-read price on every call but the first
``workers`` (the cache writes, one per concurrent worker at start), if it is at least
``min_cacheable_tokens`` long (Anthropic caches nothing shorter: 1,024 tokens for Sonnet).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from s1kit.features.domains import classification_request, load_msc, rubric_text
from s1kit.features.grading import grading_request
from s1kit.features.llm_jobs import job_from_dict
from s1kit.hf import load_tokenizer
from s1kit.llm.client import PRICES
from s1kit.settings import from_dict

FREE_TEACHERS = ("oracle", "replay")


@dataclass(frozen=True)
class Assumptions:
    """Per-call lengths in tokens that are only known after the calls (config featurize.cost.assumptions)."""

    teacher_output_tokens: int = 3000  # thinking + attempt of the teacher
    teacher_attempt_tokens: int = 400  # the teacher's attempt, as graded
    attempt_tokens: int = 1000  # one student attempt (Qwen2.5-Instruct, up to 32768)
    grader_output_tokens: int = 300  # "Explain your reasoning" + Yes/No
    classifier_output_tokens: int = 200  # reasoning + two-digit code


@dataclass(frozen=True)
class CostConfig:
    """Config ``featurize.cost``."""

    prices: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> USD per 1M tokens
    tokenizer: str | None = None  # a local tokenizer dir; None = chars/4
    min_cacheable_tokens: int = 1024
    assumptions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CallGroup:
    stage: str
    backend: str
    model: str
    calls: int
    prefix_tokens: int  # shared system prefix, per call (cacheable)
    input_tokens: int  # everything else sent, all calls together
    output_tokens: int  # all calls together
    workers: int = 4
    free: bool = False


def chars_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def make_counter(tokenizer: str | None) -> Callable[[str], int]:
    if not tokenizer:
        return chars_tokens
    tok = load_tokenizer(tokenizer)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def group_usd(g: CallGroup, price: dict[str, float] | None, caching: bool, min_cacheable: int) -> float:
    """Dollars of one group of calls. Prices: input, output, cached_input (default 0.1x input),
    cache_write (default 1.25x input), USD per million tokens."""
    if g.free or not price or not g.calls:
        return 0.0
    pin = price.get("input", 0.0)
    read, write = price.get("cached_input", 0.1 * pin), price.get("cache_write", 1.25 * pin)
    if caching and g.prefix_tokens >= min_cacheable:
        writes = min(g.calls, max(1, g.workers))
        prefix = g.prefix_tokens * (writes * write + (g.calls - writes) * read)
    else:
        prefix = g.prefix_tokens * g.calls * pin
    return (prefix + g.input_tokens * pin + g.output_tokens * price.get("output", 0.0)) / 1e6


def _scaled(total: float, n_sample: int, n: int) -> int:
    return round(total * n / n_sample) if n_sample else 0


def call_groups(config: dict[str, Any], sample: list[dict[str, Any]], n_questions: int | None = None,
                grading_prompt: str | None = None, rubric_path: str | Path | None = None,
                count: Callable[[str], int] = chars_tokens) -> list[CallGroup]:
    """Groups of calls a config makes for ``n_questions`` questions like ``sample`` (rows with
    question and solution; lengths are averaged over the sample and scaled to n_questions)."""
    fz = config.get("featurize") or {}
    cost = from_dict(CostConfig, fz.get("cost"), "featurize.cost")
    asm = from_dict(Assumptions, cost.assumptions, "featurize.cost.assumptions")
    m, n = len(sample), n_questions if n_questions is not None else len(sample)
    if not m:
        raise ValueError("cost: no sample questions to measure prompt lengths on")
    groups: list[CallGroup] = []

    dz = config.get("distill") or {}
    teacher_backend = dz.get("backend", "oracle")
    q_tokens = sum(count(r["question"]) for r in sample)
    groups.append(CallGroup("distill", teacher_backend, dz.get("model") or dz.get("teacher", "?"), n, 0,
                            _scaled(q_tokens, m, n), n * asm.teacher_output_tokens,
                            int((dz.get("llm") or {}).get("workers", 4)), free=teacher_backend in FREE_TEACHERS))

    grader = fz.get("grader") or {}
    if grader.get("backend", "math_verify") == "llm":
        job = job_from_dict(grader.get("llm"), "featurize.grader.llm")
        if grading_prompt is None:
            raise ValueError("cost: the grader backend is llm; pass the grading prompt (--grading-prompt)")
        graded = [r for r in sample if r.get("solution")]
        n_graded = _scaled(len(graded), m, n)
        attempts = [("teacher", asm.teacher_attempt_tokens)] + [(a, asm.attempt_tokens)
                                                                for a in fz.get("attempt_models") or []]
        prefix = count(grading_prompt)
        for name, att_tokens in attempts:
            # The user turn without the attempt, measured on the real template, plus the assumed attempt.
            body = sum(count(grading_request(r["question"], "", r["solution"], grading_prompt, job)
                             .messages[0]["content"]) for r in graded)
            groups.append(CallGroup(f"grade {name}", job.backend, job.model, n_graded, prefix,
                                    _scaled(body, m, n) + n_graded * att_tokens,
                                    n_graded * asm.grader_output_tokens, int(job.client.get("workers", 4))))

    domains = fz.get("domains") or {}
    if domains.get("backend", "metadata") == "llm":
        job = job_from_dict(domains.get("llm"), "featurize.domains.llm")
        if rubric_path is None:
            raise ValueError("cost: the domains backend is llm; pass the MSC rubric (--rubric)")
        rubric = rubric_text(load_msc(rubric_path))
        reqs = [classification_request(r["question"], rubric, job) for r in sample]
        prefix = count(reqs[0].system or "")
        body = sum(count(q.messages[0]["content"]) for q in reqs)
        groups.append(CallGroup("domains msc", job.backend, job.model, n, prefix, _scaled(body, m, n),
                                n * asm.classifier_output_tokens, int(job.client.get("workers", 4))))
    return groups


def estimate(config: dict[str, Any], sample: list[dict[str, Any]], n_questions: int | None = None,
             grading_prompt: str | None = None, rubric_path: str | Path | None = None) -> dict[str, Any]:
    """The cost report: per group of calls, tokens and dollars with and without prompt caching."""
    fz = config.get("featurize") or {}
    cost = from_dict(CostConfig, fz.get("cost"), "featurize.cost")
    prices = {**PRICES, **(((config.get("distill") or {}).get("llm") or {}).get("prices") or {}), **cost.prices}
    count = make_counter(cost.tokenizer)
    groups = call_groups(config, sample, n_questions, grading_prompt, rubric_path, count)
    rows, unpriced = [], set()
    for g in groups:
        price = prices.get(g.model)
        if not price and not g.free and g.calls:
            unpriced.add(g.model)
        rows.append({**asdict(g),
                     "usd_no_cache": round(group_usd(g, price, False, cost.min_cacheable_tokens), 2),
                     "usd_cache": round(group_usd(g, price, True, cost.min_cacheable_tokens), 2),
                     "prefix_cached": g.prefix_tokens >= cost.min_cacheable_tokens})
    return {
        "questions": n_questions if n_questions is not None else len(sample),
        "sample": len(sample),
        "tokens": cost.tokenizer or "chars/4",
        "assumptions": asdict(from_dict(Assumptions, cost.assumptions, "featurize.cost.assumptions")),
        "groups": rows,
        "calls": sum(r["calls"] for r in rows if not r["free"]),
        "usd_no_cache": round(sum(r["usd_no_cache"] for r in rows), 2),
        "usd_cache": round(sum(r["usd_cache"] for r in rows), 2),
        "unpriced_models": sorted(unpriced),
    }


def format_report(rep: dict[str, Any]) -> str:
    lines = [f"{'stage':<28} {'backend':<14} {'model':<28} {'calls':>8} {'prefix':>7} {'in (M)':>9} "
             f"{'out (M)':>8} {'$ no cache':>11} {'$ cached':>10}"]
    for r in rep["groups"]:
        lines.append(f"{r['stage']:<28} {r['backend']:<14} {r['model'][:28]:<28} {r['calls']:>8} "
                     f"{r['prefix_tokens']:>7} {(r['input_tokens'] + r['prefix_tokens'] * r['calls']) / 1e6:>9.2f} "
                     f"{r['output_tokens'] / 1e6:>8.2f} {r['usd_no_cache']:>11.2f} {r['usd_cache']:>10.2f}"
                     + ("  (free)" if r["free"] else ""))
    lines.append(f"{'total':<28} {'':<14} {'':<28} {rep['calls']:>8} {'':>7} {'':>9} {'':>8} "
                 f"{rep['usd_no_cache']:>11.2f} {rep['usd_cache']:>10.2f}")
    if rep["unpriced_models"]:
        lines.append(f"no price for {rep['unpriced_models']}: counted as $0 (set featurize.cost.prices)")
    lines.append(f"{rep['questions']} questions (lengths from {rep['sample']} sample rows), tokens = {rep['tokens']}")
    return "\n".join(lines)
