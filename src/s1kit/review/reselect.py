"""`s1kit review-select`: on the published 59K pool, count thinking lengths, rerun the
selections its columns allow, and compare the published s1K with the pool and the reruns
(docs/review.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from s1kit.records import atomic_write_text, question_hash, write_table
from s1kit.review.inputs import make_counter
from s1kit.select import SELECTIONS, BenchmarkSource, SelectConfig, overlap, select_ablation, select_s1k, summary
from s1kit.settings import from_dict

S1K_FEATURES = ("thinking", "thinking_tokens", "domain", "teacher_correct")  # + <model>_correct per attempt model


def _parquet_files(directory: str | Path) -> list[Path]:
    files = sorted(Path(directory).glob("data/train-*.parquet")) or sorted(Path(directory).rglob("*.parquet"))
    if not files:
        raise ValueError(f"{directory}: no parquet files (is this a fetched published_pool / published_s1k?)")
    return files


def _thinking_text(value: Any) -> str | None:
    """thinking_trajectories is a list of strings (one trace): joined; a string as is."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return "\n".join(str(v) for v in value)


def read_published(directory: str | Path, count: Callable[[str], int],
                   extra: Iterable[str] = ()) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a published question table (the pool or s1K), without the trace text, and its columns.

    Each row: id (records.question_hash), question, source_type, cot_type, thinking_tokens
    (count() of thinking_trajectories; None without a trace), thinking ("" when a trace was
    counted: the selection only tests its presence) and any `extra` column present.
    """
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    for f in _parquet_files(directory):
        names = pq.read_schema(f).names
        columns = columns or names
        if "question" not in names:
            raise ValueError(f"{f}: no 'question' column (has {names})")
        wanted = [c for c in ("question", "source_type", "cot_type", "thinking_trajectories", *extra) if c in names]
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(columns=wanted, batch_size=512):
            for r in batch.to_pylist():
                if r.get("question") is None:
                    continue
                trace = _thinking_text(r.pop("thinking_trajectories", None))
                rows.append({**r, "id": question_hash(r["question"]),
                             "thinking": None if trace is None else "",
                             "thinking_tokens": None if trace is None else count(trace)})
    return rows, columns


def run_select(pool_dir: str | Path, s1k_dir: str | Path, out_dir: str | Path, cfg_raw: Mapping[str, Any],
               selections: list[str], thinking_count: str = "words", tokenizer_dir: str | Path | None = None,
               domain_column: str = "cot_type") -> dict[str, Any]:
    """`s1kit review-select`: rerun on the published pool what its columns allow; overlap with s1K.

    s1K needs domains, the attempt models' grades and the teacher grade (S1K_FEATURES);
    when the pool lacks one it is reported as not run with the missing columns. Selections
    that only need thinking lengths and the format filter (1K-longest, 59K-full) run with
    ``domain_column`` standing in for the domain, which they only test for presence.
    """
    raw = dict(cfg_raw)
    raw["attempt_models"] = tuple(raw.get("attempt_models") or ())
    raw["benchmark_sources"] = {k: from_dict(BenchmarkSource, v, f"review.select.config.benchmark_sources.{k}")
                                for k, v in (raw.get("benchmark_sources") or {}).items()}
    cfg = from_dict(SelectConfig, raw, "review.select.config")
    unknown = [s for s in selections if s not in SELECTIONS]
    if unknown:
        raise ValueError(f"review.select.selections: unknown {unknown} (known: {', '.join(SELECTIONS)})")
    count, unit = make_counter(thinking_count, tokenizer_dir)
    needed = ["domain", "teacher_correct", *(f"{m}_correct" for m in cfg.attempt_models)]
    pool, columns = read_published(pool_dir, count, extra=needed)
    if not pool:
        raise ValueError(f"{pool_dir}: the published pool has no rows")
    s1k, _ = read_published(s1k_dir, count)
    out = Path(out_dir)
    for r in pool:
        if "domain" not in columns:  # a stand-in, named in the report; 1K-longest only tests presence
            r["domain"] = r.get(domain_column)
    write_table(out / "pool_features.parquet",
                [{k: r.get(k) for k in ("id", "source_type", "cot_type", "domain", "thinking_tokens")} for r in pool])

    pool_ids = [r["id"] for r in pool]
    s1k_ids = [r["id"] for r in s1k]
    domains = {r["id"]: str(r.get(domain_column) or "(none)") for r in pool}
    info: dict[str, Any] = {
        "thinking_unit": unit, "pool_rows": len(pool), "pool_columns": columns,
        "missing_s1k_features": [c for c in needed if c not in columns],
        "domain_stand_in": None if "domain" in columns else domain_column,
        "published_s1k": {"rows": len(s1k), **{k: v for k, v in summary_lengths(s1k).items()}},
        "s1k_vs_pool": overlap(pool_ids, s1k_ids),
        "selections": {},
    }
    for name in selections:
        missing = info["missing_s1k_features"] if name in ("s1K", "1K-diverse") else []
        if name == "1K-diverse" and "domain" in columns:
            missing = []
        if missing:
            info["selections"][name] = {"status": "not run", "missing_features": missing}
            continue
        if name == "s1K":
            chosen = select_s1k(pool, cfg)[0]
        else:
            # The ablations do not use the grades; the feature filter would drop every row for
            # lacking them, so it tests only the columns the pool has.
            graded = all(f"{m}_correct" in columns for m in cfg.attempt_models)
            chosen = select_ablation(name, pool, cfg if graded else replace(cfg, attempt_models=()))
        ids = [r["id"] for r in chosen]
        atomic_write_text(out / name / "ids.txt", "".join(i + "\n" for i in ids))
        ov = overlap(ids, s1k_ids, domains)
        atomic_write_text(out / name / "overlap.json", json.dumps(ov, indent=2) + "\n")
        s = summary(chosen)
        info["selections"][name] = {"status": "run", "questions": s["questions"],
                                    "avg_thinking": round(s["avg_thinking_tokens"], 1),
                                    "overlap_with_published_s1k": {k: ov[k] for k in
                                                                   ("intersection", "ours_only", "published_only",
                                                                    "jaccard")}}
    atomic_write_text(out / "select.json", json.dumps(info, indent=2) + "\n")
    atomic_write_text(out / "select.md", select_markdown(info))
    return info


def summary_lengths(rows: list[dict[str, Any]]) -> dict[str, Any]:
    lengths = [r["thinking_tokens"] for r in rows if r.get("thinking_tokens") is not None]
    return {"with_trace": len(lengths), "avg_thinking": round(sum(lengths) / len(lengths), 1) if lengths else None,
            "total_thinking": sum(lengths)}


def select_markdown(info: Mapping[str, Any]) -> str:
    ov = info["s1k_vs_pool"]
    lines = [
        "# Review: selection on the published pool",
        "",
        f"Thinking length in **{info['thinking_unit']}**. Pool: {info['pool_rows']} rows. "
        f"Published s1K: {info['published_s1k']['rows']} rows, average thinking "
        f"{info['published_s1k']['avg_thinking']} ({info['thinking_unit']}; the paper: about 4.7K Qwen2.5 tokens).",
        "",
        f"Published s1K questions found in the published pool (by question hash): {ov['intersection']} of "
        f"{ov['published']}.",
        "",
    ]
    if info["missing_s1k_features"]:
        lines += [f"The pool lacks the s1K selection's features {info['missing_s1k_features']}: s1K cannot be "
                  "redrawn from it (it needs the MSC domains and the Qwen2.5 / teacher grades).", ""]
    if info.get("domain_stand_in"):
        lines += [f"`{info['domain_stand_in']}` stands in for the domain where a selection only tests that one "
                  "exists; per-domain overlap counts are per that column.", ""]
    lines += ["| selection | status | questions | avg thinking | in published s1K | jaccard |",
              "|---|---|---|---|---|---|"]
    for name, s in info["selections"].items():
        if s["status"] != "run":
            lines.append(f"| {name} | not run (missing {', '.join(s['missing_features'])}) |  |  |  |  |")
            continue
        o = s["overlap_with_published_s1k"]
        lines.append(f"| {name} | run | {s['questions']} | {s['avg_thinking']} | {o['intersection']} "
                     f"| {o['jaccard']} |")
    return "\n".join(lines) + "\n"
