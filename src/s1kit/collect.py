"""Collect stage: raw sources -> one decontaminated, deduplicated pool with its funnel."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from s1kit.decontaminate import NgramIndex, dedup, split_contaminated
from s1kit.records import QUESTION_FIELDS, QUESTION_SCHEMA, read_jsonl, read_table, write_csv, write_jsonl, write_table
from s1kit.sources import EVAL_SETS, SOURCES

FUNNEL_COLUMNS = ["source", "raw", "after_decontamination", "after_dedup"]


def write_source(name: str, n: int, seed: int, out: str | Path, eval_paths: list[str] = ()) -> int:
    """Run one registered source and write its records as parquet."""
    fn = SOURCES.get(name)
    kwargs = {}
    if eval_paths:
        kwargs["eval_questions"] = [r["question"] for p in eval_paths for r in read_jsonl(p)]
    rows = fn(n, seed, **kwargs)
    write_table(out, rows, schema=QUESTION_SCHEMA)
    return len(rows)


def write_eval_set(name: str, n: int, seed: int, out: str | Path) -> int:
    rows = EVAL_SETS.get(name)(n, seed)
    write_jsonl(out, rows)
    return len(rows)


def build_pool(raw_paths: list[str | Path], eval_paths: list[str | Path], ngram: int,
               out_pool: str | Path, out_funnel: str | Path, quarantine_dir: str | Path) -> dict[str, int]:
    """Decontaminate every source against every eval set, then dedup across the pool (first wins)."""
    index = NgramIndex((r["question"] for p in eval_paths for r in read_jsonl(p)), n=ngram)
    funnel, clean, contaminated, origin = [], [], [], {}
    for path in raw_paths:
        rows = read_table(path, required=QUESTION_FIELDS).to_pylist()
        keep, dropped = split_contaminated(rows, index)
        name = Path(path).stem
        funnel.append({"source": name, "raw": len(rows), "after_decontamination": len(keep)})
        clean.extend(keep)
        origin.update((id(r), name) for r in keep)
        contaminated.extend(dropped)
    pool, dups = dedup(clean)
    survivors = Counter(origin[id(r)] for r in pool)  # a duplicate is charged to the later file
    for row in funnel:
        row["after_dedup"] = survivors[row["source"]]
    funnel.append({
        "source": "total",
        "raw": sum(r["raw"] for r in funnel),
        "after_decontamination": len(clean),
        "after_dedup": len(pool),
    })
    quarantine = Path(quarantine_dir)
    write_table(quarantine / "contaminated.parquet", contaminated, schema=QUESTION_SCHEMA)
    write_table(quarantine / "duplicates.parquet", dups, schema=QUESTION_SCHEMA)
    write_table(out_pool, pool, schema=QUESTION_SCHEMA)
    write_csv(out_funnel, funnel, FUNNEL_COLUMNS)
    return {"pool": len(pool), "contaminated": len(contaminated), "duplicates": len(dups)}
