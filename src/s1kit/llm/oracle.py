"""A procedural teacher for the tiny default: exact step-by-step traces, offline and free.

It answers the chain questions of s1kit.tiny.chains. With ``error_rate`` > 0 (seeded per
question) it makes one arithmetic slip and carries it to the end, so some traces are
wrong, as Gemini's were (53.6% of s1K graded correct). Anything it cannot parse is
answered with finish_reason "error", like an API failure, so the quality filter's "API
errors" step has something to drop.
"""

from __future__ import annotations

import random

from s1kit.llm.base import Request, Response
from s1kit.tiny.chains import MODULUS, Chain, parse_chain


def slipped_trace(chain: Chain, rng: random.Random) -> tuple[str, str]:
    """A trace with one wrong new value, carried forward; returns (thinking, attempt)."""
    at = rng.randrange(chain.k)
    vals = [chain.start]
    parts = [str(chain.start)]
    for i, (lab, op) in enumerate(zip(chain.labels, chain.ops)):
        new = (vals[-1] + int(op) + (rng.choice((1, -1)) if i == at else 0)) % MODULUS
        parts.append(f"{lab} {op} {vals[-1]} {new}")
        vals.append(new)
    return " ".join(parts), f"Final Answer: {vals[-1]}"


class OracleBackend:
    name = "oracle"

    def __init__(self, error_rate: float = 0.0, seed: int = 0):
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"distill.error_rate must be in [0, 1], got {error_rate}")
        self.error_rate = error_rate
        self.seed = seed

    def complete(self, request: Request) -> Response:
        question = request.messages[-1]["content"]
        try:
            chain = parse_chain(question)
        except ValueError as e:
            return Response(text="", reasoning=None, finish_reason="error", error=str(e))
        rng = random.Random(f"{self.seed}:{question}")
        if rng.random() < self.error_rate:
            thinking, attempt = slipped_trace(chain, rng)
        else:
            thinking, attempt = chain.thinking(), chain.attempt()
        usage = {"input_words": len(question.split()), "output_words": len(thinking.split()) + 3}
        return Response(text=attempt, reasoning=thinking, finish_reason="stop", usage=usage)
