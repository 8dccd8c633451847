"""Hub sources: what a paper-config source reads from the Hugging Face hub, and how it maps rows.

A HubSource names its inputs (repo, files, the branch to resolve) and a ``load`` function
that reads those files from local directories (the fetched, locked snapshots) and returns
raw mapped rows: dicts with question, solution, cot_type, source_type and metadata (a dict,
stored later as JSON text). ``load`` never validates: it maps what it finds (a None or
non-string question included) and s1kit.sources.quality quarantines bad rows with a
reason, so one broken row never stops a 60K-row run.

Loaders read files with pyarrow/datasets only (parquet exports where a dataset has a
loading script): no ``trust_remote_code``, and metadata never goes through ``eval``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1kit.sources.rows import Row, read_rows


@dataclass(frozen=True)
class HubInput:
    """One hub repository snapshot: the files a loader needs from it.

    revision is what a networked first run resolves to a commit SHA (a branch, a tag, or
    "refs/convert/parquet" for the hub's parquet export of a script-based dataset);
    files are fnmatch patterns (huggingface_hub allow_patterns) inside the repository.
    """

    repo: str
    files: tuple[str, ...] = ("*.parquet",)
    revision: str = "main"
    repo_type: str = "dataset"

    @property
    def key(self) -> str:
        """Lock-file key: one entry per (repo, revision) whatever the files."""
        return f"{self.repo}@{self.revision}"


@dataclass(frozen=True)
class HubSource:
    name: str
    inputs: Mapping[str, HubInput]
    load: Callable[[Mapping[str, Path], int], Iterable[Row]]
    kind: str = "train"  # "train" (a raw question source) or "eval" (decontaminate against it)
    doc: str = ""  # the official selection, and any difference from the paper's count
    options: Mapping[str, Any] = field(default_factory=dict)
    # Pool step (s1kit.collect.build_pool), after decontamination: keep `sample` rows (config
    # option `sample` overrides), drawn by `sampler`; `finish` rewrites the source's rows of the
    # deduplicated pool in pool order, given a question -> random.Random function.
    sample: int | None = None
    sampler: str = "first"  # "first" (seeded shuffle, first `sample`) | "balanced" (SciEval)
    finish: Callable[[list[Row], Callable[[str], Any]], list[Row]] | None = None


def row(question: Any, source_type: str, cot_type: str, solution: Any = None, **metadata: Any) -> Row:
    return {"question": question, "solution": solution, "cot_type": cot_type,
            "source_type": source_type, "metadata": metadata}


def map_columns(rows: Iterable[Row], question: str, source_type: str, cot_type: str,
                solution: str | None = None) -> list[Row]:
    """Raw rows from upstream rows: the named question (and solution) column, every other column as metadata."""
    out: list[Row] = []
    for x in rows:
        r = row(x.pop(question, None), source_type, cot_type, x.pop(solution, None) if solution else None)
        r["metadata"] = x
        out.append(r)
    return out


def column_loader(key: str, files: tuple[str, ...], question: str, source_type: str, cot_type: str,
                  solution: str | None = None) -> Callable[[Mapping[str, Path], int], list[Row]]:
    """A HubSource ``load`` that reads input ``key``'s ``files`` whole and maps their columns
    (:func:`map_columns`); unseeded."""

    def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
        return map_columns(read_rows(Path(paths[key]), files), question, source_type, cot_type, solution)

    return load
