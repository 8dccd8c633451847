"""Atomic writes and strict readers for the paper stage.

Every reader raises :class:`InputError` naming the file (and key or column) so that a
bad upstream output is found at once; every writer goes through a temp file in the
target directory and ``os.replace`` so that a crash never leaves half a table behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from s1kit.records import atomic_write, atomic_write_text


class InputError(ValueError):
    """A results file is missing, malformed or lacks a required key/column."""


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically (UTF-8, newlines as given)."""
    atomic_write_text(path, text)
    return Path(path)


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    """Write a DataFrame as CSV (no index, ``\\n`` line ends) atomically."""
    return write_text(path, df.to_csv(index=False, lineterminator="\n"))


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save a matplotlib figure atomically; the format comes from the suffix.

    Creation dates are dropped from the metadata so that reruns give identical files.
    """
    fmt = Path(path).suffix.lstrip(".")
    meta = {"CreationDate": None} if fmt == "pdf" else {"Software": None} if fmt == "png" else None
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, metadata=meta, bbox_inches="tight"))
    return Path(path)


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object; malformed JSON or a non-object is an error naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON at line {e.lineno} column {e.colno} ({e.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def require_keys(data: dict[str, Any], keys: Iterable[str], path: str | Path) -> None:
    """Raise if any of ``keys`` is absent from a JSON object read from ``path``."""
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputError(f"{path}: missing key(s) {missing}; has {sorted(data)}")


def read_csv(path: str | Path, required: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV with string-safe defaults; a missing required column names the file."""
    try:
        # keep_default_na=False: a source called "NA" or an empty note stays a string.
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: malformed CSV ({e})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; has {list(df.columns)}")
    return df


def require_int_column(df: pd.DataFrame, column: str, path: str | Path) -> pd.Series:
    """Return ``df[column]`` as int, raising with the file, column and first bad row otherwise."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{path}: column {column!r} row {row + 1} is not an integer: {df[column].iloc[row]!r}")
    return values.astype("int64")
