"""The LLM cache and client logic: keys, resume after a kill, retries, rate limit, ledger.

These use an in-process fake backend; tests/test_llm_backends.py runs the same paths
against a local server standing in for the APIs.
"""

from __future__ import annotations

import json
import threading

import pytest

from s1kit.llm import Request, Response
from s1kit.llm.cache import ResponseCache, request_key
from s1kit.llm.client import CachedClient, RateLimiter, cost_usd
from s1kit.llm.http import PermanentError, TransientError


def req(q="What is 1+1?", **kw):
    return Request(model="m", messages=({"role": "user", "content": q},), **kw)


class FakeBackend:
    """Answers "answer to <q>"; ``script`` is a list of exceptions/Responses served first."""

    name = "fake"

    def __init__(self, script=()):
        self.script = list(script)
        self.calls = 0
        self.lock = threading.Lock()

    def complete(self, request):
        with self.lock:
            self.calls += 1
            item = self.script.pop(0) if self.script else None
        if isinstance(item, Exception):
            raise item
        if isinstance(item, Response):
            return item
        q = request.messages[-1]["content"]
        return Response(text=f"answer to {q}", reasoning="think", finish_reason="stop",
                        usage={"input_tokens": 10, "output_tokens": 100})


def client(tmp_path, backend, **kw):
    kw.setdefault("sleep", lambda s: None)
    return CachedClient(backend, ResponseCache(tmp_path / "cache"), **kw)


# --- keys -------------------------------------------------------------------------------

def test_key_is_stable_and_ignores_param_order():
    a = req(params={"temperature": 0.0, "max_tokens": 10})
    b = req(params={"max_tokens": 10, "temperature": 0.0})
    assert request_key("x", a) == request_key("x", b)
    assert len(request_key("x", a)) == 64
    assert request_key("x", req()) == request_key("x", req(params={"seed": None}))


@pytest.mark.parametrize("change", [
    dict(template_version="2"), dict(params={"temperature": 0.7}), dict(sample_index=1),
    dict(system="rubric"), dict(q="What is 1+2?"),
])
def test_key_changes_with_every_input(change):
    q = change.pop("q", "What is 1+1?")
    assert request_key("x", req()) != request_key("x", req(q, **change))


def test_key_changes_with_backend_and_model_and_drops_defaults():
    assert request_key("x", req()) != request_key("y", req())
    other = Request(model="m2", messages=req().messages)
    assert request_key("x", req()) != request_key("x", other)
    with_default = req(params={"temperature": 1.0})
    assert request_key("x", with_default, {"temperature": 1.0}) == request_key("x", req())


def test_pinned_key_value():
    """The key layout is a contract with every existing cache: changing it re-pays every call."""
    from s1kit.llm.cache import canonical_json, key_payload

    r = Request(model="g", messages=({"role": "user", "content": "q"},))
    assert canonical_json(key_payload("gemini", r)) == (
        '{"backend":"gemini","messages":[{"content":"q","role":"user"}],"model":"g","params":{},'
        '"sample_index":0,"system":null,"template_version":"1"}')
    assert request_key("gemini", r) == "bd769ae4c848cedc96393cd640c9c13855e32f51849eae0bd0ffa84a48d046a0"


# --- cache and resume --------------------------------------------------------------------

def test_hit_costs_no_call_and_survives_a_new_process(tmp_path):
    be = FakeBackend()
    c = client(tmp_path, be)
    r1 = c.complete(req())
    assert be.calls == 1 and r1.ok
    c2 = client(tmp_path, be)  # a new client = a restarted run
    r2 = c2.complete(req())
    assert be.calls == 1 and r2 == r1
    assert c2.totals["cached"] == 1 and c2.totals["cost_usd"] == 0.0


def test_resume_after_kill_with_truncated_last_line(tmp_path):
    be = FakeBackend()
    c = client(tmp_path, be)
    reqs = [req(f"q{i}") for i in range(20)]
    c.complete_many(reqs, workers=1, progress=False)
    assert be.calls == 20
    # simulate a kill mid-write: cut the last line of one shard in half
    shard = max((tmp_path / "cache").glob("*.jsonl"), key=lambda p: p.stat().st_size)
    data = shard.read_bytes()
    lines = data.splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    with pytest.warns(UserWarning, match="damaged cache line"):
        c2 = client(tmp_path, be)
        out = c2.complete_many(reqs, workers=2, progress=False)
    assert be.calls == 21  # only the response whose line was cut is asked again
    assert len(ResponseCache(tmp_path / "cache")) == 21  # 19 whole + the cut line + its replacement
    assert [r.text for r in out] == [f"answer to q{i}" for i in range(20)]
    # the new line starts on a fresh line: a third run reads everything and calls nothing
    with pytest.warns(UserWarning):
        client(tmp_path, be).complete_many(reqs, workers=2, progress=False)
    assert be.calls == 21


def test_duplicate_requests_in_one_batch_are_paid_once(tmp_path):
    be = FakeBackend()
    out = client(tmp_path, be).complete_many([req()] * 8, workers=4, progress=False)
    assert be.calls == 1 and len({r.text for r in out}) == 1


def test_failures_are_cached_and_retried_only_on_request(tmp_path):
    be = FakeBackend([PermanentError("HTTP 400: bad")])
    r = client(tmp_path, be).complete(req())
    assert not r.ok and "HTTP 400" in r.error and be.calls == 1
    again = client(tmp_path, be).complete(req())
    assert not again.ok and be.calls == 1
    fixed = client(tmp_path, be, retry_failures=True).complete(req())
    assert fixed.ok and be.calls == 2
    # a success is never re-requested, even with retry_failures
    assert client(tmp_path, be, retry_failures=True).complete(req()).ok and be.calls == 2


def test_length_is_a_failure_with_reason(tmp_path):
    be = FakeBackend([Response(text="half", reasoning="...", finish_reason="length")])
    r = client(tmp_path, be).complete(req())
    assert not r.ok and r.finish_reason == "length" and "truncated" in r.error
    rec = ResponseCache(tmp_path / "cache").get(request_key("fake", req()))
    assert rec["ok"] is False and rec["finish_reason"] == "length" and rec["text"] == "half"


def test_validate_marks_unparsable_output_failed(tmp_path):
    be = FakeBackend()
    r = client(tmp_path, be).complete(req(), validate=lambda resp: None if "Yes" in resp.text else "no Yes/No")
    assert not r.ok and r.error == "invalid: no Yes/No" and r.text.startswith("answer")


# --- retries and rate limit --------------------------------------------------------------

def test_retries_transient_errors_with_capped_backoff(tmp_path):
    sleeps = []
    be = FakeBackend([TransientError("HTTP 429"), TransientError("HTTP 500"), TransientError("timeout")])
    c = client(tmp_path, be, max_retries=5, backoff_base=1.0, backoff_cap=3.0, sleep=sleeps.append)
    r = c.complete(req())
    assert r.ok and be.calls == 4 and len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 1.5 <= sleeps[2] <= 3.0
    # seeded jitter: the same request backs off the same way
    sleeps2 = []
    be2 = FakeBackend([TransientError("a"), TransientError("b"), TransientError("c")])
    CachedClient(be2, ResponseCache(tmp_path / "c2"), max_retries=5, backoff_base=1.0, backoff_cap=3.0,
                 sleep=sleeps2.append).complete(req())
    assert sleeps2 == sleeps


def test_gives_up_after_max_retries_and_records_failure(tmp_path):
    be = FakeBackend([TransientError("HTTP 503")] * 10)
    ledger = tmp_path / "ledger.jsonl"
    r = client(tmp_path, be, max_retries=2, ledger_path=ledger).complete(req())
    assert be.calls == 3 and not r.ok and "gave up after 3 tries" in r.error and "503" in r.error
    entry = json.loads(ledger.read_text().splitlines()[-1])
    assert entry["ok"] is False and entry["tries"] == 3 and entry["cached"] is False


def test_retry_after_header_is_respected_but_capped(tmp_path):
    sleeps = []
    be = FakeBackend([TransientError("429", retry_after=7.0), TransientError("429", retry_after=999.0)])
    client(tmp_path, be, backoff_base=0.1, backoff_cap=30.0, sleep=sleeps.append).complete(req())
    assert sleeps == [7.0, 30.0]


def test_rate_limiter_arithmetic():
    now = [100.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    rl = RateLimiter(rpm=30, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        rl.acquire()
    assert slept == [2.0, 2.0, 2.0, 2.0]  # 30/min = one start every 2 s; the first is free
    now[0] += 60  # after a pause no debt is carried
    rl.acquire()
    assert len(slept) == 4
    assert RateLimiter(None).acquire() == 0.0


def test_client_rate_limits_calls_but_not_hits(tmp_path):
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    be = FakeBackend()
    c = client(tmp_path, be, rpm=60, sleep=sleep, clock=lambda: now[0])
    for i in range(3):
        c.complete(req(f"q{i}"))
    for i in range(3):
        c.complete(req(f"q{i}"))
    assert sum(slept) == pytest.approx(2.0) and be.calls == 3


# --- ledger and cost ---------------------------------------------------------------------

def test_ledger_and_cost(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    prices = {"m": {"input": 1.0, "output": 10.0}}  # $/M tokens
    c = client(tmp_path, FakeBackend(), prices=prices, ledger_path=ledger)
    c.complete(req())
    c.complete(req())
    rows = [json.loads(x) for x in ledger.read_text().splitlines()]
    assert [r["cached"] for r in rows] == [False, True]
    assert rows[0]["cost_usd"] == pytest.approx((10 * 1.0 + 100 * 10.0) / 1e6) and rows[1]["cost_usd"] == 0
    assert rows[0]["usage"] == {"input_tokens": 10, "output_tokens": 100} and rows[0]["finish_reason"] == "stop"
    assert c.totals["cost_usd"] == pytest.approx(1010 / 1e6) and c.totals["output_tokens"] == 100
    assert cost_usd("unknown", {"input_tokens": 5}, prices) == 0.0
    assert cost_usd("m", {"cache_read_input_tokens": 1_000_000}, prices) == pytest.approx(0.1)


def test_oracle_bypasses_cache(tmp_path, monkeypatch):
    import random

    from s1kit.llm.oracle import OracleBackend
    from s1kit.tiny.chains import sample_chain

    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "never"))
    q = sample_chain(random.Random(0), 3).question()
    c = CachedClient(OracleBackend(seed=0), ledger_path=tmp_path / "l.jsonl")
    r = c.complete(Request(model="oracle", messages=({"role": "user", "content": q},)))
    assert r.ok and r == OracleBackend(seed=0).complete(Request(model="oracle", messages=({"role": "user", "content": q},)))
    assert c.cache is None and not (tmp_path / "never").exists()
    assert (tmp_path / "l.jsonl").exists()


def test_cache_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "env"))
    assert ResponseCache().root == tmp_path / "env"
    monkeypatch.delenv("S1KIT_CACHE_DIR")
    assert str(ResponseCache().root).endswith(".cache/s1kit/llm")
