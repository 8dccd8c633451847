"""Fine-tune a causal LM on a selection in the s1 format (PAPER.md step 5).

Same loop for the tiny CPU default and the paper recipe; distribution comes from the
launcher (``accelerate launch`` / torchrun), not from this file:

    s1kit train --model results/models/tiny-base --data results/select/s1K/dataset.parquet \\
        --config-json '{"lr": 3e-3}' --out-dir results/train/tiny-s1
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from s1kit.hf import TOKENIZER_SUBDIR, load_model, load_tokenizer, save_model, tokenizer_path
from s1kit.records import atomic_write_text, read_table
from s1kit.sft.format import IGNORE_INDEX, chat_text, thinking_spans, tokenize_masked


@dataclass(frozen=True)
class TrainConfig:
    lr: float = field(default=1e-5, metadata={"help": "peak learning rate (paper: 1e-5)"})
    epochs: float = field(default=5, metadata={"help": "passes over the selection (paper: 5)"})
    max_steps: int = field(default=0, metadata={"help": "if > 0, overrides epochs"})
    global_batch_size: int = field(default=16, metadata={"help": "examples per optimizer step (paper: 16)"})
    per_device_batch_size: int = field(default=1, metadata={"help": "micro-batch per process"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "linear warmup share of steps (paper: 5%)"})
    min_lr_rate: float = field(default=0.0, metadata={"help": "cosine floor as a fraction of lr (paper: 0)"})
    adam_beta1: float = 0.9
    adam_beta2: float = field(default=0.95, metadata={"help": "paper: 0.95"})
    weight_decay: float = field(default=1e-4, metadata={"help": "paper: 1e-4"})
    max_grad_norm: float = 1.0
    block_size: int = field(default=32768, metadata={"help": "max tokens per example (paper: 32768; s1.1: 20000)"})
    curriculum_fraction: float = field(
        default=0.0, metadata={"help": "share of steps over which the max example length rises to the longest; 0 = off"}
    )
    seed: int = 42
    log_every: int = 50
    system_prompt: str | None = field(default=None, metadata={"help": "system message; None = none"})
    world_size: int = field(default=1, metadata={"help": "processes (GPUs); set by the launcher"})

    def __post_init__(self) -> None:
        per_step = self.world_size * self.per_device_batch_size
        if self.global_batch_size % per_step:
            raise ValueError(
                f"global_batch_size {self.global_batch_size} is not divisible by world_size x "
                f"per_device_batch_size = {self.world_size} x {self.per_device_batch_size}"
            )

    @property
    def grad_accum(self) -> int:
        return self.global_batch_size // (self.world_size * self.per_device_batch_size)


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine from lr to lr * min_lr_rate."""
    warmup = math.ceil(cfg.warmup_ratio * total)
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return cfg.lr * (cfg.min_lr_rate + (1 - cfg.min_lr_rate) * 0.5 * (1 + math.cos(math.pi * progress)))


class LengthBatcher:
    """Batches of similar length (little padding); with a curriculum, short examples first.

    A batch is a window of neighbours in length order around an example drawn with
    probability proportional to its length, so every token is seen about equally often.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
        self.lengths = [lengths[i] for i in self.order]
        self.batch_size = min(batch_size, len(lengths))
        self.rng = random.Random(seed)

    def sample(self, max_len: float) -> list[int]:
        n = max(self.batch_size, sum(1 for x in self.lengths if x <= max_len))
        centre = self.rng.choices(range(n), weights=self.lengths[:n])[0]
        lo = min(max(0, centre - self.batch_size // 2), n - self.batch_size)
        return self.order[lo : lo + self.batch_size]


def load_examples(data_path: str | Path, tokenizer, cfg: TrainConfig) -> tuple[list, int]:
    table = read_table(data_path)
    examples, cut = [], 0
    for row in table.to_pylist():
        text = chat_text(tokenizer, row["question"], row["thinking"], row["attempt"], cfg.system_prompt)
        spans = json.loads(row.get("thinking_masked") or "[]")
        tok = tokenize_masked(tokenizer, text, cfg.block_size, thinking_spans(text, row["thinking"], spans))
        cut += tok.truncated
        examples.append(tok)
    if not examples:
        raise ValueError(f"{data_path}: no training examples")
    return examples, cut


def collate(batch, pad_id: int):
    import torch

    width = max(len(t.input_ids) for t in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, t in enumerate(batch):
        n = len(t.input_ids)
        ids[i, :n] = torch.tensor(t.input_ids)
        labels[i, :n] = torch.tensor(t.labels)
        mask[i, :n] = 1
    return ids, mask, labels


def train(model_dir: str | Path, data_path: str | Path, out_dir: str | Path, cfg: TrainConfig) -> dict:
    import torch
    from accelerate import Accelerator

    # ---- load -------------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum)
    tokenizer = load_tokenizer(model_dir)
    model = load_model(model_dir)
    examples, cut = load_examples(data_path, tokenizer, cfg)
    steps_per_epoch = math.ceil(len(examples) / cfg.global_batch_size)
    total = cfg.max_steps or math.ceil(cfg.epochs * steps_per_epoch)
    accelerator.print(
        f"examples={len(examples)} cut={cut} global_batch={cfg.global_batch_size} = world {cfg.world_size} x "
        f"micro {cfg.per_device_batch_size} x accum {cfg.grad_accum}; steps={total}"
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2), weight_decay=cfg.weight_decay
    )
    model, optimizer = accelerator.prepare(model, optimizer)
    batcher = LengthBatcher([len(t.input_ids) for t in examples], cfg.per_device_batch_size, cfg.seed)
    longest = max(batcher.lengths)

    # ---- train ------------------------------------------------------------------
    model.train()
    log, tokens, t0 = [], 0, time.perf_counter()
    for step in range(total):
        lr = lr_at(step, total, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        max_len = longest
        if cfg.curriculum_fraction > 0:
            max_len = batcher.lengths[0] + (longest - batcher.lengths[0]) * min(1.0, step / (cfg.curriculum_fraction * total))
        step_loss = 0.0
        for _ in range(cfg.grad_accum):
            ids, mask, labels = collate([examples[i] for i in batcher.sample(max_len)], tokenizer.pad_token_id)
            with accelerator.accumulate(model):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            step_loss += loss.item() / cfg.grad_accum
            tokens += int(mask.sum())
        if step % cfg.log_every == 0 or step == total - 1:
            log.append({"step": step, "loss": round(step_loss, 5), "lr": lr})
            accelerator.print(f"step {step}/{total} loss {step_loss:.4f} lr {lr:.2e}")
    runtime = time.perf_counter() - t0

    # ---- save -------------------------------------------------------------------
    out_dir = Path(out_dir)
    accelerator.wait_for_everyone()
    on_gpu = torch.cuda.is_available()
    metrics = {
        "examples": len(examples),
        "samples_cut": cut,
        "samples_cut_frac": cut / len(examples),
        "steps": total,
        "train_runtime_s": round(runtime, 2),
        "tokens_per_s": round(tokens / runtime, 1),
        "step_time_s": round(runtime / total, 4),
        "num_processes": accelerator.num_processes,
        "gpu_hours": round(runtime * accelerator.num_processes / 3600, 4) if on_gpu else None,
        "final_loss": log[-1]["loss"],
        "loss_curve": log,
        "config": asdict(cfg),
    }
    if accelerator.is_main_process:
        separate = tokenizer_path(model_dir).endswith(TOKENIZER_SUBDIR)
        save_model(accelerator.unwrap_model(model), tokenizer, out_dir / "model", separate_tokenizer=separate)
        atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics
