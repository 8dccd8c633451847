"""Provenance that travels with results/: one JSON sidecar per output file, and `s1kit trace`.

Every rule runs ``s1kit <subcommand> --flag path ...``; ``s1kit.cli.main`` wraps each
subcommand in :func:`record`. Paths among the flag values are sorted after the run into
inputs (existed before, unchanged) and outputs (created or changed during the run). The
record holds the command (secrets redacted), inputs and outputs with sha256, the JSON
config flags and seeds, code version (git SHA + dirty flag), package versions, container,
host, Python, start/end time and the rule name from ``S1KIT_RULE`` (every rule's shell sets
it from its ``params.rule``). It is written for each output to
``results/.provenance/<path under results>.json`` (outside results/: ``<name>.prov.json``
beside it). Recording never fails a command: errors become a warning on stderr.

``s1kit trace <claim-id>`` walks the records from a claim's target file down to files with
no record (raw inputs) or records without inputs (generated sources), and flags every
file whose current sha256 differs from the one recorded when it was produced.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import difflib
import hashlib
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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SCHEMA = "s1kit.provenance/1"
MIRROR = ".provenance"
IGNORED = {".snakemake_timestamp"}  # Snakemake marks directory outputs with it after the job
MAX_HASH_BYTES = 2 * 1024**3  # larger files are listed with their size, not hashed
PACKAGES = ("s1kit", "torch", "transformers", "lm_eval", "snakemake", "datasets", "math-verify",
            "pandas", "pyarrow", "numpy", "accelerate", "vllm")
# a key (or flag) naming a secret: api_key, hf_token, password ...; not max_new_tokens
SECRET_RE = re.compile(r"(^|[_\-.])(api[_\-]?key|key|token|secret|password|passwd|credentials?|auth)$", re.I)
REDACTED = "<redacted>"
NO_RECORD = {"where", "trace"}  # read-only subcommands


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- hashing -------------------------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    """Files under ``root`` (sorted), the provenance mirror and Snakemake's markers excluded."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != MIRROR)
        out += [Path(dirpath) / f for f in sorted(filenames) if f not in IGNORED]
    return out


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


def path_entry(path: str | Path) -> dict[str, Any]:
    """{path, kind, sha256, bytes[, files, note]} of a file or directory as it is now."""
    p = Path(path)
    if p.is_dir():
        files = _walk(p)
        hashes = [(f.relative_to(p).as_posix(), file_sha256(f)) for f in files]
        entry = {"path": _norm(p), "kind": "dir", "sha256": dir_sha256(hashes), "files": len(files),
                 "bytes": sum(f.stat().st_size for f in files)}
        if any(s is None for _, s in hashes):
            entry["note"] = f"files over {MAX_HASH_BYTES} bytes counted by name only"
        return entry
    sha = file_sha256(p)
    entry = {"path": _norm(p), "kind": "file", "sha256": sha, "bytes": p.stat().st_size}
    if sha is None:
        entry["note"] = f"over {MAX_HASH_BYTES} bytes: not hashed"
    return entry


def _norm(p: str | Path) -> str:
    return os.path.normpath(str(p))


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
        seen.setdefault(_norm(v), None)
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


def _inside(child: str, parent: str) -> bool:
    return child != parent and (parent == "." or child.startswith(parent.rstrip("/") + "/"))


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


def sidecar_path(path: str | Path) -> Path:
    """Where the record of ``path`` lives: <results>/.provenance/<rel>.json, else <name>.prov.json."""
    p = Path(_norm(path))
    parts = p.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "results" and i < len(parts) - 1:
            return Path(*parts[: i + 1], MIRROR, *parts[i + 1 :]).with_name(parts[-1] + ".json")
    return p.with_name(p.name + ".prov.json")


def _under_results(path: str | Path) -> bool:
    parts = Path(_norm(path)).parts
    return "results" in parts[:-1]


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
    from s1kit.records import atomic_write_text
    from s1kit.secrets import scrub

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
        others = [q for q in paths if _inside(q, p)]
        changed = [rel for rel, st in now.items() if then.get(rel) != st
                   and not any(_inside(_norm(Path(p, rel)), q) or _norm(Path(p, rel)) == q for q in others)]
        if Path(p).is_file():
            if changed:
                out_files.append(p)
        else:
            out_files += [_norm(Path(p, rel)) for rel in changed]
    for d in out_dirs:
        out_files += [_norm(f) for f in _walk(Path(d))]
    out_files = list(dict.fromkeys(out_files))
    if not out_files and not out_dirs:
        return []
    outputs = [path_entry(f) for f in out_files] + [path_entry(d) for d in out_dirs]
    produced = set(out_files) | set(out_dirs)
    inputs = []
    for p in paths:
        if after[p] is None or p in produced or (Path(p).is_file() and p in out_files):
            continue
        if Path(p).is_dir() and any(_inside(o, p) for o in produced):
            kept = [rel for rel in (before[p] or {}) if _norm(Path(p, rel)) not in produced]
            if not kept:
                continue  # an output directory written afresh
            # a tree the command both read and wrote into (paper's --results-dir): its recorded results
            files = [f for f in _walk(Path(p)) if _norm(f) not in produced and sidecar_path(f).exists()]
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
        if not _under_results(entry["path"]) and any(_inside(entry["path"], d) for d in dirs):
            continue  # outside results/ no sidecars inside an output directory: the directory's tells
        side = sidecar_path(entry["path"])
        # secrets by value too (s1kit.secrets): a key pasted into a flag of any name
        atomic_write_text(side, json.dumps(scrub({**rec, "output": entry}), indent=1, sort_keys=True) + "\n")
        written.append(side)
    return written


# ---- tracing -----------------------------------------------------------------------------------


def load_record(path: str | Path) -> dict[str, Any] | None:
    """The record of the step that produced ``path`` (a file, or a directory via its files)."""
    side = sidecar_path(path)
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    mirror = side.with_name(side.name[: -len(".json")]) if side.name.endswith(".json") else None
    if mirror is not None and mirror.is_dir():
        for f in sorted(mirror.rglob("*.json")):
            return json.loads(f.read_text(encoding="utf-8"))
    if not _under_results(path):  # outside results/: the sidecar of an enclosing output directory
        for parent in Path(_norm(path)).parents:
            side = sidecar_path(parent)
            if side.is_file():
                rec = json.loads(side.read_text(encoding="utf-8"))
                if any(o["path"] == _norm(path) for o in rec.get("outputs", [])):
                    return rec
    return None


def produced_sha(rec: dict[str, Any], path: str) -> str | None:
    """sha256 of ``path`` as its producing record saw it (directories rebuilt from file entries)."""
    path = _norm(path)
    for o in rec.get("outputs", []):
        if o["path"] == path:
            return o.get("sha256")
    inner = [(o["path"][len(path) + 1 :], o.get("sha256")) for o in rec.get("outputs", [])
             if o.get("kind") == "file" and _inside(o["path"], path)]
    return dir_sha256(inner) if inner else None


def trace_path(path: str, seen: dict[str, dict] | None = None, consumed: str | None = None) -> dict[str, Any]:
    """The provenance chain of ``path`` as a nested dict (inputs recursively)."""
    seen = {} if seen is None else seen
    path = _norm(path)
    node: dict[str, Any] = {"path": path}
    exists = Path(path).exists()
    current = path_entry(path)["sha256"] if exists else None
    node["sha256"] = current
    if not exists:
        node["status"] = "missing"
    if consumed and current and consumed != current:
        node["consumed_sha256"] = consumed
    if path in seen:
        node["see_above"] = True
        return node
    seen[path] = node
    rec = load_record(path) if exists else None
    if rec is None:
        node["source"] = "raw input: no provenance record"
        return node
    recorded = produced_sha(rec, path)
    node["recorded_sha256"] = recorded
    if exists and recorded and current != recorded:
        node["status"] = "CHECKSUM MISMATCH"
    else:
        node.setdefault("status", "ok")
    node["step"] = {k: rec.get(k) for k in ("subcommand", "rule", "command", "started", "ended", "host",
                                             "seeds", "container", "code", "config")}
    node["step"]["packages"] = {k: v for k, v in (rec.get("packages") or {}).items() if v}
    kids = []
    for inp in rec.get("inputs", []):
        if inp.get("kind") == "scope":
            kids += [trace_path(m["path"], seen, m.get("sha256")) for m in inp.get("members", [])]
        else:
            kids.append(trace_path(inp["path"], seen, inp.get("sha256")))
    node["inputs"] = kids
    if not kids:
        node["source"] = f"generated by `{rec.get('subcommand')}` (no file inputs)"
    return node


def format_tree(node: dict[str, Any], depth: int = 0) -> list[str]:
    pad = "  " * depth
    sha = (node.get("sha256") or "-")[:12]
    status = node.get("status", "")
    head = f"{pad}{node['path']}  sha256:{sha}"
    if node.get("see_above"):
        return [head + "  (see above)"]
    if status and status != "ok":
        head += f"  [{status}"
        if status == "CHECKSUM MISMATCH":
            head += f": recorded {(node.get('recorded_sha256') or '-')[:12]} at production"
        head += "]"
    if node.get("consumed_sha256"):
        head += f"  [consumed as {node['consumed_sha256'][:12]}, changed since]"
    lines = [head]
    step = node.get("step")
    if step:
        code = step.get("code") or {}
        ver = (code.get("git_sha") or "?")[:12] + (" dirty" if code.get("dirty") else "")
        cont = (step.get("container") or {}).get("image", "none")
        rule = f" rule {step['rule']}," if step.get("rule") else ""
        lines.append(f"{pad}  <- {step['command']}")
        lines.append(f"{pad}     {step['started']} .. {step['ended']} on {step['host']},{rule} code {ver}, "
                     f"container {cont}" + (f", seeds {step['seeds']}" if step.get("seeds") else ""))
        pins: dict[str, Any] = {}
        _find_keys(step.get("config") or {}, "", pins, ("revision", "commit", "digest"))
        if pins:
            lines.append(f"{pad}     pinned: " + ", ".join(f"{k}={v}" for k, v in sorted(pins.items())))
    if node.get("source"):
        lines.append(f"{pad}  = {node['source']}")
    for kid in node.get("inputs", []):
        lines += format_tree(kid, depth + 2)
    return lines


def _find_keys(node: Any, where: str, out: dict[str, Any], words: tuple[str, ...]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{where}.{k}" if where else str(k)
            if any(w in str(k).lower() for w in words) and not isinstance(v, (dict, list)):
                out[key] = v
            _find_keys(v, key, out, words)


def _mismatches(node: dict[str, Any]) -> list[str]:
    out = [node["path"]] if node.get("status") == "CHECKSUM MISMATCH" else []
    for kid in node.get("inputs", []):
        out += _mismatches(kid)
    return out


def add_trace_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("claim", help="claim id (see paper/claims.yaml), or a path under results/")
    p.add_argument("--results-dir", default="results", help="results tree (default: results)")
    p.add_argument("--claims", default=None, help="claims registry (default: the packaged claims.yaml)")
    p.add_argument("--json", action="store_true", help="print the chain as JSON")


def trace_main(a: argparse.Namespace) -> int:
    from s1kit.paper.claims import load_claims

    results = _norm(a.results_dir)

    def local(target: str) -> str:  # claims name results/...; --results-dir may put it elsewhere
        return _norm(Path(results, *Path(target).parts[1:])) if target.startswith("results/") else target

    header: dict[str, Any] = {}
    if "/" in a.claim or Path(a.claim).exists():
        target = a.claim
    else:
        claims = {c.id: c for c in load_claims(a.claims)}
        claim = claims.get(a.claim)
        if claim is None:
            close = difflib.get_close_matches(a.claim, list(claims), n=5, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            print(f"s1kit trace: unknown claim id {a.claim!r}{hint}", file=sys.stderr)
            return 2
        options = [t for t in (claim.target, claim.tiny_target) if t]
        if not options:
            print(f"s1kit trace: claim {claim.id} is cited ({claim.description}); it has no target file",
                  file=sys.stderr)
            return 2
        target = next((t for t in options if Path(local(t)).exists()), options[0])
        header = {"claim": claim.id, "description": claim.description, "paper_value": claim.paper_value,
                  "unit": claim.unit, "target": claim.target, "tiny_target": claim.tiny_target,
                  "traced": target}
    path = local(target)
    if not Path(path).exists():
        print(f"s1kit trace: {path} not run yet: snakemake {target}", file=sys.stderr)
        return 2
    if load_record(path) is None:
        print(f"s1kit trace: {path} has no provenance record (made before provenance, or by hand); "
              f"rerun it: snakemake --forcerun {target}", file=sys.stderr)
        return 2
    tree = trace_path(path)
    bad = _mismatches(tree)
    if a.json:
        print(json.dumps({**header, "mismatches": bad, "chain": tree}, indent=1, sort_keys=True))
    else:
        if header:
            print(f"claim {header['claim']}: {header['description']} (paper {header['paper_value']} {header['unit']})")
            if header["traced"] != header["target"]:
                print(f"  paper target {header['target']} not produced here; tracing the tiny target")
        print("\n".join(format_tree(tree)))
        if bad:
            print(f"\n{len(bad)} file(s) changed since they were produced (CHECKSUM MISMATCH): {', '.join(bad)}")
    return 1 if bad else 0
