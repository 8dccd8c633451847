"""Stale Snakemake locks: detected at workflow start and cleared when that is safe.

Snakemake locks a working directory with files under ``.snakemake/locks/``; a Snakemake
killed with SIGKILL (or a lost node) leaves them behind and every later run stops with
LockException until ``snakemake --unlock``. The Snakefile calls :func:`check` in the main
Snakemake process before the DAG is built. The lock files name no process, so the kit
keeps its own owner record (host and pid, ``.snakemake/s1kit_owner.json``), written when a
run starts without locks. A lock is cleared only when its owner ran on this host, is no
longer alive and no other Snakemake process runs in this directory here; otherwise the
user is told the one command that clears it.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

OWNER = "s1kit_owner.json"
UNLOCK_HINT = "snakemake --unlock"


def lock_files(workdir: str | Path) -> list[Path]:
    d = Path(workdir, ".snakemake", "locks")
    return sorted(d.glob("*.lock")) if d.is_dir() else []


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def snakemake_processes(workdir: str | Path) -> list[int]:
    """PIDs of other Snakemake processes whose working directory is ``workdir`` (this host)."""
    here = os.path.realpath(workdir)
    mine = _ancestors()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid in mine:
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.path.realpath(proc / "cwd")
        except OSError:
            continue
        if cwd == here and any(os.path.basename(a) in (b"snakemake", b"snakemake.exe") or a == b"snakemake"
                               for a in argv[:3]):
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check(workdir: str | Path, command: str) -> str | None:
    """At a run's start: clear a stale lock if safe, else explain; record this run as the owner.
    Returns a message for the user (None when there was nothing to say)."""
    workdir = Path(workdir)
    locks = lock_files(workdir)
    owner_file = workdir / ".snakemake" / OWNER
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    if not locks:
        owner_file.parent.mkdir(parents=True, exist_ok=True)
        owner_file.write_text(json.dumps(me))
        return None
    others = snakemake_processes(workdir)
    try:
        owner = json.loads(owner_file.read_text())
    except (OSError, ValueError):
        owner = None
    if others:
        return (f"s1kit: Snakemake (pid {', '.join(map(str, others))}) is running in {workdir}; "
                "wait for it to finish or stop it, then run the same command again")
    if owner and owner.get("host") == me["host"] and not _alive(int(owner.get("pid", 0))):
        for f in locks:
            f.unlink(missing_ok=True)
        owner_file.write_text(json.dumps(me))
        return (f"s1kit: removed the lock left by a Snakemake that is no longer running (pid {owner['pid']}, "
                "killed or lost); resuming (incomplete outputs are redone)")
    where = f" on host {owner['host']}" if owner and owner.get("host") != me["host"] else ""
    return (f"s1kit: {workdir}/.snakemake/locks holds a lock of another Snakemake{where}. If none is running "
            f"any more (killed, node lost), clear it with `{UNLOCK_HINT}` and run `{command}` again")
