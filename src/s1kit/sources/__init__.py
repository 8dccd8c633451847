"""Question sources: one module per raw source, looked up by name in SOURCES.

A source is a callable ``(n: int, seed: int, **options) -> list[dict]`` returning question
records (s1kit.records.make_question). The paper's 16 hub sources join this registry in
their own modules; the tiny default's synthetic sources live in ``synthetic``.
"""

from s1kit.registry import Registry

SOURCES: Registry = Registry("source")
for _name in ("tiny_math", "tiny_olympiad", "tiny_science", "tiny_puzzles"):
    SOURCES.register(_name, f"s1kit.sources.synthetic:{_name}")
EVAL_SETS: Registry = Registry("eval set")
EVAL_SETS.register("tiny_chains", "s1kit.sources.synthetic:tiny_chains_eval")
