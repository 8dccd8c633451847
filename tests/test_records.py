"""s1kit.records: ids, atomic writes, readable errors."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from s1kit.records import (
    QUESTION_FIELDS,
    QUESTION_SCHEMA,
    atomic_write_text,
    make_question,
    question_hash,
    read_jsonl,
    read_table,
    write_csv,
    write_jsonl,
    write_table,
)


def test_question_hash_is_sha256_prefix():
    q = "What is 2 + 2?"
    assert question_hash(q) == hashlib.sha256(q.encode("utf-8")).hexdigest()[:16]
    assert len(question_hash(q)) == 16
    # unicode is hashed as UTF-8, and whitespace matters
    assert question_hash("π ≈ 3.14") == hashlib.sha256("π ≈ 3.14".encode()).hexdigest()[:16]
    assert question_hash("a") != question_hash("a ")


def test_make_question_fields_and_metadata():
    r = make_question("1 a+1", "src", "src/type", "math", solution="2", metadata={"z": 1, "a": 2})
    assert list(r) == QUESTION_FIELDS
    assert r["id"] == question_hash("1 a+1")
    assert r["metadata"] == '{"a": 2, "z": 1}'  # sorted keys: stable bytes
    assert json.loads(make_question("q", "s", "t", "c")["metadata"]) == {}
    assert make_question("q", "s", "t", "c")["solution"] is None


def _tmp_leftovers(d):
    return [p.name for p in d.iterdir() if p.name.endswith(".tmp")]


def test_atomic_writes_leave_no_temp_files_and_normal_permissions(tmp_path):
    out = tmp_path / "sub" / "dir"
    atomic_write_text(out / "a.txt", "hello\n")
    write_jsonl(out / "b.jsonl", [{"x": 1}])
    write_table(out / "c.parquet", [make_question("q", "s", "t", "c")], schema=QUESTION_SCHEMA)
    write_csv(out / "d.csv", [{"a": 1, "b": 2}], ["a", "b"])
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.jsonl", "c.parquet", "d.csv"]
    umask = os.umask(0)
    os.umask(umask)
    for p in out.iterdir():
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == 0o666 & ~umask, (p.name, oct(mode))  # not mkstemp's 0600
    assert (out / "a.txt").read_text() == "hello\n"


def test_atomic_write_failure_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    import s1kit.records as rec

    path = tmp_path / "x.parquet"
    write_table(path, [{"a": 1}])

    def boom(table, where):
        open(where, "w").write("half a parquet file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(rec.pq, "write_table", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_table(path, [{"a": 2}])
    monkeypatch.undo()
    assert read_table(path).to_pylist() == [{"a": 1}]  # readers never see half a file
    assert _tmp_leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


def test_jsonl_roundtrip_and_blank_lines(tmp_path):
    rows = [{"b": 1, "a": "é"}, {"a": None}]
    p = tmp_path / "r.jsonl"
    write_jsonl(p, rows)
    text = p.read_text(encoding="utf-8")
    assert text == '{"a": "é", "b": 1}\n{"a": null}\n'  # sorted keys, no ascii escapes
    p.write_text(text + "\n   \n", encoding="utf-8")
    assert read_jsonl(p) == rows


def test_read_jsonl_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2\n', encoding="utf-8")
    with pytest.raises(ValueError) as e:
        read_jsonl(p)
    assert f"{p}:3:" in str(e.value)


def test_read_table_roundtrip_with_schema(tmp_path):
    rows = [make_question("q1", "s", "t", "c"), make_question("q2", "s", "t", "c", solution="x")]
    p = tmp_path / "q.parquet"
    write_table(p, rows, schema=QUESTION_SCHEMA)
    t = read_table(p, required=QUESTION_FIELDS)
    assert t.schema.equals(QUESTION_SCHEMA, check_metadata=False)
    assert t.to_pylist() == rows


def test_read_table_missing_column_names_file_and_column(tmp_path):
    p = tmp_path / "raw.parquet"
    write_table(p, [{"id": "1", "question": "q"}])
    with pytest.raises(ValueError) as e:
        read_table(p, required=["id", "question", "solution"])
    msg = str(e.value)
    assert str(p) in msg and "solution" in msg
    assert "'id'" not in msg.split("has")[0]  # only the missing one is listed as missing


def test_read_table_unreadable_names_file(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_text("not parquet")
    with pytest.raises(ValueError, match="junk.parquet"):
        read_table(p)
    with pytest.raises(ValueError, match="nope.parquet"):
        read_table(tmp_path / "nope.parquet")


def test_write_csv_columns_and_order(tmp_path):
    p = tmp_path / "f.csv"
    write_csv(p, [{"b": 2, "a": 1}, {"a": 3, "b": 4}], ["a", "b"])
    assert p.read_text() == "a,b\n1,2\n3,4\n"
