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
ledger. Secrets are read by the backends from environment variables at call time; every
response is scrubbed of secret values (s1kit.secrets) before it is stored, logged or
returned. Any exception a backend raises becomes a recorded failure, never a traceback
that stops the batch, except a CredentialError (a missing or malformed key, HTTP 401/403):
no other request could succeed, so it stops the batch at once, naming the variable, and
is never cached (cached ones from older versions are asked again). After a batch,
:meth:`CachedClient.check_answers` fails a stage in which every request failed and warns
about a partial failure. With a spend cap (s1kit.llm.spend) new requests stop once the
priced usage reaches it; ``complete_many`` then raises ``SpendCapReached`` after the
requests in flight finished and were cached.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from s1kit.llm.base import Backend, Request, Response
from s1kit.llm.cache import ResponseCache, record_to_response, request_key, response_to_record
from s1kit.llm.http import CredentialError, PermanentError, TransientError
from s1kit.llm.spend import Budget, SpendCapReached, results_root, total_cap_from_env
from s1kit.secrets import scrub

# USD per million tokens. ILLUSTRATIVE list prices, not kept up to date: pass your own
# table (config key ``llm.prices``) for real accounting. A model without a price is an
# error when a spend cap is set, else counted as $0 with a warning.
PRICES: dict[str, dict[str, float]] = {
    "gemini-2.0-flash-thinking-exp": {"input": 0.0, "output": 0.0},  # free experimental model
    "gemini-2.0-flash-thinking-exp-1219": {"input": 0.0, "output": 0.0},  # the paper's teacher, free
    "gemini-2.5-flash": {"input": 0.30, "output": 2.50},
    "deepseek-reasoner": {"input": 0.55, "output": 2.19},
    "deepseek-ai/DeepSeek-R1": {"input": 0.55, "output": 2.19},
    "claude-3-5-sonnet-20241022": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4-20250514": {"input": 3.0, "output": 15.0},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
}


# Failures an older kit cached although they say nothing about the request (a missing,
# malformed or refused key): never served from the cache, asked again.
STALE_FAILURE = re.compile(r"(no API key|HTTP 40[13] |unexpected reply: ValueError: Invalid header value)")


class AllFailed(ValueError):
    """Every request of a stage failed: nothing usable to write. A ValueError, so the CLI
    reports it as a one-line error (exit status 2)."""


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
                 max_cost_usd: float | None = None, where: str = "llm",
                 total_max_cost_usd: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        """``max_cost_usd``: this stage's cap (config ``<where>.max_cost_usd``);
        ``total_max_cost_usd``: the run's (config ``llm.max_cost_usd``; default from the
        environment, S1KIT_LLM_MAX_COST_USD); see s1kit.llm.spend."""
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
        self.where = where
        total = total_cap_from_env() if total_max_cost_usd is None else total_max_cost_usd
        # The free, local backends (oracle, replay) cost nothing: no cap applies to them.
        self.budget = Budget(max_cost_usd if self.cacheable else None, f"{where}.max_cost_usd",
                             total if self.cacheable else None, results_root(self.ledger_path))
        self.totals = {"requests": 0, "cached": 0, "calls": 0, "tries": 0, "retries": 0, "failed": 0,
                       "not_sent": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._warned: set[str] = set()
        self._stopped: str | None = None  # a CredentialError's message: no further request is sent

    def key(self, request: Request) -> str:
        return request_key(self.backend_id, request, self.defaults)

    def priced(self, model: str, usage: dict[str, int]) -> float:
        """Dollars of an answer's usage, whether paid now or earlier (the spend cap counts these)."""
        return cost_usd(model, usage, self.prices)

    def check_prices(self, models: Iterable[str]) -> None:
        """Before anything is sent: with a spend cap every model needs a price (an error naming
        the config key); without one a missing price is counted as $0, with a warning."""
        if not self.cacheable:
            return
        missing = sorted({m for m in models if m not in self.prices})
        if missing and self.budget.active:
            raise ValueError(f"config {self.where}.prices: no price for model(s) {missing}, needed by the spend "
                             f"cap ({self.budget.stage_key} / llm.max_cost_usd); add "
                             "{input: USD, output: USD} per 1M tokens (0 for a free or local model)")
        for m in missing:
            if m not in self._warned:
                self._warned.add(m)
                print(f"s1kit: warning: no price for model {m!r} in {self.where}.prices: its calls are "
                      "counted as $0", file=sys.stderr)

    def _usable(self, rec: dict | None) -> bool:
        if rec is None or rec.get("ok"):
            return rec is not None
        return not self.retry_failures and not STALE_FAILURE.match(str(rec.get("error") or ""))

    def prime(self, requests: Sequence[Request]) -> None:
        """Count the priced usage of the answers already cached before any request is sent, so
        that a resumed run's cap holds whatever order the workers take the requests in."""
        if not (self.budget.active and self.cacheable):
            return
        for req in requests:
            key = self.key(req)
            rec = self.cache.get(key)
            if self._usable(rec):
                self.budget.add(key, self.priced(req.model, dict(rec.get("usage") or {})))

    def complete(self, request: Request, validate: Callable[[Response], str | None] | None = None) -> Response:
        """The response to request, from the cache or the backend. ``validate(response)`` may
        return a reason to count a finished response as a failure (e.g. "unparsable grade").
        Past the spend cap a new request is not sent: its response is a failure
        ``not sent: spend cap reached``, neither cached nor in the ledger."""
        key = self.key(request)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # identical requests in one batch are paid once
            if self.cacheable:
                rec = self.cache.get(key)
                if self._usable(rec):
                    resp = record_to_response(rec)
                    self._account(key, request, resp, cached=True, latency=rec.get("latency_s", 0.0), tries=0)
                    return resp
            if self._stopped is not None:  # the key failed for another request: sending more is pointless
                raise CredentialError(self._stopped)
            if self.budget.active and not self.budget.admit():
                with self._lock:
                    self.totals["not_sent"] += 1
                return Response(text="", reasoning=None, finish_reason="error",
                                error="not sent: spend cap reached")
            t0 = time.perf_counter()
            resp, tries = self._call(key, request)
            if resp.finish_reason == "length" and not resp.error:
                resp = dataclasses.replace(resp, error="truncated: finish_reason length (raise max_tokens)")
            if validate is not None and resp.ok:
                reason = validate(resp)
                if reason:
                    resp = dataclasses.replace(resp, finish_reason="error", error=f"invalid: {reason}")
            resp = scrub_response(resp)  # a server may echo the key in any field
            latency = time.perf_counter() - t0
            if self.cacheable:
                self.cache.put(response_to_record(key, resp, backend=self.backend_id, model=request.model,
                                                  template_version=request.template_version,
                                                  latency_s=latency, tries=tries))
            self.budget.add(key, self.priced(request.model, resp.usage))
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
            except CredentialError as e:  # the same for every request: stop, cache nothing
                with self._lock:
                    self._stopped = self._stopped or scrub(str(e))
                raise CredentialError(self._stopped) from None
            except PermanentError as e:
                return Response(text="", reasoning=None, finish_reason="error", error=str(e)), attempt + 1
            except Exception as e:  # noqa: BLE001 - a reply no parser expected: recorded, never fatal
                return Response(text="", reasoning=None, finish_reason="error",
                                error=f"unexpected reply: {type(e).__name__}: {e}"), attempt + 1
        tries = self.max_retries + 1
        return Response(text="", reasoning=None, finish_reason="error",
                        error=f"gave up after {tries} tries: {last}"), tries

    def _account(self, key: str, request: Request, resp: Response, cached: bool, latency: float, tries: int) -> None:
        priced = self.priced(request.model, resp.usage)
        cost = 0.0 if cached else priced
        with self._lock:
            t = self.totals
            t["requests"] += 1
            t["cached"] += cached
            t["calls"] += not cached
            t["tries"] += tries
            t["retries"] += max(0, tries - 1)
            t["failed"] += not resp.ok
            if not cached:
                t["input_tokens"] += int(resp.usage.get("input_tokens", 0))
                t["output_tokens"] += int(resp.usage.get("output_tokens", 0))
                t["cost_usd"] += cost
            if self.ledger_path is not None:
                entry = {"key": key, "backend": self.backend_id, "model": request.model, "cached": cached,
                         "ok": resp.ok, "finish_reason": resp.finish_reason, "error": resp.error,
                         "usage": resp.usage, "cost_usd": round(cost, 8), "priced_usd": round(priced, 8),
                         "latency_s": round(latency, 6), "tries": tries, "time": time.time()}
                self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.ledger_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(scrub(entry), sort_keys=True) + "\n")

    def complete_many(self, requests: Sequence[Request] | Iterable[Request], workers: int = 4,
                      desc: str = "llm", validate: Callable[[Response], str | None] | None = None,
                      progress: bool = True) -> list[Response]:
        """Responses in the order of requests; a thread pool of ``workers``; progress shows
        requests, tokens and dollars. Raises SpendCapReached (after every request in flight
        finished and was cached) when the spend cap kept some requests from being sent."""
        requests = list(requests)
        self.check_prices(r.model for r in requests)
        self.prime(requests)
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
                    futures = [pool.submit(one, i) for i in range(len(requests))]
                    try:
                        for f in futures:
                            f.result()
                    except BaseException:  # a CredentialError (or an interrupt): start nothing more
                        for f in futures:
                            f.cancel()
                        raise
        finally:
            bar.close()
        not_sent = sum(1 for r in out if r is not None and r.error == "not sent: spend cap reached")
        if not_sent:
            raise SpendCapReached(self.budget.report(len(requests) - not_sent, not_sent, self.ledger_path))
        return out  # type: ignore[return-value]

    def check_answers(self, responses: Sequence[Response], ledger: str | Path | None = None) -> None:
        """After a stage's batch: every request failed -> AllFailed naming the reasons (and the
        backend's ``source``, e.g. the replay file), so the stage writes nothing and exits
        non-zero; some failed -> a warning on stderr, and the stage goes on (the failures stay
        in its outputs with their errors, and the quality filter drops them, as the paper's
        pipeline drops API errors)."""
        failed = [r for r in responses if not r.ok]
        if not failed:
            return
        reasons = collections.Counter(_reason(r.error) for r in failed)
        why = ", ".join(f"{n} x {k}" for k, n in reasons.most_common(5))
        again = (f"; failures are cached: fix the cause, then set {self.where}.retry_failures: true to ask "
                 "again" if self.cacheable else "")
        if len(failed) < len(responses):
            print(f"s1kit: warning: {self.where}: {len(failed)} of {len(responses)} requests failed ({why}); "
                  f"kept in the outputs with their errors{again}", file=sys.stderr)
            return
        source = getattr(self.backend, "source", None)
        listed = f"; the calls are listed in {ledger}" if ledger else ""
        raise AllFailed(scrub(f"{self.where}: every one of the {len(responses)} requests failed "
                              f"({why}){f' [{source}]' if source else ''}: nothing usable, no output "
                              f"written{listed}{again}"))


def _reason(error: str | None) -> str:
    """A failure's class for messages: its text up to the first colon, without the URL
    ("HTTP 400", "gave up after 3 tries", "invalid")."""
    return re.sub(r" (from|to) \S+?(?=:|$)", "", error or "error").split(":", 1)[0][:60]


def scrub_response(resp: Response) -> Response:
    """The response with every secret value (s1kit.secrets) replaced in its text fields."""
    text, reasoning, error = scrub((resp.text, resp.reasoning, resp.error))
    if (text, reasoning, error) == (resp.text, resp.reasoning, resp.error):
        return resp
    return dataclasses.replace(resp, text=text, reasoning=reasoning, error=error)


def fingerprint(text: str) -> str:
    """A short, stable hash of a prompt template, for ``Request.template_version``."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
