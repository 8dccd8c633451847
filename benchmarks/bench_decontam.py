"""Decontamination + dedup of a 59K-question pool: the kit beside the official approach.

Builds a synthetic pool of 59,029 questions with realistic word counts (lognormal, median
about 55 words, a long tail to 2,000; Zipf-distributed vocabulary) and eval sets shaped
like the paper's (AIME24 and MATH500 from ../shared/data when present, plus synthetic
AIME25 30, GPQA Diamond 198 and LiveCodeBench v4 713 long problems), with 300 planted
contaminations. Each method runs in its own process on one core so that its peak RSS is
its own:

- kit: s1kit.decontaminate (eval n-grams hashed into one dict, the pool streamed) and
  exact dedup, as ``s1kit collect-pool`` runs them;
- official: a plain implementation of the official dictionary-of-n-gram-sets approach
  (a dict n-gram string -> set of document ids for the eval sets *and* for the pool,
  then a lookup per pool n-gram), with the same dedup.

Both must drop the same questions. Prints seconds, peak RSS and the ratios.

    .venv/bin/python benchmarks/bench_decontam.py
    .venv/bin/python benchmarks/bench_decontam.py --pool 59029 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def corpus(pool: int, seed: int) -> tuple[list[str], list[str]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    lengths = np.clip(rng.lognormal(np.log(55), 0.8, size=pool).astype(int), 5, 2000)
    ranks = (np.minimum(rng.zipf(1.2, size=int(lengths.sum()) + 400_000), 20_000) - 1).astype(np.int32)

    pos = 0

    def text(n_words: int) -> str:
        nonlocal pos
        if pos + n_words > len(ranks):
            pos = 0
        words = vocab[ranks[pos:pos + n_words]]
        pos += n_words
        return " ".join(words)

    evals: list[str] = []
    for name in ("aime24/aime24_nofigures.jsonl", "math500/test.jsonl"):
        path = SHARED / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                evals.append(r.get("problem") or r.get("question") or "")
    n_real = len(evals)
    evals += [text(int(rng.integers(40, 120))) for _ in range(30)]  # AIME25
    evals += [text(int(rng.integers(60, 250))) for _ in range(198)]  # GPQA Diamond
    evals += [text(int(rng.integers(200, 700))) for _ in range(713)]  # LiveCodeBench v4
    questions = [text(int(k)) for k in lengths]
    r = random.Random(seed)
    for i in r.sample(range(pool), min(300, pool)):  # planted: an eval question inside a longer text
        questions[i] = f"Consider the following. {r.choice(evals)} Explain."
    for i in r.sample(range(pool), min(200, pool)):  # exact duplicates
        questions[i] = questions[(i + 1) % pool]
    print(f"# corpus: {pool:,} questions, {sum(len(q.split()) for q in questions):,} words; "
          f"{len(evals):,} eval questions ({n_real} real)", file=sys.stderr)
    return questions, evals


def run_kit(questions: list[str], evals: list[str]) -> list[int]:
    from s1kit.decontaminate import NgramIndex, dedup, split_contaminated
    from s1kit.records import question_hash

    index = NgramIndex(evals, n=8)
    rows = [{"id": question_hash(q), "question": q, "i": i} for i, q in enumerate(questions)]
    keep, _ = split_contaminated(rows, index)
    kept, _ = dedup(keep)
    return [r["i"] for r in kept]


def _official_lookup(docs: list[str], n: int) -> dict[str, set[int]]:
    lookup: dict[str, set[int]] = defaultdict(set)
    for doc_id, doc in enumerate(docs):
        w = doc.lower().split()
        for i in range(len(w) - n + 1):
            lookup[" ".join(w[i:i + n])].add(doc_id)
    return lookup


def run_official(questions: list[str], evals: list[str]) -> list[int]:
    from s1kit.records import question_hash

    n = 8
    eval_lookup = _official_lookup(evals, n)
    pool_lookup = _official_lookup(questions, n)  # the official script indexes the training side too
    contaminated: set[int] = set()
    for gram, ids in pool_lookup.items():
        if gram in eval_lookup:
            contaminated |= ids
    seen, kept = set(), []
    for i, q in enumerate(questions):
        if i in contaminated:
            continue
        h = question_hash(q)
        if h not in seen:
            seen.add(h)
            kept.append(i)
    return kept


def child(method: str, pool: int, seed: int) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    questions, evals = corpus(pool, seed)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    kept = (run_kit if method == "kit" else run_official)(questions, evals)
    seconds = time.perf_counter() - t0
    print(json.dumps({"method": method, "seconds": seconds, "kept": len(kept), "kept_hash": hash(tuple(kept)),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_before_mb": before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=59_029)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", choices=["kit", "official"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.pool, a.seed)
    results = {}
    for method in ("kit", "official"):
        out = subprocess.run([sys.executable, __file__, "--child", method, "--pool", str(a.pool), "--seed",
                              str(a.seed)], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": "0"})
        results[method] = json.loads(out.stdout)
    kit, off = results["kit"], results["official"]
    assert (kit["kept"], kit["kept_hash"]) == (off["kept"], off["kept_hash"]), "methods disagree"
    print(f"pool {a.pool:,} questions; both keep {kit['kept']:,} (same questions)")
    print(f"{'method':<10}{'seconds':>10}{'peak RSS MB':>14}{'of which corpus+interpreter':>30}")
    for m in ("kit", "official"):
        r = results[m]
        print(f"{m:<10}{r['seconds']:>10.2f}{r['peak_rss_mb']:>14.0f}{r['rss_before_mb']:>30.0f}")
    growth = {m: results[m]["peak_rss_mb"] - results[m]["rss_before_mb"] for m in results}
    print(f"ratio official/kit: time {off['seconds'] / kit['seconds']:.1f}x, peak RSS "
          f"{off['peak_rss_mb'] / kit['peak_rss_mb']:.1f}x (growth above the corpus: "
          f"{growth['official']:.0f} MB vs {growth['kit']:.0f} MB)")


if __name__ == "__main__":
    main()
