"""The oracle teacher (s1kit.llm.oracle) and the distill stage."""

from __future__ import annotations

import json
import random

import pytest

from s1kit.distill import TRACE_SCHEMA, distill
from s1kit.llm import BACKENDS, Request
from s1kit.llm.oracle import OracleBackend, slipped_trace
from s1kit.records import QUESTION_SCHEMA, make_question, read_jsonl, read_table, write_table
from s1kit.tiny.chains import Chain, parse_chain, sample_chain


def _ask(backend, question):
    return backend.complete(Request(model="oracle", messages=({"role": "user", "content": question},)))


def _chains(n=40, seed=0):
    rng = random.Random(seed)
    return [sample_chain(rng, rng.randint(1, 16)) for _ in range(n)]


def _steps(thinking):
    w = thinking.split()
    return int(w[0]), [w[i:i + 4] for i in range(1, len(w), 4)]


def test_exact_traces_at_error_rate_zero():
    oracle = OracleBackend(error_rate=0.0)
    for c in _chains():
        r = _ask(oracle, c.question())
        assert r.ok and r.finish_reason == "stop" and r.error is None
        assert r.reasoning == c.thinking()
        assert r.text == c.attempt() == f"Final Answer: {c.answer()}"
        assert r.usage == {"input_words": c.k + 1, "output_words": 4 * c.k + 1 + 3}


def test_question_inside_text_is_answered():
    c = Chain(3, ("x", "y"), ("+2", "-1"))
    r = _ask(OracleBackend(), f"Solve this chain: {c.question()}")
    assert r.reasoning == c.thinking()


@pytest.mark.parametrize("seed", [0, 7])
def test_error_rate_one_gives_wrong_answers_carried_forward(seed):
    oracle = OracleBackend(error_rate=1.0, seed=seed)
    for c in _chains(60, seed):
        r = _ask(oracle, c.question())
        assert r.ok
        start, steps = _steps(r.reasoning)
        assert start == c.start and len(steps) == c.k
        slips = 0
        prev = start
        for (lab, op, old, new), want_lab, want_op in zip(steps, c.labels, c.ops):
            assert (lab, op) == (want_lab, want_op)
            assert int(old) == prev  # the slip is carried: each step starts from the last written value
            slips += int(new) != (prev + int(op)) % 10
            prev = int(new)
        assert slips == 1
        assert r.text == f"Final Answer: {prev}"
        assert r.text != c.attempt()  # one slip of +-1 mod 10 never comes back to the right answer


def test_slipped_trace_is_seeded():
    c = sample_chain(random.Random(1), 10)
    assert slipped_trace(c, random.Random(5)) == slipped_trace(c, random.Random(5))


def test_intermediate_error_rate_is_per_question_and_deterministic():
    qs = [c.question() for c in _chains(200, 3)]
    a = [_ask(OracleBackend(error_rate=0.5, seed=1), q) for q in qs]
    b = [_ask(OracleBackend(error_rate=0.5, seed=1), q) for q in qs]
    assert a == b
    wrong = sum(r.text != parse_chain(q).attempt() for r, q in zip(a, qs))
    assert 60 < wrong < 140
    c = [_ask(OracleBackend(error_rate=0.5, seed=2), q) for q in qs]
    assert [r.text for r in c] != [r.text for r in a]


@pytest.mark.parametrize("question", ["", "What is the capital of France?", "4 h+7"])
def test_unparsable_question_is_an_error(question):
    r = _ask(OracleBackend(), question)
    assert r.finish_reason == "error" and not r.ok
    assert r.reasoning is None and r.text == ""
    assert "no operation chain" in r.error


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_error_rate_validated(rate):
    with pytest.raises(ValueError, match="error_rate"):
        OracleBackend(error_rate=rate)


def test_backend_registry():
    assert BACKENDS.get("oracle") is OracleBackend


@pytest.fixture
def pool(tmp_path):
    rows = [make_question(c.question(), "s", "t", "math", solution=c.answer()) for c in _chains(25)]
    rows.append(make_question("", "s", "t", "math"))
    rows.append(make_question("[asy] no chain here", "s", "t", "math"))
    write_table(tmp_path / "pool.parquet", rows, schema=QUESTION_SCHEMA)
    return tmp_path / "pool.parquet", rows


def test_distill_writes_traces_and_ledger(pool, tmp_path):
    path, rows = pool
    info = distill(path, tmp_path / "d" / "traces.parquet", tmp_path / "d" / "ledger.jsonl", "oracle-teacher",
                   "oracle", {"error_rate": 0.0})
    assert info == {"questions": 27, "ok": 25, "failed": 2}
    t = read_table(tmp_path / "d" / "traces.parquet")
    assert t.schema.equals(TRACE_SCHEMA, check_metadata=False)
    traces = t.to_pylist()
    assert [r["id"] for r in traces] == [r["id"] for r in rows]
    for q, tr in zip(rows, traces):
        assert tr["teacher"] == "oracle-teacher"
        if q["question"] and not q["question"].startswith("[asy]"):
            c = parse_chain(q["question"])
            assert (tr["thinking"], tr["attempt"], tr["finish_reason"]) == (c.thinking(), c.attempt(), "stop")
            assert tr["error"] is None
            assert json.loads(tr["usage"])["input_words"] == c.k + 1
        else:
            assert tr["finish_reason"] == "error" and tr["thinking"] is None and tr["error"]
    ledger = read_jsonl(tmp_path / "d" / "ledger.jsonl")
    assert [r["id"] for r in ledger] == [r["id"] for r in rows]
    assert [r["finish_reason"] for r in ledger] == [r["finish_reason"] for r in traces]
    assert all(r["cost_usd"] == 0.0 and r["latency_s"] >= 0 for r in ledger)


def test_distill_deterministic(pool, tmp_path):
    path, _ = pool
    outs = []
    for i in range(2):
        distill(path, tmp_path / f"t{i}.parquet", tmp_path / f"l{i}.jsonl", "o", "oracle",
                {"error_rate": 0.3, "seed": 4})
        outs.append(read_table(tmp_path / f"t{i}.parquet").to_pylist())
    assert outs[0] == outs[1]
    distill(path, tmp_path / "t2.parquet", tmp_path / "l2.jsonl", "o", "oracle", {"error_rate": 0.3, "seed": 5})
    assert read_table(tmp_path / "t2.parquet").to_pylist() != outs[0]


def test_distill_bad_inputs(pool, tmp_path):
    path, _ = pool
    with pytest.raises(KeyError, match="oracle"):
        distill(path, tmp_path / "t.parquet", tmp_path / "l.jsonl", "o", "oracel", {})
    with pytest.raises(ValueError, match="bogus"):
        distill(path, tmp_path / "t.parquet", tmp_path / "l.jsonl", "o", "oracle", {"bogus": 1})
    bad = tmp_path / "bad.parquet"
    write_table(bad, [{"id": "1"}])
    with pytest.raises(ValueError, match="bad.parquet"):
        distill(bad, tmp_path / "t.parquet", tmp_path / "l.jsonl", "o", "oracle", {})


# ---- self-correcting traces (correction_rate) ----------------------------------------


def test_correction_rate_one_gives_wait_and_correct_answer():
    oracle = OracleBackend(correction_rate=1.0, seed=2)
    for c in _chains(40, 5):
        r = _ask(oracle, c.question())
        assert r.ok and r.text == c.attempt()
        assert r.reasoning.split().count("Wait") == 1
        assert len(r.masked) == 1
        a, b = r.masked[0]
        wrong = r.reasoning[a:b]
        before = r.reasoning[:a].split()
        prev, op = int(before[-1]), before[-2]
        assert int(wrong) != (prev + int(op)) % 10
        assert (int(wrong) - (prev + int(op))) % 10 in (1, 9)  # off by one
        assert r.reasoning[b:].startswith(" Wait ")
        # without the slip and its "Wait", the trace is the exact one
        lab = before[-3]
        assert r.reasoning.replace(f"{wrong} Wait {lab} {op} {prev} ", "") == c.thinking()


def test_error_and_correction_rates_validated():
    with pytest.raises(ValueError, match="correction_rate"):
        OracleBackend(correction_rate=1.2)
    with pytest.raises(ValueError, match="<= 1"):
        OracleBackend(error_rate=0.6, correction_rate=0.6)
    assert _ask(OracleBackend(error_rate=1.0), "4 h+2").masked == ()  # a carried slip is not masked


def test_distill_records_masked_spans(pool, tmp_path):
    path, rows = pool
    distill(path, tmp_path / "t.parquet", tmp_path / "l.jsonl", "o", "oracle", {"correction_rate": 0.5, "seed": 1})
    traces = read_table(tmp_path / "t.parquet").to_pylist()
    masked = [t for t in traces if t["thinking_masked"]]
    assert 0 < len(masked) < 25
    for t in traces:
        if t["thinking_masked"]:
            (a, b), = json.loads(t["thinking_masked"])
            assert t["thinking"][b:].startswith(" Wait ")
        elif t["finish_reason"] == "stop":
            assert "Wait" not in t["thinking"]
