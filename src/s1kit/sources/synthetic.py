"""Synthetic sources of the tiny default: operation chains (s1kit.tiny.chains) by code, seeded.

Each source draws chains from its own operation set and length range; the domain is the
operation family and the chain length (3 families x 16 lengths = 48 domains, about the
paper's 50). Domain-diverse selection then spreads s1K over every length, which the
student needs to learn when to stop thinking; with coarser length bands the 2^-rank
weighting picks only the longest chains of each band and the student learns a few fixed
lengths instead of reading the question. A small share of every source is made of the defects the later stages must remove:
exact duplicates, copies of eval questions (verbatim or inside a longer text, caught by
word 8-gram decontamination), an empty question, and the formatting problems the s1
quality filter drops ("[asy]" figures, "![Image]" links, "p1." enumerations, bold digits).
"""

from __future__ import annotations

import json
import random
from typing import Any

from s1kit.records import make_question
from s1kit.tiny.chains import OPS, Chain, sample_chain

def domain_of(family: str, k: int) -> str:
    return f"{family} chains, {k} step{'s' if k > 1 else ''}"


def _record(chain: Chain, source: str, source_type: str, cot_type: str, family: str) -> dict[str, Any]:
    meta = {"domain": domain_of(family, chain.k), "k": chain.k, "answer": chain.answer()}
    return make_question(chain.question(), source, source_type, cot_type, solution=chain.answer(), metadata=meta)


def _defects(rng: random.Random, clean: list[dict[str, Any]], eval_questions: list[str], source: str,
             source_type: str, cot_type: str) -> list[dict[str, Any]]:
    """Rows that decontamination, dedup and the quality filter must drop."""
    def rec(q: str, domain: str = "unusable") -> dict[str, Any]:
        return make_question(q, source, source_type, cot_type, solution=None, metadata={"domain": domain})

    rows = [dict(r) for r in rng.sample(clean, k=min(3, len(clean)))]  # exact duplicates
    long_enough = [q for q in eval_questions if len(q.split()) >= 8]  # an 8-gram must fit
    for q in rng.sample(long_enough, k=min(2, len(long_enough))):
        rows.append(rec(q, "contaminated"))  # verbatim eval question
        rows.append(rec(f"Solve this chain: {q}", "contaminated"))  # shares every 8-gram
    base = rng.choice(clean)
    q, domain = base["question"], json.loads(base["metadata"])["domain"]
    rows += [
        rec(""),
        rec(f"[asy] draw((0,0)--(1,1)); [/asy] {q}", domain),
        rec(f"![Image](figure.png) {q}", domain),
        rec(f"p1. {q} p2. {q}", domain),
        rec(f"**{rng.randrange(10)}x** {q}", domain),
    ]
    return rows


def _generate(n: int, seed: int, source: str, family: str, ops: tuple[str, ...], k_range: tuple[int, int],
              source_type: str, cot_type: str, eval_questions: list[str] | None = None,
              defects: bool = True) -> list[dict[str, Any]]:
    # The seed mixes in the source name so sources differ under one config seed.
    rng = random.Random(f"{seed}:{source}")
    clean = [
        _record(sample_chain(rng, rng.randint(*k_range), ops), source, source_type, cot_type, family)
        for _ in range(n)
    ]
    rows = clean + (_defects(rng, clean, eval_questions or [], source, source_type, cot_type) if defects else [])
    rng.shuffle(rows)
    return rows


def tiny_math(n: int, seed: int, eval_questions: list[str] | None = None, defects: bool = True) -> list[dict]:
    return _generate(n, seed, "tiny_math", "Mixed", OPS, (1, 16), "tiny_math/mixed", "math", eval_questions, defects)


def tiny_olympiad(n: int, seed: int, eval_questions: list[str] | None = None, defects: bool = True) -> list[dict]:
    """The benchmark-like source (the role AIME and GPQA play in s1K): long mixed chains."""
    return _generate(n, seed, "tiny_olympiad", "Mixed", OPS, (9, 16), "tiny_olympiad/long", "math",
                     eval_questions, defects)


def tiny_science(n: int, seed: int, eval_questions: list[str] | None = None, defects: bool = True) -> list[dict]:
    return _generate(n, seed, "tiny_science", "Rising", ("+1", "+2"), (1, 16), "tiny_science/rising", "science",
                     eval_questions, defects)


def tiny_puzzles(n: int, seed: int, eval_questions: list[str] | None = None, defects: bool = True) -> list[dict]:
    return _generate(n, seed, "tiny_puzzles", "Falling", ("-1", "-2"), (1, 16), "tiny_puzzles/falling", "crossword",
                     eval_questions, defects)


def tiny_chains_eval(n: int, seed: int) -> list[dict[str, Any]]:
    """The held-out tiny eval task: mixed chains of 1-16 steps (fields id, question, answer)."""
    rng = random.Random(f"{seed}:eval:tiny_chains")
    seen, rows = set(), []
    while len(rows) < n:
        chain = sample_chain(rng, rng.randint(1, 16))
        q = chain.question()
        if q not in seen:
            seen.add(q)
            rows.append({"id": make_question(q, "", "", "")["id"], "question": q, "answer": chain.answer(), "k": chain.k})
    return rows
