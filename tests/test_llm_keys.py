"""API keys (issue #21.3, #21.4): a malformed key is refused before any request, a key
echoed back in any encoding or cut short is never written, and a missing or refused key
(HTTP 401/403) stops the stage at once with nothing cached; a stage in which every
request failed exits non-zero.

End to end through ``s1kit distill`` (and the featurize jobs' ``run_job``) against a
local server standing in for the providers' APIs (tests/llm_server.FakeAPI; nothing
leaves the machine). Every file the stage writes (traces, ledger, the LLM cache, the
provenance records) and its stderr are searched for the key.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from llm_server import FakeAPI, canned

from s1kit import secrets
from s1kit.cli import main
from s1kit.llm import Request
from s1kit.llm.cache import ResponseCache, request_key
from s1kit.records import QUESTION_SCHEMA, make_question, read_table, write_table

VAR = "TEACHER_ACCESS_Q"  # the variable: a name that does not look secret
KEY = "sk-tEst/k+y=0123456789&abcdefXYZ"
KEY_LATIN1 = "sk-t\u00e9st/k+y=0123456789&abcdefXYZ"  # a non-ASCII key (Latin-1: it can be sent)
QUESTIONS = [f"What is {i} + {i}?" for i in range(5)]
BACKENDS = {  # backend -> (options, path the server sees)
    "openai_compat": lambda url: {"base_url": f"{url}/v1", "api_key_env": VAR},
    "anthropic": lambda url: {"base_url": url, "api_key_env": VAR},
    "gemini": lambda url: {"base_url": url, "api_key_env": VAR},
}


@pytest.fixture
def stage(tmp_path, monkeypatch):
    """Runs ``s1kit distill`` on QUESTIONS against a fresh local server; returns (rc, stderr)."""
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "llm-cache"))
    write_table(tmp_path / "pool.parquet", [make_question(q, "t", "t", "math") for q in QUESTIONS],
                schema=QUESTION_SCHEMA)
    servers = []

    class Stage:
        dir = tmp_path

        def server(self, **kw) -> FakeAPI:
            servers.append(FakeAPI(default={}, route=canned, **kw))
            return servers[-1]

        def run(self, capsys, backend="anthropic", llm=None, options=None) -> tuple[int, str]:
            opts = options if options is not None else BACKENDS[backend](servers[-1].url)
            rc = main(["distill", "--pool", str(tmp_path / "pool.parquet"), "--teacher", "t", "--backend", backend,
                       "--options-json", json.dumps(opts), "--model", "m",
                       "--llm-json", json.dumps({"max_retries": 0, "workers": 1, **(llm or {})}),
                       "--out-traces", str(tmp_path / "traces.parquet"),
                       "--out-ledger", str(tmp_path / "ledger.jsonl")])
            return rc, capsys.readouterr().err

        def written(self) -> dict[str, str]:
            """Every file under the stage's directory as text: its bytes, and for JSON, JSONL and
            parquet also every string value inside, decoded (a JSON-escaped key is then raw)."""
            out = {}
            for p in tmp_path.rglob("*"):
                if not p.is_file() or p.name == "pool.parquet":
                    continue
                if p.suffix == ".parquet":
                    out[str(p)] = "\n".join(strings(read_table(p).to_pylist()))
                    continue
                text = p.read_text(errors="replace")
                values = [json.loads(line) for line in text.splitlines() if line.strip()] \
                    if p.suffix in (".jsonl", ".partial") else [json.loads(text)] if p.suffix == ".json" else []
                out[str(p)] = "\n".join([text, *strings(values)])
            return out

        def cached(self) -> int:
            return len(ResponseCache(tmp_path / "llm-cache"))

    yield Stage()
    for s in servers:
        s.close()


def strings(value) -> list[str]:
    """Every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return []


def leaks(text: str, key: str) -> list[str]:
    """The forms of ``key`` (and 8-character prefixes of them) found in ``text``."""
    forms = {key, key.strip(), json.dumps(key.strip())[1:-1], urllib.parse.quote(key.strip(), safe=""),
             repr(key)[1:-1], base64.b64encode(f"user:{key.strip()}".encode()).decode()[8:-4]}
    return sorted({f for f in forms if f in text} | {f[:8] for f in forms if f[:8] in text})


# -- #21.3: a malformed key is refused before any request ---------------------------------

@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("value", [KEY + "\n", KEY + "\r\n", " " + KEY, KEY[:10] + "\t" + KEY[10:],
                                   KEY[:5] + "\x1b" + KEY[5:], KEY + "\u200b", KEY + "\u20ac"],
                         ids=["newline", "crlf", "space", "tab", "escape", "zero-width", "not-latin1"])
def test_malformed_key_is_an_error_naming_the_variable_before_any_request(stage, capsys, monkeypatch, backend,
                                                                          value):
    """A key as a secrets file gives it ($'sk-...\\n'): on main @6bc88e6 urllib refused the header,
    the error (with the key's repr) was cached, ledgered and put in traces.parquet, exit 0."""
    api = stage.server()
    monkeypatch.setenv(VAR, value)
    rc, err = stage.run(capsys, backend)
    assert rc == 2 and f"environment variable {VAR}: not a usable API key" in err, err
    assert api.hits == [] and stage.cached() == 0
    assert not (stage.dir / "traces.parquet").exists()
    for path, text in {**stage.written(), "stderr": err}.items():
        assert not leaks(text, value), path


# -- #21.3: a key echoed back in any encoding, or cut short, is never written ---------------

def echo_all(key: str) -> list[str]:
    """The key as leaky servers and proxies give it back."""
    return [key, json.dumps(key)[1:-1], repr(key), urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key),
            base64.b64encode(f"user:{key}".encode()).decode(), base64.b64encode(f"ab:{key}".encode()).decode(),
            f"Bearer {key}".replace("&", "&amp;")]


def echoing(key: str):
    """canned replies whose answer and thinking carry every encoding of the key."""
    def route(path, body):
        status, data = canned(path, body)
        msg = data["content"][0]
        msg["text"] = f"{' | '.join(echo_all(key))}\n{msg['text']}"
        return status, data
    return route


@pytest.mark.parametrize("key", [KEY, KEY_LATIN1], ids=["ascii", "latin1"])
def test_key_echoed_in_every_encoding_is_never_written(stage, capsys, monkeypatch, key):
    """The server echoes the key raw, JSON-escaped (a non-ASCII key as \\u00e9, as on main
    @6bc88e6), repr'd, URL-encoded, in base64 Basic auth and HTML-escaped: in an error body
    (one 400, cached as a failure) and in the answers (cached as successes)."""
    api = stage.server(echo=echo_all(key))
    api.route = echoing(key)
    api.script = [(400, {"error": "bad request"})]
    monkeypatch.setenv(VAR, key)
    rc, err = stage.run(capsys, "anthropic")
    assert len(api.hits) == 5 and api.hits[0]["headers"]["x-api-key"] == key  # sent (as Latin-1)...
    written = stage.written()
    assert any("llm-cache" in p for p in written) and any(p.endswith("ledger.jsonl") for p in written)
    for path, text in {**written, "stderr": err}.items():  # ...and never written, in any form
        assert not leaks(text, key), (path, leaks(text, key))
    assert all(text.count("[REDACTED]") >= 1 for p, text in written.items() if p.endswith((".jsonl", "traces.parquet")))
    assert rc == 0 and "1 of 5 requests failed" in err, err


@pytest.mark.parametrize("offset", [470, 480, 489])
def test_key_cut_at_the_error_snippet_is_not_kept(stage, capsys, monkeypatch, offset):
    """The 500-character error snippet ends inside the key (on main @6bc88e6 the prefix was
    stored): the body is scrubbed whole before it is cut."""
    api = stage.server()
    pad = offset - len('{"error": "')  # the key starts at character `offset` of the error body
    api.script = [(400, {"error": "x" * pad + " " + KEY})]
    monkeypatch.setenv(VAR, KEY)
    rc, err = stage.run(capsys, "anthropic")
    assert rc == 0 and len(api.hits) == 5
    errors = [t["error"] for t in read_table(stage.dir / "traces.parquet").to_pylist() if t["error"]]
    assert len(errors) == 1 and errors[0].startswith("HTTP 400")
    for path, text in {**stage.written(), "stderr": err}.items():
        assert KEY[:8] not in text, path


def test_scrub_covers_encodings_and_cut_prefixes(monkeypatch):
    """s1kit.secrets.scrub on its own: every encoding anywhere, a cut prefix where a text ends."""
    monkeypatch.setenv(VAR, KEY_LATIN1 + "\n")
    secrets.register(VAR)
    header = ("Bearer " + KEY_LATIN1 + "\n").encode("latin-1")
    urllib_error = f"unexpected reply: ValueError: Invalid header value {header!r}"  # main @6bc88e6's error
    for form in echo_all(KEY_LATIN1) + [repr(KEY_LATIN1 + "\n"), json.dumps(KEY_LATIN1 + "\n"), ascii(KEY_LATIN1),
                                        KEY_LATIN1.encode().decode("latin-1"), repr(KEY_LATIN1.encode()), urllib_error,
                                        json.dumps(json.dumps({"error": KEY_LATIN1}))]:
        out = secrets.scrub(f"before {form} after")
        assert "[REDACTED]" in out and not leaks(out, KEY_LATIN1), (form, out)
    for n in (8, 12, len(KEY_LATIN1) - 1):
        for tail in ("", "'", '"}', "...", "\ufffd", " \n"):
            out = secrets.scrub(f"HTTP 400: invalid key {KEY_LATIN1[:n]}{tail}")
            assert out == f"HTTP 400: invalid key [REDACTED]{tail}", (n, tail, out)
    # a prefix inside the text is ordinary text (only a key cut where the text ends is one)
    assert secrets.scrub(f"{KEY_LATIN1[:8]} and more") == f"{KEY_LATIN1[:8]} and more"
    assert secrets.scrub(f"x {KEY_LATIN1[:7]}") == f"x {KEY_LATIN1[:7]}"  # under 8 characters: left alone


# -- #21.4: a missing or refused key stops the stage, is never cached ----------------------

@pytest.mark.parametrize("backend", ["anthropic", "gemini"])
def test_missing_key_stops_the_stage_and_is_not_cached(stage, capsys, monkeypatch, backend):
    """On main @6bc88e6 every request was recorded as "no API key", the stage exited 0, and
    after the key was set a rerun served the cached failures and sent nothing."""
    api = stage.server()
    monkeypatch.delenv(VAR, raising=False)
    rc, err = stage.run(capsys, backend)
    assert rc == 2 and f"no API key: set the environment variable {VAR}" in err, err
    assert api.hits == [] and stage.cached() == 0 and not (stage.dir / "traces.parquet").exists()
    monkeypatch.setenv(VAR, KEY)
    rc, err = stage.run(capsys, backend)
    assert rc == 0 and len(api.hits) == len(QUESTIONS), err
    assert all(t["finish_reason"] == "stop" for t in read_table(stage.dir / "traces.parquet").to_pylist())


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("workers", [1, 3])
def test_refused_key_stops_the_stage_at_once(stage, capsys, monkeypatch, status, workers):
    """A 401/403: the stage stops after the requests in flight (at most ``workers``), names
    the variable, caches nothing and writes no output; with a good key the rerun sends all."""
    api = stage.server()
    api.script = [(status, {"error": {"message": "invalid x-api-key"}})] * len(QUESTIONS)
    monkeypatch.setenv(VAR, KEY)
    rc, err = stage.run(capsys, "anthropic", llm={"workers": workers})
    assert rc == 2 and f"HTTP {status} from {api.url}/v1/messages: the key in {VAR} was refused" in err, err
    assert 1 <= len(api.hits) <= workers and stage.cached() == 0
    assert not (stage.dir / "traces.parquet").exists() and not (stage.dir / "ledger.jsonl").exists()
    api.script = []
    sent = len(api.hits)
    rc, err = stage.run(capsys, "anthropic", llm={"workers": workers})
    assert rc == 0 and len(api.hits) - sent == len(QUESTIONS), err


def test_local_server_wanting_a_key_none_sent(stage, capsys, monkeypatch):
    """openai_compat on localhost sends no key when its variable is unset; a 401 then says so."""
    api = stage.server()
    api.script = [(401, {"error": "auth required"})]
    monkeypatch.delenv(VAR, raising=False)
    rc, err = stage.run(capsys, "openai_compat")
    assert rc == 2 and f"none was sent: set the environment variable {VAR}" in err and len(api.hits) == 1
    api.script = [(401, {"error": "auth required"})]
    rc, err = stage.run(capsys, "openai_compat", options={"base_url": f"{api.url}/v1", "api_key_env": None})
    assert rc == 2 and "none was sent: set the backend's api_key_env option" in err and len(api.hits) == 2


def test_credential_failures_cached_by_an_older_kit_are_asked_again(stage, capsys, monkeypatch):
    """Caches written before #21.4 hold "no API key" / "HTTP 401" failures: never served."""
    api = stage.server()
    monkeypatch.setenv(VAR, KEY)
    cache = ResponseCache(stage.dir / "llm-cache")
    old = ["no API key: set the environment variable " + VAR, f"HTTP 401 from {api.url}/v1/messages: denied",
           "HTTP 403 from x: forbidden", "unexpected reply: ValueError: Invalid header value b'x'", "HTTP 400 from x"]
    for q, error in zip(QUESTIONS, old):
        req = Request(model="m", messages=({"role": "user", "content": q},))
        cache.put({"key": request_key(f"anthropic@{api.url}", req), "ok": False, "text": "", "reasoning": None,
                   "finish_reason": "error", "usage": {}, "error": error})
    rc, err = stage.run(capsys, "anthropic")
    assert rc == 0 and len(api.hits) == 4, err  # the 400 is a real failure of that request: served


# -- #21.4: a stage in which every request failed does not exit 0 ---------------------------

def test_every_request_failed_is_an_error_partial_failure_a_warning(stage, capsys, monkeypatch):
    api = stage.server()
    monkeypatch.setenv(VAR, KEY)
    api.script = [(400, {"error": "model not found"})] * len(QUESTIONS)
    rc, err = stage.run(capsys, "anthropic")
    assert rc == 2 and "distill.llm: every one of the 5 requests failed (5 x HTTP 400)" in err, err
    assert "retry_failures: true" in err and "ledger.jsonl.partial" in err
    assert not (stage.dir / "traces.parquet").exists() and (stage.dir / "ledger.jsonl.partial").exists()
    rc, err = stage.run(capsys, "anthropic")  # served from the cache: still all failed, still an error
    assert rc == 2 and len(api.hits) == 5
    rc, err = stage.run(capsys, "anthropic", llm={"retry_failures": True})
    assert rc == 0 and len(api.hits) == 10
    rc, err = stage.run(capsys, "anthropic", llm={"retry_failures": True})  # successes are never asked again
    assert rc == 0 and len(api.hits) == 10
    assert all(r["error"] is None for r in read_table(stage.dir / "traces.parquet").to_pylist())


def test_partial_failure_exits_zero_with_a_warning(stage, capsys, monkeypatch):
    api = stage.server()
    monkeypatch.setenv(VAR, KEY)
    api.script = [(400, {"error": "too long"}), (503, {"error": "busy"})]
    rc, err = stage.run(capsys, "anthropic")
    assert rc == 0 and "warning: distill.llm: 2 of 5 requests failed (1 x HTTP 400, 1 x gave up after 1 tries)" \
        in err, err
    rows = read_table(stage.dir / "traces.parquet").to_pylist()
    assert [r["error"] is not None for r in rows] == [True, True, False, False, False]


def test_featurize_jobs_stop_the_same_way(tmp_path, monkeypatch):
    """The grader and domain jobs share run_job: a refused key and an all-failed batch stop them."""
    from s1kit.features.llm_jobs import LLMJob, run_job
    from s1kit.llm.client import AllFailed
    from s1kit.llm.http import CredentialError

    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv(VAR, KEY)
    api = FakeAPI(default={}, route=canned)
    try:
        job = LLMJob(backend="anthropic", model="m", options={"base_url": api.url, "api_key_env": VAR},
                     client={"max_retries": 0, "workers": 1})
        reqs = [Request(model="m", messages=({"role": "user", "content": q},)) for q in QUESTIONS]
        ids = [str(i) for i in range(len(reqs))]
        api.script = [(403, {"error": "forbidden"})]
        with pytest.raises(CredentialError, match=f"the key in {VAR} was refused"):
            run_job(job, ids, reqs, lambda r: None, tmp_path / "l.jsonl", "grade", "featurize.grader.llm")
        with pytest.raises(AllFailed, match="featurize.grader.llm.client: every one of the 5 requests failed"):
            run_job(job, ids, reqs, lambda r: "unparsable", tmp_path / "l.jsonl", "grade", "featurize.grader.llm")
        assert len(api.hits) == 6
    finally:
        api.close()
