"""The training run's settings (TrainConfig): science settings and scale, checked together.

Launch settings (processes, nodes, container) are s1kit.sft.launch.LaunchConfig; the
values of the paper's run are config/s1.yaml (docs/train.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

FSDP_STRATEGIES = ("full_shard", "shard_grad_op", "hybrid_shard")
NO_DECAY = ("bias_norm", "bias_layernorm")
EPOCH_ORDERS = ("kit", "hf_trainer")


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
    no_decay: str = field(default="bias_norm", metadata={
        "help": "parameters without weight decay: bias_norm = biases and norm weights (transformers.Trainer "
                "today); bias_layernorm = biases and nn.LayerNorm weights only, so Qwen2RMSNorm weights decay "
                "(transformers 4.46.1, the official run; config/s1.yaml)"})
    max_grad_norm: float = 1.0
    block_size: int = field(default=32768, metadata={"help": "max tokens per example (paper: 32768; s1.1: 20000)"})
    curriculum_fraction: float = field(
        default=0.0, metadata={"help": "share of steps over which the max example length rises to the longest; 0 = off"}
    )
    sampling: str = field(default="length_weighted", metadata={
        "help": "length_weighted: windows of similar length, drawn by length (tiny default); "
                "epoch: a seeded shuffle per epoch, every example once per epoch (paper, HF Trainer)"})
    epoch_order: str = field(default="kit", metadata={
        "help": "sampling epoch: kit = a Python-seeded shuffle per epoch, epochs back to back (the last step of "
                "an epoch takes the next epoch's first examples); hf_trainer = as transformers.Trainer with "
                "accelerate (4.46.1 / 1.0.1, the official run): torch.randperm seeded seed + epoch "
                "(SeedableRandomSampler), the last global batch of an epoch filled from the start of the same "
                "epoch (even_batches); config/s1.yaml"})
    seed: int = 42
    log_every: int = 50
    system_prompt: str | None = field(default=None, metadata={"help": "system message; None = none"})
    world_size: int = field(default=0, metadata={"help": "processes (GPUs); 0 = from the launcher (WORLD_SIZE)"})
    # ---- scale (paper: FSDP full_shard wrapping Qwen2DecoderLayer, bf16, checkpointing) ----
    fsdp: bool | str = field(default=False, metadata={"help": "false | true (= full_shard) | " + " | ".join(FSDP_STRATEGIES)})
    fsdp_wrap: str = field(default="Qwen2DecoderLayer", metadata={"help": "module class wrapped as one FSDP unit"})
    fsdp_version: int = field(default=2, metadata={"help": "1 = FullyShardedDataParallel, 2 = fully_shard"})
    bf16: bool = field(default=False, metadata={"help": "bf16 autocast over float32 master weights (paper: on)"})
    dtype: str = field(default="float32", metadata={"help": "dtype the weights are loaded and kept in"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "recompute activations in backward"})
    cpu_ram_efficient_loading: bool = field(
        default=False, metadata={"help": "FSDP: only rank 0 reads the weights, then broadcasts them"})
    attn_implementation: str | None = field(default=None, metadata={"help": "sdpa | flash_attention_2 | eager; None = default"})
    # ---- checkpoints and resume ----
    save_steps: int = field(default=0, metadata={"help": "checkpoint every N optimizer steps; 0 = never"})
    checkpoint_dir: str | None = field(default=None, metadata={
        "help": "None = <out-dir>/checkpoints (shared FS if multi-node); a relative path must lie inside "
                "<out-dir>; an absolute one is a dedicated directory: new, empty, or one s1kit created"})
    save_total_limit: int = field(default=1, metadata={"help": "complete checkpoints kept"})
    keep_checkpoints: bool = field(default=False, metadata={"help": "keep them after the final model is saved"})
    # ---- accounting and optional services (off by default) ----
    peak_flops: float | None = field(default=None, metadata={"help": "peak FLOP/s per device for MFU; None = GPU table"})
    push_to_hub: str | None = field(default=None, metadata={"help": "hub repo id to upload the final model to (HF_TOKEN)"})
    report_to: str = field(default="none", metadata={"help": "accelerate tracker: none | tensorboard | wandb | ..."})

    def __post_init__(self) -> None:
        if self.world_size == 0:
            # frozen: resolved once here, so that grad_accum and the saved config are concrete
            object.__setattr__(self, "world_size", int(os.environ.get("WORLD_SIZE", "1")))
        if self.world_size < 1 or self.per_device_batch_size < 1 or self.global_batch_size < 1:
            raise ValueError("world_size, per_device_batch_size and global_batch_size must be >= 1")
        per_step = self.world_size * self.per_device_batch_size
        if self.global_batch_size % per_step:
            raise ValueError(
                f"global_batch_size {self.global_batch_size} is not divisible by world_size x "
                f"per_device_batch_size = {self.world_size} x {self.per_device_batch_size}"
            )
        if self.fsdp not in (False, True) and self.fsdp not in FSDP_STRATEGIES + ("",):
            raise ValueError(f"fsdp {self.fsdp!r}: expected true, false or one of {', '.join(FSDP_STRATEGIES)}")
        if self.fsdp_version not in (1, 2):
            raise ValueError(f"fsdp_version {self.fsdp_version}: expected 1 or 2")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype {self.dtype!r}: expected float32, bfloat16 or float16")
        if self.sampling not in ("length_weighted", "epoch"):
            raise ValueError(f"sampling {self.sampling!r}: expected length_weighted or epoch")
        if self.sampling == "epoch" and self.curriculum_fraction > 0:
            raise ValueError("curriculum_fraction needs sampling: length_weighted (epoch sampling ignores length)")
        if self.no_decay not in NO_DECAY:
            raise ValueError(f"no_decay {self.no_decay!r}: expected one of {', '.join(NO_DECAY)}")
        if self.save_steps < 0 or self.save_total_limit < 1:
            raise ValueError("save_steps must be >= 0 and save_total_limit >= 1")
        if self.epoch_order not in EPOCH_ORDERS:
            raise ValueError(f"epoch_order {self.epoch_order!r}: expected one of {', '.join(EPOCH_ORDERS)}")
        if self.epoch_order != "kit" and self.sampling != "epoch":
            raise ValueError(f"epoch_order {self.epoch_order} needs sampling: epoch")
        if self.checkpoint_dir is not None:
            parts = Path(self.checkpoint_dir).parts
            # "." or "results/.." would name a directory holding other things, which cleanup would hit
            if not self.checkpoint_dir.strip() or os.path.normpath(self.checkpoint_dir) in (".", "/") or ".." in parts:
                raise ValueError(f"checkpoint_dir {self.checkpoint_dir!r}: name a directory of its own (no '.', "
                                 "'..' or '/'); leave it unset for <out-dir>/checkpoints")

    @property
    def grad_accum(self) -> int:
        return self.global_batch_size // (self.world_size * self.per_device_batch_size)

    @property
    def fsdp_strategy(self) -> str | None:
        return "full_shard" if self.fsdp is True else (self.fsdp or None)
