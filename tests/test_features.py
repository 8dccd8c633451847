"""Featurize stage: domains, grading (math-verify), merge, attempts by a tiny student."""

from __future__ import annotations


import pytest

from s1kit.distill import TRACE_SCHEMA
from s1kit.features.domains import domains_from_metadata, write_domains
from s1kit.features.grading import grade
from s1kit.features.merge import merge
from s1kit.records import QUESTION_FIELDS, QUESTION_SCHEMA, make_question, read_table, write_table
from s1kit.tiny.chains import Chain

# ---- domains ------------------------------------------------------------------------


def test_domains_from_metadata():
    rows = [make_question("q1", "s", "t", "c", metadata={"domain": "Mixed chains, 3 steps"}),
            make_question("q2", "s", "t", "c"),
            dict(make_question("q3", "s", "t", "c"), metadata=None)]
    assert domains_from_metadata(rows) == {rows[0]["id"]: "Mixed chains, 3 steps", rows[1]["id"]: None,
                                           rows[2]["id"]: None}


def test_domains_bad_json_names_record():
    rows = [make_question("ok", "s", "t", "c"), dict(make_question("bad", "s", "t", "c"), metadata="{'domain': 1")]
    with pytest.raises(ValueError) as e:
        domains_from_metadata(rows)
    assert f"record {rows[1]['id']}" in str(e.value)


def test_write_domains(tmp_path):
    rows = [make_question(f"q{i}", "s", "t", "c", metadata={"domain": f"d{i % 2}"}) for i in range(4)]
    write_table(tmp_path / "pool.parquet", rows, schema=QUESTION_SCHEMA)
    assert write_domains(tmp_path / "pool.parquet", tmp_path / "dom.parquet") == 4
    got = read_table(tmp_path / "dom.parquet").to_pylist()
    assert got == [{"id": r["id"], "domain": f"d{i % 2}"} for i, r in enumerate(rows)]
    with pytest.raises(ValueError, match="featurize.domains.backend"):
        write_domains(tmp_path / "pool.parquet", tmp_path / "dom2.parquet", backend="msc-llm")


# ---- grading ------------------------------------------------------------------------


@pytest.fixture
def graded_inputs(tmp_path):
    qs = [make_question(f"{i} a+1", "s", "t", "math", solution=str((i + 1) % 10)) for i in range(8)]
    qs.append(make_question("no solution", "s", "t", "math", solution=None))
    write_table(tmp_path / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    return tmp_path, qs


def test_grade_attempts(graded_inputs):
    d, qs = graded_inputs
    attempts = [
        (qs[0]["id"], f"Final Answer: {qs[0]['solution']}", True),
        (qs[1]["id"], "Final Answer: 7", False),  # solution is 2
        (qs[2]["id"], "\\boxed{3}", True),
        (qs[3]["id"], "blah <|im_start|>answer\nAnswer: 4.", True),
        (qs[4]["id"], "", False),
        (qs[5]["id"], None, False),
        (qs[6]["id"], "Final Answer: 7.0", True),  # math-verify: 7.0 == 7
        (qs[8]["id"], "Final Answer: 3", False),  # no gold solution
        ("unknown-id", "Final Answer: 1", False),
    ]
    write_table(d / "att.parquet", [{"id": i, "model": "m", "attempt": a} for i, a, _ in attempts])
    info = grade(d / "att.parquet", d / "pool.parquet", d / "grades.parquet")
    got = read_table(d / "grades.parquet").to_pylist()
    assert [g["correct"] for g in got] == [ok for _, _, ok in attempts]
    assert all(g["model"] == "m" for g in got)
    assert info == {"graded": len(attempts), "correct": 4}


def test_grade_teacher_traces_uses_teacher_name(graded_inputs):
    d, qs = graded_inputs
    traces = [{"id": qs[0]["id"], "teacher": "oracle", "thinking": "x", "attempt": "Final Answer: 1",
               "finish_reason": "stop", "error": None, "usage": "{}"}]
    write_table(d / "tr.parquet", traces, schema=TRACE_SCHEMA)
    grade(d / "tr.parquet", d / "pool.parquet", d / "g.parquet")
    assert read_table(d / "g.parquet").to_pylist() == [{"id": qs[0]["id"], "model": "oracle", "correct": True}]


def test_grade_missing_column_names_file(graded_inputs):
    d, _ = graded_inputs
    write_table(d / "att.parquet", [{"id": "x", "text": "y"}])
    with pytest.raises(ValueError, match=r"att\.parquet.*attempt"):
        grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet")


# ---- merge --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory, tiny_tokenizer):
    d = tmp_path_factory.mktemp("tok")
    tiny_tokenizer.save_pretrained(str(d))
    return d


def test_merge(tmp_path, tok_dir, tiny_tokenizer):
    chains = [Chain(1, ("a", "b", "c"), ("+1", "+2", "-1")), Chain(5, ("x",), ("-2",)),
              Chain(0, ("p", "q"), ("+1", "+1")), Chain(9, ("m", "n", "o", "p"), ("+2", "+2", "+2", "+2")),
              Chain(2, ("d",), ("+1",))]
    pool = [make_question(c.question(), "s", "t", "math", solution=c.answer(), metadata={"domain": f"k{c.k}"})
            for c in chains]
    write_table(tmp_path / "pool.parquet", pool, schema=QUESTION_SCHEMA)
    ids = [r["id"] for r in pool]
    traces = [
        {"id": ids[0], "thinking": chains[0].thinking(), "attempt": chains[0].attempt(), "finish_reason": "stop"},
        {"id": ids[1], "thinking": None, "attempt": "", "finish_reason": "error"},
        {"id": ids[2], "thinking": chains[2].thinking(), "attempt": "Final Answer: 0", "finish_reason": "length"},
        {"id": ids[3], "thinking": chains[3].thinking(), "attempt": "Final Answer: 3", "finish_reason": "stop"},
        # ids[4]: no trace at all
    ]
    write_table(tmp_path / "traces.parquet", [dict(t, teacher="o", error=None, usage="{}") for t in traces],
                schema=TRACE_SCHEMA)
    write_table(tmp_path / "tg.parquet", [{"id": ids[0], "correct": True}, {"id": ids[1], "correct": False},
                                          {"id": ids[2], "correct": False}, {"id": ids[3], "correct": False}])
    write_table(tmp_path / "ga.parquet", [{"id": i, "correct": n == 0} for n, i in enumerate(ids[:4])])
    write_table(tmp_path / "gb.parquet", [{"id": i, "correct": False} for i in ids])
    write_table(tmp_path / "dom.parquet", [{"id": i, "domain": f"k{c.k}"} for i, c in zip(ids, chains)])
    n = merge(tmp_path / "pool.parquet", tmp_path / "traces.parquet", tmp_path / "tg.parquet",
              {"small": str(tmp_path / "ga.parquet"), "big": str(tmp_path / "gb.parquet")},
              tmp_path / "dom.parquet", tok_dir, tmp_path / "feat.parquet")
    assert n == 5
    rows = read_table(tmp_path / "feat.parquet", required=QUESTION_FIELDS).to_pylist()
    assert [r["id"] for r in rows] == ids
    ok, failed, cut, wrong, missing = rows
    assert ok["thinking"] == chains[0].thinking() and ok["attempt"] == chains[0].attempt()
    assert ok["thinking_tokens"] == 4 * 3 + 1
    assert ok["thinking_tokens"] == len(tiny_tokenizer(ok["thinking"], add_special_tokens=False)["input_ids"])
    assert ok["teacher_correct"] is True
    assert (ok["small_correct"], ok["big_correct"]) == (True, False)
    for r in (failed, cut, missing):  # API error, cut off, no trace: features missing
        assert r["thinking"] is None and r["thinking_tokens"] is None
        assert r["attempt"] is None and r["teacher_correct"] is None
    assert wrong["teacher_correct"] is False and wrong["thinking_tokens"] == 17
    assert [r["domain"] for r in rows] == ["k3", "k1", "k2", "k4", "k1"]
    assert missing["small_correct"] is None and missing["big_correct"] is False


# ---- attempts -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory, tiny_tokenizer, torch_one_thread):
    from s1kit.hf import save_model
    from s1kit.tiny.student import StudentConfig, init_student

    torch = torch_one_thread
    model = init_student(StudentConfig(), tiny_tokenizer)
    # A fresh tied-embedding student only echoes its last input token; scrambled weights give
    # varied greedy outputs, so batching and padding effects would show.
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and "embed" not in name:
                p.add_(torch.randn(p.shape, generator=gen) * 0.3)
    d = tmp_path_factory.mktemp("student") / "model"
    save_model(model, tiny_tokenizer, d)
    return d


def test_generate_attempts(tmp_path, student_dir, chain_corpus, tiny_tokenizer):
    from s1kit.features.attempts import generate_attempts

    pool = [make_question(c.question(), "s", "t", "math", solution=c.answer()) for c in chain_corpus[:5]]
    write_table(tmp_path / "pool.parquet", pool, schema=QUESTION_SCHEMA)
    outs = []
    for bs in (2, 5):
        n = generate_attempts(student_dir, "tiny-base", tmp_path / "pool.parquet", tmp_path / f"a{bs}.parquet",
                              max_new_tokens=6, batch_size=bs, seed=0)
        assert n == 5
        rows = read_table(tmp_path / f"a{bs}.parquet").to_pylist()
        assert [r["id"] for r in rows] == [r["id"] for r in pool]
        assert all(r["model"] == "tiny-base" for r in rows)
        for r in rows:
            assert r["finish_reason"] in ("stop", "length")
            assert "<|im_end|>" not in r["attempt"] and "<|endoftext|>" not in r["attempt"]
            if r["finish_reason"] == "length":
                assert len(tiny_tokenizer(r["attempt"], add_special_tokens=False)["input_ids"]) <= 6
        outs.append([r["attempt"] for r in rows])
    assert len(set(outs[0])) > 1  # the scrambled student answers differently per question
    # greedy, left-padded: the batch size does not change the attempts
    assert outs[0] == outs[1]
