"""How long does selecting s1K take on a paper-sized pool, and how much memory?

Builds a synthetic featurized pool shaped like the paper's 59K (arXiv 2501.19393v3 §2.2 for the
funnel counts, Table 7 for the sources): 16 sources with the paper's question counts and average
thinking lengths (lognormal per source), 50 domains with Zipf-like sizes, about 45% of
the questions hard (both attempt models wrong), a few % that fail the formatting filters,
and AIME / GPQA / MATH-style source types so that preselection keeps a few hundred. Then
times ``select_s1k`` for 1,000 questions (the issue's budget: at most 2 s) and the whole
``s1kit select`` stage function (parquet in, five files out), median of --repeats runs,
and the peak Python heap of one selection (tracemalloc) and the process's peak RSS.

    PYTHONHASHSEED=0 .venv/bin/python benchmarks/bench_select.py
    PYTHONHASHSEED=0 .venv/bin/python benchmarks/bench_select.py --pool 59029 --size 1000 --repeats 3 --seed 0

Both select.semantics are timed (notebook: config/s1.yaml's; kit: the tiny default's).
PYTHONHASHSEED: the stage refuses semantics notebook without a fixed one.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

from s1kit.records import question_hash, write_table
from s1kit.select import BenchmarkSource, SelectConfig, run, select_s1k

# (source, source_type prefix, questions in the paper's 59K, average thinking tokens)
SOURCES = [
    ("NuminaMATH", "AI-MO/NuminaMath-CoT/{sub}", 30660, 4100),
    ("MATH", "qfq/openaimath/{sub}", 11999, 2900),
    ("OlympicArena", "GAIR/OlympicArena/{sub}", 4250, 3200),
    ("OmniMath", "KbsdJames/Omni-MATH", 4238, 4400),
    ("AGIEval", "baber/agieval/{sub}", 2385, 1200),
    ("xword", "0xharib/xword1", 999, 700),
    ("OlympiadBench", "Hothan/OlympiadBench/{sub}", 896, 3900),
    ("AIME", "qq8933/AIME_1983_2024", 890, 4700),
    ("TheoremQA", "TIGER-Lab/TheoremQA/{sub}", 747, 2100),
    ("USACO", "codegenning/usacobench_formatted", 519, 3600),
    ("JEEBench", "daman1209arora/jeebench/{sub}", 515, 2900),
    ("GPQA", "Idavidrein/gpqa", 348, 2900),
    ("SciEval", "OpenDFM/SciEval/{sub}", 227, 700),
    ("s1-prob", "simplescaling/s1-prob", 182, 4000),
    ("LiveCodeBench", "LiveCodeBench/{sub}", 151, 3500),
    ("s1-teasers", "simplescaling/s1-teasers", 23, 4100),
]
SUBS = ["algebra", "geometry", "number_theory", "counting", "physics", "chem"]
MODELS = ("qwen7b", "qwen32b")
BAD_FORMATS = ["[asy] draw((0,0)--(1,1)); [/asy] ", "![Image](fig.png) ", "p1. first part p2. ", "find **12x** "]
# config/s1.yaml's select section (semantics notebook; the kit's variant is timed beside it).
CONFIG = SelectConfig(
    size=1000, seed=0, attempt_models=MODELS, semantics="notebook",
    benchmark_sources={"gpqa": BenchmarkSource(r"^Idavidrein/gpqa$", weight=0.5),
                       "aime": BenchmarkSource(r"^qq8933/AIME_1983_2024$")},
    long_source_pattern=r"qfq/openaimath", long_min_tokens=5600, keep_asy_pattern=r"AIME", uniform_until=700,
)


def synthetic_pool(n: int = 59029, domains: int = 50, seed: int = 0) -> list[dict]:
    """A featurized pool with realistic domain, length, difficulty and source mixes."""
    rng = np.random.default_rng(seed)
    counts = np.array([c for _, _, c, _ in SOURCES], dtype=float)
    per_source = np.floor(counts / counts.sum() * n).astype(int)
    per_source[0] += n - per_source.sum()
    zipf = 1.0 / np.arange(1, domains + 1)
    domain_names = [f"{i:02d} Domain {i}" for i in range(domains)]
    sigma = 0.6
    rows = []
    for (source, stype, _, mean), k in zip(SOURCES, per_source):
        mu = np.log(mean) - sigma**2 / 2  # lognormal with the source's mean
        tokens = np.clip(rng.lognormal(mu, sigma, k), 1, 20000).astype(int)
        dom = rng.choice(domains, size=k, p=zipf / zipf.sum())
        # longer traces are harder: P(hard) rises from ~0.25 to ~0.7 with the length's quantile
        hard = rng.random(k) < 0.25 + 0.45 * (np.argsort(np.argsort(tokens)) / max(1, k - 1))
        missing = rng.random(k) < 0.08  # API errors and missing features (59,029 -> 54,116)
        bad = rng.random(k) < 0.05
        teacher = rng.random(k) < np.where(hard, 0.35, 0.7)  # the teacher fails hard questions more often
        for i in range(k):
            q = f"{source} question {i}: " + (BAD_FORMATS[i % len(BAD_FORMATS)] if bad[i] else "") + "solve it."
            small_wrong = hard[i] or rng.random() < 0.5
            rows.append({
                "id": question_hash(q), "question": q, "source": source,
                "source_type": stype.format(sub=SUBS[i % len(SUBS)]), "domain": domain_names[dom[i]],
                "thinking": None if missing[i] else "...", "thinking_tokens": None if missing[i] else int(tokens[i]),
                "teacher_correct": bool(teacher[i]),
                "qwen7b_correct": not small_wrong, "qwen32b_correct": not hard[i],
            })
    return rows


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=59029, help="questions in the synthetic pool")
    ap.add_argument("--size", type=int, default=1000, help="select.size")
    ap.add_argument("--repeats", type=int, default=3, help="median of this many runs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic pool")
    args = ap.parse_args()

    t = time.perf_counter()
    rows = synthetic_pool(args.pool, seed=args.seed)
    built = time.perf_counter() - t
    print(f"synthetic pool: {len(rows):,} questions, {len({r['domain'] for r in rows})} domains, "
          f"built in {built:.1f} s (seed {args.seed})")
    with tempfile.TemporaryDirectory() as tmp:
        write_table(Path(tmp) / "featurized.parquet", rows)
        for semantics in ("notebook", "kit"):
            cfg = dataclasses.replace(CONFIG, size=args.size, semantics=semantics)
            secs, (selection, funnel) = timed(lambda: select_s1k(rows, cfg), args.repeats)
            tracemalloc.start()
            select_s1k(rows, cfg)
            heap = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            stage, _ = timed(lambda: run("s1K", Path(tmp) / "featurized.parquet", Path(tmp) / "s1K", cfg,
                                         Path(tmp) / "funnel.csv"), args.repeats)
            doms = Counter(r["domain"] for r in selection)
            print(f"[semantics {semantics}] funnel: " + ", ".join(f"{f['step']} {f['count']:,}" for f in funnel))
            print(f"  selection: {len(selection):,} questions over {len(doms)} domains, "
                  f"avg thinking {sum(r['thinking_tokens'] for r in selection) / len(selection):,.0f} tokens")
            print(f"  select_s1k ({args.size:,} of {len(rows):,}), median of {args.repeats}: {secs:.3f} s "
                  f"(budget 2 s: {'ok' if secs <= 2 else 'OVER'})")
            print(f"  s1kit select stage (parquet in; dataset, ids, composition, sources, summary out), median of "
                  f"{args.repeats}: {stage:.3f} s")
            print(f"  peak Python heap of one select_s1k (tracemalloc): {heap / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS of this process: {rss:.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
