"""GPQA choice order: the kit's per-question shuffle and the fork's one global-RNG sequence.

The fork shuffled the choices with the global ``random`` module inside ``process_docs``
(eval/lm-evaluation-harness/lm_eval/tasks/gpqa/openai/utils.py:230 (random.shuffle)), so the
order changed with everything that ran before. ``kit_order`` gives each question its own
``random.Random(int(question_hash(q)[:8], 16) ^ seed)``; ``fork_order`` replays the fork's
sequence from one ``random.Random(seed)`` (tasks/official.py says which seed an official
command had). ``semantics.Semantics.gpqa_order`` picks one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from s1kit.records import question_hash

# (question, correct, incorrect 1-3) -> (the four choices in order, the gold letter)
ChoiceShuffle = Callable[[str, str, Sequence[str]], tuple[list[str], str]]

# The global-RNG seed of an official command when GPQA's process_docs runs: vLLM's engine
# start-up reseeds the driver's ``random`` with the model seed, the fork's VLLM default
# (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:58 (seed: int = 1234)).
FORK_ENGINE_SEED = 1234
KIT_SHUFFLE_SEED = 0


def question_seed(question: str, seed: int) -> int:
    """The per-question shuffle seed: the first 32 bits of sha256(question) XOR ``seed``."""
    return int(question_hash(question)[:8], 16) ^ int(seed)


def shuffle_choices(question: str, correct: str, incorrect: Sequence[str], seed: int) -> tuple[list[str], str]:
    """The four choices in this question's own order and the gold letter. The list starts
    in the fork's order (incorrect 1-3, correct) and is shuffled by a private RNG, so the
    global ``random`` state neither matters nor changes."""
    if len(incorrect) != 3:
        raise ValueError(f"GPQA needs 3 incorrect answers, got {len(incorrect)}")
    items = [*incorrect, correct]
    # Shuffle positions, not strings: a distractor equal to the answer cannot move the gold.
    order = list(range(4))
    random.Random(question_seed(question, seed)).shuffle(order)
    return [items[i] for i in order], "ABCD"[order.index(3)]


def shuffle_choices_fork(rng: random.Random, correct: str, incorrect: Sequence[str]) -> tuple[list[str], str]:
    """The fork's order (eval/lm-evaluation-harness/lm_eval/tasks/gpqa/openai/utils.py:221 (process_docs)): ``rng.shuffle`` of the
    strings [incorrect 1-3, correct], gold = the first choice equal to the correct string."""
    choices = [*incorrect, correct]
    rng.shuffle(choices)
    return choices, "ABCD"[choices.index(correct)]


def kit_order(seed: int) -> ChoiceShuffle:
    """Every question shuffled by its own seed (``question_seed``)."""
    return lambda question, correct, incorrect: shuffle_choices(question, correct, incorrect, seed)


def fork_order(seed: int) -> ChoiceShuffle:
    """Question after question from one ``random.Random(seed)``, as the fork's global RNG."""
    rng = random.Random(seed)
    return lambda question, correct, incorrect: shuffle_choices_fork(rng, correct, incorrect)
