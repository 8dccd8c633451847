"""s1kit.sources.fetch.fetch_official: the official s1 files (config `official`) pinned by sha256.

GitHub cannot be reached here: the pinned fetch copies from an offline mirror laid out like
the repository (../shared/official-s1, the same bytes as simplescaling/s1 at the commit),
or from a stand-in built in tmp_path. The download path is the same code after the bytes
arrive (urllib from raw.githubusercontent.com at the commit).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from s1kit.sources.fetch import DriftError, fetch_official, official_dir, official_file

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "official-s1"
COMMIT = "77272c6e925d610257a50b520bad15330b513389"
needs_shared = pytest.mark.skipif(not (SHARED / "MANIFEST.tsv").exists(), reason="../shared/official-s1 absent")


def _mirror(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "mirror"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root, {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}


def test_fetch_official_copies_and_verifies(tmp_path):
    mirror, pins = _mirror(tmp_path, {"data/a.py": b"A = 1\n", "data/b.txt": b"prompt"})
    root = fetch_official("org/repo", COMMIT, pins, tmp_path / "dest", mirror=mirror)
    assert root == official_dir(tmp_path / "dest", "org/repo", COMMIT)
    assert (root / "data/a.py").read_bytes() == b"A = 1\n" and official_file(root, "data/b.txt").read_text() == "prompt"
    # a verified copy is kept: the mirror may vanish
    (mirror / "data/a.py").unlink()
    fetch_official("org/repo", COMMIT, pins, tmp_path / "dest", mirror=mirror)


def test_drift_names_the_file_and_writes_nothing(tmp_path):
    mirror, pins = _mirror(tmp_path, {"data/a.py": b"A = 1\n"})
    (mirror / "data/a.py").write_bytes(b"A = 2\n")  # upstream changed under the pin
    drift = r"official file data/a.py .*differs from config official.files\['data/a.py'\]"
    with pytest.raises(DriftError, match=drift):
        fetch_official("org/repo", COMMIT, pins, tmp_path / "dest", mirror=mirror)
    assert not (official_dir(tmp_path / "dest", "org/repo", COMMIT) / "data/a.py").exists()


def test_stale_local_copy_is_replaced(tmp_path):
    mirror, pins = _mirror(tmp_path, {"data/a.py": b"A = 1\n"})
    root = official_dir(tmp_path / "dest", "org/repo", COMMIT)
    (root / "data").mkdir(parents=True)
    (root / "data/a.py").write_bytes(b"edited by hand")
    fetch_official("org/repo", COMMIT, pins, tmp_path / "dest", mirror=mirror)
    assert (root / "data/a.py").read_bytes() == b"A = 1\n"


def test_bad_pins_are_config_errors(tmp_path):
    mirror, pins = _mirror(tmp_path, {"data/a.py": b"x"})
    with pytest.raises(ValueError, match="official.commit"):
        fetch_official("org/repo", "77272c6", pins, tmp_path / "d", mirror=mirror)
    with pytest.raises(DriftError, match="no file data/missing.py"):
        fetch_official("org/repo", COMMIT, {"data/missing.py": "0" * 64}, tmp_path / "d", mirror=mirror)
    with pytest.raises(FileNotFoundError, match="official file data/none.py.*fetch_official rule"):
        official_file(tmp_path / "d", "data/none.py")


@needs_shared
@pytest.mark.parametrize("config_name", ["default.yaml", "s1.yaml"])
def test_config_pins_match_the_manifest_and_the_mirror(tmp_path, capsys, config_name):
    """Every pin of config `official` is MANIFEST.tsv's sha256 at the commit; the CLI fetches them all."""
    from s1kit.cli import main

    spec = yaml.safe_load((REPO_ROOT / "config" / config_name).read_text())["official"]
    manifest = dict(line.split("\t")[0::2] for line in (SHARED / "MANIFEST.tsv").read_text().splitlines()[1:])
    assert spec["repo"] == "simplescaling/s1" and spec["commit"] == COMMIT
    assert {p: manifest[p] for p in spec["files"]} == spec["files"]
    assert {"data/collect_data.py", "data/grading.txt", "data/msc.json"} <= set(spec["files"])
    spec["mirror"] = str(SHARED)
    assert main(["fetch-official", "--config-json", json.dumps(spec), "--dest", str(tmp_path / "one"),
                 "--file", "data/msc.json"]) == 0  # one job per file in the workflow
    assert [p.name for p in (tmp_path / "one").rglob("*") if p.is_file()] == ["msc.json"]
    assert main(["fetch-official", "--config-json", json.dumps(spec), "--dest", str(tmp_path)]) == 0
    for rel in spec["files"]:
        assert (official_dir(tmp_path, spec["repo"], COMMIT) / rel).read_bytes() == (SHARED / rel).read_bytes()
    assert main(["fetch-official", "--config-json", json.dumps(spec), "--dest", str(tmp_path), "--file", "data/x.py"]) != 0
    assert "not pinned in config official.files" in capsys.readouterr().err
