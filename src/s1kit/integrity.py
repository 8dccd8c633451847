"""Corruption caught before it spreads: results checked against their provenance sha256.

Snakemake decides what to rerun from modification times and deletes a job's outputs before
running it. A result file truncated or edited by hand therefore makes it delete good
downstream outputs and then fail on the bad file. The Snakefile calls :func:`verify` at
workflow start, before any job: every file under results/ with a provenance record
(``results/.provenance/``) must still have the sha256 recorded when it was produced, else
the run stops naming the file, and nothing is deleted. Readers of the kit's parquet and
JSONL files make the same check per file (:func:`check_file`), so a file changed while a
run goes on is named by the job that reads it.

Files are rehashed only when their size or mtime changed since the last check (a cache in
``.snakemake/s1kit_verified.json``), so a second start costs a stat per file. Outputs of
jobs Snakemake marks incomplete (killed mid-job; rerun by rerun-incomplete) are skipped.

The cache trusts (size, mtime); Snakemake does not: it also reruns a job when an input newer
than the job's outputs has a checksum other than the one it recorded, so a same-size,
same-mtime change (bit rot) would pass :func:`verify` and still make Snakemake delete the
next job's outputs. Hence a second check once the DAG is known (the Snakefile's ``onstart``,
after Snakemake decided what to run and before any job deletes anything):
:func:`verify_paths` rehashes, regardless of the cache, every input of every job that will
run over outputs that exist (:func:`inputs_of_reruns`).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from s1kit.sidecar import MIRROR, file_sha256, sidecar_path

CACHE = "s1kit_verified.json"


class CorruptResult(ValueError):
    """A result file differs from what its producing step wrote."""


def _incomplete(workdir: Path) -> list[str]:
    """Paths Snakemake marks incomplete (``.snakemake/incomplete/<urlsafe b64 of the path>``)."""
    root = workdir / ".snakemake" / "incomplete"
    out = []
    if root.is_dir():
        for f in root.rglob("*"):
            if not f.is_file() or f.name == "migration_underway":
                continue
            parts = f.relative_to(root).parts
            try:
                out.append(base64.urlsafe_b64decode("".join(p.lstrip("@") for p in parts)).decode())
            except (ValueError, UnicodeDecodeError):
                continue
    return [os.path.normpath(p) for p in out]


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def problem(path: str | Path, recorded: dict[str, Any], current: str | None) -> str:
    rule = f"rule {recorded['rule']}" if recorded.get("rule") else f"s1kit {recorded.get('subcommand')}"
    return (f"{path}: changed since it was produced (sha256 now {(current or '-')[:12]}, recorded "
            f"{(recorded['sha256'] or '-')[:12]} by {rule} at {recorded.get('ended', '?')})")


def verify(workdir: str | Path = ".", results: str = "results") -> list[str]:
    """Every recorded file under ``results`` whose content no longer matches its record."""
    workdir = Path(workdir)
    mirror = workdir / results / MIRROR
    if not mirror.is_dir():
        return []
    cache_file = workdir / ".snakemake" / CACHE
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    skip = _incomplete(workdir)
    problems, fresh = [], {}
    for side in sorted(mirror.rglob("*.json")):
        try:
            rec = json.loads(side.read_text(encoding="utf-8"))
            out = rec["output"]
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{side}: unreadable provenance record")
            continue
        path = os.path.normpath(out.get("path", ""))
        target = workdir / path
        if out.get("kind") != "file" or not out.get("sha256") or _under(path, skip) or not target.is_file():
            continue
        if sidecar_path(path) != Path(os.path.normpath(side.relative_to(workdir))):
            continue  # a record copied elsewhere; not this file's
        st = target.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        seen = cache.get(path)
        current = seen[2] if seen and seen[:2] == stamp else file_sha256(target)
        if current != out["sha256"]:
            problems.append(problem(path, {**out, "rule": rec.get("rule"), "subcommand": rec.get("subcommand"),
                                           "ended": rec.get("ended")}, current))
        else:
            fresh[path] = [*stamp, current]
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(fresh))
    except OSError:
        pass
    return problems


def _check(workdir: Path, path: str, side: Path) -> str | None:
    """The problem with one recorded file, or None (also when it has no usable record)."""
    try:
        rec = json.loads(side.read_text(encoding="utf-8"))
        out = rec["output"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{side}: unreadable provenance record"
    target = workdir / path
    if out.get("kind") != "file" or not out.get("sha256") or os.path.normpath(out.get("path", "")) != path \
            or not target.is_file():
        return None
    current = file_sha256(target)
    if current != out["sha256"]:
        return problem(path, {**out, "rule": rec.get("rule"), "subcommand": rec.get("subcommand"),
                              "ended": rec.get("ended")}, current)
    return None


def verify_paths(paths, workdir: str | Path = ".") -> list[str]:
    """The files among ``paths`` (relative to ``workdir``) with a provenance record that they no
    longer match, each rehashed whatever its size and mtime (no cache)."""
    workdir = Path(workdir)
    problems = []
    for path in sorted({os.path.normpath(str(p)) for p in paths}):
        side = workdir / sidecar_path(path)
        if side.is_file() and (bad := _check(workdir, path, side)):
            problems.append(bad)
    return problems


def inputs_of_reruns(dag) -> list[str]:
    """Inputs of the jobs a Snakemake DAG will run whose outputs (some of them) exist: running
    such a job deletes those outputs first, so its inputs must be verified beforehand. Inputs
    that a job of this run rewrites are left to that job."""
    jobs = list(dag.needrun_jobs())
    produced = {str(f) for job in jobs for f in job.output}
    out = set()
    for job in jobs:
        if any(os.path.exists(str(f)) for f in job.output):
            out.update(str(f) for f in job.input if str(f) not in produced and os.path.isfile(str(f)))
    return sorted(out)


def message(problems: list[str]) -> str:
    return ("s1kit: result files differ from what produced them, so nothing was run (and nothing deleted):\n  "
            + "\n  ".join(problems)
            + "\nRestore them (e.g. from a backup), or delete each to have it and what depends on it rebuilt.")


def check_file(path: str | Path) -> None:
    """Raise CorruptResult naming ``path`` if it has a provenance record that it no longer matches."""
    side = sidecar_path(path)
    if not side.is_file():
        return
    try:
        rec = json.loads(side.read_text(encoding="utf-8"))
        out = rec["output"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if out.get("kind") != "file" or not out.get("sha256") or os.path.normpath(out.get("path", "")) != os.path.normpath(path):
        return
    current = file_sha256(path)
    if current is not None and current != out["sha256"]:
        raise CorruptResult(problem(path, {**out, "rule": rec.get("rule"), "subcommand": rec.get("subcommand"),
                                           "ended": rec.get("ended")}, current))
