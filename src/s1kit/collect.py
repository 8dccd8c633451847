"""Collect stage: raw sources -> one decontaminated, deduplicated pool with its funnel.

Per source (``write_source``): a hub source's loader reads the fetched snapshot (a
manifest from s1kit.sources.fetch), a synthetic source generates; every mapped row is
validated (s1kit.sources.quality) into the raw parquet or the source's quarantine file.

Then ``build_pool`` runs the official collection loop over the sources in config order
(`data/collect_data.py:456 (DS_TO_SELECTION)`): drop the rows sharing a word n-gram with
the index (the eval sets and, under official semantics, every source already processed),
select (a seeded shuffle and cut to ``sample``, or SciEval's balanced selection), add what
is kept to the index; then exact dedup over the pool, GPQA's answer choices
(`data/fix_gpqa.py:15 (process_example)`) and the appended sources (AIME,
`data/add_aime.py:34 (concatenate_datasets)`). ``collect.semantics`` picks the official
code's behaviour or the kit's where they differ (``SEMANTICS``; docs/fidelity.md, Data:
collection).
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from s1kit.decontaminate import NgramIndex
from s1kit.integrity import check_file
from s1kit.records import (_UMASK, QUESTION_FIELDS, QUESTION_SCHEMA, read_jsonl, read_table, write_csv, write_jsonl,
                           write_table)
from s1kit.sources import EVAL_SETS, HUB_SOURCES, SOURCES
from s1kit.sources.fetch import read_manifest
from s1kit.sources.rows import jsonl_rows
from s1kit.sources.quality import REASONS, collecting, from_record, validate
from s1kit.sources.scieval import select_balanced

FUNNEL_COLUMNS = ["source", "loaded", "quarantined", "contaminated", "cross_source", "unselected", "duplicates",
                  "kept", *(f"quarantined_{r}" for r in REASONS), "deduplicated"]
CONTAMINATED_SCHEMA = QUESTION_SCHEMA.append(pa.field("matched_eval", pa.string()))
DEFAULT_MAX_CHARS = 50_000


def source_kind(name: str, eval_set: bool = False) -> str:
    """"hub" or "synthetic"; an unknown name is an error listing both registries."""
    if name in HUB_SOURCES:
        return "hub"
    synthetic = EVAL_SETS if eval_set else SOURCES
    if name in synthetic:
        return "synthetic"
    known = HUB_SOURCES.names() + synthetic.names()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"unknown {'eval set' if eval_set else 'source'} {name!r} (known: {', '.join(known)}){hint}")


def _hub_rows(name: str, manifest: str | Path | None, seed: int, options: dict[str, Any]) -> list[dict]:
    source = HUB_SOURCES.get(name)
    if manifest is None:
        raise ValueError(f"hub source {name!r} needs --manifest (the fetch rule's output)")
    paths = read_manifest(manifest, source)
    # "sample" and "decontaminate" are the pool step's options (build_pool), not the loader's
    opts = {k: v for k, v in {**source.options, **options}.items() if k not in POOL_OPTIONS}
    return list(source.load(paths, seed, **opts) if opts else source.load(paths, seed))


def write_source(name: str, out: str | Path, quarantine_out: str | Path, *, n: int | None = None, seed: int = 0,
                 eval_paths: list[str] = (), manifest: str | Path | None = None, options: dict | None = None,
                 max_chars: int = DEFAULT_MAX_CHARS, official_collect: str | Path | None = None) -> dict[str, int]:
    """Run one source (hub or synthetic); write valid records as parquet and bad rows to quarantine.

    official_collect: the pinned collect script (collect.semantics official); a hub source with a
    `keep_list` option (NuminaMath) then gets data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP)."""
    unread: list[dict] = []
    if name in HUB_SOURCES:
        options = dict(options or {})
        if official_collect and "keep_list" in HUB_SOURCES.get(name).options:
            options["keep_list"] = sorted(official_keep_list(Path(official_collect)))
        with collecting() as unread:  # lines or values the readers could not decode: quarantined
            raw = _hub_rows(name, manifest, seed, options)
    else:
        kwargs = {}
        if eval_paths:
            kwargs["eval_questions"] = [q for _, q in eval_questions(_checked(eval_paths))]
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


# ---- the pool step: config, semantics, per-source selection ----

POOL_OPTIONS = ("sample", "decontaminate")  # per-source keys read by build_pool, never by a loader
Row = dict[str, Any]


@dataclass(frozen=True)
class CollectConfig:
    """The keys of config ``collect`` that the pool step reads."""

    semantics: str = "kit"  # official | kit (SEMANTICS)
    ngram: int = 8
    seed: int = 0  # the seeded shuffles of the selection (official: 42)
    sources: dict[str, Any] = field(default_factory=dict)  # name -> count (synthetic) or options (hub)
    # Under semantics official, which revision of the official loop (OFFICIAL_LOOPS): "published" as the
    # published pool was built, with the loop's n-gram check commented out (simplescaling/s1 commit
    # 0b086e8 of 2025-01-31; commit e6c18d8 of 2025-02-10 enabled it), so nothing is dropped by n-grams
    # and LiveCodeBench keeps its 151; "pinned" with data/collect_data.py:459 (decontaminate_train_data)
    # as pinned. Semantics kit always decontaminates against the eval sets.
    official_loop: str = "pinned"

    def __post_init__(self) -> None:
        if self.official_loop not in OFFICIAL_LOOPS:
            raise ValueError(f"config collect.official_loop: {self.official_loop!r} is not one of "
                             f"{list(OFFICIAL_LOOPS)}")

    @property
    def decontaminates(self) -> bool:
        """Whether the loop drops rows by n-gram overlap (everything but the published official loop)."""
        return self.semantics != "official" or self.official_loop == "pinned"


OFFICIAL_LOOPS = ("published", "pinned")


@dataclass(frozen=True)
class Semantics:
    """Where the official collection and the kit differ, as small functions (docs/fidelity.md)."""

    cross_source: bool  # each source is also checked against the kept questions of the sources before it
    short_texts: bool  # a text under n words matches as a whole (no n-gram upstream: never matches)
    kept_order: Callable[[int, set[int]], list[int]]  # (rows, dropped positions) -> kept positions, in order
    shuffle_all: bool  # every unselected source is shuffled with the seed, not only the sampled ones
    keep_list: Callable[[Path | None], frozenset[str]]  # questions a sampled source always keeps
    dedup_appended: bool  # appended sources (AIME) go through the exact dedup
    choice_rng: Callable[[int], Callable[[str], random.Random]]  # seed -> (question -> GPQA choices' RNG)


def _set_order(n: int, dropped: set[int]) -> list[int]:
    # data/collect_data.py:396 (not_contaminated_ids): a list of a set, so CPython's set order
    return list(set(range(n)) - dropped)


def _stable_order(n: int, dropped: set[int]) -> list[int]:
    return [i for i in range(n) if i not in dropped]


def official_keep_list(collect_data_py: Path | None) -> frozenset[str]:
    """TMP_QUESTIONS_TO_KEEP as the pinned file defines it (`data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP)`),
    read as literals from its syntax tree: never executed, never copied."""
    if collect_data_py is None:
        raise ValueError("collect.semantics official needs the pinned official collect script, for "
                         "data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP): pin it in config official.files "
                         "(the collect rules pass the fetched copy)")
    tree = ast.parse(Path(collect_data_py).read_text(encoding="utf-8"), str(collect_data_py))
    for node in tree.body:
        names = [getattr(t, "id", None) for t in node.targets] if isinstance(node, ast.Assign) else []
        if "TMP_QUESTIONS_TO_KEEP" in names:
            return frozenset(_literal_list(node.value, collect_data_py))
    raise ValueError(f"{collect_data_py}: no TMP_QUESTIONS_TO_KEEP assignment")


def _literal_list(node: ast.expr, path: Path) -> list[str]:
    """A list literal, or a sum of list literals (the official list is `[...] + [...]`)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_list(node.left, path) + _literal_list(node.right, path)
    value = ast.literal_eval(node)
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
        raise ValueError(f"{path}: TMP_QUESTIONS_TO_KEEP is not a list of strings")
    return value


def _shared_rng(seed: int) -> Callable[[str], random.Random]:
    rng = random.Random(seed)  # data/fix_gpqa.py:7 (random.seed): one state for the whole pool, in order
    return lambda question: rng


def _per_question_rng(seed: int) -> Callable[[str], random.Random]:
    return lambda question: random.Random(f"{seed}\0{question}")


SEMANTICS: dict[str, Semantics] = {
    "official": Semantics(cross_source=True, short_texts=False, kept_order=_set_order, shuffle_all=True,
                          keep_list=official_keep_list, dedup_appended=False, choice_rng=_shared_rng),
    "kit": Semantics(cross_source=False, short_texts=True, kept_order=_stable_order, shuffle_all=False,
                     keep_list=lambda path: frozenset(), dedup_appended=True, choice_rng=_per_question_rng),
}


def semantics_of(name: str) -> Semantics:
    if name not in SEMANTICS:
        raise ValueError(f"config collect.semantics: {name!r} is not one of {sorted(SEMANTICS)}")
    return SEMANTICS[name]


@dataclass(frozen=True)
class SourcePool:
    """One source's pool-step settings: the hub source's defaults, then its config options."""

    sample: int | None = None  # keep this many after decontamination (data/collect_data.py:405 (DS_TO_SELECTION))
    sampler: str = "first"  # "first": the first `sample` of a seeded shuffle; "balanced": SciEval's
    # decontaminate: false = appended after collection, data/add_aime.py:34 (concatenate_datasets)
    appended: bool = False
    finish: Callable[[list[Row], Callable[[str], random.Random]], list[Row]] | None = None


def source_pool(name: str, spec: Any) -> SourcePool:
    if name not in HUB_SOURCES:
        return SourcePool()
    src = HUB_SOURCES.get(name)
    opts = spec if isinstance(spec, Mapping) else {}
    sample = opts.get("sample", src.sample)
    if sample is not None and (not isinstance(sample, int) or sample < 1):
        raise ValueError(f"config collect.sources.{name}.sample: expected a positive integer or null, got {sample!r}")
    return SourcePool(sample=sample, sampler=src.sampler, appended=opts.get("decontaminate", True) is False,
                      finish=src.finish)


def shuffled(items: list, seed: int) -> list:
    """items in the order of ``datasets.Dataset.shuffle(seed=seed)``: numpy ``default_rng(seed).permutation``."""
    return [items[i] for i in np.random.default_rng(seed).permutation(len(items)).tolist()]


def select(positions: list[int], questions: list[str], pool: SourcePool, seed: int, sem: Semantics,
           keep: frozenset[str], metadata: Callable[[], list[str]] = list) -> list[int]:
    """A source's rows left by decontamination (positions, in order) -> the positions it contributes,
    in order (data/collect_data.py:460 (selection_fn)); a position may come twice (the pool's dedup
    drops the copy). metadata() gives every row's metadata JSON (SciEval's balanced selection)."""
    if pool.sampler == "balanced" and pool.sample:
        meta = metadata()
        kept = [i for i in positions if questions[i] in keep]
        rows = [{**json.loads(meta[i]), "_row": i} for i in positions]
        return [r["_row"] for r in select_balanced(rows, pool.sample - len(kept), seed)] + kept
    if sem.shuffle_all or pool.sample:
        positions = shuffled(positions, seed)
    if pool.sample:
        kept = [i for i in positions if questions[i] in keep]
        positions = positions[:max(0, pool.sample - len(kept))] + kept
    return positions


def _quarantine_counts(paths: list[str | Path]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for p in paths:
        counts[Path(p).stem] = Counter(r["reason"] for r in read_jsonl(p))
    return counts


def _add_chosen(index: NgramIndex, name: str, ids: list[str], chosen: list[int], hashes: tuple) -> None:
    """Index the chosen rows' n-grams (already hashed) as "pool:<source>:<id>"
    (`data/collect_data.py:475 (test_questions)`)."""
    distinct = list(dict.fromkeys(chosen))
    slot = np.full(len(ids), -1, dtype=np.int32)
    slot[distinct] = np.arange(len(distinct), dtype=np.int32)
    index.add_hashes(*hashes, [f"pool:{name}:{ids[i]}" for i in distinct], slot=slot)


def _take(table: pa.Table, positions: list[int]) -> pa.Table:
    return table.take(pa.array(positions, type=pa.int64()))


class _Pool:
    """The pool as it grows, written source by source to a temporary parquet file (the rows are never
    all in memory), with the exact dedup as each source arrives (first copy wins), the duplicates'
    rows and the funnel's duplicates and kept. ``commit`` renames the file into place."""

    def __init__(self, funnel: dict[str, dict], out: Path):
        self.funnel, self.dups, self.seen, self.rows, self.out = funnel, [], set(), 0, Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.out.parent, prefix=f".{self.out.name}.", suffix=".tmp")
        os.close(fd)
        self.tmp, self.writer = Path(tmp), pq.ParquetWriter(tmp, QUESTION_SCHEMA)

    def add(self, name: str, table: pa.Table, finish=None, dedup: bool = True) -> None:
        if dedup:
            ids = table.column("id").to_pylist()
            mask = [not (i in self.seen or self.seen.add(i)) for i in ids]
            if not all(mask):
                self.dups.extend(table.filter(pa.array([not m for m in mask])).to_pylist())
                self.funnel[name]["duplicates"] += mask.count(False)  # a duplicate is charged to the later source
                table = table.filter(pa.array(mask))
        if finish is not None:
            table = pa.Table.from_pylist(finish(table.to_pylist()), schema=QUESTION_SCHEMA)
        self.funnel[name]["kept"] = table.num_rows
        self.rows += table.num_rows
        self.writer.write_table(table)

    def commit(self) -> None:
        self.writer.close()
        os.chmod(self.tmp, 0o666 & ~_UMASK)  # as records.atomic_write: results are meant to be shared
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _checked(paths: list[str | Path]) -> list[str | Path]:
    """The kit's own eval-set files, each refused (named) if changed since it was produced:
    their reader skips bad rows, which would hide a truncated file (s1kit.integrity)."""
    for p in paths:
        check_file(p)
    return list(paths)


def eval_questions(paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """(``<set>:<id>``, question) of eval-set JSONL files; a row without a usable question is
    left out with a warning naming its file and line (the collect_eval_set step already
    quarantined upstream's bad rows, so one here means the file was changed since)."""
    out = []
    for p in paths:
        for i, (line, r) in enumerate(jsonl_rows(Path(p), numbered=True)):
            q = r.get("question")
            if not isinstance(q, str):
                print(f"s1kit: warning: {p}:{line}: eval row skipped: question is "
                      f"{'missing' if q is None else type(q).__name__}, not a string", file=sys.stderr)
                continue
            out.append((f"{Path(p).stem}:{r.get('id', i)}", q))
    return out


def build_pool(raw_paths: list[str | Path], eval_paths: list[str | Path], out_pool: str | Path,
               out_funnel: str | Path, contaminated_out: str | Path, duplicates_out: str | Path,
               quarantine_paths: list[str | Path] = (), config: CollectConfig = CollectConfig(),
               official_collect: str | Path | None = None) -> dict[str, int]:
    """Decontaminate each source (against the eval sets, and under official semantics the sources
    before it; not at all under the published official loop, config.official_loop), select, then dedup.

    A source is named by its file stem (its quarantine file, same stem, adds to "loaded"), and
    its pool settings come from ``source_pool``. Funnel columns: "contaminated" matched an eval
    item, "cross_source" an earlier source's kept question (a near-duplicate), "duplicates" are
    exact copies (of an earlier source's question, or within the source), "unselected" fell to
    the sampling. "deduplicated" counts a source's distinct new questions before
    decontamination: the paper's per-source table counts them so (docs/sources.md).
    """
    sem = semantics_of(config.semantics)
    keep = sem.keep_list(Path(official_collect) if official_collect else None)
    index = NgramIndex(eval_questions(_checked(eval_paths)), n=config.ngram, short=sem.short_texts)
    quarantine = _quarantine_counts(list(quarantine_paths))
    funnel: dict[str, dict] = {}
    pool = _Pool(funnel, out_pool)
    try:
        contaminated, cross_dups = _collect(raw_paths, index, pool, funnel, quarantine, config, sem, keep)
    except BaseException:
        pool.abort()
        raise
    rows_out = list(funnel.values())
    rows_out.append({"source": "total", **{c: sum(r[c] for r in rows_out) for c in FUNNEL_COLUMNS[1:]}})
    write_table(contaminated_out, contaminated, schema=CONTAMINATED_SCHEMA)
    write_table(duplicates_out, cross_dups + pool.dups, schema=QUESTION_SCHEMA)
    pool.commit()
    write_csv(out_funnel, rows_out, FUNNEL_COLUMNS)
    return {"pool": pool.rows, "contaminated": len(contaminated), "duplicates": len(cross_dups + pool.dups),
            "quarantined": sum(r["quarantined"] for r in rows_out[:-1])}


def _collect(raw_paths: list[str | Path], index: NgramIndex, pool: _Pool, funnel: dict[str, dict],
             quarantine: dict[str, Counter], config: CollectConfig, sem: Semantics,
             keep: frozenset[str]) -> tuple[list[Row], list[Row]]:
    """The loop over the sources (data/collect_data.py:456 (DS_TO_SELECTION)), then the appended ones."""
    appended, contaminated, cross_dups = [], [], []
    rng = sem.choice_rng(config.seed)
    seen: set[str] = set()  # ids of every raw row so far ("deduplicated")
    kept_ids: set[str] = set()  # ids added to the index so far
    for path in raw_paths:
        name = Path(path).stem
        table = read_table(path, required=QUESTION_FIELDS).select(QUESTION_FIELDS).cast(QUESTION_SCHEMA)
        ids, questions = table.column("id").to_pylist(), table.column("question").to_pylist()
        spec = source_pool(name, config.sources.get(name))
        q = quarantine.get(name, Counter())
        row = funnel[name] = {"source": name, "loaded": len(ids) + sum(q.values()), "quarantined": sum(q.values()),
                              "contaminated": 0, "cross_source": 0, "unselected": 0, "duplicates": 0, "kept": 0,
                              **{f"quarantined_{r}": q[r] for r in REASONS},
                              "deduplicated": len(set(ids) - seen)}
        seen.update(ids)
        if spec.appended:
            appended.append((name, table))
            continue
        hashes = index.hashes(questions) if config.decontaminates else None
        # the published loop checked nothing (its decontaminate_train_data call commented out)
        matched = index.match_hashes(*hashes, len(ids)) if hashes is not None else [None] * len(ids)
        gone = sorted(i for i, m in enumerate(matched) if m is not None)
        kept_at = sem.kept_order(len(ids), set(gone))
        chosen = select(kept_at, questions, spec, config.seed, sem, keep,
                        lambda: table.column("metadata").to_pylist())
        row["unselected"] = len(kept_at) - len(chosen)
        for i, r in zip(gone, _take(table, gone).to_pylist()):
            if ids[i] in kept_ids:  # an exact copy of an earlier source's question
                cross_dups.append(r)
                row["duplicates"] += 1
            else:
                contaminated.append({**r, "matched_eval": matched[i]})
                row["cross_source" if matched[i].startswith("pool:") else "contaminated"] += 1
        if sem.cross_source and hashes is not None:
            _add_chosen(index, name, ids, chosen, hashes)
            kept_ids.update(ids[i] for i in chosen)
        del hashes, questions
        pool.add(name, _take(table, chosen), finish=spec.finish and (lambda rows, f=spec.finish: f(rows, rng)))
    for name, table in appended:  # data/add_aime.py:34 (concatenate_datasets): after collection
        pool.add(name, table, dedup=sem.dedup_appended)
    return contaminated, cross_dups
