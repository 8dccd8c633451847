"""The spend cap (s1kit.llm.spend) against a local server standing in for a paid API
(tests/llm_server.FakeAPI; nothing leaves the machine): stage caps, the run's total across
stage ledgers, resume after raising the cap, unknown prices refused up front."""

from __future__ import annotations

import json
import threading

import pytest
from llm_server import FakeAPI

from s1kit.cli import SPEND_CAP_EXIT, main
from s1kit.llm import Request
from s1kit.llm.cache import ResponseCache
from s1kit.llm.client import CachedClient
from s1kit.llm.openai_compat import OpenAICompatBackend
from s1kit.llm.spend import SpendCapReached
from s1kit.records import QUESTION_SCHEMA, make_question, read_jsonl, read_table, write_table

# 1M input tokens $1, 1M output $2: each reply (100 in, 200 out) costs $0.0005
PRICES = {"m": {"input": 1.0, "output": 2.0}}
CALL = 0.0005
REPLY = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Answer: 1"}}],
         "usage": {"prompt_tokens": 100, "completion_tokens": 200}}


@pytest.fixture
def server():
    s = FakeAPI(REPLY)
    yield s
    s.close()


def reqs(n: int) -> list[Request]:
    return [Request(model="m", messages=({"role": "user", "content": f"question {i}"},)) for i in range(n)]


def client(url: str, tmp_path, **kw) -> CachedClient:
    kw.setdefault("ledger_path", tmp_path / "results" / "stage" / "ledger.jsonl.partial")
    return CachedClient(OpenAICompatBackend(base_url=url, api_key_env=None), ResponseCache(tmp_path / "cache"),
                        prices=PRICES, where="distill.llm", **kw)


def test_stage_cap_stops_new_requests_and_holds_on_resume(server, tmp_path):
    with pytest.raises(SpendCapReached) as e:
        client(server.url, tmp_path, max_cost_usd=3 * CALL - 1e-9).complete_many(reqs(10), workers=1, progress=False)
    assert len(server.hits) == 3  # the third call crossed the cap; nothing after it was sent
    msg = str(e.value)
    assert "distill.llm.max_cost_usd = $0.0015: spent $0.0015" in msg and "$0.0000 left" in msg
    assert "3 request(s) answered and cached" in msg and "7 not sent" in msg
    assert "raise distill.llm.max_cost_usd" in msg and "rerun the same command" in msg
    assert len(ResponseCache(tmp_path / "cache")) == 3
    # the same cap again: the cached answers already used it up, nothing is sent
    with pytest.raises(SpendCapReached):
        client(server.url, tmp_path, max_cost_usd=3 * CALL - 1e-9).complete_many(reqs(10), workers=4, progress=False)
    assert len(server.hits) == 3
    # raised: exactly the rest is paid, nothing twice
    c = client(server.url, tmp_path, max_cost_usd=1.0)
    out = c.complete_many(reqs(10), workers=4, progress=False)
    assert all(r.ok for r in out) and len(server.hits) == 10 and c.totals["cached"] == 3
    assert len({json.dumps(h["body"], sort_keys=True) for h in server.hits}) == 10


def test_in_flight_requests_finish_and_are_cached(tmp_path):
    """A slow server and 4 workers: the calls already sent when the cap is reached finish and
    are cached; the overshoot is at most the calls in flight."""
    gate = threading.Event()

    def slow(path, body):
        gate.wait(5)
        return 200, REPLY

    s = FakeAPI(REPLY, route=slow)
    try:
        c = client(s.url, tmp_path, max_cost_usd=CALL / 2)
        threading.Timer(0.5, gate.set).start()
        with pytest.raises(SpendCapReached, match="not sent"):
            c.complete_many(reqs(12), workers=4, progress=False)
        assert 1 <= len(s.hits) <= 4
        assert len(ResponseCache(tmp_path / "cache")) == len(s.hits)  # every one sent was cached
        assert c.totals["not_sent"] == 12 - len(s.hits)
    finally:
        gate.set()
        s.close()


def test_unknown_price_is_an_error_before_any_request(server, tmp_path, capsys):
    c = CachedClient(OpenAICompatBackend(base_url=server.url, api_key_env=None), ResponseCache(tmp_path / "c"),
                     prices={}, max_cost_usd=5.0, where="featurize.grader.llm.client")
    with pytest.raises(ValueError, match=r"config featurize.grader.llm.client.prices: no price for model\(s\) \['m'\]"):
        c.complete_many(reqs(2), progress=False)
    assert server.hits == []
    # without a cap: sent, counted as $0, and said so
    CachedClient(OpenAICompatBackend(base_url=server.url, api_key_env=None), ResponseCache(tmp_path / "c"),
                 prices={}).complete_many(reqs(1), progress=False)
    assert "no price for model 'm'" in capsys.readouterr().err


def test_total_cap_counts_the_other_stages_ledgers(server, tmp_path, monkeypatch):
    """llm.max_cost_usd (S1KIT_LLM_MAX_COST_USD): another stage's ledger under results/ already
    holds $0.0010; a total of $0.0020 leaves room for two calls of this stage."""
    other = tmp_path / "results" / "distill" / "t" / "grades.ledger.jsonl"
    other.parent.mkdir(parents=True)
    other.write_text("".join(json.dumps({"key": f"k{i}", "cost_usd": 0.0, "priced_usd": CALL}) + "\n"
                             for i in range(2)))
    monkeypatch.setenv("S1KIT_LLM_MAX_COST_USD", str(4 * CALL - 1e-9))
    with pytest.raises(SpendCapReached) as e:
        client(server.url, tmp_path).complete_many(reqs(5), workers=1, progress=False)
    assert len(server.hits) == 2
    assert "llm.max_cost_usd = $0.0020: spent $0.0020 in this run's ledgers" in str(e.value)


def test_distill_cli_exits_with_the_message_and_resumes(server, tmp_path, monkeypatch, capsys):
    """`s1kit distill` at its cap: exit 3, the message, the partial ledger kept, no outputs;
    rerun with a raised cap finishes without paying twice."""
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "cache"))
    pool = tmp_path / "results" / "data" / "pool.parquet"
    write_table(pool, [make_question(f"question {i}", "s", "math", "math") for i in range(6)], schema=QUESTION_SCHEMA)
    out = tmp_path / "results" / "distill" / "t"

    def run(cap: float) -> int:
        llm = {"workers": 1, "prices": PRICES, "max_cost_usd": cap}
        return main(["distill", "--pool", str(pool), "--teacher", "t", "--backend", "openai_compat", "--model", "m",
                     "--options-json", json.dumps({"base_url": server.url, "api_key_env": None}),
                     "--llm-json", json.dumps(llm), "--out-traces", str(out / "traces.parquet"),
                     "--out-ledger", str(out / "ledger.jsonl")])

    assert run(2 * CALL) == SPEND_CAP_EXIT
    err = capsys.readouterr().err
    assert "spend cap reached: distill.llm.max_cost_usd = $0.0010" in err and "4 not sent" in err
    assert not (out / "traces.parquet").exists() and len(read_jsonl(out / "ledger.jsonl.partial")) == 2
    assert run(1.0) == 0 and len(server.hits) == 6
    ledger = read_jsonl(out / "ledger.jsonl")
    assert [x["cached"] for x in ledger] == [True] * 2 + [False] * 4
    assert sum(x["priced_usd"] for x in ledger) == pytest.approx(6 * CALL)
    assert sum(x["cost_usd"] for x in ledger) == pytest.approx(4 * CALL)
    assert read_table(out / "traces.parquet").num_rows == 6 and not (out / "ledger.jsonl.partial").exists()
