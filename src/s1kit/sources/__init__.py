"""Question sources, looked up by name.

SOURCES / EVAL_SETS: the tiny default's synthetic generators, callables
``(n: int, seed: int, **options) -> list[dict]`` returning question records
(s1kit.records.make_question), in s1kit.sources.synthetic.

HUB_SOURCES: the paper config's 16 raw sources and the eval sets it decontaminates
against, each a s1kit.sources.hub.HubSource (pinned hub inputs + a row mapping) in a
module of its own, named as in config/s1.yaml. PUBLISHED_SOURCES: the paper's published
artifacts the review config reads (kind "published", s1kit.sources.published).
"""

from s1kit.registry import Registry

SOURCES: Registry = Registry("source")
for _name in ("tiny_math", "tiny_olympiad", "tiny_science", "tiny_puzzles"):
    SOURCES.register(_name, f"s1kit.sources.synthetic:{_name}")
EVAL_SETS: Registry = Registry("eval set")
EVAL_SETS.register("tiny_chains", "s1kit.sources.synthetic:tiny_chains_eval")

HUB_SOURCES: Registry = Registry("hub source")
# The 16 raw sources of the paper (arXiv 2501.19393v3 Table 7), in its order.
PAPER_SOURCES = ("math", "olympicarena", "theoremqa", "numinamath", "omnimath", "scieval", "olympiadbench",
                 "jeebench", "agieval", "s1_prob", "gpqa", "xword", "usaco", "s1_teasers", "livecodebench", "aime")
for _name in PAPER_SOURCES:
    HUB_SOURCES.register(_name, f"s1kit.sources.{_name}:SOURCE")
# Eval sets decontaminated against (and evaluated on): kind "eval".
for _name, _attr in (("aime24", "AIME24"), ("aime24_nofigures", "AIME24_NOFIGURES"),
                     ("aime24_figures", "AIME24_FIGURES"), ("aime25", "AIME25"),
                     ("math500", "MATH500"),
                     ("gpqa_diamond", "GPQA_DIAMOND"), ("livecodebench_v4", "LIVECODEBENCH_V4")):
    HUB_SOURCES.register(_name, f"s1kit.sources.eval_sets:{_attr}")
# The paper's published artifacts (config/review.yaml): kind "published".
PUBLISHED_SOURCES = ("published_results", "published_pool", "published_s1k", "qwen_tokenizer")
for _name in PUBLISHED_SOURCES:
    HUB_SOURCES.register(_name, f"s1kit.sources.published:{_name.upper()}")
