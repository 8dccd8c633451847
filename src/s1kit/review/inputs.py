"""What both review jobs read: a fetched published snapshot, and thinking lengths counted in
one named unit (Qwen2.5 tokens, whitespace words or characters)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from s1kit.sources import HUB_SOURCES
from s1kit.sources.fetch import read_manifest


def make_counter(kind: str, tokenizer_dir: str | Path | None = None) -> tuple[Callable[[str], int], str]:
    """A thinking-length counter and its unit label: tokenizer (Qwen2.5 tokens), words or chars."""
    if kind == "tokenizer":
        if not tokenizer_dir:
            raise ValueError("review.thinking_count 'tokenizer' needs the fetched tokenizer (qwen_tokenizer manifest)")
        from transformers import AutoTokenizer  # heavy: transformers, only to count in tokens

        tok = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True, trust_remote_code=False)
        return (lambda text: len(tok.encode(text, add_special_tokens=False))), "qwen2.5 tokens"
    if kind == "words":
        return (lambda text: len(text.split())), "words (whitespace; not tokens)"
    if kind == "chars":
        return len, "characters (not tokens)"
    raise ValueError(f"review.thinking_count must be tokenizer, words or chars, got {kind!r}")


def manifest_dir(path: str | Path, source_name: str) -> Path:
    """The local snapshot directory of a published source's (single) input, from its fetch manifest."""
    paths = read_manifest(path, HUB_SOURCES.get(source_name))
    return next(iter(paths.values()))
