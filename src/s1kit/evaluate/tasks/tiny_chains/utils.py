"""tiny_chains task code: local data and scoring with s1kit.evaluate.answers."""

from __future__ import annotations

from typing import Any

from s1kit.evaluate.answers import score
from s1kit.evaluate.tasks import load_local_jsonl


def load_data(**metadata: Any) -> dict[str, Any]:
    """``custom_dataset``: the JSONL at metadata ``data_path`` (id, question, answer)."""
    return load_local_jsonl(**metadata)


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """exact_match of the first response's extracted answer against ``doc["answer"]``."""
    _, correct = score(results[0], str(doc["answer"]))
    return {"exact_match": float(correct)}
