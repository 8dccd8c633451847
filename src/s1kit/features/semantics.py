"""What ``featurize.semantics`` changes (docs/fidelity.md): one record per value, resolved once per stage.

``official`` does what the official featurization did; ``kit`` is the kit's corrected variant.

- Attempts (features/attempts.py): ``official`` samples at temperature 0.05 with vLLM's other
  defaults (top-p 1, no top-k, no repetition penalty), seeded by featurize.seed, as
  data/bulk_inference.py:34 (SamplingParams) asks; within vLLM's limits for Qwen2.5 as
  data/bulk_inference.py:31 (max_length) ran them: max_tokens 32768 but the model's context
  (max_model_len 32768) holds prompt and attempt together, and generation ends at any of the
  generation config's end tokens, <|endoftext|> too. ``kit`` decodes greedily (reproducible
  without a seed), max_new_tokens for every row, ending at the tokenizer's eos only.
- Grades (features/grading.py): ``official`` grades an unfinished attempt (``finish_reason``
  other than stop: cut at the token limit) like any other, as
  data/featurization.py:65 (user_prompt) grades every attempt it is given, and sends empty
  texts: only a None solution is skipped, an empty one is graded
  (data/featurization.py:56 (solution)), and an empty attempt is sent. ``kit`` does not send
  an unfinished attempt (correct = null, so the selection's feature filter drops the
  question), skips an empty solution and grades an empty attempt No without sending it.
- Merge (features/merge.py): ``official`` keeps every teacher trace with a thinking and an
  answer whatever its finish reason (data/gemini.py:28 (thinking) reads both parts without
  looking at it; a response without the answer part raises there and is asked again, so it
  never counts: the kit's backends give it an empty attempt); ``kit`` keeps only traces that
  finished (finish_reason stop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_SEMANTICS = "kit"  # the one default of featurize.semantics (the config schema's `default:` too)


@dataclass(frozen=True)
class Semantics:
    """Where the official featurization and the kit differ."""

    decoding: dict[str, Any]  # transformers generate() decoding arguments of an attempt
    max_len: int | None  # prompt and attempt together at most this many tokens (None: no limit)
    extra_eos: tuple[str, ...]  # end tokens beside the tokenizer's eos, where the vocabulary has them
    grades_unfinished: bool  # an attempt cut at the token limit is graded like any other
    sends_empty: bool  # an empty solution is graded and an empty attempt sent to the judge
    trace_ok: Callable[[dict[str, Any]], bool]  # whether a teacher trace counts (merged, graded, measured)


def _any_answered_trace(trace: dict[str, Any]) -> bool:
    return trace.get("thinking") is not None and bool(trace.get("attempt"))


def _finished_trace(trace: dict[str, Any]) -> bool:
    return trace.get("finish_reason") == "stop" and bool(trace.get("thinking"))


SEMANTICS: dict[str, Semantics] = {
    "official": Semantics(
        decoding={"do_sample": True, "temperature": 0.05, "top_p": 1.0, "top_k": 0, "repetition_penalty": 1.0},
        max_len=32768, extra_eos=("<|endoftext|>", "<|im_end|>"), grades_unfinished=True, sends_empty=True,
        trace_ok=_any_answered_trace),
    "kit": Semantics(decoding={"do_sample": False}, max_len=None, extra_eos=(), grades_unfinished=False,
                     sends_empty=False, trace_ok=_finished_trace),
}


def semantics_of(name: str) -> Semantics:
    """The record of a featurize.semantics value."""
    if name not in SEMANTICS:
        raise ValueError(f"config featurize.semantics: {name!r} is not one of {list(SEMANTICS)}")
    return SEMANTICS[name]
