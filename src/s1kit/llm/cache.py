"""A content-addressed response cache outside results/ (STYLE.md 5 and "For s1kit" 9).

Key: sha256 of the canonical JSON (sorted keys, no spaces) of backend, model, system
prompt, messages, sampling parameters (sorted, ``None`` and backend defaults dropped),
template version and sample index. No API keys, no timestamps.

Layout: ``$S1KIT_CACHE_DIR`` (default ``~/.cache/s1kit/llm``) holds append-only JSONL
shards ``<first two hex chars of the key>.jsonl``; one line per completed call, written
with a single ``os.write`` on an ``O_APPEND`` descriptor so that concurrent writers never
interleave lines. A line cut short by a kill is skipped with a warning (and the next write
starts on a fresh line). Failures are stored with ``ok: false``; a success is never
overwritten or re-requested, a failure is retried only on request. Records are scrubbed of
secret values (s1kit.secrets) before they are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from s1kit.llm.base import Request, Response
from s1kit.secrets import scrub

DEFAULT_DIR = "~/.cache/s1kit/llm"


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_payload(backend: str, request: Request, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything that changes the paid result, and nothing else."""
    defaults = defaults or {}
    params = {k: v for k, v in sorted(request.params.items())
              if v is not None and not (k in defaults and defaults[k] == v)}
    return {
        "backend": backend,
        "model": request.model,
        "system": request.system,
        "messages": [dict(m) for m in request.messages],
        "params": params,
        "template_version": str(request.template_version),
        "sample_index": int(request.sample_index),
    }


def request_key(backend: str, request: Request, defaults: dict[str, Any] | None = None) -> str:
    return hashlib.sha256(canonical_json(key_payload(backend, request, defaults)).encode()).hexdigest()


def response_to_record(key: str, response: Response, *, backend: str, model: str, template_version: str,
                       latency_s: float, tries: int) -> dict[str, Any]:
    return {
        "key": key, "ok": response.ok, "backend": backend, "model": model,
        "template_version": str(template_version),
        "text": response.text, "reasoning": response.reasoning, "finish_reason": response.finish_reason,
        "usage": dict(response.usage), "error": response.error,
        "masked": [list(s) for s in response.masked],
        "latency_s": round(latency_s, 6), "tries": tries, "time": time.time(),
    }


def record_to_response(record: dict[str, Any]) -> Response:
    return Response(text=record.get("text") or "", reasoning=record.get("reasoning"),
                    finish_reason=record.get("finish_reason") or "error", usage=dict(record.get("usage") or {}),
                    error=record.get("error"), masked=tuple(tuple(s) for s in record.get("masked") or ()))


class ResponseCache:
    """Append-only JSONL shards keyed by :func:`request_key`; thread-safe, multi-process append-safe."""

    def __init__(self, root: str | Path | None = None, fsync: bool = False):
        root = root or os.environ.get("S1KIT_CACHE_DIR") or DEFAULT_DIR
        self.root = Path(root).expanduser()
        self.fsync = fsync
        self._lock = threading.Lock()
        self._shards: dict[str, dict[str, dict[str, Any]]] = {}

    def shard_path(self, key: str) -> Path:
        return self.root / f"{key[:2]}.jsonl"

    def _load(self, key: str) -> dict[str, dict[str, Any]]:
        name = key[:2]
        if name in self._shards:
            return self._shards[name]
        index: dict[str, dict[str, Any]] = {}
        path = self.shard_path(key)
        if path.exists():
            with open(path, "rb") as f:
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                        k = rec["key"]
                    except (ValueError, KeyError, TypeError):
                        warnings.warn(f"{path}:{lineno}: skipping a damaged cache line (a run killed mid-write?)",
                                      stacklevel=3)
                        continue
                    self._merge(index, k, rec)
        self._shards[name] = index
        return index

    @staticmethod
    def _merge(index: dict[str, dict[str, Any]], key: str, rec: dict[str, Any]) -> None:
        old = index.get(key)
        if old is not None and old.get("ok") and not rec.get("ok"):
            return  # a success is never replaced by a later failure
        index[key] = rec

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record: the latest success if any, else the latest failure, else None."""
        with self._lock:
            return self._load(key).get(key)

    def put(self, record: dict[str, Any]) -> None:
        record = scrub(record)  # never a secret on disk, whoever built the record
        key = record["key"]
        data = (canonical_json(record) + "\n").encode()
        path = self.shard_path(key)
        with self._lock:
            index = self._load(key)
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size:
                    with open(path, "rb") as f:  # a kill may have left a line without its newline
                        f.seek(size - 1)
                        if f.read(1) != b"\n":
                            data = b"\n" + data
                os.write(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._merge(index, key, record)

    def __len__(self) -> int:
        """Lines stored (every call ever made, retried failures included)."""
        n = 0
        for path in self.root.glob("*.jsonl"):
            with open(path, "rb") as f:
                n += sum(1 for line in f if line.strip())
        return n
