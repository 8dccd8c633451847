"""Select stage: s1K and the paper's ablation sets (arXiv 2501.19393v3 §2.2, Appendix C.4, Table 2), seeded.

s1K follows the official notebook: quality filters, the difficulty filter, the
benchmark-related preselection, then domain-diverse sampling (uniform over domains until
`uniform_until` questions are selected, then weighted by the benchmark questions' domains)
with 2^-rank length weighting inside a domain (rank 0 = longest thinking) and removal of
exhausted domains. `domain_sampling: uniform` gives the paper text's variant. Unlike the
notebook, every random draw comes from one numpy Generator seeded from the config,
source types are matched by regular expressions so that both the published strings and
the kit's regenerated ones are recognised, and a pool too small for select.size is an
error instead of a short selection.

`overlap` is the review mode: the kit's s1K ids against the published s1K's question
hashes (docs/select.md).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from s1kit.records import atomic_write_text, question_hash, read_jsonl, read_table, write_csv, write_table

SELECTIONS = ("s1K", "1K-random", "1K-diverse", "1K-longest", "59K-full")
FUNNEL_COLUMNS = ["step", "count", "description"]
FUNNEL_STEPS = {
    "collected": "questions in the decontaminated, deduplicated pool",
    "with_features": "after dropping API errors and missing features",
    "after_format": "after the formatting filters",
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
FORMAT_FILTERS = {
    "asy": re.compile(r"\[asy\]"),
    "image": re.compile(r"!\[Image\]", re.IGNORECASE),
    "enumeration": re.compile(r"\bp\d{1,3}\."),
    "bold_digits": re.compile(r"\*\*(?=.*\d)[^\s\]]*\*\*"),
}


@dataclass(frozen=True)
class BenchmarkSource:
    pattern: str = field(metadata={"help": "regex on source_type (case-insensitive)"})
    weight: float = field(default=1.0, metadata={"help": "weight of its domains after uniform_until"})


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

    def __post_init__(self) -> None:
        if self.domain_sampling not in ("notebook", "uniform"):
            raise ValueError(f"select.domain_sampling must be 'notebook' or 'uniform', got {self.domain_sampling!r}")
        if self.size < 1:
            raise ValueError(f"select.size must be >= 1, got {self.size}")


def _matches(pattern: str, row: dict[str, Any]) -> bool:
    return bool(pattern) and re.search(pattern, row.get("source_type") or "", re.IGNORECASE) is not None


def has_features(row: dict[str, Any], cfg: SelectConfig) -> bool:
    needed = [row.get("thinking"), row.get("domain"), row.get("thinking_tokens")]
    needed += [row.get(f"{m}_correct") for m in cfg.attempt_models]
    return all(v is not None for v in needed)


def format_ok(row: dict[str, Any], cfg: SelectConfig) -> bool:
    q = row["question"] or ""
    for name, rx in FORMAT_FILTERS.items():
        if rx.search(q) and not (name == "asy" and _matches(cfg.keep_asy_pattern, row)):
            return False
    return True


def is_hard(row: dict[str, Any], cfg: SelectConfig) -> bool:
    return not any(row[f"{m}_correct"] for m in cfg.attempt_models)


def benchmark_of(row: dict[str, Any], cfg: SelectConfig) -> str | None:
    return next((name for name, b in cfg.benchmark_sources.items() if _matches(b.pattern, row)), None)


def is_preselected(row: dict[str, Any], cfg: SelectConfig) -> bool:
    if not row.get("teacher_correct"):
        return False
    if benchmark_of(row, cfg):
        return True
    return _matches(cfg.long_source_pattern, row) and row["thinking_tokens"] > cfg.long_min_tokens


def by_length(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Longest thinking first; ties broken by id so the order is total."""
    return sorted(rows, key=lambda r: (-r["thinking_tokens"], r["id"]))


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


def _check_size(cfg: SelectConfig, eligible: int, what: str) -> None:
    if cfg.size > eligible:
        raise ValueError(f"select.size={cfg.size} but only {eligible} questions are eligible ({what}); "
                         f"lower select.size or grow the pool")


def select_s1k(rows: list[dict[str, Any]], cfg: SelectConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Returns (selection in order, funnel rows); exactly cfg.size rows or a ValueError."""
    rng = np.random.default_rng(cfg.seed)
    featured = [r for r in rows if has_features(r, cfg)]
    formatted = [r for r in featured if format_ok(r, cfg)]
    hard = [r for r in formatted if is_hard(r, cfg)]
    _check_size(cfg, len(hard), "after the feature, format and difficulty filters")
    pre = [r for r in by_length(hard) if is_preselected(r, cfg)]
    if len(pre) > cfg.size:
        raise ValueError(f"{len(pre)} questions preselected, more than select.size={cfg.size}")
    weights: Counter[str] = Counter()
    for r in pre:
        name = benchmark_of(r, cfg)
        if name:
            weights[r["domain"]] += cfg.benchmark_sources[name].weight
    pre_ids = {r["id"] for r in pre}
    rest = [r for r in hard if r["id"] not in pre_ids]
    sampled = sample_domains(
        rest, cfg.size - len(pre), rng, length_weighted=True, already=len(pre),
        uniform_until=cfg.uniform_until if cfg.domain_sampling == "notebook" else None,
        domain_weights=dict(weights),
    )
    selection = pre + sampled
    counts = [len(rows), len(featured), len(formatted), len(hard), len(pre), len(selection)]
    funnel = [{"step": s, "count": c, "description": FUNNEL_STEPS[s]} for s, c in zip(FUNNEL_STEPS, counts)]
    return selection, funnel


def select_ablation(name: str, rows: list[dict[str, Any]], cfg: SelectConfig) -> list[dict[str, Any]]:
    """Table 2 sets, drawn from the quality-filtered pool (no difficulty filter).

    The 1K sets have exactly cfg.size rows (a smaller pool is a ValueError); 59K-full is
    every row with features, whatever cfg.size.
    """
    if name not in SELECTIONS[1:]:
        raise KeyError(f"unknown ablation {name!r} (known: {', '.join(SELECTIONS[1:])}; s1K is select_s1k)")
    if name == "59K-full":
        return [r for r in rows if has_features(r, cfg)]
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
    for r in selection:
        qs[r["domain"]] += 1
        toks[r["domain"]] += r["thinking_tokens"]
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
        "domains": len({r["domain"] for r in selection}),
        "teacher_correct_frac": sum(bool(r.get("teacher_correct")) for r in selection) / n if n else 0.0,
        "source_types": dict(Counter(r["source_type"] for r in selection).most_common()),
    }


def run(name: str, featurized: str | Path, out_dir: str | Path, cfg: SelectConfig,
        funnel_out: str | Path | None = None) -> dict[str, Any]:
    rows = read_table(featurized, required=["id", "question", "source_type", "domain", "thinking",
                                            "thinking_tokens", "teacher_correct",
                                            *(f"{m}_correct" for m in cfg.attempt_models)]).to_pylist()
    if name == "s1K":
        selection, funnel = select_s1k(rows, cfg)
        if funnel_out:
            write_csv(funnel_out, funnel, FUNNEL_COLUMNS)
    else:
        selection = select_ablation(name, rows, cfg)
    return write_selection(out_dir, selection)


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
