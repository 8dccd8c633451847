"""lm-eval tasks of s1kit: ``TaskManager(include_path=TASKS_DIR, metadata={"data_path": ...})``.

Every task reads a local JSONL through lm-eval's ``custom_dataset`` hook, so nothing comes
from the hub at evaluation time; the path arrives as metadata ``data_path``. Task folders
hold an underscore base YAML, 4-line leaves and a ``utils.py`` that scores with
``s1kit.evaluate.answers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from s1kit import records

TASKS_DIR = Path(__file__).resolve().parent


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The local data file's records; errors name the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data_path {path} does not exist")
    rows = records.read_jsonl(path)
    if not rows:
        raise ValueError(f"data_path {path} has no records")
    return rows


def load_local_jsonl(data_path: str | None = None, **_metadata: Any) -> dict[str, Any]:
    """``custom_dataset`` hook: {"test": Dataset} from the JSONL at ``data_path``.

    lm-eval calls it with all task metadata (version, config_source, ...); only
    ``data_path`` is used."""
    import datasets  # heavy: datasets, only when lm-eval builds a task

    if not data_path:
        raise ValueError("no data_path in the task metadata; pass TaskManager(metadata={'data_path': ...})")
    return {"test": datasets.Dataset.from_list(read_jsonl(data_path), split=datasets.Split.TEST)}
