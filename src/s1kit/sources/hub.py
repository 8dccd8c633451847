"""Hub sources: what a paper-config source reads from the Hugging Face hub, and how it maps rows.

A HubSource names its inputs (repo, files, the branch to resolve) and a ``load`` function
that reads those files from local directories (the fetched, locked snapshots) and returns
raw mapped rows: dicts with question, solution, cot_type, source_type and metadata (a dict,
stored later as JSON text). ``load`` never validates: it maps what it finds (a None or
non-string question included) and s1kit.sources.quality quarantines bad rows with a
reason, so one broken row never stops a 60K-row run.

Loaders read files with pyarrow/datasets only (parquet exports where a dataset has a
loading script): no ``trust_remote_code``, and metadata never goes through ``eval``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class HubInput:
    """One hub repository snapshot: the files a loader needs from it.

    revision is what a networked first run resolves to a commit SHA (a branch, a tag, or
    "refs/convert/parquet" for the hub's parquet export of a script-based dataset);
    files are fnmatch patterns (huggingface_hub allow_patterns) inside the repository.
    """

    repo: str
    files: tuple[str, ...] = ("*.parquet",)
    revision: str = "main"
    repo_type: str = "dataset"

    @property
    def key(self) -> str:
        """Lock-file key: one entry per (repo, revision) whatever the files."""
        return f"{self.repo}@{self.revision}"


@dataclass(frozen=True)
class HubSource:
    name: str
    inputs: Mapping[str, HubInput]
    load: Callable[[Mapping[str, Path], int], Iterable[Row]]
    kind: str = "train"  # "train" (a raw question source) or "eval" (decontaminate against it)
    doc: str = ""  # the official selection, and any difference from the paper's count
    options: Mapping[str, Any] = field(default_factory=dict)
    # Pool step (s1kit.collect.build_pool), after decontamination: keep `sample` rows (config
    # option `sample` overrides), drawn by `sampler`; `finish` rewrites the source's rows of the
    # deduplicated pool in pool order, given a question -> random.Random function.
    sample: int | None = None
    sampler: str = "first"  # "first" (seeded shuffle, first `sample`) | "balanced" (SciEval)
    finish: Callable[[list[Row], Callable[[str], Any]], list[Row]] | None = None


def row(question: Any, source_type: str, cot_type: str, solution: Any = None, **metadata: Any) -> Row:
    return {"question": question, "solution": solution, "cot_type": cot_type,
            "source_type": source_type, "metadata": metadata}


def map_columns(rows: Iterable[Row], question: str, source_type: str, cot_type: str,
                solution: str | None = None) -> list[Row]:
    """Raw rows from upstream rows: the named question (and solution) column, every other column as metadata."""
    out: list[Row] = []
    for x in rows:
        r = row(x.pop(question, None), source_type, cot_type, x.pop(solution, None) if solution else None)
        r["metadata"] = x
        out.append(r)
    return out


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
    from s1kit.sources.quality import reject

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
    from s1kit.sources.quality import reject

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
    import pyarrow as pa
    import pyarrow.parquet as pq

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
    from s1kit.sources.quality import reject

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
    import pyarrow as pa

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
