"""A procedural teacher for the tiny default: exact step-by-step traces, offline and free.

It answers the chain questions of s1kit.tiny.chains. With ``error_rate`` > 0 (seeded per
question) it makes one arithmetic slip and carries it to the end, so some traces are
wrong, as Gemini's were (53.6% of s1K graded correct). With ``correction_rate`` > 0 it
makes one slip, writes "Wait" and redoes the step correctly (``h -2 4 3 Wait h -2 4 2``);
the wrong value is returned as a masked span so that SFT never trains on it, only on
noticing it. Anything it cannot parse is
answered with finish_reason "error", like an API failure, so the quality filter's "API
errors" step has something to drop.
"""

from __future__ import annotations

import random

from s1kit.llm.base import Request, Response
from s1kit.tiny.chains import MODULUS, Chain, parse_chain


def slipped_trace(chain: Chain, rng: random.Random, correct: bool = False) -> tuple[str, str, list[tuple[int, int]]]:
    """A trace with one wrong new value: carried forward, or (correct=True) followed by
    "Wait" and the step redone. Returns (thinking, attempt, masked character spans)."""
    at = rng.randrange(chain.k)
    vals = [chain.start]
    text, masked = str(chain.start), []
    for i, (lab, op) in enumerate(zip(chain.labels, chain.ops)):
        new = (vals[-1] + int(op)) % MODULUS
        if i == at:
            wrong = (new + rng.choice((1, -1))) % MODULUS
            text += f" {lab} {op} {vals[-1]} "
            if correct:
                masked.append((len(text), len(text) + len(str(wrong))))
                text += f"{wrong} Wait {lab} {op} {vals[-1]} {new}"
            else:
                new = wrong
                text += str(new)
        else:
            text += f" {lab} {op} {vals[-1]} {new}"
        vals.append(new)
    return text, f"Final Answer: {vals[-1]}", masked


class OracleBackend:
    name = "oracle"
    cacheable = False  # free, offline and deterministic: CachedClient calls it directly

    def __init__(self, error_rate: float = 0.0, correction_rate: float = 0.0, seed: int = 0):
        for key, rate in (("error_rate", error_rate), ("correction_rate", correction_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"distill.options.{key} must be in [0, 1], got {rate}")
        if error_rate + correction_rate > 1.0:
            raise ValueError("distill.options.error_rate + correction_rate must be <= 1")
        self.error_rate = error_rate
        self.correction_rate = correction_rate
        self.seed = seed

    def complete(self, request: Request) -> Response:
        question = request.messages[-1]["content"]
        try:
            chain = parse_chain(question)
        except ValueError as e:
            return Response(text="", reasoning=None, finish_reason="error", error=str(e))
        rng = random.Random(f"{self.seed}:{question}")
        draw = rng.random()
        masked: list[tuple[int, int]] = []
        if draw < self.error_rate:
            thinking, attempt, masked = slipped_trace(chain, rng)
        elif draw < self.error_rate + self.correction_rate:
            thinking, attempt, masked = slipped_trace(chain, rng, correct=True)
        else:
            thinking, attempt = chain.thinking(), chain.attempt()
        usage = {"input_words": len(question.split()), "output_words": len(thinking.split()) + 3}
        return Response(text=attempt, reasoning=thinking, finish_reason="stop", usage=usage, masked=tuple(masked))
