"""Record validation at collection: a bad raw row is quarantined with a reason, never fatal.

A loader maps what it finds; here each mapped row either becomes a question record
(s1kit.records.make_question) or a quarantine entry {"source", "index", "location",
"reason", "detail", "row"}. Rows that cannot even be read (a line that is not UTF-8 or not
JSON, a parquet value that is not UTF-8) are reported by the row readers
(s1kit.sources.rows.read_rows) through :func:`reject` with their file and line; inside
:func:`collecting` they become quarantine entries too, elsewhere an error naming the
place. The reasons are the funnel's ``quarantined_<reason>`` columns.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from s1kit.records import make_question

REASONS = ("missing_question", "empty_question", "wrong_type", "invalid_utf8", "too_long", "bad_json")
STRING_FIELDS = ("cot_type", "source_type")

_UNREAD: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("unread", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[list[dict[str, Any]]]:
    """Rows the readers reject while the block runs, as quarantine entries (without "source")."""
    sink: list[dict[str, Any]] = []
    token = _UNREAD.set(sink)
    try:
        yield sink
    finally:
        _UNREAD.reset(token)


def reject(reason: str, detail: str, location: str, raw: Any = None) -> None:
    """A row that could not be read: quarantined inside :func:`collecting`, else an error."""
    sink = _UNREAD.get()
    if sink is None:
        raise ValueError(f"{location}: {detail}")
    sink.append({"index": None, "location": location, "reason": reason, "detail": detail, "row": _jsonable(raw)})


def _utf8_problem(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates from a bad decode upstream
        return f"position {e.start}: {e.reason}"
    return None


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = json.loads(value)  # JSON text only: never eval
    if not isinstance(value, dict):
        raise TypeError(f"metadata is {type(value).__name__}, not a mapping")
    return value


def _jsonable(value: Any) -> Any:
    """Metadata as upstream gave it, made JSON-safe (bytes, NaN, numpy scalars from pyarrow)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value if _utf8_problem(value) is None else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def check(raw: dict[str, Any], max_chars: int) -> tuple[str, str] | None:
    """(reason, detail) when the row cannot become a question record, else None."""
    q = raw.get("question")
    if q is None:
        return "missing_question", "question is missing or null"
    if not isinstance(q, str):
        return "wrong_type", f"question is {type(q).__name__}, not str"
    if not q.strip():
        return "empty_question", "question is empty or whitespace"
    for name in ("question", "solution", *STRING_FIELDS):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            return "wrong_type", f"{name} is {type(value).__name__}, not str"
        if isinstance(value, str) and (problem := _utf8_problem(value)):
            return "invalid_utf8", f"{name}: {problem}"
    try:
        _metadata(raw.get("metadata"))
    except (TypeError, ValueError) as e:
        return "wrong_type", f"metadata: {e}"
    if len(q) > max_chars:
        return "too_long", f"question has {len(q):,} characters (collect.max_question_chars = {max_chars:,})"
    return None


def validate(rows: Iterable[dict[str, Any]], source: str, max_chars: int) -> tuple[list[dict], list[dict]]:
    """Split mapped rows into (question records, quarantine entries)."""
    records, quarantined = [], []
    for i, raw in enumerate(rows):
        problem = check(raw, max_chars)
        if problem:
            quarantined.append({"source": source, "index": i, "location": f"{source} row {i}", "reason": problem[0],
                                "detail": problem[1], "row": _jsonable(raw)})
            continue
        meta = _jsonable(_metadata(raw.get("metadata")))
        records.append(make_question(raw["question"], source, raw.get("source_type") or source,
                                     raw.get("cot_type") or "math", solution=raw.get("solution"), metadata=meta))
    return records, quarantined


def from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A question record (synthetic sources) back to the raw-row shape, so both paths validate alike."""
    return {k: record.get(k) for k in ("question", "solution", "cot_type", "source_type", "metadata")}
