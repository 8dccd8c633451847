"""Fine-tune a causal LM on a selection in the s1 format (arXiv 2501.19393v3 Appendix D).

One loop for the tiny CPU default and the paper recipe (issue #6). Distribution comes from
the launcher (torchrun; ``s1kit.sft.launch`` builds the line): accelerate reads RANK /
WORLD_SIZE from the environment, every rank runs this file and rank 0 writes the outputs.

    s1kit train --model results/models/tiny-base --data results/select/s1K/dataset.parquet \\
        --config-json '{"lr": 3e-3}' --out-dir results/train/tiny-s1
    torchrun --standalone --nproc_per_node=8 --no-python s1kit train ... \\
        --config-json '{"fsdp": "full_shard", "bf16": true, "gradient_checkpointing": true}'

Every optimizer step draws the whole global batch (world size x accumulation micro-batches)
from one seeded stream and each rank takes its share, so 2 processes x 1 micro-batch and
1 process x 2 accumulated micro-batches see the same examples; checkpoints
(s1kit.sft.checkpoints: model, optimizer, RNG, plus this loop's step, stream state and
accounting) make a killed run resume where the last complete checkpoint left it.

train() runs the steps in order: setup (model, tokenizer, data), resume, the loop, metrics,
save. The settings are s1kit.sft.config.TrainConfig.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s1kit.hf import TOKENIZER_SUBDIR, load_tokenizer, tokenizer_path
from s1kit.records import atomic_dir, atomic_write_text
from s1kit.sft.checkpoints import (RunState, checkpoint_root, claim_checkpoint_root, fingerprint, remove_checkpoints,
                                   resume_latest, save_checkpoint)
from s1kit.sft.config import TrainConfig
from s1kit.sft.cost import compute_params, sequence_flops
from s1kit.sft.data import EpochSampler, LengthBatcher, collate, load_examples, make_batcher
from s1kit.sft.distributed import make_accelerator
from s1kit.sft.metrics import StepClock, log_step, train_metrics
from s1kit.sft.optim import lr_at, param_groups

# For fault-injection tests: the process SIGKILLs itself when about to run this step.
KILL_AT_STEP_ENV = "S1KIT_TRAIN_KILL_AT_STEP"


@dataclass
class Run:
    """What the steps of train() share: the prepared model and optimizer, the data and the loop's state."""

    cfg: TrainConfig
    out_dir: Path
    ckpt_root: Path
    accelerator: Any
    tokenizer: Any
    model: Any
    optimizer: Any
    use_cache: bool  # the model's own setting, restored in the saved config
    examples: list
    cut: int  # examples cut at block_size
    batcher: LengthBatcher | EpochSampler
    state: RunState
    total: int  # optimizer steps
    n_params: int  # s1kit.sft.cost.compute_params, before sharding
    n_layers: int
    width: int


def train(model_dir: str | Path, data_path: str | Path, out_dir: str | Path, cfg: TrainConfig) -> dict:
    """Train, write <out_dir>/model and <out_dir>/metrics.json, and return the metrics."""
    out_dir = Path(out_dir)
    ckpt_root = checkpoint_root(cfg, out_dir)
    claim_checkpoint_root(ckpt_root)  # before anything is loaded, written or deleted there
    run = setup(model_dir, data_path, out_dir, ckpt_root, cfg)
    stamp = fingerprint(cfg, model_dir, data_path)
    last = resume_latest(run.accelerator, ckpt_root, stamp, out_dir, run.state)
    if last is not None:
        run.accelerator.print(f"resumed from {last} at step {run.state.step}/{run.total}")
    runtime = train_loop(run, stamp)
    run.accelerator.wait_for_everyone()
    metrics = train_metrics(run.accelerator, cfg, run.state, examples=len(run.examples), cut=run.cut,
                            total=run.total, runtime=runtime, n_params=run.n_params)
    save(run, model_dir, metrics)
    return metrics


def setup(model_dir: str | Path, data_path: str | Path, out_dir: Path, ckpt_root: Path, cfg: TrainConfig) -> Run:
    """The accelerator, tokenizer, model, examples, optimizer and batch stream. The order
    matters: the accelerator before the model (FSDP's cpu_ram_efficient_loading), torch
    seeded before the model loads."""
    import torch  # heavy: torch, only for training

    accelerator = make_accelerator(cfg, out_dir)
    if accelerator.num_processes != cfg.world_size:
        raise ValueError(f"config world_size {cfg.world_size} but launched with {accelerator.num_processes} "
                         "processes (leave world_size at 0 to take it from the launcher)")
    torch.manual_seed(cfg.seed)
    tokenizer = load_tokenizer(model_dir)
    model = load_model(model_dir, cfg)
    use_cache = model.config.use_cache
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
    n_params = compute_params(model)
    n_layers, width = model.config.num_hidden_layers, model.config.hidden_size
    examples, cut = load_examples(data_path, tokenizer, cfg)
    total = cfg.max_steps or math.ceil(cfg.epochs * math.ceil(len(examples) / cfg.global_batch_size))
    accelerator.print(
        f"examples={len(examples)} cut={cut} global_batch={cfg.global_batch_size} = world "
        f"{accelerator.num_processes} x micro {cfg.per_device_batch_size} x accum {cfg.grad_accum}; steps={total}; "
        f"fsdp={cfg.fsdp_strategy} bf16={cfg.bf16} checkpointing={cfg.gradient_checkpointing}"
    )
    optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2))
    model, optimizer = accelerator.prepare(model, optimizer)
    batcher = make_batcher(examples, cfg)
    state = RunState(batcher)  # saved as JSON beside accelerate's state, not registered (that would pickle it)
    if cfg.report_to != "none":
        accelerator.init_trackers("s1kit-train", config=asdict(cfg))
    return Run(cfg, out_dir, ckpt_root, accelerator, tokenizer, model, optimizer, use_cache, examples, cut, batcher,
               state, total, n_params, n_layers, width)


def load_model(model_dir: str | Path, cfg: TrainConfig):
    """The base model in cfg.dtype, with cfg.attn_implementation if set."""
    import torch  # heavy: torch, only for training
    from transformers import AutoModelForCausalLM  # heavy: transformers, only for training

    kw = {"attn_implementation": cfg.attn_implementation} if cfg.attn_implementation else {}
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, cfg.dtype), **kw)


def enable_checkpointing(model) -> None:
    """Gradient (activation) checkpointing, without the KV cache it cannot use."""
    kw = {"use_reentrant": False}  # the non-reentrant form works under FSDP and with frozen inputs
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kw)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kw)
    model.config.use_cache = False


def train_loop(run: Run, stamp: dict) -> float:
    """The optimizer steps from the resumed one to the last, logged and checkpointed; the run's wall time."""
    cfg, state = run.cfg, run.state
    kill_at = int(os.environ.get(KILL_AT_STEP_ENV, "-1"))
    run.model.train()
    clock = StepClock(state)
    for step in range(state.step, run.total):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        lr, rank_loss = optimizer_step(run, step)
        state.step = step + 1
        if step % cfg.log_every == 0 or step == run.total - 1:
            log_step(run.accelerator, cfg, state, clock, step, run.total, lr, rank_loss)
        state.runtime = clock.runtime()
        if cfg.save_steps and state.step % cfg.save_steps == 0 and state.step < run.total:
            c0 = time.perf_counter()
            save_checkpoint(run.accelerator, run.ckpt_root, state.step, stamp, cfg.save_total_limit, state,
                            run.out_dir)
            state.checkpoint_s += time.perf_counter() - c0
    return clock.runtime()


def optimizer_step(run: Run, step: int) -> tuple[float, float]:
    """Optimizer step ``step`` over this rank's share of the global batch: (lr, this rank's mean loss)."""
    accelerator, model, optimizer = run.accelerator, run.model, run.optimizer
    lr = lr_at(step, run.total, run.cfg)
    for group in optimizer.param_groups:
        group["lr"] = lr
    accum, rank = run.cfg.grad_accum, accelerator.process_index
    rank_loss = 0.0
    for idx in global_batch(run, step)[rank * accum : (rank + 1) * accum]:
        ids, mask, labels = collate([run.examples[i] for i in idx], run.tokenizer.pad_token_id)
        ids, mask, labels = ids.to(accelerator.device), mask.to(accelerator.device), labels.to(accelerator.device)
        with accelerator.accumulate(model):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(model.parameters(), run.cfg.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad()
        rank_loss += loss.item() / accum
    return lr, rank_loss


def global_batch(run: Run, step: int) -> list[list[int]]:
    """The micro-batches of all ranks for this step, from the one seeded stream (with a
    curriculum, capped in length); their tokens and FLOPs are counted here."""
    cfg, state = run.cfg, run.state
    max_len = longest = max(len(t.input_ids) for t in run.examples)
    if cfg.curriculum_fraction > 0:
        shortest = run.batcher.lengths[0]
        max_len = shortest + (longest - shortest) * min(1.0, step / (cfg.curriculum_fraction * run.total))
    micro = [run.batcher.sample(max_len) for _ in range(run.accelerator.num_processes * cfg.grad_accum)]
    lengths = [len(run.examples[i].input_ids) for mb in micro for i in mb]
    state.tokens += sum(lengths)
    state.flops += sequence_flops(lengths, run.n_params, run.n_layers, run.width)
    return micro


def save(run: Run, model_dir: str | Path, metrics: dict) -> None:
    """Rank 0 writes model/ (weights gathered from every rank, the tokenizer as the base model
    keeps it) and metrics.json, pushes if asked, and removes the checkpoints unless kept."""
    accelerator, cfg = run.accelerator, run.cfg
    state_dict = accelerator.get_state_dict(run.model)  # FSDP: gathered to rank 0 (every rank must call)
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(run.model)
        unwrapped.config.use_cache = run.use_cache
        separate = tokenizer_path(model_dir).endswith(TOKENIZER_SUBDIR)
        with atomic_dir(run.out_dir / "model") as tmp:  # renamed to model/ once complete
            unwrapped.save_pretrained(str(tmp), state_dict=state_dict)
            run.tokenizer.save_pretrained(str(tmp / TOKENIZER_SUBDIR if separate else tmp))
        atomic_write_text(run.out_dir / "metrics.json", json.dumps(metrics, indent=2))
        if cfg.push_to_hub:
            push(run.out_dir / "model", cfg.push_to_hub)
        if not cfg.keep_checkpoints and run.ckpt_root.is_dir():
            remove_checkpoints(run.ckpt_root, run.out_dir)  # only what the kit wrote (OWNER_FILE)
    if cfg.report_to != "none":
        accelerator.end_training()
    accelerator.wait_for_everyone()


def push(folder: Path, repo_id: str) -> None:
    """Upload the final model (token from HF_TOKEN, read by huggingface_hub)."""
    from huggingface_hub import HfApi  # heavy: huggingface_hub, only to publish

    api = HfApi()
    api.create_repo(repo_id, private=True, exist_ok=True)
    api.upload_folder(repo_id=repo_id, folder_path=str(folder))
