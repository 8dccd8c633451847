"""s1kit.collect: raw sources -> decontaminated, deduplicated pool and its funnel."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from s1kit.collect import FUNNEL_COLUMNS, build_pool, source_kind, write_eval_set, write_source
from s1kit.decontaminate import NgramIndex
from s1kit.records import QUESTION_FIELDS, QUESTION_SCHEMA, make_question, read_jsonl, read_table, write_table

OFFICIAL_COLLECT = Path(__file__).resolve().parents[2] / "shared" / "official-s1" / "data" / "collect_data.py"


def _funnel(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for c in FUNNEL_COLUMNS[1:]:
            r[c] = int(r[c])
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("collect")
    eval_path = d / "eval" / "tiny_chains.jsonl"
    assert write_eval_set("tiny_chains", eval_path, n=40, seed=0) == 40
    raws, quars = [], []
    for name, n in (("tiny_math", 60), ("tiny_olympiad", 30), ("tiny_science", 40)):
        p, q = d / "raw" / f"{name}.parquet", d / "quarantine" / f"{name}.jsonl"
        write_source(name, p, q, n=n, seed=0, eval_paths=[str(eval_path)])
        raws.append(p)
        quars.append(q)
    info = build_pool(raws, [eval_path], d / "pool.parquet", d / "funnel_collect.csv",
                      d / "quarantine" / "contaminated.parquet", d / "quarantine" / "duplicates.parquet", quars)
    return d, raws, eval_path, info


def test_write_source_and_eval_set(built):
    d, raws, eval_path, _ = built
    evals = read_jsonl(eval_path)
    assert len(evals) == 40 and {"id", "question", "answer"} <= set(evals[0])
    t = read_table(raws[0], required=QUESTION_FIELDS)
    assert t.schema.equals(QUESTION_SCHEMA, check_metadata=False)
    # eval copies present in the raw data (verbatim) before decontamination
    eval_qs = {r["question"] for r in evals}
    assert any(q in eval_qs for q in t.column("question").to_pylist())


def test_contaminated_rows_quarantined(built):
    d, raws, eval_path, info = built
    index = NgramIndex([r["question"] for r in read_jsonl(eval_path)], n=8)
    pool = read_table(d / "pool.parquet", required=QUESTION_FIELDS).to_pylist()
    assert not any(index.overlaps(r["question"] or "") for r in pool)
    quarantined = read_table(d / "quarantine" / "contaminated.parquet", required=QUESTION_FIELDS).to_pylist()
    assert len(quarantined) == info["contaminated"]
    # each source carries 2 verbatim + 2 prefixed copies of eval questions
    assert info["contaminated"] >= 4 * len(raws)
    assert all(index.overlaps(r["question"]) for r in quarantined)
    # each dropped row names the eval item it matched, and that item really shares an 8-gram with it
    evals = {f"tiny_chains:{r['id']}": r["question"] for r in read_jsonl(eval_path)}
    for r in quarantined:
        assert NgramIndex([evals[r["matched_eval"]]], n=8).overlaps(r["question"]), r
    assert any(r["question"].startswith("Solve this chain: ") for r in quarantined)


def test_duplicates_dropped(built):
    d, _, _, info = built
    pool = read_table(d / "pool.parquet").to_pylist()
    ids = [r["id"] for r in pool]
    assert len(ids) == len(set(ids)) == info["pool"]
    dups = read_table(d / "quarantine" / "duplicates.parquet").to_pylist()
    assert len(dups) == info["duplicates"] >= 3 * 3
    assert {r["id"] for r in dups} <= set(ids)


def test_funnel_arithmetic(built):
    d, raws, _, info = built
    funnel = _funnel(d / "funnel_collect.csv")
    assert [r["source"] for r in funnel] == [p.stem for p in raws] + ["total"]
    per_source, total = funnel[:-1], funnel[-1]
    for c in FUNNEL_COLUMNS[1:]:
        assert total[c] == sum(r[c] for r in per_source), c
    for r in funnel:
        assert (r["loaded"] - r["quarantined"] - r["contaminated"] - r["cross_source"] - r["unselected"]
                - r["duplicates"] == r["kept"]), r
        assert r["quarantined"] == sum(r[c] for c in FUNNEL_COLUMNS if c.startswith("quarantined_"))
        # before decontamination: contaminated rows still count, duplicates do not
        assert r["kept"] <= r["deduplicated"] <= r["loaded"] - r["quarantined"] - r["duplicates"] + r["contaminated"]
    raw_total = sum(read_table(p).num_rows for p in raws)
    assert total["loaded"] == raw_total + info["quarantined"] and info["quarantined"] == 3  # one empty each
    assert total["kept"] == info["pool"]
    assert total["contaminated"] == info["contaminated"] and total["duplicates"] == info["duplicates"]
    quarantine = read_jsonl(d / "quarantine" / "tiny_math.jsonl")
    assert [(q["reason"], q["row"]["question"]) for q in quarantine] == [("empty_question", "")]


def test_cross_source_duplicate_charged_to_later_file(tmp_path):
    a = [make_question(f"{i} a+1 b+1", "s", "t", "math") for i in range(5)]
    b = [make_question("0 a+1 b+1", "s2", "t2", "math"), make_question("1 z-1", "s2", "t2", "math")]
    write_table(tmp_path / "first.parquet", a, schema=QUESTION_SCHEMA)
    write_table(tmp_path / "second.parquet", b, schema=QUESTION_SCHEMA)
    ev = tmp_path / "eval.jsonl"
    ev.write_text("")
    info = build_pool([tmp_path / "first.parquet", tmp_path / "second.parquet"], [ev],
                      tmp_path / "pool.parquet", tmp_path / "f.csv", tmp_path / "c.parquet", tmp_path / "d.parquet")
    assert info == {"pool": 6, "contaminated": 0, "duplicates": 1, "quarantined": 0}
    funnel = {r["source"]: r for r in _funnel(tmp_path / "f.csv")}
    assert (funnel["first"]["kept"], funnel["first"]["duplicates"]) == (5, 0)
    assert (funnel["second"]["kept"], funnel["second"]["duplicates"]) == (1, 1)
    assert (funnel["first"]["deduplicated"], funnel["second"]["deduplicated"]) == (5, 1)
    pool = read_table(tmp_path / "pool.parquet").to_pylist()
    assert [r["source"] for r in pool if r["question"] == "0 a+1 b+1"] == ["s"]  # first wins


@pytest.mark.skipif(not OFFICIAL_COLLECT.exists(), reason="../shared/official-s1 absent (official semantics reads it)")
def test_official_loop_switch(tmp_path):
    """collect.official_loop: published (the loop that built the published pool) drops nothing by
    n-grams; pinned drops the eval copy; a bad value is an error naming the key."""
    from s1kit.collect import CollectConfig

    words = " ".join(f"w{i}" for i in range(12))
    write_table(tmp_path / "src.parquet", [make_question(words, "s", "t", "math"),
                                           make_question("other words entirely here", "s", "t", "math")],
                schema=QUESTION_SCHEMA)
    ev = tmp_path / "eval.jsonl"
    ev.write_text('{"id": "0", "question": "' + words + '"}\n')
    kept = {}
    for loop in ("published", "pinned"):
        cfg = CollectConfig(semantics="official", official_loop=loop)
        out = tmp_path / loop
        info = build_pool([tmp_path / "src.parquet"], [ev], out / "pool.parquet", out / "f.csv", out / "c.parquet",
                          out / "d.parquet", config=cfg, official_collect=OFFICIAL_COLLECT)
        kept[loop] = (info["pool"], info["contaminated"])
    assert kept == {"published": (2, 0), "pinned": (1, 1)}
    assert CollectConfig(semantics="kit", official_loop="published").decontaminates  # kit always checks
    with pytest.raises(ValueError, match="collect.official_loop"):
        CollectConfig(official_loop="paper")


def test_malformed_raw_parquet_names_file(tmp_path):
    bad = tmp_path / "raw" / "broken_source.parquet"
    write_table(bad, [{"id": "x", "question": "q"}])  # no solution/metadata/... columns
    ev = tmp_path / "eval.jsonl"
    ev.write_text("")
    with pytest.raises(ValueError) as e:
        build_pool([bad], [ev], tmp_path / "pool.parquet", tmp_path / "f.csv", tmp_path / "c.parquet",
                   tmp_path / "d.parquet")
    assert str(bad) in str(e.value) and "metadata" in str(e.value)
    assert not (tmp_path / "pool.parquet").exists()  # nothing half-written


def test_unknown_source_suggests(tmp_path):
    with pytest.raises(KeyError, match="tiny_math"):
        write_source("tiny_mth", tmp_path / "x.parquet", tmp_path / "x.jsonl", n=5)
    with pytest.raises(KeyError, match="did you mean numinamath"):
        source_kind("numina_math")
    assert source_kind("numinamath") == "hub" and source_kind("tiny_math") == "synthetic"
    assert source_kind("aime24", eval_set=True) == "hub"
