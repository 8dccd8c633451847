"""Attempts by a local causal LM (transformers generate), the difficulty signal.

Decoding, length limit and end tokens follow ``featurize.semantics`` (features/semantics.py):
``official`` samples at temperature 0.05 as data/bulk_inference.py:34 (SamplingParams) asks,
seeded by featurize.seed; ``kit`` decodes greedily. The prompt is the chat template with the
generation prompt, which for Qwen2.5 is the official prompt: the template's output and
``<|im_start|>assistant\n``, data/bulk_inference.py:63 (apply_chat_template).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from s1kit.features.semantics import DEFAULT_SEMANTICS, Semantics, semantics_of
from s1kit.hf import load_model, load_tokenizer
from s1kit.records import QUESTION_FIELDS, read_table, write_table


def new_token_limits(prompt_lens: list[int], max_new_tokens: int, max_len: int | None) -> list[int]:
    """Per row, how many tokens it may generate: max_new_tokens, and (max_len) no more than the
    context left after its own prompt."""
    return [max_new_tokens if max_len is None else max(0, min(max_new_tokens, max_len - n)) for n in prompt_lens]


def end_ids(tokenizer, sem: Semantics) -> list[int]:
    """The ids that end an attempt: the tokenizer's eos and sem.extra_eos where the vocabulary has
    them (official: vLLM stops at every eos of Qwen2.5's generation config)."""
    ids = {tokenizer.eos_token_id}
    if sem.extra_eos:
        vocab = tokenizer.get_vocab()
        ids |= {vocab[t] for t in sem.extra_eos if t in vocab}
    return sorted(i for i in ids if i is not None)


ATTEMPT_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("attempt", pa.string()),
                            ("finish_reason", pa.string())])


def generate_attempts(model_dir: str | Path, model_name: str, pool_path: str | Path, out: str | Path,
                      max_new_tokens: int, batch_size: int, seed: int, semantics: str = DEFAULT_SEMANTICS) -> int:
    """Write one attempt per pool question; ``semantics`` is config featurize.semantics."""
    sem = semantics_of(semantics)
    import torch  # heavy: torch, only to generate attempts

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
        limits = new_token_limits(enc["attention_mask"].sum(dim=1).tolist(), max_new_tokens, sem.max_len)
        stops = end_ids(tokenizer, sem)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=max(limits), **sem.decoding,
                                 eos_token_id=stops if len(stops) > 1 else stops[0],
                                 pad_token_id=tokenizer.pad_token_id)
        for r, ids, limit in zip(batch, gen[:, enc["input_ids"].shape[1]:].tolist(), limits):
            ids = ids[:limit]  # a row with a longer prompt has less room (official)
            end = next((k for k, t in enumerate(ids) if t in stops), None)
            if end is not None:
                ids = ids[:end]
            out_rows.append({"id": r["id"], "model": model_name, "attempt": tokenizer.decode(ids),
                             "finish_reason": "stop" if end is not None else "length"})
    write_table(out, out_rows, schema=ATTEMPT_SCHEMA)
    return len(out_rows)
