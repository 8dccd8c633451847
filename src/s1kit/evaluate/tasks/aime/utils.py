"""AIME task code (aime24_nofigures, aime24_figures, aime25_nofigures and their _agg64):
the official prompt and local or pinned data (s1kit.evaluate.tasks.official), scoring with
s1kit.evaluate.answers (gold "023" and "23" are equal)."""

from __future__ import annotations

from typing import Any

from s1kit.evaluate.tasks import official


def load_data(**metadata: Any) -> dict[str, Any]:
    """``custom_dataset``: docs from metadata data_path or the leaf's pinned hub dataset."""
    return official.load_docs("math", **metadata)


def process_results(doc: dict, results: list) -> dict[str, float]:
    return official.process_results(doc, results)
