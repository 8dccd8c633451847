"""Attempts by a local causal LM (transformers generate, greedy), the difficulty signal."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from s1kit.hf import load_model, load_tokenizer
from s1kit.records import QUESTION_FIELDS, read_table, write_table

ATTEMPT_SCHEMA = pa.schema([("id", pa.string()), ("model", pa.string()), ("attempt", pa.string()),
                            ("finish_reason", pa.string())])


def generate_attempts(model_dir: str | Path, model_name: str, pool_path: str | Path, out: str | Path,
                      max_new_tokens: int, batch_size: int, seed: int) -> int:
    import torch

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
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        for r, ids in zip(batch, gen[:, enc["input_ids"].shape[1]:].tolist()):
            stopped = tokenizer.eos_token_id in ids
            if stopped:
                ids = ids[: ids.index(tokenizer.eos_token_id)]
            out_rows.append({"id": r["id"], "model": model_name, "attempt": tokenizer.decode(ids),
                             "finish_reason": "stop" if stopped else "length"})
    write_table(out, out_rows, schema=ATTEMPT_SCHEMA)
    return len(out_rows)
