"""GPQA Diamond task code (gpqa_diamond_openai, gpqa_diamond_openai_agg64): the official
prompt with per-question shuffled choices and local or pinned data
(s1kit.evaluate.tasks.official), scoring by the chosen letter (s1kit.evaluate.answers)."""

from __future__ import annotations

from typing import Any

from s1kit.evaluate.tasks import official


def load_data(**metadata: Any) -> dict[str, Any]:
    """``custom_dataset``: docs from metadata data_path or the leaf's pinned hub dataset;
    metadata shuffle_seed seeds every question's own choice order (default 0) or, with
    choice_order fork, the fork's one global-RNG sequence (default 1234, the vLLM seed)."""
    return official.load_docs("gpqa", **metadata)


def process_results(doc: dict, results: list) -> dict[str, float]:
    return official.process_results(doc, results, multiple_choice=True)
