"""Fetch hub inputs at locked revisions into resources/, so compute jobs run offline.

The lock (config/hub.lock.yaml) maps each HubInput key ("repo@revision") to the commit
SHA it resolved to and the sha256 of every file used. A networked first run resolves
what the lock lacks and writes it; later runs download or copy exactly the locked commit
and fail on any checksum that differs ("drift"). ``offline_mirror`` names a pre-staged
copy laid out like the destination (``<root>/<repo_type>s/<repo>/<sha>/...``), for
clusters whose compute and even login nodes have no internet.

Each source gets a manifest (resources/hub/manifests/<source>.json): input name -> local
directory, commit and files; collection reads only manifests.

The official s1 code (config ``official``: a GitHub repository, a commit and its files with
their sha256) is fetched the same way, pinned by content: ``fetch_official``.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from s1kit.records import atomic_write, atomic_write_text
from s1kit.sources.hub import HubInput, HubSource

LOCK_VERSION = 1


class DriftError(RuntimeError):
    """A fetched file differs from its locked checksum, or a locked input cannot be found."""


class HubUnreachable(ValueError):
    """The hub could not be reached for an input that is neither on disk nor in an offline mirror.

    A ValueError, so that ``s1kit fetch`` says it in one line (cli.main) instead of a traceback.
    """


def _unreachable(inp: HubInput, what: str, sha: str | None, err: Exception) -> HubUnreachable:
    """One line: which repository at which revision is needed, and the two ways to provide it."""
    first = (str(err).strip().splitlines() or [""])[0][:160]
    at = f"commit {sha}" if sha else f"revision {inp.revision!r} (pinned in the lock once fetched)"
    return HubUnreachable(
        f"cannot {what} {inp.repo_type} {inp.repo} at {at} from the hub ({type(err).__name__}: {first}). "
        "Needs a network: run the fetch rule on a networked machine, or copy a resources/hub from one and set "
        "collect.hub.offline_mirror to it (docs/sources.md)")


def _hub_refused(err: Exception) -> bool:
    """The hub answered with a 4xx (unknown repo or revision, gated, missing file): a wrong
    pin, not a missing network, so the client's own error (RevisionNotFoundError, ...) stands."""
    from huggingface_hub.errors import HfHubHTTPError  # heavy: huggingface_hub, only when the hub answered

    response = getattr(err, "response", None)
    return isinstance(err, HfHubHTTPError) and response is not None and 400 <= response.status_code < 500


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_lock(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        return {"version": LOCK_VERSION, "inputs": {}}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("inputs", {}), dict):
        raise ValueError(f"{path}: expected a mapping with an 'inputs' mapping")
    if data.get("version", LOCK_VERSION) != LOCK_VERSION:
        raise ValueError(f"{path}: lock version {data.get('version')!r}, this kit reads {LOCK_VERSION}")
    data.setdefault("inputs", {})
    for key, entry in data["inputs"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha"), str) or len(entry["sha"]) != 40:
            raise ValueError(f"{path}: inputs[{key!r}] needs a 40-character commit 'sha'")
    return data


def write_lock(path: str | Path, lock: dict[str, Any]) -> None:
    header = ("# Hub inputs pinned by commit and checksum. Written by `s1kit fetch` on a networked machine;\n"
              "# edit only to move a pin (delete an entry, then fetch again). See docs/sources.md.\n")
    body = yaml.safe_dump({"version": LOCK_VERSION, "inputs": dict(sorted(lock["inputs"].items()))},
                          sort_keys=False, width=120)
    atomic_write_text(path, header + body)


def local_dir(root: str | Path, inp: HubInput, sha: str) -> Path:
    return Path(root) / f"{inp.repo_type}s" / inp.repo / sha


def matching_files(directory: Path, patterns: Iterable[str]) -> dict[str, Path]:
    """Relative posix path -> file, for files under directory matching any allow pattern."""
    out = {}
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory).as_posix()
        if p.is_file() and not rel.startswith(".") and any(fnmatch.fnmatch(rel, pat) for pat in patterns):
            out[rel] = p
    return out


def resolve(inp: HubInput, endpoint: str | None = None) -> str:
    """The commit SHA a revision points at now (network). endpoint: a hub URL (None: huggingface_hub's,
    i.e. HF_ENDPOINT or huggingface.co)."""
    from huggingface_hub import HfApi  # heavy: huggingface_hub, only for a networked fetch

    try:
        return HfApi(endpoint=endpoint).repo_info(inp.repo, repo_type=inp.repo_type, revision=inp.revision).sha
    except Exception as e:  # noqa: BLE001 - no network, DNS, offline mode, 5xx: all mean "cannot fetch"
        if _hub_refused(e):
            raise
        raise _unreachable(inp, "resolve", None, e) from e


def download(inp: HubInput, sha: str, dest: Path, endpoint: str | None = None) -> None:
    from huggingface_hub import snapshot_download  # heavy: huggingface_hub, only for a networked fetch

    try:
        snapshot_download(inp.repo, repo_type=inp.repo_type, revision=sha, allow_patterns=list(inp.files),
                          local_dir=str(dest), endpoint=endpoint)
    except OSError as e:  # a full disk or a permission problem is not the hub's: say it as it is
        if not _hub_refused(e) and type(e).__module__.startswith(("huggingface_hub", "requests", "httpx", "urllib3")):
            raise _unreachable(inp, "download", sha, e) from e
        raise
    except Exception as e:  # noqa: BLE001 - connection errors and 5xx of the hub client
        if _hub_refused(e):
            raise
        raise _unreachable(inp, "download", sha, e) from e


def _copy_from_mirror(inp: HubInput, sha: str, mirror: Path, dest: Path) -> None:
    src = local_dir(mirror, inp, sha)
    if not src.is_dir():
        raise DriftError(f"offline_mirror {mirror}: no copy of {inp.key} at commit {sha} (expected {src})")
    for rel, path in matching_files(src, inp.files).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel, pat) for pat in patterns)


def _checksums(inp: HubInput, directory: Path) -> dict[str, str]:
    return {rel: sha256(p) for rel, p in matching_files(directory, inp.files).items()}


def _drift(inp: HubInput, files: Mapping[str, str], locked: Mapping[str, str]) -> list[str]:
    """Files of inp whose checksum differs from the lock, or that one side lacks (none when nothing is locked)."""
    expected = {rel: h for rel, h in locked.items() if _matches(rel, inp.files)}
    if not expected:
        return []
    return sorted(rel for rel in set(files) | set(expected) if files.get(rel) != expected.get(rel))


def _verify(inp: HubInput, directory: Path, locked: Mapping[str, str]) -> dict[str, str]:
    """Checksums of inp's files in directory; those the lock knows must match it exactly."""
    files = _checksums(inp, directory)
    if not files:
        raise DriftError(f"{inp.key}: no file in {directory} matches {list(inp.files)}")
    changed = _drift(inp, files, locked)
    if changed:
        details = ", ".join(f"{rel} (locked {str(locked.get(rel))[:12]}, found {str(files.get(rel))[:12]})"
                            for rel in changed[:5])
        raise DriftError(f"{inp.key}: {len(changed)} file(s) differ from the lock in {directory}: {details}. "
                         "Refetch, or move the pin deliberately (docs/sources.md).")
    return files


def fetch_input(inp: HubInput, lock: dict[str, Any], dest_root: Path, mirror: Path | None,
                allow_network: bool, endpoint: str | None = None) -> Path:
    """Make the locked snapshot of inp present and verified under dest_root; add what is new to lock."""
    entry = lock["inputs"].get(inp.key)
    if entry is None:
        if not allow_network:
            raise DriftError(f"{inp.key} is not in the hub lock; run `s1kit fetch` on a networked machine "
                             "(without HF_HUB_OFFLINE) to resolve and lock it")
        entry = {"repo": inp.repo, "repo_type": inp.repo_type, "revision": inp.revision,
                 "sha": resolve(inp, endpoint)}
        print(f"locked {inp.key} -> {entry['sha']}")
    locked = entry.get("files") or {}
    dest = local_dir(dest_root, inp, entry["sha"])
    if dest.is_dir() and any(_matches(rel, inp.files) for rel in locked):
        files = _checksums(inp, dest)
        changed = _drift(inp, files, locked)
        if files and not changed:
            return dest
        # A partial or stale copy: fetch again below, then verify for real. Delete the files that differ
        # first: snapshot_download(local_dir=...) trusts a file whose metadata names the commit, unhashed.
        for rel in changed:
            if rel in files and rel in locked:
                (dest / rel).unlink()
    dest.mkdir(parents=True, exist_ok=True)
    if mirror is not None:
        _copy_from_mirror(inp, entry["sha"], mirror, dest)
    elif allow_network:
        download(inp, entry["sha"], dest, endpoint)
    else:
        raise DriftError(f"{inp.key}: {dest} is missing or incomplete and the hub is offline; "
                         "set collect.hub.offline_mirror or fetch on a networked machine")
    # Sources sharing a repository lock the union of the files they use.
    lock["inputs"][inp.key] = {**entry, "files": {**locked, **_verify(inp, dest, locked)}}
    return dest


def _network_allowed(mirror: str | Path | None) -> bool:
    return mirror is None and os.environ.get("HF_HUB_OFFLINE", "0").lower() not in {"1", "true", "yes"}


@contextlib.contextmanager
def locked_lock(lock_path: str | Path) -> Iterator[dict[str, Any]]:
    """The lock's contents under an exclusive file lock (parallel local jobs); written back if changed,
    also after a failure, so that what was resolved before it stays locked."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path.with_name(lock_path.name + ".flock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        lock = read_lock(lock_path)
        before = json.dumps(lock, sort_keys=True)
        try:
            yield lock
        finally:
            if json.dumps(lock, sort_keys=True) != before:
                write_lock(lock_path, lock)


def fetch(sources: Mapping[str, HubSource], lock_path: str | Path, dest_root: str | Path,
          manifests_dir: str | Path, mirror: str | Path | None = None, endpoint: str | None = None) -> dict[str, int]:
    """Fetch every input of every source; write one manifest per source and the updated lock."""
    dest_root, manifests_dir = Path(dest_root), Path(manifests_dir)
    counts = {"sources": 0, "inputs": 0}
    with locked_lock(lock_path) as lock:
        for name, source in sorted(sources.items()):
            manifest = {}
            for input_name, inp in source.inputs.items():
                path = fetch_input(inp, lock, dest_root, Path(mirror) if mirror else None, _network_allowed(mirror),
                                   endpoint)
                manifest[input_name] = {"key": inp.key, "sha": lock["inputs"][inp.key]["sha"], "path": str(path)}
                counts["inputs"] += 1
            atomic_write_text(manifests_dir / f"{name}.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
            counts["sources"] += 1
    return counts


MODEL_FILES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "tokenizer*")


def fetch_model(repo: str, revision: str, lock_path: str | Path, dest_root: str | Path, out: str | Path,
                mirror: str | Path | None = None, endpoint: str | None = None) -> Path:
    """A hub model at a locked commit under dest_root, linked file by file into out (no second copy)."""
    inp = HubInput(repo, files=MODEL_FILES, revision=revision, repo_type="model")
    with locked_lock(lock_path) as lock:
        src = fetch_input(inp, lock, Path(dest_root), Path(mirror) if mirror else None, _network_allowed(mirror),
                          endpoint)
    out = Path(out)
    for rel, path in matching_files(src, inp.files).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).unlink(missing_ok=True)
        (out / rel).symlink_to(path.resolve())
    return src


def read_manifest(path: str | Path, source: HubSource) -> dict[str, Path]:
    """Input name -> local snapshot directory, checked against the source's inputs."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the fetch manifest ({e}); rerun the fetch rule") from None
    missing = sorted(set(source.inputs) - set(manifest))
    if missing:
        raise ValueError(f"{path}: no fetched input(s) {missing} for source {source.name!r}; rerun the fetch rule")
    return {name: Path(manifest[name]["path"]) for name in source.inputs}


# ---- the official s1 code (config `official`): one pinned commit of a GitHub repository ----

OFFICIAL_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def official_dir(dest_root: str | Path, repo: str, commit: str) -> Path:
    """Where the official files of (repo, commit) live once fetched: <dest>/<repo>/<commit>/<path>."""
    return Path(dest_root) / repo / commit


def _official_bytes(repo: str, commit: str, path: str, mirror: Path | None, timeout: float) -> tuple[bytes, str]:
    if mirror is not None:
        src = mirror / path
        if not src.is_file():
            raise DriftError(f"config official.mirror {mirror}: no file {path} (expected {src})")
        return src.read_bytes(), str(src)
    url = OFFICIAL_URL.format(repo=repo, commit=commit, path=path)
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read(), url


def fetch_official(repo: str, commit: str, files: Mapping[str, str], dest_root: str | Path,
                   mirror: str | Path | None = None, timeout: float = 60.0) -> Path:
    """The official files (path -> sha256) of repo at commit under dest_root, each checked against its
    sha256: copied from ``mirror`` (a folder laid out like the repository, e.g. ../shared/official-s1)
    or downloaded from GitHub at that commit. A file already there with the pinned sha256 is kept; any
    other difference is a DriftError naming the file. Returns the repository folder."""
    if not (isinstance(commit, str) and len(commit) == 40 and all(c in "0123456789abcdef" for c in commit)):
        raise ValueError(f"config official.commit: expected a full 40-character commit SHA, got {commit!r}")
    if not files:
        raise ValueError("config official.files: no file listed")
    root = official_dir(dest_root, repo, commit)
    for path, expected in sorted(files.items()):
        dest = root / path
        if dest.is_file() and sha256(dest) == expected:
            continue
        data, origin = _official_bytes(repo, commit, path, Path(mirror) if mirror else None, timeout)
        got = hashlib.sha256(data).hexdigest()
        if got != expected:
            raise DriftError(f"official file {path} ({origin}): sha256 {got} differs from config "
                             f"official.files[{path!r}] {expected}; the pinned file changed, or the pin is wrong")
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, lambda tmp, data=data: Path(tmp).write_bytes(data))
    return root


def official_file(root: str | Path, path: str) -> Path:
    """A fetched official file, or an error naming it (the fetch_official rule makes them)."""
    p = Path(root) / path
    if not p.is_file():
        raise FileNotFoundError(f"official file {path}: {p} is missing; run the fetch_official rule "
                                "(config `official`) first")
    return p
