"""s1kit.sources.fetch over the network path, against a local stand-in for the Hugging Face hub.

The real hub cannot be reached from here, so a fixture serves, on 127.0.0.1, the part of the
hub HTTP API that the installed huggingface_hub (2.x) calls for ``HfApi.repo_info`` and
``snapshot_download(revision=<sha>, local_dir=...)``:

- ``GET /api/{datasets|models}/{repo}/revision/{rev}``: id, sha, siblings (repo_info);
- ``GET /api/{datasets|models}/{repo}/tree/{sha}?recursive=...``: the file listing, with git blob
  oids and, for LFS files, their sha256 and size (snapshot_download skips repo_info when given
  a commit SHA and lists the tree instead);
- ``HEAD|GET /[datasets/]{repo}/resolve/{rev}/{path}``: plain git files answer 200 with ETag (the
  git blob oid), Content-Length and X-Repo-Commit; LFS files (*.parquet, *.safetensors) answer
  302 to a content-addressed "CDN" on a second port, with X-Linked-Etag (sha256),
  X-Linked-Size and X-Repo-Commit, as huggingface.co does for LFS files it does not serve
  through Xet; errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound).

Not served: Xet. On the real hub most LFS files now come with X-Xet-Hash and a token refresh
route, and huggingface_hub then downloads them through hf_xet from a CAS server, a binary
protocol this stand-in does not speak. Without those headers (or with HF_HUB_DISABLE_XET=1)
huggingface_hub takes the plain HTTP path tested here; what s1kit checks afterwards (sha256
against the lock) is the same whichever way the bytes came.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s1kit.sources.fetch import DriftError, fetch, fetch_model, local_dir, read_lock, read_manifest, sha256
from s1kit.sources.hub import HubInput, HubSource, row
from s1kit.sources.rows import read_rows

SHA_A = hashlib.sha1(b"commit A").hexdigest()
SHA_B = hashlib.sha1(b"commit B").hexdigest()
SHA_M = hashlib.sha1(b"model commit").hexdigest()
LFS_SUFFIXES = (".parquet", ".safetensors")

INP = HubInput("org/toy", files=("data/train-*.parquet", "data/*.json"))
TOY = HubSource("toy", {"main": INP},
                lambda paths, seed: [row(r["problem"], "toy", "math", r["solution"])
                                     for r in read_rows(paths["main"], ("data/train-*.parquet",))])
TRAIN = "data/train-00000-of-00001.parquet"


def _parquet(problems: list[str]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"problem": problems, "solution": [str(i) for i in range(len(problems))]}), buf)
    return buf.getvalue()


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(data: bytes) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n" \
           f"size {len(data)}\n".encode()


class ToyHub:
    """Repositories, branches and commits served by the stand-in, and the log of requests it got."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], dict] = {}  # (repo_type, repo) -> {"refs": {...}, "commits": {...}}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.url = self.cdn = ""

    def add(self, repo_type: str, repo: str, sha: str, files: dict[str, bytes], branch: str = "main") -> None:
        r = self.repos.setdefault((repo_type, repo), {"refs": {}, "commits": {}})
        r["commits"][sha] = dict(files)
        r["refs"][branch] = sha

    def log(self, method: str, path: str) -> None:
        with self.lock:
            self.requests.append((method, path))

    def take(self) -> list[tuple[str, str]]:
        with self.lock:
            out, self.requests = self.requests, []
        return out

    def blob(self, sha256_hex: str) -> bytes | None:
        for r in self.repos.values():
            for files in r["commits"].values():
                for data in files.values():
                    if hashlib.sha256(data).hexdigest() == sha256_hex:
                        return data
        return None


def _handler(hub: ToyHub, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the hub; every reply sets Content-Length

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def _reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str, extra: dict[str, str] | None = None) -> None:
            body = json.dumps({"error": code}).encode()
            self._reply(status, {"X-Error-Code": code, "X-Error-Message": code, "Content-Type": "application/json",
                                 **(extra or {})}, body)

        def _commit(self, repo_type: str, repo: str, rev: str) -> tuple[str, dict[str, bytes]] | None:
            r = hub.repos.get((repo_type, repo))
            if r is None:
                self._error(404, "RepoNotFound")
                return None
            sha = r["refs"].get(rev, rev)
            if sha not in r["commits"]:
                self._error(404, "RevisionNotFound")
                return None
            return sha, r["commits"][sha]

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.log(self.command, f"{role}{path}")
            if role == "cdn":
                m = re.fullmatch(r"/cdn/([0-9a-f]{64})", path)
                data = hub.blob(m.group(1)) if m else None
                if data is None:
                    return self._error(404, "EntryNotFound")
                return self._reply(200, {"Content-Type": "application/octet-stream"}, data)
            m = re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/(revision|tree)/([^/]+)", path)
            if m:
                kind, repo, what, rev = m.groups()
                found = self._commit(kind[:-1], repo, rev)
                if found is None:
                    return None
                sha, files = found
                if what == "revision":
                    info = {"id": repo, "sha": sha, "private": False,
                            "siblings": [{"rfilename": f} for f in sorted(files)]}
                else:
                    info = [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0}
                            for d in sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})]
                    for f, data in sorted(files.items()):
                        entry = {"type": "file", "path": f, "size": len(data), "oid": _git_oid(data)}
                        if f.endswith(LFS_SUFFIXES):
                            pointer = _lfs_pointer(data)
                            entry.update(oid=_git_oid(pointer), lfs={"oid": hashlib.sha256(data).hexdigest(),
                                                                     "size": len(data), "pointerSize": len(pointer)})
                        info.append(entry)
                return self._reply(200, {"Content-Type": "application/json"}, json.dumps(info).encode())
            m = re.fullmatch(r"/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if not m:
                return self._error(404, "RepoNotFound")
            found = self._commit("dataset" if m.group(1) else "model", m.group(2), m.group(3))
            if found is None:
                return None
            sha, files = found
            data = files.get(m.group(4))
            if data is None:
                return self._error(404, "EntryNotFound", {"X-Repo-Commit": sha})
            if m.group(4).endswith(LFS_SUFFIXES):  # LFS: metadata here, bytes on the CDN
                digest = hashlib.sha256(data).hexdigest()
                return self._reply(302, {"Location": f"{hub.cdn}/cdn/{digest}", "X-Repo-Commit": sha,
                                         "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(data)),
                                         "ETag": f'"{_git_oid(_lfs_pointer(data))}"'})
            return self._reply(200, {"X-Repo-Commit": sha, "ETag": f'"{_git_oid(data)}"',
                                     "Content-Type": "application/octet-stream"}, data)

    return Handler


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A stand-in hub on 127.0.0.1 (API + resolve on one port, LFS "CDN" on another), huggingface_hub
    isolated from the user's cache, token and offline setting."""
    import huggingface_hub.constants as hc

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf_home/hub"))
    # huggingface_hub reads these at import time: patch the module constants as well.
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hc, "HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf_home/hub"))
    monkeypatch.setattr(hc, "HF_XET_CACHE", str(tmp_path / "hf_home/xet"))
    monkeypatch.setattr(hc, "HF_TOKEN_PATH", str(tmp_path / "hf_home/token"))
    monkeypatch.setattr(hc, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf_home/stored_tokens"))
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):  # a forgotten endpoint fails at once, naming the host
        if host not in ("127.0.0.1", "localhost"):
            raise OSError(f"test reached for {host!r}: only the stand-in hub on 127.0.0.1 is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)

    state = ToyHub()
    servers = []
    for role in ("hub", "cdn"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, role))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
    state.url, state.cdn = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    state.add("dataset", "org/toy", SHA_A, {
        TRAIN: _parquet(["What is 1+1?", "What is 2+2?"]),
        "data/test-00000-of-00001.parquet": _parquet(["held out"]),
        "data/info.json": b'{"rows": 2}\n',
        "README.md": b"# toy\n",
        ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"})
    yield state
    for server in servers:
        server.shutdown()
        server.server_close()


def _move_main_to_b(hub: ToyHub) -> None:
    """A new upstream commit B on main: more rows, changed metadata."""
    files = dict(hub.repos[("dataset", "org/toy")]["commits"][SHA_A])
    files[TRAIN] = _parquet(["What is 1+1?", "What is 2+2?", "What is 3+3?"])
    files["data/info.json"] = b'{"rows": 3}\n'
    hub.add("dataset", "org/toy", SHA_B, files)


def _fetch(hub: ToyHub, tmp_path, dest: str = "hub") -> dict[str, int]:
    return fetch({"toy": TOY}, tmp_path / "hub.lock.yaml", tmp_path / dest, tmp_path / dest / "manifests",
                 endpoint=hub.url)


def test_first_fetch_resolves_main_downloads_only_matching_files_and_locks(hub, tmp_path):
    assert _fetch(hub, tmp_path) == {"sources": 1, "inputs": 1}
    entry = read_lock(tmp_path / "hub.lock.yaml")["inputs"]["org/toy@main"]
    assert entry["sha"] == SHA_A and entry["repo_type"] == "dataset"
    dest = local_dir(tmp_path / "hub", INP, SHA_A)
    served = hub.repos[("dataset", "org/toy")]["commits"][SHA_A]
    assert entry["files"] == {f: hashlib.sha256(served[f]).hexdigest() for f in (TRAIN, "data/info.json")}
    assert {f: sha256(dest / f) for f in entry["files"]} == entry["files"]
    for skipped in ("data/test-00000-of-00001.parquet", "README.md", ".gitattributes"):
        assert not (dest / skipped).exists(), skipped
    assert read_manifest(tmp_path / "hub/manifests/toy.json", TOY) == {"main": dest}
    assert [r["question"] for r in TOY.load({"main": dest}, 0)] == ["What is 1+1?", "What is 2+2?"]
    reqs = hub.take()
    assert ("GET", "hub/api/datasets/org/toy/revision/main") in reqs  # resolved once, then only by SHA
    assert sum("/main" in p for _, p in reqs) == 1
    assert ("GET", f"cdn/cdn/{entry['files'][TRAIN]}") in reqs  # LFS bytes came through the redirect
    assert not any("test-00000" in p or "README" in p for _, p in reqs)


def test_locked_commit_survives_branch_move_and_verified_copy_costs_no_request(hub, tmp_path):
    _fetch(hub, tmp_path)
    lock_text = (tmp_path / "hub.lock.yaml").read_text()
    hub.take()
    _move_main_to_b(hub)

    _fetch(hub, tmp_path)  # same machine: the verified local copy is enough
    assert hub.take() == []
    assert (tmp_path / "hub.lock.yaml").read_text() == lock_text

    _fetch(hub, tmp_path, dest="other")  # a fresh machine with the same lock downloads A, not main (= B)
    reqs = hub.take()
    assert reqs and all("/main" not in p and SHA_B not in p for _, p in reqs), reqs
    dest = local_dir(tmp_path / "other", INP, SHA_A)
    assert read_manifest(tmp_path / "other/manifests/toy.json", TOY) == {"main": dest}
    assert len(TOY.load({"main": dest}, 0)) == 2  # commit A has 2 rows, B has 3
    assert (tmp_path / "hub.lock.yaml").read_text() == lock_text


def test_tampered_local_copy_is_downloaded_again_at_locked_commit(hub, tmp_path):
    _fetch(hub, tmp_path)
    locked = read_lock(tmp_path / "hub.lock.yaml")["inputs"]["org/toy@main"]["files"]
    _move_main_to_b(hub)
    target = local_dir(tmp_path / "hub", INP, SHA_A) / TRAIN
    target.write_bytes(b"edited by hand")
    hub.take()
    _fetch(hub, tmp_path)
    assert sha256(target) == locked[TRAIN]
    # Only the tampered file travels again, by commit A; the verified info.json is kept as it is.
    assert hub.take() == [("HEAD", f"hub/datasets/org/toy/resolve/{SHA_A}/{TRAIN}"),
                          ("GET", f"cdn/cdn/{locked[TRAIN]}")]


def test_upstream_rewrite_of_locked_commit_fails_with_drift_error_naming_file(hub, tmp_path):
    _fetch(hub, tmp_path)
    lock_text = (tmp_path / "hub.lock.yaml").read_text()
    # The hub now serves other bytes for commit A (a history rewrite, or a compromised mirror).
    hub.repos[("dataset", "org/toy")]["commits"][SHA_A][TRAIN] = _parquet(["What is 1+1?", "injected"])
    with pytest.raises(DriftError, match=r"org/toy@main: 1 file\(s\) differ from the lock.*data/train-00000"):
        _fetch(hub, tmp_path, dest="other")
    assert (tmp_path / "hub.lock.yaml").read_text() == lock_text  # the pin is not moved silently
    assert not (tmp_path / "other/manifests/toy.json").exists()


def test_fetch_model_links_files_from_hub(hub, tmp_path):
    weights = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "  # an empty safetensors header
    hub.add("model", "org/tiny-model", SHA_M, {
        "config.json": b'{"model_type": "toy"}\n', "model.safetensors": weights,
        "tokenizer.json": b'{"version": "1.0"}\n', "README.md": b"# model\n", "pytorch_model.bin": b"pickle"})
    src = fetch_model("org/tiny-model", "main", tmp_path / "model.lock.yaml", tmp_path / "res", tmp_path / "out",
                      endpoint=hub.url)
    assert src == tmp_path / "res/models/org/tiny-model" / SHA_M
    entry = read_lock(tmp_path / "model.lock.yaml")["inputs"]["org/tiny-model@main"]
    assert entry["sha"] == SHA_M and entry["repo_type"] == "model"
    assert sorted(entry["files"]) == ["config.json", "model.safetensors", "tokenizer.json"]
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert out == ["config.json", "model.safetensors", "tokenizer.json"]
    for name in out:
        assert (tmp_path / "out" / name).is_symlink()
        assert (tmp_path / "out" / name).resolve() == (src / name).resolve()
    assert (tmp_path / "out/model.safetensors").read_bytes() == weights
    reqs = hub.take()
    assert ("GET", "hub/api/models/org/tiny-model/revision/main") in reqs
    assert not any("pytorch_model.bin" in p or "README" in p for _, p in reqs)


def test_unknown_revision_fails_and_locks_nothing(hub, tmp_path):
    from huggingface_hub.errors import RevisionNotFoundError

    missing = HubSource("toy", {"main": HubInput("org/toy", files=INP.files, revision="v9")}, TOY.load)
    with pytest.raises(RevisionNotFoundError):
        fetch({"toy": missing}, tmp_path / "hub.lock.yaml", tmp_path / "hub", tmp_path / "m", endpoint=hub.url)
    assert read_lock(tmp_path / "hub.lock.yaml")["inputs"] == {}
    assert hub.take() == [("GET", "hub/api/datasets/org/toy/revision/v9")]


def test_endpoint_is_required_to_reach_the_stand_in(hub, tmp_path):
    """Without endpoint=, huggingface_hub goes to its default host, which the guard refuses: the tests
    above really went through the stand-in, not through some cache."""
    with pytest.raises(Exception, match="only the stand-in hub"):
        fetch({"toy": TOY}, tmp_path / "hub.lock.yaml", tmp_path / "hub", tmp_path / "m")
    assert hub.take() == []
