"""Modular operation chains: the tiny default's task family.

A problem is a start digit and k labelled steps from {+1, +2, -1, -2} modulo 10, e.g.
``4 h-2 i+1 j-1``. The oracle thinking restates the start and then, per step, the label,
the operation, the previous value and the new value (``4 h -2 4 2 i +1 2 3 j -1 3 2``),
i.e. 4k+1 tokens; the answer is ``Final Answer: 2``. Without thinking a model can do no
better than chance (10%), so accuracy depends on how much of the trace fits the budget.

Label and operation are written as one word in the question (``h-2``) so that word
n-gram decontamination sees a high-entropy text, while the tokenizer splits them into
the same tokens the thinking uses.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

OPS: tuple[str, ...] = ("+1", "+2", "-1", "-2")
LABELS: str = string.ascii_lowercase
MODULUS = 10


@dataclass(frozen=True)
class Chain:
    start: int
    labels: tuple[str, ...]
    ops: tuple[str, ...]

    @property
    def k(self) -> int:
        return len(self.ops)

    def question(self) -> str:
        return " ".join([str(self.start)] + [f"{lab}{op}" for lab, op in zip(self.labels, self.ops)])

    def values(self) -> list[int]:
        vals = [self.start]
        for op in self.ops:
            vals.append((vals[-1] + int(op)) % MODULUS)
        return vals

    def answer(self) -> str:
        return str(self.values()[-1])

    def thinking(self) -> str:
        vals = self.values()
        steps = [f"{lab} {op} {vals[i]} {vals[i + 1]}" for i, (lab, op) in enumerate(zip(self.labels, self.ops))]
        return " ".join([str(self.start)] + steps)

    def attempt(self) -> str:
        return f"Final Answer: {self.answer()}"


def sample_chain(rng: random.Random, k: int, ops: tuple[str, ...] = OPS) -> Chain:
    """A chain of k steps; labels are consecutive letters (cyclic) from a random start."""
    first = rng.randrange(len(LABELS))
    labels = tuple(LABELS[(first + i) % len(LABELS)] for i in range(k))
    return Chain(rng.randrange(MODULUS), labels, tuple(rng.choice(ops) for _ in range(k)))


_CHAIN = re.compile(r"(?:^|\s)(\d)((?:\s+[a-z][+-][12])+)(?=\s|$)")


def parse_chain(question: str) -> Chain:
    """The last chain written in a text (Chain.question() inverts exactly); ValueError if none."""
    found = _CHAIN.findall(question)
    if not found:
        raise ValueError(f"no operation chain in question {question[:80]!r}")
    start, steps = found[-1]
    words = steps.split()
    return Chain(int(start), tuple(w[:-2] for w in words), tuple(w[-2:] for w in words))
