"""A word-level tokenizer for the tiny task, trained locally with `tokenizers`.

It has the ChatML special tokens and the think/answer delimiters of the paper (arXiv 2501.19393v3
Appendix D) and a chat template that renders the s1 format, so the SFT formatting and budget
forcing code paths are exactly the ones used with Qwen2.5.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [PAD, IM_START, IM_END]
UNK = "[UNK]"

# Jinja ChatML, as Qwen2.5's template without the default system prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Words the chat format and budget forcing need even if the corpus lacks them.
FORMAT_WORDS = ["system", "user", "assistant", "think", "answer", "Final", "Answer:", "Wait"]


def pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    # "h+2" -> "h", "+2": questions keep label and op in one word, the model sees two tokens.
    return pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(r"[+-]\d"), behavior="isolated")]
    )


def train_tokenizer(texts: Iterable[str], min_frequency: int = 1):
    """Train a WordLevel tokenizer on texts and wrap it for transformers."""
    from transformers import PreTrainedTokenizerFast  # heavy: transformers, only when a tokenizer is trained

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizer()
    # Words are joined by single spaces on decode (WordPiece with no continuation marks in the vocab).
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    trainer = trainers.WordLevelTrainer(
        special_tokens=SPECIAL_TOKENS + [UNK], min_frequency=min_frequency, show_progress=False
    )
    tok.train_from_iterator(list(texts) + [" ".join(FORMAT_WORDS)], trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token=UNK,
        pad_token=PAD,
        eos_token=IM_END,
        bos_token=None,
        additional_special_tokens=[IM_START],
        clean_up_tokenization_spaces=False,
        padding_side="left",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save(tokenizer, out_dir: str | Path) -> None:
    tokenizer.save_pretrained(str(out_dir))
