"""GPU check of the training code (issue #6): a few FSDP steps of a random-init model of a
real Qwen2.5 size at block size 32768, through ``s1kit.sft.train.train`` itself (the FSDP
plugin, bf16, gradient checkpointing, metrics.json), reporting tokens/s, peak memory, MFU.

No download: the architecture comes from the dict below (Qwen2.5 config.json values), the
weights are random, the tokenizer is the kit's tiny word-level one (its ids are a subset of
the model's vocabulary) and every example is one long synthetic chain cut at the block size.

    python benchmarks/gpu_check_train.py                        # 1.5B, 32768, 6 steps, 1 GPU
    torchrun --standalone --nproc_per_node=8 benchmarks/gpu_check_train.py --size 7b
    python benchmarks/gpu_check_train.py --size tiny --block-size 256 --steps 2   # CPU smoke test

The first step (allocator warm-up, kernel selection) is left out of the steady-state figures.
Float32 master weights + Adam take 16 bytes per parameter: 1.5B fits one 80 GB H100
(24 GB + activations), 7B needs FSDP over 8 GPUs, or ``--dtype bfloat16`` on one.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

# Qwen2.5 architectures (config.json of Qwen/Qwen2.5-*-Instruct); tiny = a CPU smoke test.
SIZES: dict[str, dict] = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=151_936, tie_word_embeddings=True),
    "0.5b": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                 intermediate_size=4_864, vocab_size=151_936, tie_word_embeddings=True),
    "1.5b": dict(hidden_size=1_536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                 intermediate_size=8_960, vocab_size=151_936, tie_word_embeddings=True),
    "3b": dict(hidden_size=2_048, num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2,
               intermediate_size=11_008, vocab_size=151_936, tie_word_embeddings=True),
    "7b": dict(hidden_size=3_584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
               intermediate_size=18_944, vocab_size=152_064, tie_word_embeddings=False),
}


def build_inputs(root: Path, size: str, block_size: int, examples: int, seed: int) -> tuple[Path, Path]:
    """A random-init model directory (rank 0 writes it) and a parquet of long examples."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from s1kit.hf import save_model
    from s1kit.records import write_table
    from s1kit.tiny.chains import sample_chain
    from s1kit.tiny.tokenizer import train_tokenizer

    rng = random.Random(seed)
    chains = [sample_chain(rng, rng.randint(4, 16)) for _ in range(200)]
    tokenizer = train_tokenizer([f"{c.question()} {c.thinking()} {c.attempt()}" for c in chains])
    config = Qwen2Config(**SIZES[size], max_position_embeddings=max(32_768, block_size),
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None, use_cache=False)
    torch.manual_seed(seed)
    with torch.device("cpu"):
        model = Qwen2ForCausalLM(config)
    save_model(model, tokenizer, root / "base")
    del model
    # one chain's thinking repeated past the block size: every example is cut (reported)
    rows = []
    for i in range(examples):
        c = chains[i % len(chains)]
        words = len(c.thinking().split()) or 1
        rows.append({"id": str(i), "question": c.question(), "attempt": c.attempt(),
                     "thinking": " ".join([c.thinking()] * (block_size // words + 2))})
    write_table(root / "data.parquet", rows)
    return root / "base", root / "data.parquet"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="1.5b")
    p.add_argument("--block-size", type=int, default=32_768)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--per-device-batch-size", type=int, default=1)
    p.add_argument("--no-fsdp", action="store_true", help="plain DDP / single device")
    p.add_argument("--fsdp-version", type=int, default=2, choices=[1, 2])
    p.add_argument("--no-gradient-checkpointing", action="store_true")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="weights and Adam state")
    p.add_argument("--no-bf16", action="store_true", help="no bf16 autocast")
    p.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa, flash_attention_2, eager)")
    p.add_argument("--workdir", default=None, help="default: a temporary directory (shared FS if multi-node)")
    p.add_argument("--out", default=None, help="write the summary JSON here")
    a = p.parse_args(argv)

    import torch
    from accelerate import PartialState

    from s1kit.sft.config import TrainConfig
    from s1kit.sft.train import train

    state = PartialState(cpu=not torch.cuda.is_available())  # joins the torchrun group, if any
    world = state.num_processes
    tmp = None if a.workdir or not state.is_main_process else tempfile.TemporaryDirectory(prefix="gpu_check_train_")
    names = [a.workdir or (tmp.name if tmp else None)]
    if world > 1 and not a.workdir:
        from accelerate.utils import broadcast_object_list

        broadcast_object_list(names)  # rank 0's temporary directory (one node; else pass --workdir)
    root = Path(names[0])
    if state.is_main_process:
        build_inputs(root, a.size, a.block_size, examples=max(16, 4 * world), seed=0)
    state.wait_for_everyone()
    cfg = TrainConfig(
        lr=1e-5, max_steps=a.steps, global_batch_size=world * a.per_device_batch_size,
        per_device_batch_size=a.per_device_batch_size, warmup_ratio=0.0, block_size=a.block_size, log_every=1,
        seed=0, fsdp=not a.no_fsdp, fsdp_version=a.fsdp_version, bf16=not a.no_bf16, dtype=a.dtype,
        gradient_checkpointing=not a.no_gradient_checkpointing,
        attn_implementation=a.attn if torch.cuda.is_available() else None,
    )
    m = train(root / "base", root / "data.parquet", root / "out", cfg)
    steady = [pt["step_time_s"] for pt in m["loss_curve"][1:]] or [m["step_time_s"]]
    step_s = statistics.median(steady)
    tokens_per_step = m["tokens"] / m["steps"]
    summary = {
        "size": a.size, "device": m["device"], "num_processes": world, "block_size": a.block_size,
        "fsdp": cfg.fsdp_strategy, "fsdp_version": cfg.fsdp_version, "bf16": cfg.bf16, "dtype": cfg.dtype,
        "gradient_checkpointing": cfg.gradient_checkpointing, "attn": cfg.attn_implementation,
        "compute_params": m["compute_params"], "steps": m["steps"], "samples_cut": m["samples_cut"],
        "steady_step_time_s": round(step_s, 4),
        "steady_tokens_per_s": round(tokens_per_step / step_s, 1),
        "steady_tokens_per_s_per_device": round(tokens_per_step / step_s / world, 1),
        "steady_mfu": (round(m["flops_per_token"] * tokens_per_step / (step_s * world * m["peak_flops_per_device"]), 4)
                       if m["peak_flops_per_device"] else None),
        "mfu_all_steps": m["mfu"], "peak_memory_gb": m["peak_memory_gb"], "peak_memory_kind": m["peak_memory_kind"],
        "losses": [pt["loss"] for pt in m["loss_curve"]],
    }
    if state.is_main_process:
        text = json.dumps(summary, indent=2)
        print(text)
        if a.out:
            Path(a.out).write_text(text + "\n")
    state.wait_for_everyone()  # every rank, before rank 0 removes the inputs
    if tmp is not None:
        tmp.cleanup()
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
