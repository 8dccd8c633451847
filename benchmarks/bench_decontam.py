"""Decontamination of a 59K pool with the cross-source check: the official functions beside the kit.

A synthetic pool of 59,029 questions in 16 sources of the paper's sizes and order
(lognormal word counts, median about 55 words, a long tail to 2,000; Zipf-distributed
vocabulary), with planted eval copies, near-duplicates of earlier sources' questions and
exact duplicates, against eval sets shaped like the four official test sets (AIME24 and
MATH500 from ../shared/data when present, synthetic GPQA Diamond 198 and LiveCodeBench
release_v4 713). Each method runs in its own process, pinned to one core, so that its peak
RSS is its own:

- official: data/collect_data.py:387 (decontaminate_train_data), imported from the pinned
  file in ../shared/official-s1 (it calls data/decontaminate_util.py:27 (build_ngram_lookup)
  and data/decontaminate_util.py:41 (find_contaminated_questions)), called per source as the
  main block does, each source's kept questions added to the test questions before the next
  (data/collect_data.py:475 (test_questions)), then the exact dedup of
  data/collect_data.py:482 (is_unique);
- kit: s1kit.collect.build_pool under collect.semantics official on the same sources written
  as raw parquet (reading and writing its files included).

Both must keep the same questions. Prints seconds, peak RSS and the ratios.

    .venv/bin/python benchmarks/bench_decontam.py
    .venv/bin/python benchmarks/bench_decontam.py --pool 59029 --seed 0
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OFFICIAL_DATA = SHARED / "official-s1" / "data"
# The paper's per-source counts, in the official order (data/collect_data.py:405 (DS_TO_SELECTION))
SIZES = {"math": 11_999, "olympicarena": 4_250, "theoremqa": 747, "numinamath": 30_660, "omnimath": 4_238,
         "scieval": 227, "olympiadbench": 896, "jeebench": 515, "agieval": 2_385, "s1_prob": 182, "gpqa": 348,
         "xword": 999, "usaco": 519, "s1_teasers": 23, "livecodebench": 151}


def corpus(pool: int, seed: int) -> tuple[dict[str, list[str]], list[str]]:
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
        path = SHARED / "data" / name
        if path.exists():
            evals += [json.loads(line).get("problem", "") for line in path.read_text(encoding="utf-8").splitlines()]
    evals += [text(int(rng.integers(60, 250))) for _ in range(198)]  # GPQA Diamond
    evals += [text(int(rng.integers(200, 700))) for _ in range(713)]  # LiveCodeBench release_v4
    questions = [text(int(k)) for k in lengths]
    r = random.Random(seed)
    for i in r.sample(range(pool), min(300, pool)):  # planted: an eval question inside a longer text
        questions[i] = f"Consider the following. {r.choice(evals)} Explain."
    for i in r.sample(range(pool), min(200, pool)):  # exact duplicates
        questions[i] = questions[(i + 1) % pool]
    for i in r.sample(range(pool // 2, pool), min(300, pool // 2)):  # near-duplicates of earlier questions
        words = questions[r.randrange(pool // 2)].split()
        questions[i] = " ".join(["Restated:"] + words[1:] + ["again."])
    scale = pool / sum(SIZES.values())
    sources, start = {}, 0
    for k, (name, size) in enumerate(SIZES.items()):
        end = pool if k == len(SIZES) - 1 else start + max(1, round(size * scale))
        sources[f"s{k:02d}_{name}"] = questions[start:end]  # not the hub names: no sampling, plain sources
        start = end
    print(f"# corpus: {pool:,} questions in {len(sources)} sources, {sum(len(q.split()) for q in questions):,} "
          f"words; {len(evals):,} eval questions", file=sys.stderr)
    return sources, evals


def run_official(sources: dict[str, list[str]], evals: list[str]) -> list[str]:
    import datasets

    import collect_data  # the pinned file (imported before the clock starts): its definitions only

    test_questions = list(evals)
    kept: list[str] = []
    with contextlib.redirect_stdout(sys.stderr):  # the official progress output
        for questions in sources.values():
            ds = datasets.Dataset.from_dict({"question": questions})
            ds = collect_data.decontaminate_train_data(ds["question"], test_questions, ds, ngram_size=8)
            test_questions += ds["question"]
            kept += ds["question"]
    seen: set[str] = set()  # data/collect_data.py:482 (is_unique)
    return [q for q in kept if not (q in seen or seen.add(q))]


def run_kit(names: list[str], tmp: Path) -> list[str]:
    from s1kit.collect import CollectConfig, build_pool
    from s1kit.records import read_table

    cfg = CollectConfig(semantics="official", ngram=8, seed=42)
    build_pool([tmp / f"{name}.parquet" for name in names], [tmp / "eval.jsonl"], tmp / "pool.parquet",
               tmp / "funnel.csv", tmp / "cont.parquet", tmp / "dups.parquet", config=cfg,
               official_collect=OFFICIAL_DATA / "collect_data.py")
    return read_table(tmp / "pool.parquet", ["question"]).column("question").to_pylist()


def prepare(pool: int, seed: int, tmp: Path) -> None:
    """The inputs both methods read: one raw parquet per source (the collect_source output) and the eval set."""
    from s1kit.records import QUESTION_SCHEMA, make_question, write_jsonl, write_table

    sources, evals = corpus(pool, seed)
    for name, questions in sources.items():
        write_table(tmp / f"{name}.parquet", [make_question(q, name, name, "math") for q in questions],
                    schema=QUESTION_SCHEMA)
    write_jsonl(tmp / "eval.jsonl", [{"id": str(i), "question": q} for i, q in enumerate(evals)])
    (tmp / "names.json").write_text(json.dumps(list(sources)))


def read_inputs(tmp: Path) -> tuple[dict[str, list[str]], list[str]]:
    import pyarrow.parquet as pq

    names = json.loads((tmp / "names.json").read_text())
    sources = {n: pq.read_table(tmp / f"{n}.parquet", columns=["question"]).column(0).to_pylist() for n in names}
    evals = [json.loads(line)["question"] for line in (tmp / "eval.jsonl").read_text(encoding="utf-8").splitlines()]
    return sources, evals


def child(method: str, tmp: Path) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    names = json.loads((tmp / "names.json").read_text())
    inputs = read_inputs(tmp) if method == "official" else None
    if method == "kit":
        import s1kit.collect  # noqa: F401  (imports before the clock, as for the official side)
    else:
        sys.path.insert(0, str(OFFICIAL_DATA))
        import collect_data  # noqa: F401
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    kept = run_kit(names, tmp) if method == "kit" else run_official(*inputs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    digest = hashlib.sha256("\n".join(sorted(kept)).encode()).hexdigest()
    (tmp / f"{method}.json").write_text(json.dumps({
        "method": method, "seconds": seconds, "cpu_seconds": cpu, "kept": len(kept), "kept_sha": digest,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=59_029)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", choices=["prepare", "kit", "official"], help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child == "prepare":
        return prepare(a.pool, a.seed, Path(a.dir))
    if a.child:
        return child(a.child, Path(a.dir))
    if not (OFFICIAL_DATA / "collect_data.py").exists():
        sys.exit(f"{OFFICIAL_DATA}: the pinned official files are needed (../shared/official-s1)")
    results = {}
    with tempfile.TemporaryDirectory() as d:
        for step in ("prepare", "kit", "official"):  # each in a fresh process: its peak RSS is its own
            subprocess.run([sys.executable, __file__, "--child", step, "--pool", str(a.pool), "--seed", str(a.seed),
                            "--dir", d], check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"})
        results = {m: json.loads((Path(d) / f"{m}.json").read_text()) for m in ("kit", "official")}
    kit, off = results["kit"], results["official"]
    assert (kit["kept"], kit["kept_sha"]) == (off["kept"], off["kept_sha"]), f"methods disagree: {results}"
    print(f"pool {a.pool:,} questions in {len(SIZES)} decontaminated sources (AIME is appended); "
          f"both keep {kit['kept']:,} (the same questions)")
    print(f"{'method':<10}{'wall s':>10}{'CPU s':>10}{'peak RSS MB':>14}{'before the run MB':>20}")
    for m in ("kit", "official"):
        r = results[m]
        print(f"{m:<10}{r['seconds']:>10.2f}{r['cpu_seconds']:>10.2f}{r['peak_rss_mb']:>14.0f}"
              f"{r['rss_before_mb']:>20.0f}")
    print(f"ratio official/kit: wall time {off['seconds'] / kit['seconds']:.1f}x, CPU time "
          f"{off['cpu_seconds'] / kit['cpu_seconds']:.1f}x, peak RSS {off['peak_rss_mb'] / kit['peak_rss_mb']:.1f}x")


if __name__ == "__main__":
    main()
