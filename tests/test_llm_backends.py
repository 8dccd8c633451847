"""LLM backends: request shape and response parsing, against a local server standing in for
the API (http.server in a thread; nothing leaves the machine), plus replay."""

from __future__ import annotations

import json

import pytest
from llm_server import FakeAPI

from s1kit.llm import BACKENDS, Request, make_client
from s1kit.llm.anthropic import AnthropicBackend
from s1kit.llm.cache import ResponseCache
from s1kit.llm.client import CachedClient
from s1kit.llm.gemini import GeminiBackend
from s1kit.llm.openai_compat import OpenAICompatBackend
from s1kit.llm.replay import ReplayBackend

FAKE_KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
def api():
    servers = []

    def make(default):
        s = FakeAPI(default)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


OPENAI_REPLY = {
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Answer: 2", "reasoning_content": "1+1 is 2"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 30, "completion_tokens_details": {"reasoning_tokens": 20}},
}
ANTHROPIC_REPLY = {
    "content": [{"type": "thinking", "thinking": "Let me grade.", "signature": "x"}, {"type": "text", "text": "Yes"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 7, "cache_creation_input_tokens": 900, "cache_read_input_tokens": 0},
}
GEMINI_REPLY = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "I think...", "thought": True},
                                                            {"text": "Answer: 2"}]},
                    "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3, "thoughtsTokenCount": 40},
}


def q(text="What is 1+1?", **kw):
    return Request(model="m", messages=({"role": "user", "content": text},), **kw)


def test_backends_are_registered_lazily():
    for name in ("oracle", "openai_compat", "anthropic", "gemini", "replay"):
        assert name in BACKENDS
    assert BACKENDS.get("gemini") is GeminiBackend


def test_openai_compat_request_and_parse(api, monkeypatch):
    """Against a local server standing in for the API (DeepSeek / vLLM shape)."""
    s = api(OPENAI_REPLY)
    monkeypatch.setenv("MY_KEY", FAKE_KEY)
    be = OpenAICompatBackend(base_url=s.url + "/v1", api_key_env="MY_KEY")
    r = be.complete(q(system="Be brief.", params={"temperature": 0.0, "max_tokens": 100}))
    hit = s.hits[0]
    assert hit["path"] == "/v1/chat/completions"
    assert hit["headers"]["authorization"] == f"Bearer {FAKE_KEY}"
    assert hit["body"] == {"model": "m", "temperature": 0.0, "max_tokens": 100, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 1+1?"}]}
    assert (r.text, r.reasoning, r.finish_reason) == ("Answer: 2", "1+1 is 2", "stop") and r.ok
    assert r.usage == {"input_tokens": 12, "output_tokens": 30, "reasoning_tokens": 20}


def test_openai_compat_reasoning_variants(api):
    """OpenRouter's ``reasoning`` field, a raw <think> block, and length; against a local server."""
    s = api(OPENAI_REPLY)
    be = OpenAICompatBackend(base_url=s.url, api_key_env=None)
    s.script = [
        (200, {"choices": [{"finish_reason": "stop", "message": {"content": "B", "reasoning": "r"}}]}),
        (200, {"choices": [{"finish_reason": "stop", "message": {"content": "<think>\nhmm\n</think>\n\nA"}}]}),
        (200, {"choices": [{"finish_reason": "length", "message": {"content": "cut", "reasoning_content": "long"}}]}),
    ]
    a, b, c = (be.complete(q()) for _ in range(3))
    assert (a.text, a.reasoning) == ("B", "r")
    assert (b.text, b.reasoning) == ("A", "hmm")
    assert c.finish_reason == "length" and not c.ok
    assert "authorization" not in s.hits[0]["headers"]


def test_anthropic_request_caches_system_prefix(api, monkeypatch):
    """Against a local server standing in for the API."""
    s = api(ANTHROPIC_REPLY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    be = AnthropicBackend(base_url=s.url, max_tokens=256)
    r = be.complete(q(system="RUBRIC " * 100, params={"temperature": 0.0}))
    hit = s.hits[0]
    assert hit["path"] == "/v1/messages"
    assert hit["headers"]["x-api-key"] == FAKE_KEY and hit["headers"]["anthropic-version"] == "2023-06-01"
    assert hit["body"]["system"] == [{"type": "text", "text": "RUBRIC " * 100, "cache_control": {"type": "ephemeral"}}]
    assert hit["body"]["max_tokens"] == 256 and hit["body"]["temperature"] == 0.0
    assert hit["body"]["messages"] == [{"role": "user", "content": "What is 1+1?"}]
    assert (r.text, r.reasoning, r.finish_reason) == ("Yes", "Let me grade.", "stop")
    assert r.usage["cache_creation_input_tokens"] == 900
    s.script = [(200, {**ANTHROPIC_REPLY, "stop_reason": "max_tokens"})]
    assert be.complete(q()).finish_reason == "length"


def test_gemini_request_and_thoughts(api, monkeypatch):
    """Against a local server standing in for the API."""
    s = api(GEMINI_REPLY)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    be = GeminiBackend(base_url=s.url)
    r = be.complete(Request(model="gemini-2.5-flash", system="sys", messages=(
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "q"}),
        params={"max_tokens": 1000, "temperature": 0.7, "thinking_budget": 512}))
    hit = s.hits[0]
    assert hit["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert hit["headers"]["x-goog-api-key"] == FAKE_KEY and FAKE_KEY not in hit["path"]
    assert hit["body"]["contents"] == [{"role": "user", "parts": [{"text": "hi"}]},
                                       {"role": "model", "parts": [{"text": "yo"}]},
                                       {"role": "user", "parts": [{"text": "q"}]}]
    assert hit["body"]["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert hit["body"]["generationConfig"] == {"maxOutputTokens": 1000, "temperature": 0.7,
                                               "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512}}
    assert (r.text, r.reasoning, r.finish_reason) == ("Answer: 2", "I think...", "stop")
    assert r.usage == {"input_tokens": 8, "output_tokens": 43, "reasoning_tokens": 40}
    s.script = [(200, {"promptFeedback": {"blockReason": "SAFETY"}}),
                (200, {**GEMINI_REPLY, "candidates": [{**GEMINI_REPLY["candidates"][0], "finishReason": "MAX_TOKENS"}]})]
    blocked = be.complete(q())
    assert blocked.finish_reason == "error" and blocked.error == "blocked: SAFETY"
    assert be.complete(q()).finish_reason == "length"


def test_connection_refused_is_transient():
    import socket

    from s1kit.llm.http import TransientError, post_json

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError, match="connection error"):
        post_json(f"http://127.0.0.1:{port}/x", {}, {}, timeout=2)


def test_missing_key_is_a_clear_error_and_not_cached(tmp_path, monkeypatch):
    """Issue #21.4: an error naming the variable, before any request, with nothing cached."""
    from s1kit.llm.http import CredentialError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    c = CachedClient(AnthropicBackend(base_url="http://127.0.0.1:9"), ResponseCache(tmp_path))
    with pytest.raises(CredentialError, match="ANTHROPIC_API_KEY"):
        c.complete(q())
    assert len(c.cache) == 0


def test_retries_429_500_then_success_through_http(api, tmp_path, monkeypatch):
    """Against a local server standing in for the API: 429, 500, then 200."""
    s = api(OPENAI_REPLY)
    s.script = [(429, {"error": "rate"}), (500, {"error": "boom"})]
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    sleeps = []
    c = CachedClient(OpenAICompatBackend(base_url=s.url), ResponseCache(tmp_path / "c"), max_retries=3,
                     sleep=sleeps.append)
    r = c.complete(q())
    assert r.ok and len(s.hits) == 3 and len(sleeps) == 2


def test_gives_up_through_http_and_400_is_not_retried(api, tmp_path, monkeypatch):
    """Against a local server standing in for the API."""
    s = api(OPENAI_REPLY)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    s.script = [(503, {"error": "down"})] * 3
    c = CachedClient(OpenAICompatBackend(base_url=s.url), ResponseCache(tmp_path / "c"), max_retries=2,
                     sleep=lambda _: None)
    r = c.complete(q())
    assert not r.ok and "gave up after 3 tries" in r.error and "HTTP 503" in r.error and len(s.hits) == 3
    s.script = [(400, {"error": "bad request"})]
    r = c.complete(q("other"))
    assert not r.ok and "HTTP 400" in r.error and len(s.hits) == 4


def test_killed_run_resumes_without_repeating_paid_calls(api, tmp_path, monkeypatch):
    """Against a local server standing in for the API: a run dies after some calls (the backend
    raises mid-batch); the rerun pays only for what is missing, counted in server hits."""
    s = api(OPENAI_REPLY)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    reqs = [q(f"question {i}") for i in range(10)]
    be = OpenAICompatBackend(base_url=s.url)
    real = be.complete
    n = [0]

    def dying(request):
        n[0] += 1
        if n[0] > 6:
            raise KeyboardInterrupt  # the "kill"
        return real(request)

    be.complete = dying
    with pytest.raises(KeyboardInterrupt):
        CachedClient(be, ResponseCache(tmp_path / "c")).complete_many(reqs, workers=1, progress=False)
    assert len(s.hits) == 6
    be.complete = real
    out = CachedClient(be, ResponseCache(tmp_path / "c")).complete_many(reqs, workers=3, progress=False)
    assert len(s.hits) == 10 and all(r.ok for r in out)


def test_secrets_never_written(api, tmp_path, monkeypatch):
    """Against a local server standing in for the API, which echoes the key in an error body."""
    s = api(OPENAI_REPLY)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    s.script = [(400, {"error": f"invalid request for key {FAKE_KEY}"})]  # (401 stops the stage: test_llm_keys)
    ledger = tmp_path / "ledger.jsonl"
    c = CachedClient(OpenAICompatBackend(base_url=s.url), ResponseCache(tmp_path / "cache"), ledger_path=ledger)
    bad = c.complete(q("a"))
    good = c.complete(q("b"))
    assert not bad.ok and "[REDACTED]" in bad.error and FAKE_KEY not in bad.error and good.ok
    assert s.hits[0]["headers"]["authorization"].endswith(FAKE_KEY)  # it was sent...
    for path in [ledger, *(tmp_path / "cache").glob("*.jsonl")]:
        assert FAKE_KEY not in path.read_text()  # ...and never written


def test_cache_key_separates_servers(api, tmp_path):
    """Against two local servers standing in for two providers serving one model name."""
    s1, s2 = api(OPENAI_REPLY), api(OPENAI_REPLY)
    cache = ResponseCache(tmp_path / "c")
    CachedClient(OpenAICompatBackend(base_url=s1.url, api_key_env=None), cache).complete(q())
    CachedClient(OpenAICompatBackend(base_url=s2.url, api_key_env=None), cache).complete(q())
    assert len(s1.hits) == len(s2.hits) == 1


def test_make_client_checks_options(tmp_path):
    with pytest.raises(ValueError, match="unknown option.*base_ur"):
        make_client("gemini", {"base_ur": "x"})
    c = make_client("oracle", {"seed": 1}, max_retries=0)
    assert c.backend.seed == 1 and c.cache is None


def test_replay_hits_and_misses(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "s1K.parquet"
    pq.write_table(pa.table({"question": ["Q1", "Q2"], "thinking_trajectories": [["t1"], ["t2a", "t2b"]],
                             "attempt": ["A1", "A2"]}), path)
    be = ReplayBackend(str(path))
    r = be.complete(q("Q2"))
    assert (r.text, r.reasoning, r.ok) == ("A2", "t2a\nt2b", True)
    miss = be.complete(q("Q3"))
    assert miss.finish_reason == "error" and miss.error == "not in replay set"
    jl = tmp_path / "s11.jsonl"
    jl.write_text(json.dumps({"question": "Q1", "gemini_thinking_trajectory": "g", "gemini_attempt": "GA"}) + "\n")
    g = ReplayBackend(str(jl), thinking_column="gemini_thinking_trajectory", attempt_column="gemini_attempt")
    assert g.complete(q("Q1")).text == "GA"
    with pytest.raises(ValueError, match="no column 'thinking_trajectories'"):
        ReplayBackend(str(jl))
    assert getattr(ReplayBackend, "cacheable") is False
