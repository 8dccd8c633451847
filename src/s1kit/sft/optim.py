"""The optimizer's settings as transformers.Trainer builds them: the learning-rate schedule
and the weight-decay groups (docs/fidelity.md, Training)."""

from __future__ import annotations

import math
import re

from s1kit.sft.config import TrainConfig

# transformers.Trainer.get_decay_parameter_names' name patterns (transformers >= 4.48); 4.46.1
# excluded only biases and nn.LayerNorm modules (docs/fidelity.md, Training).
_NORM_NAMES = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """The learning rate of optimizer step ``step`` (0-based): linear warmup from 0 over
    ceil(warmup_ratio x total) steps, then cosine from lr to lr * min_lr_rate, as the HF
    Trainer's ``cosine`` (``cosine_with_min_lr``) schedule, so step 0 runs at lr 0."""
    warmup = math.ceil(cfg.warmup_ratio * total)
    if step < warmup:
        return cfg.lr * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return cfg.lr * (cfg.min_lr_rate + (1 - cfg.min_lr_rate) * 0.5 * (1 + math.cos(math.pi * progress)))


def decay_parameter_names(model, no_decay: str = "bias_norm") -> set[str]:
    """Names of the parameters that get weight decay: not biases and not in an nn.LayerNorm,
    and with ``bias_norm`` also not named like a norm (Qwen2RMSNorm: ``input_layernorm``,
    ``post_attention_layernorm``, ``model.norm``)."""
    import torch  # heavy: torch, only for training

    names = set()
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            continue
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            skip = _NORM_NAMES.search(full.lower()) if no_decay == "bias_norm" else "bias" in full
            if not skip:
                names.add(full)
    return names


def param_groups(model, cfg: TrainConfig) -> list[dict]:
    """The optimizer's two groups, as transformers.Trainer.create_optimizer builds them:
    weight decay on :func:`decay_parameter_names`, none on the rest."""
    decay = decay_parameter_names(model, cfg.no_decay)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n in decay], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]
