"""Predicted wall time of the paper's SFT run (Qwen2.5-32B-Instruct on s1K, 5 epochs) on
16 H100 from an MFU, with the MFU the paper's 26 minutes implies (s1kit.sft.cost).

    .venv/bin/python benchmarks/bench_train_cost.py
    .venv/bin/python benchmarks/bench_train_cost.py --mfu 0.35 --devices 16
    .venv/bin/python benchmarks/bench_train_cost.py --from-gpu-check gpu_check.json   # measured MFU

No GPU needed: this is arithmetic on FLOPs (6 x N x tokens + the attention term).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from s1kit.sft.cost import CostModel

PAPER_MINUTES = 26


def table(model: CostModel, mfus: list[float]) -> list[dict]:
    rows = []
    for m in mfus:
        s = model.wall_seconds(m)
        rows.append({"mfu": m, "minutes": s / 60, "gpu_hours": s * model.devices / 3600,
                     "vs_paper": s / 60 / PAPER_MINUTES})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = CostModel()
    p.add_argument("--mfu", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    p.add_argument("--devices", type=int, default=d.devices)
    p.add_argument("--peak-flops", type=float, default=d.peak_flops, help="per device, FLOP/s (H100 SXM bf16)")
    p.add_argument("--other-tokens", type=float, default=d.other_tokens, help="prompt + answer tokens per epoch")
    p.add_argument("--length-cv", type=float, default=d.length_cv)
    p.add_argument("--epochs", type=float, default=d.epochs)
    p.add_argument("--from-gpu-check", default=None, help="summary JSON of benchmarks/gpu_check_train.py: adds its MFU")
    a = p.parse_args(argv)
    model = dataclasses.replace(d, devices=a.devices, peak_flops=a.peak_flops, other_tokens=a.other_tokens,
                                length_cv=a.length_cv, epochs=a.epochs)
    mfus = list(a.mfu)
    if a.from_gpu_check:
        measured = json.load(open(a.from_gpu_check)).get("steady_mfu")
        if measured:
            mfus.append(measured)
    tokens = model.tokens_per_epoch * model.epochs
    print(f"Qwen2.5-32B ({model.params / 1e9:.1f}B parameters, {(model.params - model.input_embedding_params) / 1e9:.1f}B "
          f"in matmuls) on s1K: {model.tokens_per_epoch / 1e6:.1f}M tokens/epoch "
          f"({model.thinking_tokens / 1e6:.1f}M thinking + {model.other_tokens / 1e6:.1f}M other, assumed), "
          f"{model.epochs:g} epochs = {tokens / 1e6:.1f}M tokens; {model.total_flops():.3e} model FLOPs "
          f"({model.total_flops() / tokens:.3e} per token)")
    print(f"{model.devices} devices x {model.peak_flops / 1e12:.1f} TFLOP/s peak\n")
    print("| MFU | predicted wall | GPU-hours | vs paper's 26 min |")
    print("|---|---|---|---|")
    for r in table(model, mfus):
        print(f"| {r['mfu']:.0%} | {r['minutes']:.1f} min | {r['gpu_hours']:.2f} | {r['vs_paper']:.2f}x |")
    print(f"\nThe paper's {PAPER_MINUTES} minutes imply MFU {model.implied_mfu(PAPER_MINUTES * 60):.1%} "
          f"(their 7 GPU-hours: {model.implied_mfu(7 * 3600 / model.devices):.1%}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
