"""Record schemas and atomic IO (parquet via pyarrow, JSONL, CSV).

A question record (DESIGN.md): id = question_hash(question), question, solution
(nullable), cot_type, source_type, source, metadata (JSON text; never eval'd).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from s1kit.integrity import check_file

QUESTION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("question", pa.string()),
        ("solution", pa.string()),
        ("cot_type", pa.string()),
        ("source_type", pa.string()),
        ("source", pa.string()),
        ("metadata", pa.string()),
    ]
)
QUESTION_FIELDS = QUESTION_SCHEMA.names


def question_hash(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write) -> None:
    """Write through a temp file in the same directory, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Yield a temporary sibling directory to fill; it replaces ``path`` only on success, so a
    failed or killed writer never leaves half a directory (a model) under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every line's JSON value; a line that is not UTF-8 or not JSON is an error naming file and line."""
    check_file(path)  # a result changed since it was produced is named, not read
    rows = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if raw.strip():
                try:
                    rows.append(json.loads(raw.decode("utf-8")))
                except UnicodeDecodeError as e:
                    raise ValueError(f"{path}:{n}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})") \
                        from None
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: invalid JSON ({e.msg.removesuffix(' at')}, column {e.colno})") from None
    return rows


def write_table(path: str | Path, rows: list[dict[str, Any]] | pa.Table, schema: pa.Schema | None = None) -> None:
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_table(path: str | Path, required: Iterable[str] = ()) -> pa.Table:
    """Read a parquet file; a missing required column is an error naming the file and column,
    and so is a result file changed since it was produced (s1kit.integrity)."""
    check_file(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise ValueError(f"{path}: cannot read parquet ({e})") from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; has {table.column_names}")
    return table


def write_csv(path: str | Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def make_question(question: str, source: str, source_type: str, cot_type: str,
                  solution: str | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": question_hash(question),
        "question": question,
        "solution": solution,
        "cot_type": cot_type,
        "source_type": source_type,
        "source": source,
        "metadata": json.dumps(metadata or {}, sort_keys=True),
    }
