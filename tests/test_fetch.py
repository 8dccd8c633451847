"""s1kit.sources.fetch: locked hub snapshots, offline mirror, drift detection, manifests.

The hub itself cannot be reached here: these tests fetch from an ``offline_mirror`` laid
out like resources/hub (the path a cluster without internet uses). The networked path
(resolve + snapshot_download through huggingface_hub) is the same code after the copy.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s1kit.collect import write_source
from s1kit.records import read_jsonl, read_table
from s1kit.sources.fetch import DriftError, fetch, local_dir, read_lock, read_manifest, sha256, write_lock
from s1kit.sources.hub import HubInput, HubSource, row
from s1kit.sources.rows import read_rows

SHA = "0123456789abcdef0123456789abcdef01234567"
INP = HubInput("org/toy", files=("data/*.parquet",))


def _load(paths, seed):
    return [row(r["problem"], "toy/" + r["type"], "math", r["solution"], level=r["level"])
            for r in read_rows(paths["main"], INP.files)]


TOY = HubSource("toy", {"main": INP}, _load, doc="a toy source")


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    d = local_dir(root, INP, SHA) / "data"
    d.mkdir(parents=True)
    pq.write_table(pa.table({"problem": ["What is 1+1?", "", None, "x" * 100],
                             "solution": ["2", "0", "1", "y"], "type": ["Algebra"] * 4, "level": [1, 2, 3, 4]}),
                   d / "train-00000-of-00001.parquet")
    (d / "notes.txt").write_text("not matched by the pattern")
    return root


def _lock(tmp_path, files=None):
    path = tmp_path / "hub.lock.yaml"
    entry = {"repo": INP.repo, "repo_type": "dataset", "revision": "main", "sha": SHA}
    if files is not None:
        entry["files"] = files
    write_lock(path, {"inputs": {INP.key: entry}})
    return path


def test_fetch_from_mirror_records_checksums_and_manifest(tmp_path, mirror):
    lock = _lock(tmp_path)
    counts = fetch({"toy": TOY}, lock, tmp_path / "hub", tmp_path / "hub/manifests", mirror=mirror)
    assert counts == {"sources": 1, "inputs": 1}
    files = read_lock(lock)["inputs"][INP.key]["files"]
    dest = local_dir(tmp_path / "hub", INP, SHA)
    assert list(files) == ["data/train-00000-of-00001.parquet"]  # only what the source uses
    assert files["data/train-00000-of-00001.parquet"] == sha256(dest / "data/train-00000-of-00001.parquet")
    paths = read_manifest(tmp_path / "hub/manifests/toy.json", TOY)
    assert paths == {"main": dest}
    assert "# Hub inputs pinned" in lock.read_text()


def test_drift_in_mirror_fails_loudly_naming_file(tmp_path, mirror):
    lock = _lock(tmp_path, files={"data/train-00000-of-00001.parquet": "0" * 64})
    with pytest.raises(DriftError, match=r"org/toy@main: 1 file\(s\) differ from the lock.*train-00000"):
        fetch({"toy": TOY}, lock, tmp_path / "hub", tmp_path / "m", mirror=mirror)
    assert not (tmp_path / "m/toy.json").exists()


def test_verified_copy_is_reused_and_tampering_refetched(tmp_path, mirror):
    lock = _lock(tmp_path)
    fetch({"toy": TOY}, lock, tmp_path / "hub", tmp_path / "m", mirror=mirror)
    target = local_dir(tmp_path / "hub", INP, SHA) / "data/train-00000-of-00001.parquet"
    target.write_bytes(b"corrupt")  # a half-written or edited local copy
    fetch({"toy": TOY}, lock, tmp_path / "hub", tmp_path / "m", mirror=mirror)
    assert sha256(target) == read_lock(lock)["inputs"][INP.key]["files"]["data/train-00000-of-00001.parquet"]


def test_unlocked_input_offline_is_an_error(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DriftError, match="org/toy@main is not in the hub lock"):
        fetch({"toy": TOY}, tmp_path / "none.yaml", tmp_path / "hub", tmp_path / "m")
    with pytest.raises(DriftError, match="not in the hub lock"):
        fetch({"toy": TOY}, tmp_path / "none.yaml", tmp_path / "hub", tmp_path / "m", mirror=mirror)


def test_mirror_without_the_locked_commit(tmp_path, mirror):
    path = tmp_path / "hub.lock.yaml"
    write_lock(path, {"inputs": {INP.key: {"repo": INP.repo, "sha": "f" * 40}}})
    with pytest.raises(DriftError, match="no copy of org/toy@main at commit ffff"):
        fetch({"toy": TOY}, path, tmp_path / "hub", tmp_path / "m", mirror=mirror)


@pytest.mark.parametrize("text, message", [
    ("inputs: [1, 2]", "expected a mapping"),
    ("version: 9\ninputs: {}", "lock version 9"),
    ("inputs: {a@main: {sha: abc}}", "needs a 40-character commit 'sha'"),
    ("inputs: {a: [", "not valid YAML"),
])
def test_bad_lock_names_file(tmp_path, text, message):
    path = tmp_path / "hub.lock.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        read_lock(path)
    assert str(path) in str(e.value)


def test_collect_source_reads_manifest_and_quarantines(tmp_path, mirror, monkeypatch):
    from s1kit import sources

    monkeypatch.setitem(sources.HUB_SOURCES._items, "toy", TOY)
    lock = _lock(tmp_path)
    fetch({"toy": TOY}, lock, tmp_path / "hub", tmp_path / "m", mirror=mirror)
    info = write_source("toy", tmp_path / "raw/toy.parquet", tmp_path / "q/toy.jsonl", manifest=tmp_path / "m/toy.json",
                        max_chars=50)
    assert info == {"records": 1, "quarantined": 3}
    rec = read_table(tmp_path / "raw/toy.parquet").to_pylist()[0]
    assert (rec["question"], rec["source"], rec["source_type"]) == ("What is 1+1?", "toy", "toy/Algebra")
    assert json.loads(rec["metadata"]) == {"level": 1}
    reasons = [(q["index"], q["reason"]) for q in read_jsonl(tmp_path / "q/toy.jsonl")]
    assert reasons == [(1, "empty_question"), (2, "missing_question"), (3, "too_long")]


def test_manifest_missing_input_is_an_error(tmp_path):
    (tmp_path / "toy.json").write_text("{}")
    with pytest.raises(ValueError, match=r"no fetched input\(s\) \['main'\] for source 'toy'"):
        read_manifest(tmp_path / "toy.json", TOY)


def test_fetch_model_links_locked_snapshot(tmp_path):
    """A hub model from an offline mirror: files linked into the model dir, checksums locked."""
    from s1kit.sources.fetch import MODEL_FILES, fetch_model

    inp = HubInput("Org/Model", files=MODEL_FILES, repo_type="model")
    snap = local_dir(tmp_path / "mirror", inp, SHA)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text('{"model_type": "qwen2"}')
    (snap / "model.safetensors").write_bytes(b"weights")
    (snap / "README.md").write_text("not fetched")
    lock = _lock(tmp_path)
    write_lock(lock, {"inputs": {**read_lock(lock)["inputs"], inp.key: {"repo": inp.repo, "sha": SHA}}})
    fetch_model("Org/Model", "main", lock, tmp_path / "hub", tmp_path / "models/m", mirror=tmp_path / "mirror")
    out = tmp_path / "models/m"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert (out / "model.safetensors").is_symlink() and (out / "model.safetensors").read_bytes() == b"weights"
    assert set(read_lock(lock)["inputs"]["Org/Model@main"]["files"]) == {"config.json", "model.safetensors"}
