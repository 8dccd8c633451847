"""Are two runs' results the same? Compares two checkouts' results/ trees file by file (provenance
sidecars aside): byte-identical, equal once run metadata is masked (timings, timestamps, the git SHA,
the tree's absolute path, decimal numbers in text files: the training minutes), or different.
Used for issue #23 (a refactor must leave the tiny demo's outputs unchanged)::

    git clone -q . /tmp/before && (cd /tmp/before && git checkout -q <rev> && make demo)
    git clone -q . /tmp/after && (cd /tmp/after && make demo)
    python3 benchmarks/compare_demo.py /tmp/before /tmp/after
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

TIMING_KEYS = {"time", "latency_s", "wall_seconds", "train_runtime_s", "tokens_per_s", "tokens_per_s_per_device",
               "step_time_s", "peak_memory_gb", "data"}  # "data": the eval set's absolute path


def files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "results").rglob("*")
                  if p.is_file() and ".provenance" not in p.parts)


def mask_json(x):
    if isinstance(x, dict):
        return {k: ("<t>" if k in TIMING_KEYS else mask_json(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [mask_json(v) for v in x]
    return x


def mask_text(s: str, root: Path) -> str:
    s = s.replace(str(root), "<root>")
    s = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<ts>", s)
    s = re.sub(r"\b[0-9a-f]{12}\b", "<sha>", s)
    return re.sub(r"\d+\.\d+", "<num>", s)  # training minutes: the only other difference seen


def load(path: Path):
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [mask_json(json.loads(line)) for line in text.splitlines() if line.strip()]
    return mask_json(json.loads(text))


def main(a: Path, b: Path) -> int:
    fa, fb = files(a), files(b)
    if fa != fb:
        print("file lists differ:", sorted(map(str, set(fa) ^ set(fb))))
        return 1
    same, masked, differ = 0, [], []
    for f in fa:
        if (a / f).read_bytes() == (b / f).read_bytes():
            same += 1
        elif f.suffix in (".json", ".jsonl"):
            (masked if load(a / f) == load(b / f) else differ).append(f)
        else:
            (masked if mask_text((a / f).read_text(), a) == mask_text((b / f).read_text(), b) else differ).append(f)
    print(f"{len(fa)} files: {same} byte-identical, {len(masked)} equal once timings/timestamps/git SHA/tree path "
          f"are masked, {len(differ)} differ")
    for f in masked:
        print("  masked-equal:", f)
    for f in differ:
        print("  DIFFER:", f)
        diff = difflib.unified_diff((a / f).read_text().splitlines(), (b / f).read_text().splitlines(), lineterm="", n=0)
        for line in [x for x in diff if x[:1] in "+-" and x[:3] not in ("+++", "---")][:6]:
            print("     ", line[:160])
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
