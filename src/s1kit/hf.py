"""Loading and saving transformers models the same way in every stage.

A model directory may carry its tokenizer in a ``tokenizer/`` subfolder. The tiny student
does: transformers 5 forces its Qwen2 tokenizer class on any directory whose config says
``model_type: qwen2``, which would rebuild the tiny word-level tokenizer as byte-level BPE.
Hub checkpoints (Qwen2.5) keep their tokenizer beside the weights and load unchanged.
"""

from __future__ import annotations

from pathlib import Path

from s1kit.records import atomic_dir

TOKENIZER_SUBDIR = "tokenizer"


def tokenizer_path(model_dir: str | Path) -> str:
    sub = Path(model_dir) / TOKENIZER_SUBDIR
    return str(sub if (sub / "tokenizer_config.json").exists() else model_dir)


def load_tokenizer(model_dir: str | Path, **kwargs):
    if kwargs.get("trust_remote_code"):  # the kit's stages never run code shipped with a model
        raise ValueError(f"{model_dir}: trust_remote_code is not allowed here")
    from transformers import AutoTokenizer  # heavy: transformers, only when a model stage runs

    return AutoTokenizer.from_pretrained(tokenizer_path(model_dir), **kwargs)


def load_model(model_dir: str | Path, dtype: str = "float32"):
    import torch  # heavy: torch, only when a model stage runs
    from transformers import AutoModelForCausalLM  # heavy: transformers, only when a model stage runs

    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype))


def save_model(model, tokenizer, out_dir: str | Path, separate_tokenizer: bool = True) -> None:
    with atomic_dir(out_dir) as tmp:  # renamed to out_dir once complete
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp / TOKENIZER_SUBDIR if separate_tokenizer else tmp))
