"""Training FLOPs, MFU and a wall-time model for SFT (issue #6).

FLOPs are *model* FLOPs (the PaLM convention): per token 6 x N for the matmuls of the
forward and backward pass, N = parameters that do a matmul (the input embedding is a
lookup and does not count; a tied output head does), plus the attention scores and
weighted sum, 12 x layers x width x T for a sequence of T tokens (per sequence
12 x layers x width x T^2; causal masking is not halved, as in PaLM's appendix B).
Recomputation under gradient checkpointing is not counted: MFU measures useful work.
"""

from __future__ import annotations

from dataclasses import dataclass

# Dense bf16 tensor-core peak per device, FLOP/s (vendor datasheets, without sparsity).
# Matched against torch.cuda.get_device_name() by substring, first match wins.
PEAK_BF16_FLOPS: list[tuple[str, float]] = [
    ("GH200", 989.4e12),
    ("H200", 989.4e12),
    ("H100 PCIe", 756.0e12),
    ("H100", 989.4e12),  # SXM / HBM3
    ("A100", 312.0e12),
    ("L40S", 362.05e12),
    ("A10G", 70.0e12),
]


def peak_flops_for(device_name: str | None) -> float | None:
    """The bf16 dense peak of a named GPU, or None if it is not in the table."""
    if not device_name:
        return None
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in device_name.lower():
            return flops
    return None


def compute_params(model) -> int:
    """Parameters that do a matmul: all of them minus the input embedding, unless it is
    tied to the output head (then its matmul is the head's). Call before FSDP shards them."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    tied = out is not None and out.weight is emb
    return total if tied else total - emb.numel()


def sequence_flops(lengths, n_params: int, n_layers: int, width: int) -> float:
    """Model FLOPs of one training pass (forward + backward) over sequences of these lengths."""
    tokens = sum(lengths)
    return 6.0 * n_params * tokens + 12.0 * n_layers * width * sum(t * t for t in lengths)


def mfu(model_flops: float, seconds: float, devices: int, peak: float | None) -> float | None:
    """Model FLOPs utilisation; None where the peak is unknown (CPU unless configured)."""
    if not peak or seconds <= 0 or devices <= 0:
        return None
    return model_flops / (seconds * devices * peak)


@dataclass(frozen=True)
class CostModel:
    """The paper's run: Qwen2.5-32B-Instruct on s1K, 5 epochs, 16 H100 (arXiv 2501.19393v3 §4.1, Appendix D).

    Thinking tokens are the issue's 4.7M; prompt and answer tokens are an assumption
    (about 1,000 per example with the chat template), as is the spread of lengths, which
    only enters the attention term (sum of T^2 = n x mean^2 x (1 + cv^2)).
    """

    params: float = 32.8e9  # Qwen2.5-32B, embeddings included
    input_embedding_params: float = 152_064 * 5_120  # vocab x width: a lookup, no matmul
    n_layers: int = 64
    width: int = 5_120
    examples: int = 1_000
    thinking_tokens: float = 4.7e6
    other_tokens: float = 1.0e6  # assumption: question + chat template + answer
    length_cv: float = 0.6  # assumption: std / mean of example lengths
    epochs: float = 5
    devices: int = 16
    peak_flops: float = 989.4e12  # H100 SXM bf16 dense

    @property
    def tokens_per_epoch(self) -> float:
        return self.thinking_tokens + self.other_tokens

    def total_flops(self) -> float:
        n = self.params - self.input_embedding_params
        mean = self.tokens_per_epoch / self.examples
        sum_sq = self.examples * mean * mean * (1 + self.length_cv**2)
        per_epoch = 6.0 * n * self.tokens_per_epoch + 12.0 * self.n_layers * self.width * sum_sq
        return self.epochs * per_epoch

    def wall_seconds(self, mfu_value: float) -> float:
        """Predicted training time at this MFU (model load and final save not included)."""
        if not 0 < mfu_value <= 1:
            raise ValueError(f"MFU must be in (0, 1], got {mfu_value}")
        return self.total_flops() / (mfu_value * self.devices * self.peak_flops)

    def implied_mfu(self, wall_seconds: float) -> float:
        """The MFU a measured wall time corresponds to (paper: 26 minutes)."""
        return self.total_flops() / (wall_seconds * self.devices * self.peak_flops)
