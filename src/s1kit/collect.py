"""Collect stage: raw sources -> one decontaminated, deduplicated pool with its funnel.

Per source (``write_source``): a hub source's loader reads the fetched snapshot (a
manifest from s1kit.sources.fetch), a synthetic source generates; every mapped row is
validated (s1kit.sources.quality) into the raw parquet or the source's quarantine file.
Then ``build_pool`` drops rows sharing a word n-gram with an eval question (recording the
eval item matched) and exact duplicates across sources, and writes the per-source funnel.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from s1kit.decontaminate import NgramIndex, dedup, split_contaminated
from s1kit.records import QUESTION_FIELDS, QUESTION_SCHEMA, read_jsonl, read_table, write_csv, write_jsonl, write_table
from s1kit.sources import EVAL_SETS, HUB_SOURCES, SOURCES
from s1kit.sources.quality import REASONS, collecting, eval_questions, from_record, validate

FUNNEL_COLUMNS = ["source", "loaded", "quarantined", "contaminated", "duplicates", "kept",
                  *(f"quarantined_{r}" for r in REASONS), "deduplicated"]
CONTAMINATED_SCHEMA = QUESTION_SCHEMA.append(pa.field("matched_eval", pa.string()))
DEFAULT_MAX_CHARS = 50_000


def source_kind(name: str, eval_set: bool = False) -> str:
    """"hub" or "synthetic"; an unknown name is an error listing both registries."""
    if name in HUB_SOURCES:
        return "hub"
    synthetic = EVAL_SETS if eval_set else SOURCES
    if name in synthetic:
        return "synthetic"
    import difflib

    known = HUB_SOURCES.names() + synthetic.names()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"unknown {'eval set' if eval_set else 'source'} {name!r} (known: {', '.join(known)}){hint}")


def _hub_rows(name: str, manifest: str | Path | None, seed: int, options: dict[str, Any]) -> list[dict]:
    from s1kit.sources.fetch import read_manifest

    source = HUB_SOURCES.get(name)
    if manifest is None:
        raise ValueError(f"hub source {name!r} needs --manifest (the fetch rule's output)")
    paths = read_manifest(manifest, source)
    # "decontaminate" is the pool step's option (build_pool exempt), not the loader's
    opts = {k: v for k, v in {**source.options, **options}.items() if k != "decontaminate"}
    return list(source.load(paths, seed, **opts) if opts else source.load(paths, seed))


def write_source(name: str, out: str | Path, quarantine_out: str | Path, *, n: int | None = None, seed: int = 0,
                 eval_paths: list[str] = (), manifest: str | Path | None = None, options: dict | None = None,
                 max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, int]:
    """Run one source (hub or synthetic); write valid records as parquet and bad rows to quarantine."""
    unread: list[dict] = []
    if name in HUB_SOURCES:
        with collecting() as unread:  # lines or values the readers could not decode: quarantined
            raw = _hub_rows(name, manifest, seed, options or {})
    else:
        kwargs = {}
        if eval_paths:
            kwargs["eval_questions"] = [q for _, q in eval_questions(eval_paths)]
        if n is None:
            raise ValueError(f"synthetic source {name!r} needs a question count (collect.sources.{name})")
        raw = [from_record(r) for r in SOURCES.get(name)(n, seed, **kwargs)]
    records, quarantined = validate(raw, name, max_chars)
    quarantined = [{"source": name, **u} for u in unread] + quarantined
    write_table(out, records, schema=QUESTION_SCHEMA)
    write_jsonl(quarantine_out, quarantined)
    return {"records": len(records), "quarantined": len(quarantined)}


def write_eval_set(name: str, out: str | Path, *, n: int | None = None, seed: int = 0,
                   manifest: str | Path | None = None, quarantine_out: str | Path | None = None) -> int:
    """An eval set as JSONL (id, question, ...): the tiny generator, or a hub eval set's questions.
    A hub row that cannot be read or has no usable question goes to ``quarantine_out`` with its
    reason and location (a warning says how many); the other rows are kept."""
    quarantined: list[dict] = []
    if name in HUB_SOURCES:
        with collecting() as unread:
            raw = _hub_rows(name, manifest, seed, {})
        records, bad = validate(raw, name, DEFAULT_MAX_CHARS)
        quarantined = [{"source": name, **u} for u in unread] + bad
        if quarantined:
            print(f"s1kit: warning: eval set {name}: {len(quarantined)} row(s) quarantined"
                  f"{f' to {quarantine_out}' if quarantine_out else ''}, e.g. {quarantined[0]['location']}: "
                  f"{quarantined[0]['detail']}", file=sys.stderr)
        # upstream columns at the top level, where evaluation tasks look for them (answer, choices)
        rows = []
        for r in records:
            meta = json.loads(r.pop("metadata"))
            if "id" in meta:
                meta["upstream_id"] = meta.pop("id")
            rows.append({**meta, **r})
    else:
        if n is None:
            raise ValueError(f"synthetic eval set {name!r} needs a question count (collect.eval_sets.{name})")
        rows = EVAL_SETS.get(name)(n, seed)
    if quarantine_out:
        write_jsonl(quarantine_out, quarantined)
    write_jsonl(out, rows)
    return len(rows)


def _quarantine_counts(paths: list[str | Path]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for p in paths:
        counts[Path(p).stem] = Counter(r["reason"] for r in read_jsonl(p))
    return counts


def build_pool(raw_paths: list[str | Path], eval_paths: list[str | Path], ngram: int, out_pool: str | Path,
               out_funnel: str | Path, contaminated_out: str | Path, duplicates_out: str | Path,
               quarantine_paths: list[str | Path] = (), exempt: list[str] = ()) -> dict[str, int]:
    """Decontaminate every source against every eval set, then dedup across the pool (first wins).

    A source is named by its file stem; its quarantine file (same stem) adds to "loaded".
    Sources in ``exempt`` skip decontamination (the official pipeline appended AIME after it).
    "deduplicated" counts a source's rows after exact dedup but before decontamination: the
    paper's per-source table counts them so (docs/sources.md).
    """
    index = NgramIndex(eval_questions(eval_paths), n=ngram)
    quarantine = _quarantine_counts(list(quarantine_paths))
    funnel, clean, contaminated, origin = [], [], [], {}
    seen: set[str] = set()
    for path in raw_paths:
        name = Path(path).stem
        rows = read_table(path, required=QUESTION_FIELDS).to_pylist()
        ids = [r["id"] for r in rows]
        deduplicated = len(set(ids) - seen)
        seen.update(ids)
        keep, dropped = (rows, []) if name in exempt else split_contaminated(rows, index)
        q = quarantine.get(name, Counter())
        funnel.append({"source": name, "loaded": len(rows) + sum(q.values()), "quarantined": sum(q.values()),
                       "contaminated": len(dropped), **{f"quarantined_{r}": q[r] for r in REASONS},
                       "deduplicated": deduplicated})
        clean.extend(keep)
        origin.update((id(r), name) for r in keep)
        contaminated.extend(dropped)
    pool, dups = dedup(clean)
    kept = Counter(origin[id(r)] for r in pool)  # a duplicate is charged to the later source
    duplicated = Counter(origin[id(r)] for r in dups)
    for row in funnel:
        row["kept"], row["duplicates"] = kept[row["source"]], duplicated[row["source"]]
    funnel.append({"source": "total", **{c: sum(r[c] for r in funnel) for c in FUNNEL_COLUMNS[1:]}})
    write_table(contaminated_out, contaminated, schema=CONTAMINATED_SCHEMA)
    write_table(duplicates_out, dups, schema=QUESTION_SCHEMA)
    write_table(out_pool, pool, schema=QUESTION_SCHEMA)
    write_csv(out_funnel, funnel, FUNNEL_COLUMNS)
    return {"pool": len(pool), "contaminated": len(contaminated), "duplicates": len(dups),
            "quarantined": sum(r["quarantined"] for r in funnel[:-1])}
