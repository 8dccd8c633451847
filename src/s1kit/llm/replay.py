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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s1kit.llm.base import Request, Response


class ReplayBackend:
    name = "replay"
    cacheable = False

    def __init__(self, path: str, question_column: str = "question",
                 thinking_column: str = "thinking_trajectories", attempt_column: str = "attempt"):
        self.path = Path(path)
        rows = _read_rows(self.path)
        for col in (question_column, thinking_column, attempt_column):
            if rows and col not in rows[0]:
                raise ValueError(f"{self.path}: no column {col!r} (columns: {sorted(rows[0])}); "
                                 f"set the replay backend's *_column options")
        self.table: dict[str, tuple[Any, Any]] = {}
        self.stripped: dict[str, tuple[Any, Any]] = {}
        for row in rows:
            q = row[question_column]
            if not isinstance(q, str):
                continue
            self.table.setdefault(q, (row[thinking_column], row[attempt_column]))
            self.stripped.setdefault(q.strip(), (row[thinking_column], row[attempt_column]))

    def complete(self, request: Request) -> Response:
        question = request.messages[-1]["content"]
        hit = self.table.get(question) or self.stripped.get(question.strip())
        if hit is None:
            return Response(text="", reasoning=None, finish_reason="error", error="not in replay set")
        thinking, attempt = (_text(v) for v in hit)
        if not thinking and not attempt:
            return Response(text="", reasoning=None, finish_reason="error", error="empty in replay set")
        return Response(text=attempt or "", reasoning=thinking, finish_reason="stop")


def _text(value: Any) -> str | None:
    """A published cell as text: lists (s1K's thinking_trajectories) joined with newlines."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value if v is not None)
    return str(value)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    from s1kit.records import read_jsonl, read_table

    return read_table(path).to_pylist() if path.suffix == ".parquet" else read_jsonl(path)
