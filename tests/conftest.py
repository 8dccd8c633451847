"""Shared fixtures: a one-thread torch and the tiny word-level tokenizer on chain texts."""

from __future__ import annotations

import importlib.util
import random

import pytest

# tests/engine runs the real vLLM engine and belongs to `make test-vllm` (.venv-vllm). The main
# venv has no vllm package (find_spec does not import it), so `make test` does not collect it.
collect_ignore = [] if importlib.util.find_spec("vllm") else ["engine"]


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny matrices: OpenMP threads only add contention on a small shared machine."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def chain_corpus():
    """Questions, thinking and attempts of 200 chains (1-16 steps): covers every label/op/digit."""
    from s1kit.tiny.chains import sample_chain

    rng = random.Random(0)
    return [sample_chain(rng, rng.randint(1, 16)) for _ in range(200)]


@pytest.fixture(scope="session")
def tiny_tokenizer(chain_corpus):
    from s1kit.tiny.tokenizer import train_tokenizer

    return train_tokenizer([f"{c.question()} {c.thinking()} {c.attempt()}" for c in chain_corpus])
