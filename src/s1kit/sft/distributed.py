"""Distribution: the accelerate Accelerator and its FSDP plugin for a TrainConfig."""

from __future__ import annotations

import os
from pathlib import Path

from s1kit.sft.config import TrainConfig


def fsdp_plugin_kwargs(cfg: TrainConfig) -> dict | None:
    """Arguments of accelerate's FSDP plugin for the config: the paper's full_shard with one
    unit per decoder layer; sharded checkpoints (each rank writes its own shard, no gather)."""
    strategy = cfg.fsdp_strategy
    if strategy is None:
        return None
    if cfg.fsdp_version == 2 and strategy == "hybrid_shard":
        raise ValueError("fsdp hybrid_shard needs fsdp_version 1 (FSDP2 takes a 2-D device mesh instead)")
    kw = {"sharding_strategy": strategy.upper()} if cfg.fsdp_version == 1 else {
        "reshard_after_forward": strategy != "shard_grad_op"}
    if cfg.cpu_ram_efficient_loading:
        kw["sync_module_states"] = True  # rank 0 loads, the others receive its weights
    return {
        "fsdp_version": cfg.fsdp_version,
        "auto_wrap_policy": "transformer_based_wrap",
        "transformer_cls_names_to_wrap": [cfg.fsdp_wrap],
        "state_dict_type": "SHARDED_STATE_DICT",
        "cpu_ram_efficient_loading": cfg.cpu_ram_efficient_loading,
        **kw,
    }


def fsdp_plugin(cfg: TrainConfig):
    """The plugin itself; accelerate refuses to build one without an accelerator device."""
    from accelerate.utils import FullyShardedDataParallelPlugin  # heavy: accelerate, only for training

    kw = fsdp_plugin_kwargs(cfg)
    return None if kw is None else FullyShardedDataParallelPlugin(**kw)


def make_accelerator(cfg: TrainConfig, project_dir: Path):
    """The Accelerator, created before the model so that cpu_ram_efficient_loading applies."""
    import torch  # heavy: torch, only for training
    from accelerate import Accelerator  # heavy: accelerate, only for training

    cuda = torch.cuda.is_available()
    kw = {}
    if cfg.fsdp_strategy and cuda:
        kw["fsdp_plugin"] = fsdp_plugin(cfg)
        if cfg.cpu_ram_efficient_loading:
            # transformers loads on rank 0 only (meta elsewhere) when both are set
            os.environ["ACCELERATE_USE_FSDP"] = "true"
            os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "true"
    elif cfg.fsdp_strategy:
        print(f"s1kit train: warning: fsdp {cfg.fsdp_strategy} needs CUDA; running unsharded (DDP on CPU)")
    if cfg.report_to != "none":
        kw["log_with"] = cfg.report_to
    # cpu=True without CUDA: under torchrun accelerate then picks gloo (MULTI_CPU)
    return Accelerator(cpu=not cuda, gradient_accumulation_steps=cfg.grad_accum,
                       mixed_precision="bf16" if cfg.bf16 else "no", project_dir=str(project_dir), **kw)
