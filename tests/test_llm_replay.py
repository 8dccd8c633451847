"""The replay backend's input file (issue #21.7): checked as the sources are.

Bad lines (not JSON, not an object: a JSON array or a scalar; a question that is missing,
NaN or empty; a thinking or attempt that is a mapping) are quarantined with ``file:line``
and the rest is used; a file with nothing usable, or one that answers none of the pool's
questions, fails the stage naming the file. End to end through ``s1kit distill --backend
replay`` (local files only; the replay backend never touches the network).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s1kit.cli import main
from s1kit.llm.replay import ReplayBackend
from s1kit.records import QUESTION_SCHEMA, make_question, read_table, write_table

QUESTIONS = ["Q one?", "Q two?", "Q three?"]


def good(q: str) -> dict:
    return {"question": q, "thinking_trajectories": [f"think {q}"], "attempt": f"answer {q}"}


@pytest.fixture
def distill(tmp_path, capsys):
    """``s1kit distill`` of QUESTIONS with the replay backend on ``path``: (rc, stderr, traces)."""
    write_table(tmp_path / "pool.parquet", [make_question(q, "t", "t", "math") for q in QUESTIONS],
                schema=QUESTION_SCHEMA)

    def run(path) -> tuple[int, str, list[dict] | None]:
        out = tmp_path / "traces.parquet"
        rc = main(["distill", "--pool", str(tmp_path / "pool.parquet"), "--teacher", "replay", "--backend", "replay",
                   "--options-json", json.dumps({"path": str(path)}), "--llm-json", json.dumps({"workers": 1}),
                   "--out-traces", str(out), "--out-ledger", str(tmp_path / "ledger.jsonl")])
        return rc, capsys.readouterr().err, read_table(out).to_pylist() if out.exists() else None

    return run


def test_bad_lines_are_quarantined_with_file_and_line(tmp_path, distill):
    """On main @6bc88e6 the array line (and a scalar line) were a raw TypeError without file:line."""
    lines = [json.dumps(good(QUESTIONS[0])), '["a", "JSON", "array"]', "42", "{not json",
             '{"question": NaN, "thinking_trajectories": "t", "attempt": "a"}', json.dumps({"question": "  "}),
             json.dumps({"question": QUESTIONS[1], "attempt": {"nested": 1}}), json.dumps(good(QUESTIONS[1])),
             json.dumps({"question": QUESTIONS[2], "thinking_trajectories": None, "attempt": 7})]
    path = tmp_path / "replay.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rc, err, traces = distill(path)
    assert rc == 0, err
    for line, why in [(2, "line is a JSON list, not an object"), (3, "line is a JSON int, not an object"),
                      (4, "invalid JSON"), (5, "question is NaN, not a string"),
                      (6, "question is empty or whitespace"), (7, "attempt holds dict")]:
        assert f"{path}:{line}: replay row quarantined" in err and why in err, (line, err)
    assert [(t["attempt"], t["thinking"]) for t in traces] == [
        ("answer Q one?", "think Q one?"), ("answer Q two?", "think Q two?"), ("7", None)]
    assert [q["location"] for q in ReplayBackend(str(path)).quarantined] == [f"{path}:{n}" for n in range(2, 8)]


@pytest.mark.parametrize("line", ['["a", "JSON", "array"]', "42", '"a string"', "null"])
def test_array_or_scalar_line_is_quarantined(tmp_path, distill, line):
    """The issue's case alone: on main @6bc88e6 a raw TypeError, exit 1, no file:line."""
    path = tmp_path / "replay.jsonl"
    path.write_text("\n".join([json.dumps(good(QUESTIONS[0])), line, *map(json.dumps, map(good, QUESTIONS[1:]))]))
    rc, err, traces = distill(path)
    assert rc == 0 and f"{path}:2: replay row quarantined (wrong_type): line is a JSON " in err, err
    assert all(t["error"] is None for t in traces)


@pytest.mark.parametrize("content", ["", "\n\n", '["only", "arrays"]\n[1]\n',
                                     '{"question": NaN, "thinking_trajectories": "t", "attempt": "a"}\n' * 3],
                         ids=["empty", "blank-lines", "arrays", "nan-questions"])
def test_nothing_usable_fails_naming_the_file(tmp_path, distill, content):
    """On main @6bc88e6 an empty file or NaN questions exited 0 with 100% failures."""
    path = tmp_path / "replay.jsonl"
    path.write_text(content)
    rc, err, traces = distill(path)
    assert rc == 2 and f"{path}: no usable replay row" in err and traces is None, err


def test_parquet_nan_questions_and_cells(tmp_path, distill):
    """A parquet file (as pandas exports it): a null question quarantined with ``file:row N``;
    a NaN attempt (a float column) is a missing cell, not the text "nan"; a file of NaN
    questions fails naming it."""
    path = tmp_path / "replay.parquet"
    pq.write_table(pa.table({"question": pa.array([QUESTIONS[0], None, QUESTIONS[1], QUESTIONS[2]], pa.string()),
                             "thinking_trajectories": ["t0", "t", "t1", "t2"],
                             "attempt": pa.array(["a0", "a", None, "a2"], pa.string())}), path)
    rc, err, traces = distill(path)
    assert rc == 0 and f"{path}:row 1: replay row quarantined (missing_question)" in err, err
    assert [t["attempt"] for t in traces] == ["a0", "", "a2"] and traces[1]["thinking"] == "t1"
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"question": QUESTIONS, "thinking_trajectories": ["t0", "t1", "t2"],
                             "attempt": [float("nan"), 1.5, float("nan")]}), floats)
    rc, err, traces = distill(floats)
    assert rc == 0 and [t["attempt"] for t in traces] == ["", "1.5", ""], err
    nan = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"question": [float("nan")] * 3, "thinking_trajectories": ["t"] * 3,
                             "attempt": [float("nan")] * 3}), nan)
    rc, err, traces = distill(nan)
    assert rc == 2 and f"{nan}: no usable replay row (3 row(s), 3 quarantined; first: {nan}:row 0: question " \
                       "is NaN, not a string)" in err, err


def test_no_pool_question_in_the_file_fails_naming_it(tmp_path, distill):
    """Usable rows, none for these questions: every request failed, an error naming the file."""
    path = tmp_path / "replay.jsonl"
    path.write_text(json.dumps(good("another question")) + "\n")
    rc, err, traces = distill(path)
    assert rc == 2 and traces is None, err
    assert f"every one of the 3 requests failed (3 x not in replay set) [replay file {path}]" in err, err
    path.write_text(json.dumps(good(QUESTIONS[0])) + "\n")
    rc, err, traces = distill(path)  # some answered: the rest kept as failures, with a warning
    assert rc == 0 and "warning: distill.llm: 2 of 3 requests failed (2 x not in replay set)" in err, err
    assert [t["error"] for t in traces] == [None, "not in replay set", "not in replay set"]


def test_missing_file_and_unreadable_parquet_name_the_file(tmp_path, distill):
    rc, err, _ = distill(tmp_path / "absent.jsonl")
    assert rc == 2 and f"{tmp_path / 'absent.jsonl'}: replay file not found" in err, err
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    rc, err, _ = distill(broken)
    assert rc == 2 and f"{broken}: cannot read parquet" in err, err
