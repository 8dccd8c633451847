"""A result's sidecar: where its provenance record lives, how to read it, and the sha256 it pins.

The lowest layer of provenance, importing nothing of s1kit: s1kit.provenance writes the
records, s1kit.integrity checks files against them (as s1kit.records' readers do), and
s1kit.trace walks them. A record of ``results/<path>`` lives at
``results/.provenance/<path>.json``; outside results/ at ``<name>.prov.json`` beside the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MIRROR = ".provenance"
MAX_HASH_BYTES = 2 * 1024**3  # larger files are listed with their size, not hashed


def norm(p: str | Path) -> str:
    return os.path.normpath(str(p))


def inside(child: str, parent: str) -> bool:
    """Whether normalized path ``child`` lies strictly under ``parent``."""
    return child != parent and (parent == "." or child.startswith(parent.rstrip("/") + "/"))


def under_results(path: str | Path) -> bool:
    parts = Path(norm(path)).parts
    return "results" in parts[:-1]


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file; None for files over MAX_HASH_BYTES."""
    path = Path(path)
    if path.stat().st_size > MAX_HASH_BYTES:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dir_sha256(entries: Iterable[tuple[str, str | None]]) -> str:
    """Hash of a directory from (relative posix path, file sha256) pairs, order-independent."""
    h = hashlib.sha256()
    for rel, sha in sorted(entries):
        h.update(f"{rel}\0{sha or 'unhashed'}\n".encode())
    return h.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    """Where the record of ``path`` lives: <results>/.provenance/<rel>.json, else <name>.prov.json."""
    p = Path(norm(path))
    parts = p.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "results" and i < len(parts) - 1:
            return Path(*parts[: i + 1], MIRROR, *parts[i + 1 :]).with_name(parts[-1] + ".json")
    return p.with_name(p.name + ".prov.json")


def load_record(path: str | Path) -> dict[str, Any] | None:
    """The record of the step that produced ``path`` (a file, or a directory via its files)."""
    side = sidecar_path(path)
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    mirror = side.with_name(side.name[: -len(".json")]) if side.name.endswith(".json") else None
    if mirror is not None and mirror.is_dir():
        for f in sorted(mirror.rglob("*.json")):
            return json.loads(f.read_text(encoding="utf-8"))
    if not under_results(path):  # outside results/: the sidecar of an enclosing output directory
        for parent in Path(norm(path)).parents:
            side = sidecar_path(parent)
            if side.is_file():
                rec = json.loads(side.read_text(encoding="utf-8"))
                if any(o["path"] == norm(path) for o in rec.get("outputs", [])):
                    return rec
    return None
