"""One client in front of every backend: cache, retries, rate limit, usage/cost ledger.

``CachedClient(backend, cache, max_retries, rpm, prices)`` sends each request through the
content-addressed cache (s1kit.llm.cache): a hit costs nothing; a miss calls the backend,
retrying 429/5xx/timeouts with capped exponential backoff and seeded jitter at most
``max_retries`` times (never forever, unlike the official scripts), then stores the
result, success or failure, before returning it. A killed run therefore resumes with no
paid call repeated and no response lost. A response cut off by the token limit
(finish_reason "length"), or one the caller's ``validate`` rejects (an unparsable grade or
code), is stored as a failure with its reason. Backends with ``cacheable = False`` (the
procedural oracle, replay: free and deterministic) bypass the cache but still go to the
ledger. Secrets are read by the backends from environment variables at call time and
are scrubbed from every stored error message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from s1kit.llm.base import Backend, Request, Response
from s1kit.llm.cache import ResponseCache, record_to_response, request_key, response_to_record
from s1kit.llm.http import PermanentError, TransientError

# USD per million tokens. ILLUSTRATIVE list prices, not kept up to date: pass your own
# table (config key ``llm.prices``) for real accounting. Unknown models cost 0 with a note.
PRICES: dict[str, dict[str, float]] = {
    "gemini-2.0-flash-thinking-exp": {"input": 0.0, "output": 0.0},  # free experimental model
    "gemini-2.5-flash": {"input": 0.30, "output": 2.50},
    "deepseek-reasoner": {"input": 0.55, "output": 2.19},
    "deepseek-ai/DeepSeek-R1": {"input": 0.55, "output": 2.19},
    "claude-3-5-sonnet-20241022": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4-20250514": {"input": 3.0, "output": 15.0},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
}

SECRET_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
              "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY")


def cost_usd(model: str, usage: dict[str, int], prices: dict[str, dict[str, float]]) -> float:
    """Dollars for one call. Prompt-cache reads cost ``cached_input`` (default 0.1x input, as
    Anthropic's), cache writes ``cache_write`` (default 1.25x input)."""
    p = prices.get(model)
    if not p:
        return 0.0
    pin = p.get("input", 0.0)
    read = p.get("cached_input", 0.1 * pin)
    write = p.get("cache_write", 1.25 * pin)
    dollars = usage.get("input_tokens", 0) * pin + usage.get("cache_creation_input_tokens", 0) * write \
        + usage.get("cache_read_input_tokens", 0) * read + usage.get("output_tokens", 0) * p.get("output", 0.0)
    return dollars / 1e6


class RateLimiter:
    """At most ``rpm`` request starts per minute, evenly spaced; clock and sleep injectable."""

    def __init__(self, rpm: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        if not self.interval:
            return 0.0
        with self._lock:
            now = self.clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
        wait = start - now
        if wait > 0:
            self.sleep(wait)
        return wait


class CachedClient:
    def __init__(self, backend: Backend, cache: ResponseCache | None = None, max_retries: int = 5,
                 rpm: float | None = None, prices: dict[str, dict[str, float]] | None = None,
                 ledger_path: str | Path | None = None, retry_failures: bool = False,
                 backoff_base: float = 2.0, backoff_cap: float = 60.0, seed: int = 0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        if max_retries < 0:
            raise ValueError(f"llm.max_retries must be >= 0, got {max_retries}")
        self.backend = backend
        self.cacheable = getattr(backend, "cacheable", True)
        self.cache = cache if cache is not None or not self.cacheable else ResponseCache()
        self.max_retries = max_retries
        self.prices = PRICES if prices is None else prices
        self.ledger_path = Path(ledger_path) if ledger_path else None
        self.retry_failures = retry_failures
        self.backoff_base, self.backoff_cap, self.seed = backoff_base, backoff_cap, seed
        self.sleep = sleep
        self.limiter = RateLimiter(rpm, clock=clock, sleep=sleep)
        self.backend_id = getattr(backend, "cache_id", None) or backend.name
        self.defaults = getattr(backend, "param_defaults", None) or {}
        self.totals = {"requests": 0, "cached": 0, "calls": 0, "failed": 0,
                       "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def key(self, request: Request) -> str:
        return request_key(self.backend_id, request, self.defaults)

    def complete(self, request: Request, validate: Callable[[Response], str | None] | None = None) -> Response:
        """The response to request, from the cache or the backend. ``validate(response)`` may
        return a reason to count a finished response as a failure (e.g. "unparsable grade")."""
        key = self.key(request)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # identical requests in one batch are paid once
            if self.cacheable:
                rec = self.cache.get(key)
                if rec is not None and (rec.get("ok") or not self.retry_failures):
                    resp = record_to_response(rec)
                    self._account(key, request, resp, cached=True, latency=rec.get("latency_s", 0.0), tries=0)
                    return resp
            t0 = time.perf_counter()
            resp, tries = self._call(key, request)
            if resp.finish_reason == "length" and not resp.error:
                resp = dataclasses.replace(resp, error="truncated: finish_reason length (raise max_tokens)")
            if validate is not None and resp.ok:
                reason = validate(resp)
                if reason:
                    resp = dataclasses.replace(resp, finish_reason="error", error=f"invalid: {reason}")
            if resp.error:
                resp = dataclasses.replace(resp, error=redact(resp.error))
            latency = time.perf_counter() - t0
            if self.cacheable:
                self.cache.put(response_to_record(key, resp, backend=self.backend_id, model=request.model,
                                                  template_version=request.template_version,
                                                  latency_s=latency, tries=tries))
            self._account(key, request, resp, cached=False, latency=latency, tries=tries)
            return resp

    def _call(self, key: str, request: Request) -> tuple[Response, int]:
        rng = random.Random(f"{self.seed}:{key}")
        last = ""
        for attempt in range(self.max_retries + 1):
            self.limiter.acquire()
            try:
                return self.backend.complete(request), attempt + 1
            except TransientError as e:
                last = str(e)
                if attempt == self.max_retries:
                    break
                delay = min(self.backoff_cap, self.backoff_base * 2 ** attempt) * (0.5 + 0.5 * rng.random())
                if e.retry_after is not None:
                    delay = min(self.backoff_cap, max(delay, e.retry_after))
                self.sleep(delay)
            except PermanentError as e:
                return Response(text="", reasoning=None, finish_reason="error", error=str(e)), attempt + 1
        tries = self.max_retries + 1
        return Response(text="", reasoning=None, finish_reason="error",
                        error=f"gave up after {tries} tries: {last}"), tries

    def _account(self, key: str, request: Request, resp: Response, cached: bool, latency: float, tries: int) -> None:
        cost = 0.0 if cached else cost_usd(request.model, resp.usage, self.prices)
        with self._lock:
            t = self.totals
            t["requests"] += 1
            t["cached"] += cached
            t["calls"] += not cached
            t["failed"] += not resp.ok
            if not cached:
                t["input_tokens"] += int(resp.usage.get("input_tokens", 0))
                t["output_tokens"] += int(resp.usage.get("output_tokens", 0))
                t["cost_usd"] += cost
            if self.ledger_path is not None:
                entry = {"key": key, "backend": self.backend_id, "model": request.model, "cached": cached,
                         "ok": resp.ok, "finish_reason": resp.finish_reason, "error": resp.error,
                         "usage": resp.usage, "cost_usd": round(cost, 8), "latency_s": round(latency, 6),
                         "tries": tries, "time": time.time()}
                self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.ledger_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")

    def complete_many(self, requests: Sequence[Request] | Iterable[Request], workers: int = 4,
                      desc: str = "llm", validate: Callable[[Response], str | None] | None = None,
                      progress: bool = True) -> list[Response]:
        """Responses in the order of requests; a thread pool of ``workers``; progress shows
        requests, tokens and dollars."""
        from tqdm import tqdm

        requests = list(requests)
        out: list[Response | None] = [None] * len(requests)
        bar = tqdm(total=len(requests), desc=desc, unit="req", mininterval=2, disable=not progress)

        def one(i: int) -> None:
            out[i] = self.complete(requests[i], validate=validate)
            with self._lock:
                t = dict(self.totals)
            bar.set_postfix(cached=t["cached"], tok_in=t["input_tokens"], tok_out=t["output_tokens"],
                            usd=f"{t['cost_usd']:.4f}", failed=t["failed"], refresh=False)
            bar.update(1)

        try:
            if workers <= 1:
                for i in range(len(requests)):
                    one(i)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    for f in [pool.submit(one, i) for i in range(len(requests))]:
                        f.result()
        finally:
            bar.close()
        return out  # type: ignore[return-value]


def redact(text: str, names: Iterable[str] = SECRET_ENV) -> str:
    """Replace any secret value found in the environment by ``[REDACTED]``."""
    extra = [v for k, v in os.environ.items() if k.endswith("_API_KEY")]
    for value in {os.environ.get(n) for n in names} | set(extra):
        if value and len(value) >= 4:
            text = text.replace(value, "[REDACTED]")
    return text


def fingerprint(text: str) -> str:
    """A short, stable hash of a prompt template, for ``Request.template_version``."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
