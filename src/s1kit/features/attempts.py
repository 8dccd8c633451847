"""Attempts by a local causal LM (transformers generate), the difficulty signal.

Decoding follows ``featurize.semantics`` (DECODING): ``official`` samples at temperature
0.05 with vLLM's other defaults (top-p 1, no top-k, no repetition penalty), as
data/bulk_inference.py:34 (SamplingParams) asks, seeded by featurize.seed; ``kit`` decodes
greedily (reproducible without a seed). The prompt is the chat template with the
generation prompt, which for Qwen2.5 is the official prompt: the template's output and
``<|im_start|>assistant\n``, data/bulk_inference.py:63 (apply_chat_template).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from s1kit.hf import load_model, load_tokenizer
from s1kit.records import QUESTION_FIELDS, read_table, write_table

# featurize.semantics -> transformers generate() decoding arguments
DECODING = {
    "official": {"do_sample": True, "temperature": 0.05, "top_p": 1.0, "top_k": 0, "repetition_penalty": 1.0},
    "kit": {"do_sample": False},
}
ATTEMPT_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("attempt", pa.string()),
                            ("finish_reason", pa.string())])


def generate_attempts(model_dir: str | Path, model_name: str, pool_path: str | Path, out: str | Path,
                      max_new_tokens: int, batch_size: int, seed: int, semantics: str = "kit") -> int:
    import torch

    if semantics not in DECODING:
        raise ValueError(f"config featurize.semantics: {semantics!r} is not one of {list(DECODING)}")

    torch.manual_seed(seed)
    tokenizer = load_tokenizer(model_dir, padding_side="left")
    model = load_model(model_dir).eval()
    rows = read_table(pool_path, required=QUESTION_FIELDS).to_pylist()
    out_rows = []
    for i in tqdm(range(0, len(rows), batch_size), desc=f"attempts {model_name}", unit="batch", mininterval=5):
        batch = rows[i : i + batch_size]
        prompts = [
            tokenizer.apply_chat_template([{"role": "user", "content": r["question"]}], tokenize=False,
                                          add_generation_prompt=True)
            for r in batch
        ]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, **DECODING[semantics],
                                 pad_token_id=tokenizer.pad_token_id)
        for r, ids in zip(batch, gen[:, enc["input_ids"].shape[1]:].tolist()):
            stopped = tokenizer.eos_token_id in ids
            if stopped:
                ids = ids[: ids.index(tokenizer.eos_token_id)]
            out_rows.append({"id": r["id"], "model": model_name, "attempt": tokenizer.decode(ids),
                             "finish_reason": "stop" if stopped else "length"})
    write_table(out, out_rows, schema=ATTEMPT_SCHEMA)
    return len(out_rows)
