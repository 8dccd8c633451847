"""Replay of published traces (s1K, s1K-1.1): answers a question by exact text match.

Reads a local parquet or JSONL file (download the published dataset first; this backend
never touches the network). Column names are configurable; the defaults are s1K's
(``question``, ``thinking_trajectories``, ``attempt``); Gemini's columns in s1K-1.1 are
``gemini_thinking_trajectory`` / ``gemini_attempt``, DeepSeek's
``deepseek_thinking_trajectory`` / ``deepseek_attempt``. A list-valued thinking or attempt
(s1K stores the thinking as a one-element list; an early s1K-1.1 revision stored DeepSeek's
columns as lists too) is joined with newlines. A question is looked up by its exact text,
then, failing that, by its text without surrounding whitespace. A question not in the file
is answered with finish_reason "error", error "not in replay set"; a row with neither
thinking nor attempt with error "empty in replay set". Free and local, so it is not cached
(``cacheable = False``).

The file is checked as the sources are (s1kit.sources.quality): a line that is not UTF-8,
not JSON or not an object, a row whose question is missing, not a string (NaN, a number)
or empty, and a row whose thinking or attempt is neither text (a number is taken as its
text, NaN as null), a list of text nor null are quarantined with ``file:line``
(``file:row N`` for parquet; listed in ``quarantined`` and on stderr, the job's log), and
the rest is used. A file with no usable row is an error naming it.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from s1kit.integrity import check_file
from s1kit.llm.base import Request, Response
from s1kit.records import read_table
from s1kit.sources.rows import jsonl_rows, table_rows
from s1kit.sources.quality import collecting

ROW = "__s1kit_replay_row__"
SHOWN = 20  # quarantined rows listed one by one on stderr; the rest are counted


class ReplayBackend:
    name = "replay"
    cacheable = False

    def __init__(self, path: str, question_column: str = "question",
                 thinking_column: str = "thinking_trajectories", attempt_column: str = "attempt"):
        self.path = Path(path)
        self.source = f"replay file {self.path}"  # named by CachedClient.check_answers
        rows, self.quarantined = _read_rows(self.path)
        lines = len(rows) + len(self.quarantined)  # the unreadable ones are quarantined already
        for col in (question_column, thinking_column, attempt_column):
            if rows and not any(col in row for _, row in rows):
                raise ValueError(f"{self.path}: no column {col!r} (columns: {sorted(rows[0][1])}); "
                                 f"set the replay backend's *_column options")
        self.table: dict[str, tuple[Any, Any]] = {}
        self.stripped: dict[str, tuple[Any, Any]] = {}
        for where, row in rows:
            problem = _row_problem(row, question_column, (thinking_column, attempt_column))
            if problem:
                self.quarantined.append({"location": where, "reason": problem[0], "detail": problem[1]})
                continue
            q, cells = row[question_column], (_cell(row.get(thinking_column)), _cell(row.get(attempt_column)))
            self.table.setdefault(q, cells)
            self.stripped.setdefault(q.strip(), cells)
        self.quarantined.sort(key=lambda q: int(re.search(r"(\d+)$", q["location"]).group(1)))
        _warn(self.quarantined)
        if not self.table:
            raise ValueError(f"{self.path}: no usable replay row ({lines} row(s), {len(self.quarantined)} "
                             f"quarantined{_first(self.quarantined)}); a replay file "
                             f"is parquet or JSONL (one JSON object per line) with a {question_column!r} text column")

    def complete(self, request: Request) -> Response:
        question = request.messages[-1]["content"]
        hit = self.table.get(question) or self.stripped.get(question.strip())
        if hit is None:
            return Response(text="", reasoning=None, finish_reason="error", error="not in replay set")
        thinking, attempt = (_text(v) for v in hit)
        if not thinking and not attempt:
            return Response(text="", reasoning=None, finish_reason="error", error="empty in replay set")
        return Response(text=attempt or "", reasoning=thinking, finish_reason="stop")


def _row_problem(row: dict[str, Any], question: str, answers: tuple[str, ...]) -> tuple[str, str] | None:
    """(reason, detail) when the row cannot answer a question (the reasons of s1kit.sources.quality)."""
    q = row.get(question)
    if q is None:
        return "missing_question", f"{question} is missing or null"
    if not isinstance(q, str):
        return "wrong_type", f"{question} is {_kind(q)}, not a string"
    if not q.strip():
        return "empty_question", f"{question} is empty or whitespace"
    for col in answers:
        value = _cell(row.get(col))
        items = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in items if v is not None and not _scalar(v)]
        if bad:
            return "wrong_type", f"{col} holds {_kind(bad[0])}, not text (or a number), a list of text or null"
    return None


def _scalar(value: Any) -> bool:
    """Text, or a number written as one (an attempt ``42``); not a mapping, a bool or NaN."""
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value))


def _kind(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return type(value).__name__


def _cell(value: Any) -> Any:
    """NaN (pandas' missing value in an exported file) is a missing cell, not the text "nan"."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _text(value: Any) -> str | None:
    """A published cell as text: lists (s1K's thinking_trajectories) joined with newlines."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value if v is not None)
    return str(value)


def _read_rows(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """(location, row) of every readable row, and the rows that could not be read (a line that is
    not UTF-8, not JSON or not a JSON object; a parquet value that is not UTF-8) as quarantine
    entries. A file that cannot be read at all is an error naming it."""
    with collecting() as unread:
        if path.suffix == ".parquet":
            table = read_table(path)
            table = table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))
            rows = [(f"{path}:row {r.pop(ROW)}", r) for r in table_rows(table, path)]
        else:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: replay file not found")
            check_file(path)
            rows = [(f"{path}:{n}", r) for n, r in jsonl_rows(path, numbered=True)]
    return rows, [{"location": u["location"], "reason": u["reason"], "detail": u["detail"]} for u in unread]


def _first(quarantined: list[dict[str, Any]]) -> str:
    return f"; first: {quarantined[0]['location']}: {quarantined[0]['detail']}" if quarantined else ""


def _warn(quarantined: list[dict[str, Any]]) -> None:
    for q in quarantined[:SHOWN]:
        print(f"s1kit: warning: {q['location']}: replay row quarantined ({q['reason']}): {q['detail']}",
              file=sys.stderr)
    if len(quarantined) > SHOWN:
        print(f"s1kit: warning: ... and {len(quarantined) - SHOWN} more replay row(s) quarantined", file=sys.stderr)
