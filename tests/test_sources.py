"""s1kit.tiny.chains and the synthetic sources of the tiny default."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from s1kit.decontaminate import NgramIndex
from s1kit.records import QUESTION_FIELDS, question_hash
from s1kit.select import FORMAT_FILTERS
from s1kit.sources import SOURCES
from s1kit.sources.synthetic import domain_of, tiny_chains_eval, tiny_math, tiny_olympiad, tiny_puzzles, tiny_science
from s1kit.tiny.chains import MODULUS, OPS, Chain, parse_chain, sample_chain

# ---- chains -------------------------------------------------------------------------


def test_chain_example_from_docstring():
    c = Chain(4, ("h", "i", "j"), ("-2", "+1", "-1"))
    assert c.question() == "4 h-2 i+1 j-1"
    assert c.values() == [4, 2, 3, 2]
    assert c.thinking() == "4 h -2 4 2 i +1 2 3 j -1 3 2"
    assert c.answer() == "2"
    assert c.attempt() == "Final Answer: 2"
    assert c.k == 3


def test_values_wrap_modulo_10():
    assert MODULUS == 10
    assert Chain(9, ("a",), ("+2",)).values() == [9, 1]
    assert Chain(0, ("a",), ("-1",)).values() == [0, 9]
    assert Chain(1, ("a", "b"), ("-2", "-2")).values() == [1, 9, 7]


@pytest.mark.parametrize("seed", range(5))
def test_sampled_chains_invariants(seed):
    rng = random.Random(seed)
    for k in (1, 2, 7, 16, 30):
        c = sample_chain(rng, k)
        assert c.k == k and len(c.labels) == k
        assert all(0 <= v < 10 for v in c.values())
        assert all(op in OPS for op in c.ops)
        # consecutive (cyclic) labels
        assert all((ord(b) - ord(a)) % 26 == 1 for a, b in zip(c.labels, c.labels[1:]))
        assert len(c.thinking().split()) == 4 * k + 1
        assert len(c.question().split()) == k + 1
        assert parse_chain(c.question()) == c
        assert c.thinking().split()[-1] == c.answer()


def test_sample_chain_restricted_ops():
    rng = random.Random(0)
    assert {op for _ in range(50) for op in sample_chain(rng, 8, ("+1", "+2")).ops} <= {"+1", "+2"}


def test_parse_chain_finds_chain_inside_text_and_takes_last():
    c = Chain(3, ("x", "y", "z"), ("+1", "+2", "-2"))
    q = c.question()
    for text in (f"Solve this chain: {q}", f"[asy] draw((0,0)--(1,1)); [/asy] {q}", f"![Image](figure.png) {q}",
                 f"**7x** {q}", f"{q}\n"):
        assert parse_chain(text) == c, text
    other = Chain(5, ("a",), ("-1",))
    assert parse_chain(f"p1. {other.question()} p2. {q}") == c


@pytest.mark.parametrize("bad", ["", "hello world", "4", "4 h+3", "h+1 i+2", "44 h+1"])
def test_parse_chain_rejects(bad):
    with pytest.raises(ValueError, match="no operation chain"):
        parse_chain(bad)


# ---- synthetic sources --------------------------------------------------------------

SOURCE_FNS = {"tiny_math": tiny_math, "tiny_olympiad": tiny_olympiad, "tiny_science": tiny_science,
              "tiny_puzzles": tiny_puzzles}


@pytest.fixture(scope="module")
def eval_questions():
    return [r["question"] for r in tiny_chains_eval(60, 0)]


@pytest.mark.parametrize("name", sorted(SOURCE_FNS))
def test_source_deterministic_and_seeded(name, eval_questions):
    fn = SOURCE_FNS[name]
    assert SOURCES.get(name) is fn
    a = fn(40, 0, eval_questions=eval_questions)
    assert a == fn(40, 0, eval_questions=eval_questions)
    b = fn(40, 1, eval_questions=eval_questions)
    assert [r["id"] for r in a] != [r["id"] for r in b]
    assert {r["id"] for r in a if r["question"]} != {r["id"] for r in b if r["question"]}


def test_sources_differ_from_each_other_under_one_seed():
    ids = {name: {r["id"] for r in fn(40, 0, defects=False)} for name, fn in SOURCE_FNS.items()}
    names = sorted(ids)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert len(ids[a] & ids[b]) < 5, (a, b)


def _clean_rows(rows):
    return [r for r in rows if json.loads(r["metadata"]).get("k") is not None]


@pytest.mark.parametrize("name", sorted(SOURCE_FNS))
def test_clean_records(name):
    rows = SOURCE_FNS[name](60, 3, defects=False)
    assert len(rows) == 60
    for r in rows:
        assert list(r) == QUESTION_FIELDS
        assert r["id"] == question_hash(r["question"])
        assert r["source"] == name
        meta = json.loads(r["metadata"])
        c = parse_chain(r["question"])
        assert c.question() == r["question"]
        assert r["solution"] == meta["answer"] == c.answer()
        assert meta["k"] == c.k
        if name == "tiny_olympiad":
            assert 9 <= c.k <= 16
            assert meta["domain"] == domain_of("Mixed", c.k)
        else:
            assert 1 <= c.k <= 16
        if name == "tiny_science":
            assert set(c.ops) <= {"+1", "+2"} and meta["domain"] == domain_of("Rising", c.k)
        if name == "tiny_puzzles":
            assert set(c.ops) <= {"-1", "-2"} and meta["domain"] == domain_of("Falling", c.k)


def test_domain_names():
    assert domain_of("Mixed", 1) == "Mixed chains, 1 step"
    assert domain_of("Mixed", 12) == "Mixed chains, 12 steps"


def test_defects_present(eval_questions):
    n = 50
    rows = tiny_math(n, 0, eval_questions=eval_questions)
    clean = _clean_rows(rows)
    assert len(clean) == n + 3  # the n generated rows and 3 exact copies of them
    qs = [r["question"] for r in rows]
    # 3 exact duplicates of clean rows
    dup = {i: c for i, c in Counter(r["id"] for r in rows).items() if c > 1}
    assert sum(c - 1 for c in dup.values()) >= 3
    clean_ids = {r["id"] for r in clean}
    assert set(dup) <= clean_ids | {question_hash(q) for q in eval_questions}
    # eval copies: verbatim and inside a longer text; only questions an 8-gram fits into
    long_eval = [q for q in eval_questions if len(q.split()) >= 8]
    verbatim = [q for q in qs if q in long_eval]
    prefixed = [q for q in qs if q.startswith("Solve this chain: ") and q[len("Solve this chain: "):] in long_eval]
    assert len(verbatim) == 2 and len(prefixed) == 2
    index = NgramIndex(eval_questions, n=8)
    assert all(index.overlaps(q) for q in verbatim + prefixed)
    # empty and formatting defects, each caught by the selection's format filters
    assert qs.count("") == 1
    assert sum(q.startswith("[asy]") for q in qs) == 1
    assert sum(q.startswith("![Image]") for q in qs) == 1
    assert sum(q.startswith("p1. ") for q in qs) == 1
    bold = [q for q in qs if q.startswith("**")]
    assert len(bold) == 1
    for name, prefix in (("asy", "[asy]"), ("image", "![Image]"), ("enumeration", "p1. "), ("bold_digits", "**")):
        hits = [q for q in qs if FORMAT_FILTERS[name].search(q)]
        assert hits and all(q.startswith(prefix) for q in hits), name
    # every non-empty row, defects included, holds the chain of a clean row or of an eval question
    known = {r["question"] for r in clean} | set(eval_questions)
    for q in qs:
        if q:
            assert parse_chain(q).question() in known, q
    assert len(rows) == n + 3 + 2 * 2 + 5


def test_defects_without_eval_set():
    rows = tiny_science(20, 0)
    assert len(rows) == 20 + 3 + 5
    assert not any(q["question"].startswith("Solve this chain") for q in rows)


def test_defects_can_be_turned_off():
    rows = tiny_puzzles(30, 0, defects=False)
    assert len(rows) == 30
    assert all(r["question"] and json.loads(r["metadata"]).get("k") for r in rows)


def test_tiny_chains_eval():
    rows = tiny_chains_eval(400, 0)
    assert len(rows) == 400
    assert len({r["question"] for r in rows}) == 400
    assert len({r["id"] for r in rows}) == 400
    for r in rows:
        c = parse_chain(r["question"])
        assert r["answer"] == c.answer() and r["k"] == c.k and 1 <= c.k <= 16
        assert r["id"] == question_hash(r["question"])
    assert tiny_chains_eval(50, 0) == rows[:50]  # a prefix: n does not reshuffle
    assert tiny_chains_eval(50, 1) != rows[:50]
