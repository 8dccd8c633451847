"""LiveCodeBench code generation (livecodebench/code_generation_lite): hard problems of releases v1-v3.

The official loader (data/collect_data.py:281 (load_livecodebench)) loads each release
through the dataset's loading script with ``version_tag``; the script's release_vN is
cumulative (its files test.jsonl .. testN.jsonl), so v1's problems come three times and
v2's twice, each copy labelled with the release it was loaded under. The loader reads
the same files in the same way, so the pool step sees what the official loop saw. Whether
the pool keeps them depends on collect.official_loop (s1kit.collect.CollectConfig).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import jsonl_rows

REPO = "livecodebench/code_generation_lite"
# The loading script's file per release: release_vN is cumulative over test.jsonl .. testN.jsonl.
RELEASE_FILES = {"release_v1": "test.jsonl", "release_v2": "test2.jsonl", "release_v3": "test3.jsonl",
                 "release_v4": "test4.jsonl", "release_v5": "test5.jsonl", "release_v6": "test6.jsonl"}
TRAIN_RELEASES = ("release_v1", "release_v2", "release_v3")
# Hidden tests: megabytes of compressed text per problem, of no use to a question record.
DROP = ("private_test_cases",)


def iter_jsonl(path: Path, drop: Iterable[str] = DROP) -> Iterator[dict[str, Any]]:
    """Rows of a (large) jsonl file, one line at a time, without the dropped columns (bad lines
    are rejected with their file and line: s1kit.sources.rows.jsonl_rows)."""
    for x in jsonl_rows(path):
        for k in drop:
            x.pop(k, None)
        yield x


def release_files(release: str) -> list[str]:
    """The files of a cumulative release: release_vN = test.jsonl .. testN.jsonl."""
    if release not in RELEASE_FILES:
        raise ValueError(f"livecodebench: unknown release {release!r} (known: {', '.join(RELEASE_FILES)})")
    names = list(RELEASE_FILES)
    return [RELEASE_FILES[r] for r in names[:names.index(release) + 1]]


def release_rows(root: Path, release: str) -> Iterator[dict[str, Any]]:
    """The problems of a release as the loading script gives them (cumulative)."""
    for name in release_files(release):
        path = Path(root) / name
        if not path.is_file():
            raise FileNotFoundError(f"{root}: no {name} for {release} of {REPO}")
        yield from iter_jsonl(path)


def load(paths: Mapping[str, Path], seed: int, releases: Iterable[str] = TRAIN_RELEASES,
         difficulty: str = "hard") -> list[Row]:
    """Problems of the given (cumulative) releases with that difficulty, one copy per release that
    holds them; question_content stripped (unseeded)."""
    out: list[Row] = []
    for release in releases:
        for x in release_rows(Path(paths["livecodebench"]), release):
            if x.get("difficulty") != difficulty:
                continue
            q = x.pop("question_content", None)
            r = row(q.strip() if isinstance(q, str) else q, f"LiveCodeBench/{release}", "coding")
            r["metadata"] = x
            out.append(r)
    return out


SOURCE = HubSource(
    name="livecodebench",
    inputs={"livecodebench": HubInput(REPO, files=tuple(RELEASE_FILES[r] for r in TRAIN_RELEASES))},
    load=load,
    options={"releases": list(TRAIN_RELEASES), "difficulty": "hard"},
    doc=(
        "LiveCodeBench from `livecodebench/code_generation_lite` "
        "(data/collect_data.py:281 (load_livecodebench)): problems with `difficulty == 'hard'` of "
        "release_v1, v2 and v3; question = `question_content.strip()`, no solution, cot_type coding, "
        "source_type `LiveCodeBench/<release>`. The dataset is a loading script (`trust_remote_code`); its "
        "release_vN is cumulative over `test.jsonl` ... `testN.jsonl`, so the official code loads v1's "
        "problems three times and v2's twice; this reads the raw files the same way. The exact dedup keeps "
        "one copy of each: the paper's 151 (arXiv 2501.19393v3 Table 7; the published 59K pool holds "
        "release_v1 26, v2 46, v3 79). The pool keeps them under `collect.official_loop: published` "
        "(config/s1.yaml): the published pool was built with the loop's n-gram check commented out "
        "(simplescaling/s1 commit 0b086e8). The eval set release_v4 (`livecodebench_v4`) holds all of "
        "them (release_v4, May 2023 - Sep 2024, 713 problems, was out since October 2024), so "
        "`official_loop: pinned` (data/collect_data.py:459 (decontaminate_train_data)) and semantics kit "
        "drop every one (docs/fidelity.md). Metadata keeps every column but "
        "`private_test_cases` (megabytes of hidden tests per problem)."
    ),
)
