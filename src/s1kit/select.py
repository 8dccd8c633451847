"""Select stage: s1K and the paper's ablation sets (arXiv 2501.19393v3 §2.2, Appendix C.4, Table 2), seeded.

s1K follows the official notebook (data/filter.ipynb cell 4 (no_nans) to cell 22
(sampled_geminiall)): the feature filter, the format filters, the difficulty filter, the
benchmark-related preselection, then domain-diverse sampling (uniform over domains until
`uniform_until` questions are selected, then weighted by the benchmark questions'
domains) with 2^-rank length weighting inside a domain (rank 0 = longest thinking) and
removal of exhausted domains. `domain_sampling: uniform` gives the paper text's variant
(uniform throughout).

`select.semantics` picks one of two rule sets (RULES), resolved once per config:

- ``notebook``: the notebook exactly. Cell 4 requires every feature, the teacher grade
  included; cell 7's plain-text format filters, with AIME `[asy]` questions kept whatever
  else fires; cell 17's benchmark weights (domain counts over all hard benchmark rows, each
  benchmark scaled against the weight-1.0 one and truncated with int()); cells 19/21's
  pools that still hold the preselected questions; and one ``RandomState(select.seed)``
  making the notebook's numpy calls in the notebook's order after ``np.random.seed``. The
  domain list is a set's order, as in cell 18, so it depends on PYTHONHASHSEED: the stage
  requires a fixed one (the rule sets 0). tests/test_select_notebook.py runs the
  notebook's own cells beside it.
- ``kit``: one numpy Generator, regular expressions matched case-insensitively, weights
  from the preselected rows, preselected rows taken out of the pools, domains in sorted
  order and lengths ranked with ties broken by id, so the result depends on nothing but
  the pool and the seed.

In both, a pool too small for select.size is an error instead of a short selection.
`overlap` is the review mode: the kit's s1K ids against the published s1K's question
hashes (docs/select.md).
"""

from __future__ import annotations

import json
import operator
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np

from s1kit.records import atomic_write_text, question_hash, read_jsonl, read_table, write_csv, write_table

SELECTIONS = ("s1K", "1K-random", "1K-diverse", "1K-longest", "59K-full")
DEFAULT_SEMANTICS = "kit"  # select.semantics when the config leaves it out
FUNNEL_COLUMNS = ["step", "count", "description"]
FUNNEL_STEPS = {
    "collected": "questions in the decontaminated, deduplicated pool",
    "with_features": "after dropping API errors and missing features",
    # where the official notebook's printed funnel and the paper's part: the format filter,
    # data/filter.ipynb cell 7 (no_weird_string), prints 51,607, the paper 51,581 (54,116 before it
    # agree); 24,517 vs 24,496 and 393 vs 384 preselected follow (src/s1kit/paper/claims.yaml, funnel.*)
    "after_format": "after the formatting filters (notebook and paper part here: 51,607 vs 51,581)",
    "after_difficulty": "after dropping questions any attempt model solved",
    "preselected": "benchmark-related questions kept before sampling",
    "selected": "final selection",
}
COMPOSITION_COLUMNS = ["domain", "questions", "thinking_tokens"]
# sources.csv groups by the record's `source` (one row per collected source, as in
# data/funnel_collect.csv and the paper's per-source table); source_types.csv by source_type.
SOURCES_COLUMNS = ["source", "questions", "thinking_tokens", "avg_thinking_tokens"]
SOURCE_TYPES_COLUMNS = ["source_type", "questions", "thinking_tokens", "avg_thinking_tokens"]
OUTPUTS = ("dataset.parquet", "ids.txt", "composition.csv", "sources.csv", "source_types.csv", "summary.json")
# The kit's format filters (semantics kit).
FORMAT_FILTERS = {
    "asy": re.compile(r"\[asy\]"),
    "image": re.compile(r"!\[Image\]", re.IGNORECASE),
    "enumeration": re.compile(r"\bp\d{1,3}\."),
    "bold_digits": re.compile(r"\*\*(?=.*\d)[^\s\]]*\*\*"),
}
# data/filter.ipynb cell 7 (no_weird_string) searches the plain strings "p1." ... "p999.";
# one of them occurs exactly where this (unanchored) pattern matches, in one pass.
NOTEBOOK_ENUMERATION = re.compile(r"p[1-9]\d{0,2}\.")


@dataclass(frozen=True)
class BenchmarkSource:
    pattern: str = field(metadata={"help": "regex on source_type (case-insensitive under semantics kit)"})
    weight: float = field(default=1.0, metadata={
        "help": "kit: added to a domain per preselected row; notebook: its total relative to the weight-1.0 one"})


@dataclass(frozen=True)
class SelectConfig:
    size: int = 1000
    seed: int = 0
    attempt_models: tuple[str, ...] = ()
    benchmark_sources: dict[str, BenchmarkSource] = field(default_factory=dict)
    long_source_pattern: str = field(default="", metadata={"help": "regex on source_type; '' = none"})
    long_min_tokens: int = field(default=5600, metadata={"help": "preselect long-source traces longer than this"})
    keep_asy_pattern: str = field(default="", metadata={"help": "sources whose [asy] figures are kept (AIME)"})
    uniform_until: int = field(default=700, metadata={"help": "switch to benchmark-weighted domains here"})
    domain_sampling: str = field(default="notebook", metadata={"help": "notebook | uniform"})
    semantics: str = field(default=DEFAULT_SEMANTICS,
                           metadata={"help": "notebook (the official notebook exactly) | kit"})

    def __post_init__(self) -> None:
        if self.domain_sampling not in ("notebook", "uniform"):
            raise ValueError(f"select.domain_sampling must be 'notebook' or 'uniform', got {self.domain_sampling!r}")
        if self.semantics not in RULES:
            raise ValueError(f"select.semantics must be one of {list(RULES)}, got {self.semantics!r}")
        if self.size < 1:
            raise ValueError(f"select.size must be >= 1, got {self.size}")
        if self.rules.scales_to_reference and self.benchmark_sources and reference_benchmark(self) is None:
            raise ValueError("select.benchmark_sources: semantics notebook scales every benchmark against the one "
                             "with weight 1.0 (AIME in data/filter.ipynb cell 17 (enlarge_ratio)); none has it")

    @property
    def rules(self) -> Rules:
        return RULES[self.semantics]


def reference_benchmark(cfg: SelectConfig) -> str | None:
    """The benchmark the others are scaled against under semantics notebook: the first with weight 1.0."""
    return next((name for name, b in cfg.benchmark_sources.items() if b.weight == 1.0), None)


# ---- the two rule sets ------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """What select.semantics changes; SelectConfig.rules picks one of RULES."""

    pattern_flags: int  # re flags of the source_type patterns
    feature_columns: Callable[[SelectConfig], tuple[str, ...]]
    format_ok: Callable[[dict[str, Any], SelectConfig], bool]
    draw: Callable[[list[dict[str, Any]], list[dict[str, Any]], SelectConfig], list[dict[str, Any]]]
    # A question twice in the pool (official collection appends AIME without dedup): kit refuses it;
    # the notebook keys every filter and draw by question hash, so both rows pass or fail together
    # and both reach the selection (data/filter.ipynb cell 22 (sampled_geminiall)).
    by_question: bool
    # 59K-full (Table 2): kit = rows with every feature; notebook = every row with a teacher trace, as
    # the published simplescaling/data_ablation_full59K (58,986 rows: grades and domains may be missing)
    full_pool: Callable[[dict[str, Any], SelectConfig], bool]
    # notebook: benchmark weights scaled against the weight-1.0 benchmark, so select.benchmark_sources
    # needs one (data/filter.ipynb cell 17 (enlarge_ratio))
    scales_to_reference: bool
    # notebook: domains in a Python set's order (data/filter.ipynb cell 18 (all_domains)), so one seed
    # gives one s1K only under one PYTHONHASHSEED
    set_ordered_domains: bool


def _features_kit(cfg: SelectConfig) -> tuple[str, ...]:
    return ("thinking", "domain", "thinking_tokens", *(f"{m}_correct" for m in cfg.attempt_models))


def _features_notebook(cfg: SelectConfig) -> tuple[str, ...]:
    # data/filter.ipynb cell 4 (no_nans): every feature, the teacher grade (isgeminicorrect) too.
    return (*_features_kit(cfg), "teacher_correct")


def _format_ok_kit(row: dict[str, Any], cfg: SelectConfig) -> bool:
    q = row["question"] or ""
    for name, rx in FORMAT_FILTERS.items():
        if rx.search(q) and not (name == "asy" and _matches(cfg.keep_asy_pattern, row, cfg)):
            return False
    return True


def _format_ok_notebook(row: dict[str, Any], cfg: SelectConfig) -> bool:
    """data/filter.ipynb cell 7 (no_weird_string): plain-text tests, `![Image]` case-sensitive;
    a question with `[asy]` from a keep_asy source is kept whatever else fires."""
    q = row["question"] or ""
    clean = ("[asy]" not in q and "![Image]" not in q and not NOTEBOOK_ENUMERATION.search(q)
             and not FORMAT_FILTERS["bold_digits"].search(q))
    return clean or ("[asy]" in q and _matches(cfg.keep_asy_pattern, row, cfg))


def _matches(pattern: str, row: dict[str, Any], cfg: SelectConfig) -> bool:
    return bool(pattern) and re.search(pattern, row.get("source_type") or "", cfg.rules.pattern_flags) is not None


def has_features(row: dict[str, Any], cfg: SelectConfig, columns: tuple[str, ...] | None = None) -> bool:
    return all(row.get(k) is not None for k in columns or cfg.rules.feature_columns(cfg))


def format_ok(row: dict[str, Any], cfg: SelectConfig) -> bool:
    return cfg.rules.format_ok(row, cfg)


def is_hard(row: dict[str, Any], cfg: SelectConfig) -> bool:
    return not any(row[f"{m}_correct"] for m in cfg.attempt_models)


def benchmark_of(row: dict[str, Any], cfg: SelectConfig) -> str | None:
    return next((name for name, b in cfg.benchmark_sources.items() if _matches(b.pattern, row, cfg)), None)


def is_preselected(row: dict[str, Any], cfg: SelectConfig) -> bool:
    """Teacher-correct benchmark rows, and teacher-correct long-source rows longer than
    long_min_tokens (data/filter.ipynb cell 14 (selected_qhashes))."""
    if not row.get("teacher_correct"):
        return False
    if benchmark_of(row, cfg):
        return True
    return _matches(cfg.long_source_pattern, row, cfg) and row["thinking_tokens"] > cfg.long_min_tokens


def by_length(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Longest thinking first; ties broken by id so the order is total."""
    return sorted(rows, key=lambda r: (-r["thinking_tokens"], r["id"]))


# ---- semantics kit: one Generator, preselected rows out of the pools ------------------


def sample_domains(rows: list[dict[str, Any]], n: int, rng: np.random.Generator, *, length_weighted: bool,
                   uniform_until: int | None = None, already: int = 0,
                   domain_weights: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Draw n rows: a domain (uniform, or by domain_weights once `already + len(picked)`
    reaches uniform_until), then a row in it (2^-rank by length, or uniform); remove it."""
    pools: dict[str, list[dict[str, Any]]] = {}
    for r in by_length(rows):
        pools.setdefault(r["domain"], []).append(r)
    picked: list[dict[str, Any]] = []
    while len(picked) < n and pools:
        domains = sorted(pools)
        p = None
        if domain_weights and uniform_until is not None and already + len(picked) >= uniform_until:
            w = np.array([domain_weights.get(d, 0.0) for d in domains])
            if w.sum() > 0:  # once every benchmark domain is exhausted, back to uniform
                p = w / w.sum()
        domain = domains[rng.choice(len(domains), p=p)]
        pool = pools[domain]
        if length_weighted:
            w = np.exp2(-np.arange(len(pool), dtype=float))
            idx = int(rng.choice(len(pool), p=w / w.sum()))
        else:
            idx = int(rng.integers(len(pool)))
        picked.append(pool.pop(idx))
        if not pool:
            del pools[domain]
    return picked


def _uniform_until(cfg: SelectConfig) -> int | None:
    return cfg.uniform_until if cfg.domain_sampling == "notebook" else None


def _draw_kit(hard: list[dict[str, Any]], pre: list[dict[str, Any]], cfg: SelectConfig) -> list[dict[str, Any]]:
    """Preselected rows first (longest first), then draws from the other hard rows; each
    preselected benchmark row adds its source's weight to its domain."""
    weights: Counter[str] = Counter()
    for r in pre:
        name = benchmark_of(r, cfg)
        if name:
            weights[r["domain"]] += cfg.benchmark_sources[name].weight
    pre_ids = {r["id"] for r in pre}
    rest = [r for r in hard if r["id"] not in pre_ids]
    sampled = sample_domains(rest, cfg.size - len(pre), np.random.default_rng(cfg.seed), length_weighted=True,
                             already=len(pre), uniform_until=_uniform_until(cfg), domain_weights=dict(weights))
    return pre + sampled


# ---- semantics notebook: the official notebook's sampling ------------------------------


def notebook_benchmark_weights(hard: list[dict[str, Any]], cfg: SelectConfig) -> tuple[list[str], np.ndarray]:
    """data/filter.ipynb cell 17 (benchmark_domain): per benchmark, the domain counts of all
    hard rows of its source (teacher grade ignored); every benchmark but the reference
    scaled by weight x reference total / own total and truncated with int(); the counters
    added in config order (Counter's +, which drops domains at 0); then normalised."""
    counts = {name: Counter([r["domain"] for r in hard if _matches(b.pattern, r, cfg)])
              for name, b in cfg.benchmark_sources.items()}
    ref = reference_benchmark(cfg)
    ref_total = sum(counts[ref].values()) if ref else 0
    for name, c in counts.items():
        total = sum(c.values())
        if name != ref and total:  # a benchmark without hard rows adds nothing (the notebook divides by 0)
            ratio = cfg.benchmark_sources[name].weight * ref_total / total
            counts[name] = Counter({d: int(k * ratio) for d, k in c.items()})
    merged = +reduce(operator.add, counts.values()) if counts else Counter()
    weights = list(merged.values())
    return list(merged), np.array(weights) / sum(weights)


def _length_draw(rs: np.random.RandomState, lengths: np.ndarray) -> int:
    """data/filter.ipynb cell 21 (length_weights): 2^-rank over the pool in its order, rank 0 =
    longest, the ranks from numpy's argsort of argsort (so ties fall as the notebook's fall)."""
    ranks = len(lengths) - 1 - np.argsort(np.argsort(lengths))
    w = np.power(2.0, -ranks)
    return int(rs.choice(len(lengths), p=w / w.sum()))


@dataclass
class _Pool:
    """One domain's hard rows in pool order: ids and their int64 lengths, deleted together."""

    ids: list[str] = field(default_factory=list)
    lengths: list[int] | np.ndarray = field(default_factory=list)


def _draw_notebook(hard: list[dict[str, Any]], pre: list[dict[str, Any]], cfg: SelectConfig) -> list[dict[str, Any]]:
    """The notebook's sampling loop, data/filter.ipynb cell 21 (uniform_sample), with
    ``RandomState(cfg.seed)`` in place of the global numpy state: the same calls in the same
    order, so the same draws as the notebook after ``np.random.seed(cfg.seed)``. Pools hold
    every hard row, preselected ones included, as data/filter.ipynb cell 19 (questions_ordered_by_domain)
    builds them (a draw of one adds nothing but removes it); the result is in pool order,
    as data/filter.ipynb cell 22 (sampled_geminiall) filters it."""
    rs = np.random.RandomState(cfg.seed)
    chosen = {r["id"] for r in pre}
    pools: dict[str, _Pool] = {}
    for r in _first_per_id(hard):  # cell 19 draws from featurized_dict: one entry per question
        pool = pools.setdefault(r["domain"], _Pool())
        pool.ids.append(r["id"])
        pool.lengths.append(int(r["thinking_tokens"]))
    for pool in pools.values():
        pool.lengths = np.array(pool.lengths)  # int64, as the notebook's np.array of int()s
    all_domains = list(set([r["domain"] for r in hard]))  # cell 18: a set's order (PYTHONHASHSEED)
    bench_domains, bench_weights = notebook_benchmark_weights(hard, cfg)
    switch = _uniform_until(cfg)
    while len(chosen) < cfg.size:
        if switch is None or len(chosen) < switch:
            domain = all_domains[int(rs.choice(len(all_domains), size=1)[0])]
        elif bench_domains:
            domain = bench_domains[int(rs.choice(len(bench_domains), size=1, p=bench_weights)[0])]
        else:
            raise ValueError(f"select: every benchmark domain ran dry at {len(chosen)} of select.size={cfg.size} "
                             "(data/filter.ipynb cell 21 (benchmark_sample) fails here); lower select.size")
        pool = pools[domain]
        idx = _length_draw(rs, pool.lengths)
        chosen.add(pool.ids.pop(idx))
        pool.lengths = np.delete(pool.lengths, idx)
        if not pool.ids:
            all_domains.remove(domain)
            if domain in bench_domains:
                bench_weights = np.delete(bench_weights, bench_domains.index(domain))
                bench_weights = bench_weights / bench_weights.sum()
                bench_domains.remove(domain)
    return [r for r in hard if r["id"] in chosen]


def _full_kit(row: dict[str, Any], cfg: SelectConfig) -> bool:
    return has_features(row, cfg)


def _full_notebook(row: dict[str, Any], cfg: SelectConfig) -> bool:
    # data/filter.ipynb cell 4 (geminiall): the pool the notebook starts from is every question with a
    # teacher answer (58,986 of 59,029 featurized), the published 59K
    return row.get("thinking") is not None


RULES: dict[str, Rules] = {
    "notebook": Rules(0, _features_notebook, _format_ok_notebook, _draw_notebook, by_question=True,
                      full_pool=_full_notebook, scales_to_reference=True, set_ordered_domains=True),
    "kit": Rules(re.IGNORECASE, _features_kit, _format_ok_kit, _draw_kit, by_question=False, full_pool=_full_kit,
                 scales_to_reference=False, set_ordered_domains=False),
}


def _check_size(cfg: SelectConfig, eligible: int, what: str) -> None:
    if cfg.size > eligible:
        raise ValueError(f"select.size={cfg.size} but only {eligible} questions are eligible ({what}); "
                         f"lower select.size or grow the pool")


def _check_unique_ids(rows: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for r in rows:
        if r["id"] in seen:
            raise ValueError(f"featurized pool: id {r['id']!r} occurs more than once (ids must be unique)")
        seen.add(r["id"])


def _keep(rows: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool], by_question: bool
          ) -> list[dict[str, Any]]:
    """The rows that pass; by_question: every row of a question that passes once, as the notebook's
    filters keep rows by a set of question hashes (data/filter.ipynb cell 7 (no_weird_string))."""
    if not by_question:
        return [r for r in rows if test(r)]
    ids = {r["id"] for r in rows if test(r)}
    return [r for r in rows if r["id"] in ids]


def _first_per_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    return [r for r in rows if not (r["id"] in seen or seen.add(r["id"]))]


def select_s1k(rows: list[dict[str, Any]], cfg: SelectConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Returns (selection in order, funnel rows); exactly cfg.size questions or a ValueError (under
    semantics notebook a question twice in the pool is two rows, as the notebook keeps them)."""
    rules = cfg.rules
    if not rules.by_question:
        _check_unique_ids(rows)
    columns = rules.feature_columns(cfg)
    featured = _keep(rows, lambda r: has_features(r, cfg, columns), rules.by_question)
    formatted = _keep(featured, lambda r: format_ok(r, cfg), rules.by_question)
    hard = _keep(formatted, lambda r: is_hard(r, cfg), rules.by_question)
    _check_size(cfg, len({r["id"] for r in hard}), "after the feature, format and difficulty filters")
    # data/filter.ipynb cell 14 (selected_qhashes): a set of questions
    pre = _first_per_id([r for r in by_length(hard) if is_preselected(r, cfg)])
    if len(pre) > cfg.size:
        raise ValueError(f"{len(pre)} questions preselected, more than select.size={cfg.size}")
    selection = rules.draw(hard, pre, cfg)
    counts = [len(rows), len(featured), len(formatted), len(hard), len(pre), len(selection)]
    funnel = [{"step": s, "count": c, "description": FUNNEL_STEPS[s]} for s, c in zip(FUNNEL_STEPS, counts)]
    return selection, funnel


def select_ablation(name: str, rows: list[dict[str, Any]], cfg: SelectConfig) -> list[dict[str, Any]]:
    """Table 2 sets, drawn from the quality-filtered pool (no difficulty filter).

    The 1K sets have exactly cfg.size rows (a smaller pool is a ValueError); 59K-full is the
    whole pool whatever cfg.size: every row with a teacher trace under semantics notebook (the
    published data_ablation_full59K), every row with all features under kit (Rules.full_pool).
    """
    if name not in SELECTIONS[1:]:
        raise KeyError(f"unknown ablation {name!r} (known: {', '.join(SELECTIONS[1:])}; s1K is select_s1k)")
    if name == "59K-full":
        return [r for r in rows if cfg.rules.full_pool(r, cfg)]
    rng = np.random.default_rng(cfg.seed)
    quality = [r for r in rows if has_features(r, cfg) and format_ok(r, cfg)]
    _check_size(cfg, len(quality), f"after the feature and format filters, for {name}")
    n = cfg.size
    if name == "1K-random":
        return [quality[i] for i in rng.permutation(len(quality))[:n]]
    if name == "1K-diverse":
        return sample_domains(quality, n, rng, length_weighted=False)
    return by_length(quality)[:n]  # 1K-longest


def composition(selection: list[dict[str, Any]]) -> list[dict[str, Any]]:
    qs: Counter[str] = Counter()
    toks: Counter[str] = Counter()
    for r in selection:  # 59K-full (semantics notebook) holds rows without a domain
        qs[r["domain"] or "(none)"] += 1
        toks[r["domain"] or "(none)"] += r["thinking_tokens"] or 0
    return [{"domain": d, "questions": n, "thinking_tokens": toks[d]} for d, n in qs.most_common()]


def group_counts(selection: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Questions and thinking tokens per value of `key` (most questions first, then by name).

    A missing or null value is grouped as "(none)": older featurized files lack `source`.
    """
    qs: Counter[str] = Counter()
    toks: Counter[str] = Counter()
    for r in selection:
        k = r.get(key) or "(none)"
        qs[k] += 1
        toks[k] += r["thinking_tokens"]
    return [{key: k, "questions": qs[k], "thinking_tokens": toks[k], "avg_thinking_tokens": round(toks[k] / qs[k], 1)}
            for k in sorted(qs, key=lambda k: (-qs[k], k))]


def summary(selection: list[dict[str, Any]]) -> dict[str, Any]:
    tokens = sum(r["thinking_tokens"] for r in selection)
    n = len(selection)
    return {
        "questions": n,
        "thinking_tokens": tokens,
        "avg_thinking_tokens": tokens / n if n else 0.0,
        "domains": len({r["domain"] for r in selection if r["domain"] is not None}),
        "teacher_correct_frac": sum(bool(r.get("teacher_correct")) for r in selection) / n if n else 0.0,
        "source_types": dict(Counter(r["source_type"] for r in selection).most_common()),
    }


def run(name: str, featurized: str | Path, out_dir: str | Path, cfg: SelectConfig,
        funnel_out: str | Path | None = None) -> dict[str, Any]:
    rows = read_table(featurized, required=["id", "question", "source_type", "domain", "thinking",
                                            "thinking_tokens", "teacher_correct",
                                            *(f"{m}_correct" for m in cfg.attempt_models)]).to_pylist()
    if name == "s1K":
        require_fixed_hash_seed(cfg)
        selection, funnel = select_s1k(rows, cfg)
        if funnel_out:
            write_csv(funnel_out, funnel, FUNNEL_COLUMNS)
    else:
        selection = select_ablation(name, rows, cfg)
    return write_selection(out_dir, selection)


def require_fixed_hash_seed(cfg: SelectConfig) -> None:
    """semantics notebook orders its domains as a Python set does, as in
    data/filter.ipynb cell 18 (all_domains): one seed gives one s1K only under one PYTHONHASHSEED."""
    if cfg.rules.set_ordered_domains and os.environ.get("PYTHONHASHSEED", "random") == "random":
        raise ValueError("select.semantics notebook draws domains in a Python set's order, as the official "
                         "notebook does: set PYTHONHASHSEED (the select_s1k rule sets 0) for a reproducible s1K")


def write_selection(out_dir: str | Path, selection: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The files of a selection directory (OUTPUTS), rows ranked in order; ``extra`` joins summary.json."""
    out = Path(out_dir)
    write_table(out / "dataset.parquet", [dict(r, selection_rank=i) for i, r in enumerate(selection)])
    atomic_write_text(out / "ids.txt", "".join(r["id"] + "\n" for r in selection))
    write_csv(out / "composition.csv", composition(selection), COMPOSITION_COLUMNS)
    write_csv(out / "sources.csv", group_counts(selection, "source"), SOURCES_COLUMNS)
    write_csv(out / "source_types.csv", group_counts(selection, "source_type"), SOURCE_TYPES_COLUMNS)
    info = {**summary(selection), **extra}
    atomic_write_text(out / "summary.json", json.dumps(info, indent=2))
    return info


# ---- review mode: overlap with the published s1K ------------------------------------


def read_ids(path: str | Path) -> list[str]:
    """Question ids from ids.txt (one per line), a parquet or a JSONL file.

    A table with a `question` column is hashed with records.question_hash (the published
    s1K has no id column); otherwise its `id` column is read as is.
    """
    path = Path(path)
    if path.suffix in (".parquet", ".jsonl"):
        if path.suffix == ".parquet":
            table = read_table(path)
            rows, columns = table.to_pylist(), set(table.column_names)
        else:
            rows = _read_jsonl(path)
            columns = set().union(*rows) if rows else set()
        if "question" in columns:
            ids = [question_hash(r["question"]) for r in rows if r.get("question") is not None]
        elif "id" in columns:
            ids = [r["id"] for r in rows if r.get("id") is not None]
        else:
            raise ValueError(f"{path}: needs a 'question' or an 'id' column; has {sorted(columns)}")
    else:
        try:
            ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as e:
            raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    if not ids:
        raise ValueError(f"{path}: no question ids")
    return ids


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return read_jsonl(path)
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None


def overlap(ours: list[str], published: list[str], domains: dict[str, str] | None = None) -> dict[str, Any]:
    """Counts of the two id sets, their intersection and Jaccard index; per domain when the
    featurized pool's id -> domain map is given (ids missing from it count as "(not in pool)")."""
    a, b = set(ours), set(published)
    both = a & b
    info: dict[str, Any] = {
        "ours": len(a), "published": len(b), "intersection": len(both),
        "ours_only": len(a - b), "published_only": len(b - a),
        "jaccard": round(len(both) / len(a | b), 6),
        "duplicates": {"ours": len(ours) - len(a), "published": len(published) - len(b)},
    }
    if domains is not None:
        info["published_in_pool"] = sum(i in domains for i in b)
        rows: dict[str, Counter[str]] = {}
        for name, ids in (("ours", a), ("published", b), ("both", both)):
            for i in ids:
                rows.setdefault(domains.get(i, "(not in pool)"), Counter())[name] += 1
        order = sorted(rows, key=lambda d: (-rows[d]["published"], -rows[d]["ours"], d))
        info["domains"] = [{"domain": d, "ours": rows[d]["ours"], "published": rows[d]["published"],
                            "both": rows[d]["both"]} for d in order]
    return info


def run_overlap(ids: str | Path, published: str | Path, out: str | Path,
                featurized: str | Path | None = None) -> dict[str, Any]:
    """`s1kit select-overlap`: write and return the overlap report (JSON)."""
    domains = None
    if featurized:
        table = read_table(featurized, required=["id", "domain"]).select(["id", "domain"])
        domains = {i: d or "(no domain)" for i, d in zip(table.column("id").to_pylist(),
                                                          table.column("domain").to_pylist())}
    inputs = {"ours": str(ids), "published": str(published), "featurized": str(featurized) if featurized else None}
    info = {"inputs": inputs, **overlap(read_ids(ids), read_ids(published), domains)}
    atomic_write_text(out, json.dumps(info, indent=2) + "\n")
    return info
