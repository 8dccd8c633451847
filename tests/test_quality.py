"""s1kit.sources.quality: every bad row becomes a quarantine entry with a reason, never an exception."""

from __future__ import annotations

import json

import pytest

from s1kit.sources.quality import REASONS, check, validate


@pytest.mark.parametrize("raw, reason", [
    ({"question": None}, "missing_question"),
    ({}, "missing_question"),
    ({"question": "   \n"}, "empty_question"),
    ({"question": 42}, "wrong_type"),
    ({"question": "ok", "solution": ["a"]}, "wrong_type"),
    ({"question": "ok", "metadata": "{not json"}, "wrong_type"),
    ({"question": "ok", "metadata": [1, 2]}, "wrong_type"),
    ({"question": "bad \udc80 byte"}, "invalid_utf8"),
    ({"question": "ok", "solution": "\ud800"}, "invalid_utf8"),
    ({"question": "word " * 30}, "too_long"),
])
def test_reasons(raw, reason):
    assert reason in REASONS
    assert check(raw, max_chars=100)[0] == reason


def test_validate_keeps_good_rows_and_quarantines_the_rest_json_safe():
    rows = [
        {"question": "Q1", "solution": "1", "cot_type": "math", "source_type": "s/a", "metadata": {"year": 1999}},
        {"question": "\udc80", "metadata": {"x": float("nan")}},
        {"question": "Q2", "metadata": '{"k": [1, 2]}', "source_type": None},
    ]
    records, quarantined = validate(rows, "src", max_chars=1000)
    assert [r["question"] for r in records] == ["Q1", "Q2"]
    assert records[1]["source_type"] == "src" and json.loads(records[1]["metadata"]) == {"k": [1, 2]}
    assert [(q["index"], q["reason"]) for q in quarantined] == [(1, "invalid_utf8")]
    json.dumps(quarantined, ensure_ascii=False).encode("utf-8")  # writable as UTF-8 JSONL
    assert quarantined[0]["row"]["metadata"] == {"x": None}


# ---- rows that cannot be read: quarantined with file and line, the rest goes on ------------


def _manifest(tmp_path, name: str, root) -> str:
    import pathlib

    m = pathlib.Path(tmp_path) / f"{name}.manifest.json"
    m.write_text(json.dumps({name: {"path": str(root)}}))
    return str(m)


def test_bad_jsonl_lines_are_quarantined_with_file_and_line(tmp_path):
    """A hub source's JSONL (Omni-MATH's layout) with a line that is not UTF-8, one that is
    not JSON, one that is not an object, a non-string and a missing question, and a good row
    holding U+2028 (valid JSON that str.splitlines would cut in two)."""
    from s1kit.collect import write_source
    from s1kit.records import read_jsonl, read_table

    def line(problem) -> bytes:
        r = {"domain": ["Mathematics"], "difficulty": 1.0, "solution": "s", "answer": "1", "source": "x"}
        if problem is not ...:
            r["problem"] = problem
        return json.dumps(r, ensure_ascii=False).encode() + b"\n"

    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "test.jsonl").write_bytes(
        line("First problem?") + b'{"problem": "caf\xe9 au lait"}\n' + b'{"problem": "unterminated\n'
        + b'["a", "list"]\n' + b"\n" + line("Second\u2028problem?") + line(42) + line(...) + line("Third problem?"))
    out, quar = tmp_path / "omnimath.parquet", tmp_path / "omnimath.jsonl"
    info = write_source("omnimath", out, quar, manifest=_manifest(tmp_path, "omnimath", snap))
    assert read_table(out).column("question").to_pylist() == ["First problem?", "Second\u2028problem?",
                                                              "Third problem?"]
    q = read_jsonl(quar)
    assert info == {"records": 3, "quarantined": 5} and {x["source"] for x in q} == {"omnimath"}
    f = snap / "test.jsonl"
    assert [(x["reason"], x["location"]) for x in q] == [
        ("invalid_utf8", f"{f}:2"), ("bad_json", f"{f}:3"), ("wrong_type", f"{f}:4"),
        ("wrong_type", "omnimath row 2"), ("missing_question", "omnimath row 3")]
    assert "byte 0xe9" in q[0]["detail"] and q[0]["row"] == '{"problem": "caf\\xe9 au lait"}\n'
    assert q[1]["detail"] == "invalid JSON: Invalid control character, column 26"
    assert q[2]["detail"] == "line is a JSON list, not an object"
    assert q[3]["detail"] == "question is int, not str"


def test_parquet_value_not_utf8_quarantines_its_row(tmp_path):
    """s1-prob's parquet layout, one question with a byte that is not UTF-8 (Arrow reads it,
    converting it to Python fails): that row is quarantined naming file, row and column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from s1kit.collect import write_source
    from s1kit.records import read_jsonl, read_table

    raw = pa.array([b"Good one?", b"Bad \xff one?", b"Good two?"], pa.binary())
    question = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())  # unchecked: as a broken writer leaves it
    f = tmp_path / "snap" / "data" / "train-00000.parquet"
    f.parent.mkdir(parents=True)
    pq.write_table(pa.table({"question": question, "solution": ["1", "2", "3"]}), f)
    out, quar = tmp_path / "s1_prob.parquet", tmp_path / "s1_prob.jsonl"
    write_source("s1_prob", out, quar, manifest=_manifest(tmp_path, "s1_prob", tmp_path / "snap"))
    assert read_table(out).column("question").to_pylist() == ["Good one?", "Good two?"]
    [q] = read_jsonl(quar)
    assert (q["reason"], q["location"]) == ("invalid_utf8", f"{f}:row 1")
    assert q["detail"].startswith("column question: not UTF-8") and q["row"] == {"question": "Bad \\xff one?",
                                                                                "solution": "2"}


def test_whole_file_problems_name_the_file(tmp_path):
    from s1kit.records import read_jsonl
    from s1kit.sources.rows import read_rows

    (tmp_path / "a.json").write_text('[{"problem": "x"}, {oops}]')
    with pytest.raises(ValueError, match=r"a\.json: invalid JSON at line 1 column 21"):
        read_rows(tmp_path, ["a.json"])
    (tmp_path / "b.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match=r"b\.parquet: cannot read parquet"):
        read_rows(tmp_path, ["b.parquet"])
    # outside a collection (no quarantine to go to) a bad line is an error naming file and line
    (tmp_path / "c.jsonl").write_bytes(b'{"a": 1}\n{"a": \n')
    with pytest.raises(ValueError, match=r"c\.jsonl:2: invalid JSON"):
        read_rows(tmp_path, ["c.jsonl"])
    (tmp_path / "d.jsonl").write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(ValueError, match=r"d\.jsonl:2: not UTF-8 \(byte 0xff at column 8\)"):
        read_jsonl(tmp_path / "d.jsonl")


def test_eval_set_rows_quarantined_and_pool_skips_bad_eval_rows(tmp_path, capsys):
    """A hub eval set (MATH500's layout) with a non-string and a missing problem: the rest is
    written, the two go to its quarantine file. An eval file edited afterwards (a row without
    a question, one with a number): the pool step warns with file and line and goes on."""
    from s1kit.collect import build_pool, write_eval_set, write_source
    from s1kit.records import read_jsonl

    snap = tmp_path / "snap"
    snap.mkdir()
    rows = [{"problem": "What is 1+1?", "solution": "2", "answer": "2", "unique_id": "a"},
            {"problem": 7, "solution": "s", "answer": "7", "unique_id": "b"},
            {"solution": "s", "answer": "0", "unique_id": "c"},
            {"problem": "What is 2+2?", "solution": "4", "answer": "4", "unique_id": "d"}]
    (snap / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ev, evq = tmp_path / "eval" / "math500.jsonl", tmp_path / "eval_q.jsonl"
    assert write_eval_set("math500", ev, manifest=_manifest(tmp_path, "math500", snap), quarantine_out=evq) == 2
    assert [(q["reason"], q["location"]) for q in read_jsonl(evq)] == [("wrong_type", "math500 row 1"),
                                                                       ("missing_question", "math500 row 2")]
    assert "eval set math500: 2 row(s) quarantined" in capsys.readouterr().err
    with open(ev, "a") as f:
        f.write(json.dumps({"id": "x", "answer": "1"}) + "\n" + json.dumps({"id": "y", "question": 5}) + "\n")
    raw, quar = tmp_path / "raw" / "tiny_math.parquet", tmp_path / "q" / "tiny_math.jsonl"
    write_source("tiny_math", raw, quar, n=20, seed=0, eval_paths=[str(ev)])
    info = build_pool([raw], [ev], tmp_path / "pool.parquet", tmp_path / "funnel.csv", tmp_path / "c.parquet",
                      tmp_path / "d.parquet", [quar])
    err = capsys.readouterr().err
    assert f"{ev}:3: eval row skipped: question is missing" in err and f"{ev}:4: eval row skipped: question is int" in err
    assert info["pool"] > 0
