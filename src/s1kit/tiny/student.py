"""Build the tiny base student: a randomly initialised Qwen2-architecture causal LM."""

from __future__ import annotations

from dataclasses import dataclass, field

from s1kit.hf import save_model
from s1kit.records import read_table
from s1kit.tiny.tokenizer import train_tokenizer


@dataclass(frozen=True)
class StudentConfig:
    hidden_size: int = field(default=64, metadata={"help": "model width"})
    num_hidden_layers: int = field(default=2, metadata={"help": "decoder layers"})
    num_attention_heads: int = field(default=4, metadata={"help": "attention heads (= key/value heads)"})
    intermediate_size: int = field(default=256, metadata={"help": "MLP width"})
    max_position_embeddings: int = field(default=512, metadata={"help": "context length"})
    seed: int = field(default=0, metadata={"help": "seed of the random initialisation"})

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}"
            )


def init_student(cfg: StudentConfig, tokenizer):
    """A Qwen2ForCausalLM with random weights seeded from cfg.seed, sized to the tokenizer."""
    import torch  # heavy: torch, only when the base student is built
    from transformers import Qwen2Config, Qwen2ForCausalLM  # heavy: transformers, likewise

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        use_cache=True,
    )
    torch.manual_seed(cfg.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def build_base(corpus_paths: list[str], out_dir: str, cfg: StudentConfig) -> int:
    """Train the tokenizer on the corpus questions and save an untrained student beside it."""
    texts = [q for p in corpus_paths for q in read_table(p, required=["question"]).column("question").to_pylist() if q]
    tokenizer = train_tokenizer(texts)
    model = init_student(cfg, tokenizer)
    save_model(model, tokenizer, out_dir)
    return sum(p.numel() for p in model.parameters())
