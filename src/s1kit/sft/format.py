"""The s1 SFT format (arXiv 2501.19393v3 Appendix D) and the assistant-only loss mask."""

from __future__ import annotations

from dataclasses import dataclass

THINK_START = "<|im_start|>think"
THINK_END = "<|im_start|>answer"
RESPONSE_TEMPLATE = "<|im_start|>assistant\n"
IGNORE_INDEX = -100


def assistant_text(thinking: str, attempt: str) -> str:
    """`<|im_start|>think\\n{thinking}\\n<|im_start|>answer\\n{answer}`; "Answer: " prefixed if absent."""
    answer = attempt if "Answer:" in attempt else "Answer: " + attempt
    return f"{THINK_START}\n{thinking.strip()}\n{THINK_END}\n{answer.strip()}"


def chat_text(tokenizer, question: str, thinking: str, attempt: str, system: str | None = None) -> str:
    """The training text: the question verbatim (no strip, as the official formatting,
    data/tokenization.py:25 (QUERY_TEMPLATE_NOANSWER)), the assistant turn as assistant_text."""
    messages = [] if system is None else [{"role": "system", "content": system}]
    messages += [
        {"role": "user", "content": question},
        {"role": "assistant", "content": assistant_text(thinking, attempt)},
    ]
    return tokenizer.apply_chat_template(messages, tokenize=False)


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


def _find_last(seq: list[int], sub: list[int]) -> int:
    for i in range(len(seq) - len(sub), -1, -1):
        if seq[i : i + len(sub)] == sub:
            return i
    return -1


def thinking_spans(text: str, thinking: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans given in `thinking` moved to character offsets in the formatted `text`."""
    if not spans:
        return []
    at = text.rfind(f"{THINK_START}\n{thinking.strip()}")
    if at < 0:
        raise ValueError(f"thinking not found in formatted example: {thinking[:80]!r}")
    shift = at + len(THINK_START) + 1 - (len(thinking) - len(thinking.lstrip()))
    return [(a + shift, b + shift) for a, b in spans]


def tokenize_masked(tokenizer, text: str, block_size: int, masked: list[tuple[int, int]] = ()) -> Tokenized:
    """Token ids and labels with the loss only on the assistant part (after the last response
    template), minus tokens overlapping the `masked` character spans of `text`.

    Truncation at block_size is reported, not hidden: the paper counts the samples cut off.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=bool(masked))
    ids = enc["input_ids"]
    template = tokenizer(RESPONSE_TEMPLATE, add_special_tokens=False)["input_ids"]
    start = _find_last(ids, template)
    if start < 0:
        raise ValueError(f"response template {RESPONSE_TEMPLATE!r} not found in formatted example: {text[:200]!r}")
    cut = start + len(template)
    labels = [IGNORE_INDEX] * cut + ids[cut:]
    for i, (a, b) in enumerate(enc["offset_mapping"] if masked else []):
        if any(a < end and start < b for start, end in masked):
            labels[i] = IGNORE_INDEX
    truncated = len(ids) > block_size
    return Tokenized(ids[:block_size], labels[:block_size], truncated)
