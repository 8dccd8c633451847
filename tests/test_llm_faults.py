"""Every transport failure is retried or recorded, never a traceback that stops a batch.

Against a local server standing in for the API (tests/llm_server.FakeAPI; nothing leaves
the machine) that injects each fault of ``llm_server.FAULTS`` (truncated bodies, resets,
bad status lines, a server that hangs or trickles after its headers, invalid JSON), the
retryable HTTP statuses, and TLS and DNS errors (a TLS handshake against the plain-HTTP
server; a failing name lookup patched into ``socket.getaddrinfo``), through the real
openai_compat backend and urllib.
"""

from __future__ import annotations

import socket

import pytest
from llm_server import FAULTS, FakeAPI

from s1kit.llm import Request
from s1kit.llm.cache import ResponseCache
from s1kit.llm.client import CachedClient
from s1kit.llm.http import TransientError, post_json
from s1kit.llm.openai_compat import OpenAICompatBackend
from s1kit.records import read_jsonl

REPLY = {"choices": [{"index": 0, "finish_reason": "stop",
                      "message": {"role": "assistant", "content": "Answer: 2", "reasoning_content": "1+1 is 2"}}],
         "usage": {"prompt_tokens": 12, "completion_tokens": 30}}
TIMEOUT = 0.5  # the backend's timeout: "hang" and "trickle" outlast it


@pytest.fixture
def server():
    s = FakeAPI(REPLY, hang_s=1.5)
    yield s
    s.close()


def q(text: str = "1+1?") -> Request:
    return Request(model="m", messages=({"role": "user", "content": text},))


def client(url: str, tmp_path, **kw) -> CachedClient:
    return CachedClient(OpenAICompatBackend(base_url=url, api_key_env=None, timeout=TIMEOUT),
                        ResponseCache(tmp_path / "cache"), ledger_path=tmp_path / "ledger.jsonl",
                        sleep=lambda _: None, **kw)


FAULT_CASES = [*FAULTS, 408, 409, 425, 429, 500, 502, 503, 504, 529]


def _script(fault):
    return fault if isinstance(fault, str) else (fault, {"error": f"status {fault}"})


@pytest.mark.parametrize("fault", FAULT_CASES)
def test_each_fault_is_retried_then_succeeds(server, tmp_path, fault):
    """One fault, then a good reply: one retry, an ok answer, cached, the ledger says 2 tries."""
    server.script = [_script(fault)]
    c = client(server.url, tmp_path, max_retries=2)
    out = c.complete_many([q()], workers=1, progress=False)
    assert out[0].ok and out[0].text == "Answer: 2"
    assert len(server.hits) == 2 and c.totals["retries"] == 1
    assert [x["tries"] for x in read_jsonl(tmp_path / "ledger.jsonl")] == [2]


@pytest.mark.parametrize("fault", FAULT_CASES)
def test_each_fault_exhausting_retries_is_recorded_and_not_paid_again(server, tmp_path, fault):
    """The fault every time: a recorded failure with its reason (the batch goes on with the
    next question), cached, so a rerun sends nothing for it."""
    server.script = [_script(fault)] * 2
    c = client(server.url, tmp_path, max_retries=1)
    bad, good = c.complete_many([q("a"), q("b")], workers=1, progress=False)
    assert not bad.ok and bad.error.startswith("gave up after 2 tries: ") and good.ok
    reason = bad.error.removeprefix("gave up after 2 tries: ")
    expected = {"truncate": "truncated body", "hang": "timeout", "trickle": "timeout",
                "bad_json": "unparsable JSON", "not_object": "unexpected JSON", "truncate_error": "HTTP 503",
                "reset": "connection error", "close": "connection error", "bad_status": "connection error"}
    assert reason.startswith(expected.get(fault, f"HTTP {fault}")), reason
    assert len(server.hits) == 3
    again = client(server.url, tmp_path, max_retries=1).complete_many([q("a"), q("b")], workers=1, progress=False)
    assert [r.error for r in again] == [bad.error, None] and len(server.hits) == 3


def test_a_hanging_server_costs_one_timeout_per_try(server, tmp_path):
    import time

    server.script = ["trickle"]
    t0 = time.monotonic()
    with pytest.raises(TransientError, match="timeout"):
        post_json(f"{server.url}/chat/completions", {}, {}, timeout=TIMEOUT)
    assert time.monotonic() - t0 < TIMEOUT + 0.5  # bytes keep coming, yet the deadline holds


def test_tls_error_is_transient(server):
    """A TLS handshake against a plain-HTTP server: ssl.SSLError, wrapped by urllib."""
    with pytest.raises(TransientError, match="connection error.*SSL"):
        post_json(server.url.replace("http://", "https://") + "/chat/completions", {}, {}, timeout=2)


def test_dns_error_is_transient_and_recorded(tmp_path, monkeypatch):
    real = socket.getaddrinfo

    def lookup(host, *args, **kw):
        if host == "api.example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    c = client("http://api.example.invalid/v1", tmp_path, max_retries=2)
    r = c.complete(q())
    assert not r.ok and r.error.startswith("gave up after 3 tries: connection error") and "gaierror" in r.error


def test_an_unexpected_reply_shape_is_a_recorded_failure(server, tmp_path):
    """A 200 whose JSON no parser expected (choices is a string): recorded, the batch goes on."""
    server.script = [(200, {"choices": "oops"}), (200, {"choices": [{"message": "not a dict"}]})]
    c = client(server.url, tmp_path)
    a, b, ok = c.complete_many([q("a"), q("b"), q("c")], workers=1, progress=False)
    assert not a.ok and "unexpected response shape" in a.error
    assert not b.ok and b.error.startswith("unexpected reply: AttributeError") and ok.ok


def test_retry_after_is_honoured_for_408_and_425(server, tmp_path):
    server.script = [(408, {"error": "slow"}, {"retry-after": "7"}), (425, {"error": "early"}, {"retry-after": "9"})]
    sleeps: list[float] = []
    c = CachedClient(OpenAICompatBackend(base_url=server.url, api_key_env=None, timeout=TIMEOUT),
                     ResponseCache(tmp_path / "c"), max_retries=3, backoff_base=0.01, sleep=sleeps.append)
    assert c.complete(q()).ok and sleeps == [7.0, 9.0]
