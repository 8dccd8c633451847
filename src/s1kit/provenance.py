"""Provenance that travels with results/: one JSON sidecar per output file.

Every rule runs ``s1kit <subcommand> --flag path ...``; ``s1kit.cli.main`` wraps each
subcommand in :func:`record`. Paths among the flag values are sorted after the run into
inputs (existed before, unchanged) and outputs (created or changed during the run). The
record holds the command (secrets redacted), inputs and outputs with sha256, the JSON
config flags and seeds, code version (git SHA + dirty flag), package versions, container,
host, Python, start/end time and the rule name from ``S1KIT_RULE`` (every rule's shell sets
it from its ``params.rule``). It is written for each output to
``results/.provenance/<path under results>.json`` (outside results/: ``<name>.prov.json``
beside it; s1kit.sidecar). Recording never fails a command: errors become a warning on
stderr. ``s1kit trace`` (s1kit.trace) reads the records back.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata as _md
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from s1kit.records import atomic_write_text
from s1kit.secrets import scrub
from s1kit.sidecar import MAX_HASH_BYTES, MIRROR, dir_sha256, file_sha256, inside, norm, sidecar_path, under_results

SCHEMA = "s1kit.provenance/1"
IGNORED = {".snakemake_timestamp"}  # Snakemake marks directory outputs with it after the job
PACKAGES = ("s1kit", "torch", "transformers", "lm_eval", "snakemake", "datasets", "math-verify",
            "pandas", "pyarrow", "numpy", "accelerate", "vllm")
# a key (or flag) naming a secret: api_key, hf_token, password ...; not max_new_tokens
SECRET_RE = re.compile(r"(^|[_\-.])(api[_\-]?key|key|token|secret|password|passwd|credentials?|auth)$", re.I)
REDACTED = "<redacted>"
NO_RECORD = {"where", "trace"}  # read-only subcommands


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- what a path holds now ---------------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    """Files under ``root`` (sorted), the provenance mirror and Snakemake's markers excluded."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != MIRROR)
        out += [Path(dirpath) / f for f in sorted(filenames) if f not in IGNORED]
    return out


def path_entry(path: str | Path) -> dict[str, Any]:
    """{path, kind, sha256, bytes[, files, note]} of a file or directory as it is now."""
    p = Path(path)
    if p.is_dir():
        files = _walk(p)
        hashes = [(f.relative_to(p).as_posix(), file_sha256(f)) for f in files]
        entry = {"path": norm(p), "kind": "dir", "sha256": dir_sha256(hashes), "files": len(files),
                 "bytes": sum(f.stat().st_size for f in files)}
        if any(s is None for _, s in hashes):
            entry["note"] = f"files over {MAX_HASH_BYTES} bytes counted by name only"
        return entry
    sha = file_sha256(p)
    entry = {"path": norm(p), "kind": "file", "sha256": sha, "bytes": p.stat().st_size}
    if sha is None:
        entry["note"] = f"over {MAX_HASH_BYTES} bytes: not hashed"
    return entry


# ---- what the command was ----------------------------------------------------------------------


def redact(value: Any, key: str = "") -> Any:
    """Copy of a JSON value with every secret-named key's value replaced."""
    if key and SECRET_RE.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_argv(argv: list[str]) -> list[str]:
    """argv with secret-named flags' values and secrets inside JSON values replaced."""
    out: list[str] = []
    hide_next = False
    for tok in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if tok.startswith("--"):
            flag, eq, val = tok.partition("=")
            if SECRET_RE.search(flag.lstrip("-")):
                out.append(f"{flag}={REDACTED}" if eq else flag)
                hide_next = not eq
                continue
        parsed = _json_object(tok)
        out.append(json.dumps(redact(parsed), sort_keys=True) if parsed is not None else tok)
    return out


def _json_object(text: str) -> dict | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def config_and_seeds(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """JSON-valued flags (the config subset) and every seed among them and the plain flags."""
    config: dict[str, Any] = {}
    seeds: dict[str, Any] = {}
    for name, value in sorted(vars(args).items()):
        if name in ("func", "command"):
            continue
        if isinstance(value, str) and (obj := _json_object(value)) is not None:
            config[name] = redact(obj)
            _find_seeds(obj, name, seeds)
        elif "seed" in name.lower() and isinstance(value, (int, str)) and not isinstance(value, bool):
            seeds[name] = value
    return config, seeds


def _find_seeds(node: Any, where: str, seeds: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if "seed" in str(k).lower() and not isinstance(v, (dict, list)):
                seeds[f"{where}.{k}"] = v
            _find_seeds(v, f"{where}.{k}", seeds)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _find_seeds(v, f"{where}[{i}]", seeds)


def candidate_paths(args: argparse.Namespace) -> list[str]:
    """Every string flag value (and the path part of name=path values), JSON values excluded."""
    out: list[str] = []
    for name, value in vars(args).items():
        if name in ("func", "command"):
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, Path):
                v = str(v)
            if not isinstance(v, str) or not v or _json_object(v) is not None:
                continue
            out.append(v)
            if "=" in v:
                out.append(v.partition("=")[2])
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(norm(v), None)
    return list(seen)


def _snapshot(path: str) -> dict[str, tuple[int, int, int]] | None:
    """{relative file: (mtime_ns, size, inode)} of a file or directory tree; None if absent."""
    p = Path(path)
    try:
        if p.is_dir():
            return {f.relative_to(p).as_posix(): _stat(f) for f in _walk(p)}
        if p.is_file():
            return {"": _stat(p)}
    except OSError:
        return None
    return None


def _stat(p: Path) -> tuple[int, int, int]:
    s = p.stat()
    return (s.st_mtime_ns, s.st_size, s.st_ino)


# ---- environment -------------------------------------------------------------------------------


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = None
    return out


def code_version() -> dict[str, Any]:
    """Git SHA and dirty flag of the repository the s1kit package is loaded from."""
    here = Path(__file__).resolve().parent
    info: dict[str, Any] = {"package_dir": str(here), "git_sha": None, "dirty": None}

    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(here), *a], capture_output=True, text=True, timeout=20,
                              check=True).stdout

    try:
        info["git_sha"] = git("rev-parse", "HEAD").strip()
        info["dirty"] = bool(git("status", "--porcelain").strip())
        info["repo"] = git("rev-parse", "--show-toplevel").strip()
    except (OSError, subprocess.SubprocessError):
        info["note"] = "not a git checkout (installed package): see packages.s1kit"
    return info


def container() -> dict[str, Any] | None:
    """The container image, from S1KIT_CONTAINER or Apptainer/Singularity's own variables."""
    for var in ("S1KIT_CONTAINER", "APPTAINER_CONTAINER", "SINGULARITY_CONTAINER", "APPTAINER_NAME",
                "SINGULARITY_NAME"):
        if os.environ.get(var):
            image = os.environ[var]
            entry: dict[str, Any] = {"image": image, "from": var}
            if os.path.isfile(image):
                try:
                    entry["sha256"] = file_sha256(image)
                except OSError:
                    pass
            return entry
    return None


# ---- recording ---------------------------------------------------------------------------------


def record(argv: list[str], args: argparse.Namespace, run: Callable[[], Any]) -> Any:
    """Run ``run()`` and write the provenance of every output it made; returns run()'s value."""
    if getattr(args, "command", None) in NO_RECORD or os.environ.get("RANK", "0") != "0":
        return run()  # under torchrun only rank 0 writes outputs, so only it records them
    try:
        started, t0 = _now(), time.time()
        paths = candidate_paths(args)
        before = {p: _snapshot(p) for p in paths}
    except Exception as e:  # noqa: BLE001 - provenance never fails a command
        _warn(e)
        return run()
    result = run()
    if result not in (None, 0):
        return result  # a failed command leaves no provenance
    try:
        ended = _now()
        write_records(argv, args, paths, before, started, ended, time.time() - t0)
    except Exception as e:  # noqa: BLE001
        _warn(e)
    return result


def _warn(e: BaseException) -> None:
    print(f"s1kit: warning: provenance not recorded ({type(e).__name__}: {e})", file=sys.stderr)


def write_records(argv: list[str], args: argparse.Namespace, paths: list[str],
                  before: dict[str, dict | None], started: str, ended: str, seconds: float) -> list[Path]:
    after = {p: _snapshot(p) for p in paths}
    out_files: list[str] = []
    out_dirs: list[str] = []
    for p in paths:
        now, then = after[p], before[p]
        if now is None:
            continue
        if then is None:
            (out_dirs if Path(p).is_dir() else out_files).append(p)
            continue
        # files inside p that are themselves other flag paths are judged on their own
        others = [q for q in paths if inside(q, p)]
        changed = [rel for rel, st in now.items() if then.get(rel) != st
                   and not any(inside(norm(Path(p, rel)), q) or norm(Path(p, rel)) == q for q in others)]
        if Path(p).is_file():
            if changed:
                out_files.append(p)
        else:
            out_files += [norm(Path(p, rel)) for rel in changed]
    for d in out_dirs:
        out_files += [norm(f) for f in _walk(Path(d))]
    out_files = list(dict.fromkeys(out_files))
    if not out_files and not out_dirs:
        return []
    outputs = [path_entry(f) for f in out_files] + [path_entry(d) for d in out_dirs]
    produced = set(out_files) | set(out_dirs)
    inputs = []
    for p in paths:
        if after[p] is None or p in produced or (Path(p).is_file() and p in out_files):
            continue
        if Path(p).is_dir() and any(inside(o, p) for o in produced):
            kept = [rel for rel in (before[p] or {}) if norm(Path(p, rel)) not in produced]
            if not kept:
                continue  # an output directory written afresh
            # a tree the command both read and wrote into (paper's --results-dir): its recorded results
            files = [f for f in _walk(Path(p)) if norm(f) not in produced and sidecar_path(f).exists()]
            inputs.append({"path": p, "kind": "scope", "note": "directory read and written; members: its files "
                           "with provenance records", "members": [path_entry(f) for f in files]})
        else:
            inputs.append(path_entry(p))
    config, seeds = config_and_seeds(args)
    rec = {
        "schema": SCHEMA,
        "id": uuid.uuid4().hex,
        "subcommand": getattr(args, "command", None),
        "rule": os.environ.get("S1KIT_RULE") or None,
        "command": shlex.join(["s1kit", *redact_argv(argv)]),
        "cwd": os.getcwd(),
        "inputs": inputs,
        "outputs": outputs,
        "config": config,
        "seeds": seeds,
        "code": code_version(),
        "packages": package_versions(),
        "container": container(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "started": started,
        "ended": ended,
        "seconds": round(seconds, 3),
    }
    written = []
    dirs = [o["path"] for o in outputs if o["kind"] == "dir"]
    for entry in outputs:
        if not under_results(entry["path"]) and any(inside(entry["path"], d) for d in dirs):
            continue  # outside results/ no sidecars inside an output directory: the directory's tells
        side = sidecar_path(entry["path"])
        # secrets by value too (s1kit.secrets): a key pasted into a flag of any name
        atomic_write_text(side, json.dumps(scrub({**rec, "output": entry}), indent=1, sort_keys=True) + "\n")
        written.append(side)
    return written
