"""Rows of a raw file (parquet, JSON, JSONL), read one at a time: a row that cannot be read
(a JSONL line that is not UTF-8, not JSON or not an object; a parquet value that is not UTF-8)
goes to s1kit.sources.quality.reject with its file and line, and the rest of the file is read.
Used by the hub sources, the pool step's eval sets and the replay teacher."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from s1kit.sources.quality import reject

Row = dict[str, Any]


def read_rows(directory: Path, patterns: Iterable[str]) -> list[Row]:
    """All rows of the parquet/json/jsonl files under directory that match patterns, in path order.

    A row that cannot be read (a JSONL line that is not UTF-8, not JSON or not an object; a
    parquet value that is not UTF-8) goes to s1kit.sources.quality.reject with its file and
    line, and the rest of the file is read; a file that cannot be read at all (a .json that
    does not parse, a broken parquet footer) is an error naming the file."""
    files = sorted({p for pat in patterns for p in Path(directory).glob(pat) if p.is_file()})
    if not files:
        raise FileNotFoundError(f"{directory}: no file matches {list(patterns)}")
    rows: list[Row] = []
    for f in files:
        if f.suffix == ".parquet":
            rows.extend(parquet_rows(f))
        elif f.suffix == ".jsonl":
            rows.extend(jsonl_rows(f))
        elif f.suffix == ".json":
            rows.extend(json_file_rows(f))
        else:
            raise ValueError(f"{f}: unsupported file type {f.suffix!r} (parquet, json or jsonl)")
    return rows


def jsonl_rows(path: Path, numbered: bool = False) -> Iterator[Any]:
    """The JSON objects of a JSONL file, one line at a time (``(line, row)`` when numbered);
    bad lines are rejected with ``path:line``."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            where = f"{path}:{n}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                reject("invalid_utf8", f"not UTF-8: byte 0x{raw[e.start]:02x} at column {e.start + 1}", where,
                       raw.decode("utf-8", "backslashreplace")[:2000])
                continue
            try:
                x = json.loads(text)
            except json.JSONDecodeError as e:
                reject("bad_json", f"invalid JSON: {e.msg.removesuffix(' at')}, column {e.colno}", where, text[:2000])
                continue
            if not isinstance(x, dict):
                reject("wrong_type", f"line is a JSON {type(x).__name__}, not an object", where, text[:2000])
                continue
            yield (n, x) if numbered else x


def json_file_rows(path: Path) -> list[Row]:
    """A .json file's rows (a list of objects, or one object); a file that does not parse is an error."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 (byte offset {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    rows = data if isinstance(data, list) else [data]
    out = []
    for i, x in enumerate(rows):
        if isinstance(x, dict):
            out.append(x)
        else:
            reject("wrong_type", f"item is a JSON {type(x).__name__}, not an object", f"{path}[{i}]", str(x)[:2000])
    return out


def parquet_rows(path: Path, columns: list[str] | None = None) -> list[Row]:
    """A parquet file's rows; a value that is not UTF-8 rejects its row (``path:row N``, the column)."""
    try:
        table = pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as e:
        raise ValueError(f"{path}: cannot read parquet ({e})") from None
    return table_rows(table, path)


def table_rows(table: Any, path: Path) -> list[Row]:
    """An Arrow table's rows; a row with a value that is not UTF-8 is rejected (``path:row N``)."""
    try:
        return table.to_pylist()
    except UnicodeDecodeError:
        pass

    rows: list[Row] = []
    for start in range(0, table.num_rows, 1024):  # decode by batches; only a failing batch row by row
        batch = table.slice(start, 1024)
        try:
            rows.extend(batch.to_pylist())
            continue
        except UnicodeDecodeError:
            pass
        for i in range(batch.num_rows):
            one = batch.slice(i, 1)
            try:
                rows.extend(one.to_pylist())
            except UnicodeDecodeError as e:
                bad = [c for c in one.column_names if not _decodes(one.column(c))]
                raw = {c: one.column(c).to_pylist()[0] if c not in bad else _lossy(one.column(c))
                       for c in one.column_names}
                reject("invalid_utf8", f"column {', '.join(bad) or '?'}: not UTF-8 ({e.reason} at byte {e.start})",
                       f"{path}:row {start + i}", raw)
    return rows


def _lossy(column: Any) -> str | None:
    """A string value that is not UTF-8, with the bad bytes as \\x escapes (None if nested)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    value = column.cast(pa.large_binary()).to_pylist()[0]
    return None if value is None else value.decode("utf-8", "backslashreplace")


def _decodes(column: Any) -> bool:
    try:
        column.to_pylist()
        return True
    except UnicodeDecodeError:
        return False
