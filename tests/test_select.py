"""s1kit.select: the s1K funnel, domain-diverse 2^-rank sampling, ablations, outputs."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest

import s1kit.select as sel
from s1kit import cli
from s1kit.records import question_hash, read_table, write_table
from s1kit.select import (
    BenchmarkSource,
    SelectConfig,
    by_length,
    composition,
    format_ok,
    group_counts,
    has_features,
    is_hard,
    is_preselected,
    overlap,
    read_ids,
    run,
    run_overlap,
    sample_domains,
    select_ablation,
    select_s1k,
    summary,
)

MODELS = ("small", "big")
BENCH = {"aime": BenchmarkSource(r"aime"), "gpqa": BenchmarkSource(r"gpqa", weight=0.5)}


def cfg(**kw) -> SelectConfig:
    base = dict(size=10, seed=0, attempt_models=MODELS, benchmark_sources=BENCH, long_source_pattern=r"^math",
                long_min_tokens=100, keep_asy_pattern=r"aime", uniform_until=5)
    base.update(kw)
    return SelectConfig(**base)


_counter = iter(range(10**9))


def row(question=None, *, source_type="other", domain="D0", tokens=10, teacher=True, small=False, big=False,
        thinking="t", rid=None):
    n = next(_counter)
    return {"id": rid or f"r{n:06d}", "question": question if question is not None else f"question {n}",
            "source_type": source_type, "domain": domain, "thinking": thinking, "thinking_tokens": tokens,
            "teacher_correct": teacher, "small_correct": small, "big_correct": big}


# ---- the funnel ---------------------------------------------------------------------


def funnel_rows():
    """Rows labelled by the funnel step that should drop them (None = survives to sampling)."""
    return [
        # features
        (row(thinking=None, tokens=None, teacher=None), "with_features"),
        (row(domain=None), "with_features"),
        (row(small=None), "with_features"),
        (row(big=None), "with_features"),
        # format
        (row("see [asy] draw((0,0)); [/asy] and solve", source_type="math"), "after_format"),
        (row("![image](x.png) what is shown", source_type="math"), "after_format"),  # case-insensitive
        (row("p1. do this p2. do that"), "after_format"),
        (row("p123. last part"), "after_format"),
        (row("compute **12** squared"), "after_format"),
        (row("[asy] draw((0,0)); [/asy] ![Image](y.png)", source_type="aime_1983_2021"), "after_format"),
        (row("[asy] draw((0,0)); [/asy] find the area", source_type="qq8933/AIME_1983_2024", teacher=False,
             domain="D1", tokens=40), None),  # asy kept for the keep_asy source
        (row("a **bold** word, no digits"), None),
        (row("top1. is not an enumeration"), None),
        # difficulty
        (row(small=True), "after_difficulty"),
        (row(big=True), "after_difficulty"),
        (row(small=True, big=True, source_type="aime"), "after_difficulty"),
        # preselection (teacher-correct benchmark rows; teacher-correct long rows of the long source)
        (row(source_type="AIME", domain="D1", tokens=30), "preselected"),
        (row(source_type="gpqa_diamond_train", domain="D2", tokens=20), "preselected"),
        (row(source_type="math/level5", domain="D3", tokens=101), "preselected"),
        (row(source_type="math/level5", domain="D3", tokens=100), None),  # not longer than long_min_tokens
        (row(source_type="math/level5", domain="D3", tokens=500, teacher=False), None),
        (row(source_type="gpqa", domain="D2", teacher=False), None),
        (row(source_type="olympiad_math", domain="D3", tokens=900), None),  # pattern anchored: not the long source
        # plain rows
        *[(row(domain=f"D{i % 4}", tokens=5 + i), None) for i in range(8)],
    ]


def test_funnel_counts_and_filters():
    labelled = funnel_rows()
    rows = [r for r, _ in labelled]
    selection, funnel = select_s1k(rows, cfg(size=8))
    counts = {f["step"]: f["count"] for f in funnel}
    assert list(counts) == ["collected", "with_features", "after_format", "after_difficulty", "preselected",
                            "selected"]
    dropped = Counter(step for _, step in labelled)
    n = len(rows)
    assert counts["collected"] == n
    assert counts["with_features"] == n - dropped["with_features"]
    assert counts["after_format"] == counts["with_features"] - dropped["after_format"]
    assert counts["after_difficulty"] == counts["after_format"] - dropped["after_difficulty"]
    assert counts["preselected"] == dropped["preselected"] == 3
    assert counts["selected"] == len(selection) == 8
    assert all(f["description"] for f in funnel)
    # preselected rows come first, longest first
    pre = [r for r, step in labelled if step == "preselected"]
    assert selection[:3] == by_length(pre)
    allowed = {r["id"] for r, step in labelled if step in (None, "preselected")}
    assert {r["id"] for r in selection} <= allowed
    assert len({r["id"] for r in selection}) == len(selection)


def test_funnel_takes_everything_when_size_is_the_pool():
    labelled = funnel_rows()
    rows = [r for r, _ in labelled]
    survivors = {r["id"] for r, step in labelled if step in (None, "preselected")}
    selection, funnel = select_s1k(rows, cfg(size=len(survivors)))
    assert {r["id"] for r in selection} == survivors
    assert funnel[-1]["count"] == len(survivors)


def test_size_larger_than_eligible_pool_errors():
    labelled = funnel_rows()
    rows = [r for r, _ in labelled]
    eligible = sum(step in (None, "preselected") for _, step in labelled)
    with pytest.raises(ValueError, match=rf"select.size={eligible + 1} but only {eligible} questions are eligible"):
        select_s1k(rows, cfg(size=eligible + 1))
    with pytest.raises(ValueError, match=r"select.size=1000 .*difficulty"):
        select_s1k(rows, cfg(size=1000))


def test_format_filters_individually():
    c = cfg()
    assert not format_ok(row("[asy] x"), c)
    assert format_ok(row("[asy] x", source_type="AIME 2020"), c)
    assert not format_ok(row("[asy] x", source_type="AIME 2020"), cfg(keep_asy_pattern=""))
    assert not format_ok(row("look ![IMAGE](a)"), c)
    assert not format_ok(row("p7. first"), c)
    assert format_ok(row("p1000. is four digits"), c)
    assert not format_ok(row("**x=3**"), c)
    assert format_ok(row("**note** nothing numeric"), c)
    assert format_ok(row(""), c) and format_ok(dict(row(), question=None), c)


def test_preselection_larger_than_size_errors():
    rows = [row(source_type="aime", domain="D1", tokens=i + 1) for i in range(5)] + [row() for _ in range(5)]
    with pytest.raises(ValueError, match=r"5 questions preselected, more than select.size=4"):
        select_s1k(rows, cfg(size=4))


def test_config_validation():
    with pytest.raises(ValueError, match="domain_sampling"):
        SelectConfig(domain_sampling="random")
    with pytest.raises(ValueError, match="select.semantics"):
        SelectConfig(semantics="official")
    assert SelectConfig().semantics == "kit"
    with pytest.raises(ValueError, match="select.size"):
        SelectConfig(size=0)


# ---- semantics notebook (hand-worked; tests/test_select_notebook.py runs the notebook itself) --


def test_notebook_semantics_format_filters():
    """data/filter.ipynb cell 7 (no_weird_string): plain-text tests; AIME [asy] kept whatever fires."""
    c = cfg(semantics="notebook", keep_asy_pattern="AIME")
    assert not format_ok(row("step3. then"), c) and format_ok(row("step3. then"), cfg())  # "p3." occurs
    assert format_ok(row("part p01. x"), c) and not format_ok(row("part p01. x"), cfg())  # no "p1."
    assert format_ok(row("see ![image](a)"), c) and not format_ok(row("see ![image](a)"), cfg())
    assert not format_ok(row("see ![Image](a)"), c)
    assert not format_ok(row("p999. x"), c) and format_ok(row("p1000 x"), c) and format_ok(row("p0. x"), c)
    aime = dict(source_type="qq8933/AIME_1983_2024")
    assert format_ok(row("[asy] x [/asy] p1. and **12**", **aime), c)  # the exemption covers every filter
    assert not format_ok(row("p1. without a figure", **aime), c)
    assert not format_ok(row("[asy] x", source_type="aime_mirror"), c)  # case-sensitive 'AIME' in source_type
    assert format_ok(row("[asy] x", source_type="aime_mirror"), cfg(keep_asy_pattern="AIME"))  # kit: any case


def test_notebook_semantics_needs_the_teacher_grade():
    """data/filter.ipynb cell 4 (no_nans): every feature, the teacher grade too."""
    r = row(teacher=None)
    assert has_features(r, cfg()) and not has_features(r, cfg(semantics="notebook"))


def test_notebook_semantics_benchmark_weights():
    """data/filter.ipynb cell 17 (enlarge_ratio), worked by hand. Hard AIME rows: A x3, B x1
    (total 4); hard GPQA rows: A x2, C x4 (total 6), teacher grade ignored. Ratio 0.5 x 4 / 6;
    GPQA: A int(0.67) = 0, C int(1.33) = 1. gpqa + aime: A 0 + 3, C 1, then B 1."""
    c = cfg(semantics="notebook", benchmark_sources={"gpqa": BenchmarkSource("gpqa", 0.5),
                                                     "aime": BenchmarkSource("aime", 1.0)})
    hard = ([row(source_type="aime", domain=d, teacher=False) for d in "AAAB"]
            + [row(source_type="gpqa", domain=d) for d in "AACCCC"] + [row(domain="Z")])
    domains, weights = sel.notebook_benchmark_weights(hard, c)
    assert domains == ["A", "C", "B"]
    assert weights.tolist() == [3 / 5, 1 / 5, 1 / 5]
    # a GPQA domain truncated to 0 and absent from AIME is dropped (Counter's +)
    domains, _ = sel.notebook_benchmark_weights(hard + [row(source_type="gpqa", domain="Q")], c)
    assert domains == ["A", "C", "B"]


def test_notebook_semantics_pools_keep_the_preselected():
    """data/filter.ipynb cell 21 (selected_qhash): a draw of a preselected question adds nothing.
    One domain of 3 rows, 2 preselected (the longest): size 3 needs every row, so the loop
    keeps drawing until the third is picked, in pool order at the end (cell 22)."""
    rows = [row(domain="D", tokens=5, rid="x"), row(source_type="aime", domain="D", tokens=30, rid="a"),
            row(source_type="aime", domain="D", tokens=20, rid="b")]
    c = cfg(semantics="notebook", size=3, uniform_until=100)
    selection, funnel = select_s1k(rows, c)
    assert [r["id"] for r in selection] == ["x", "a", "b"]
    assert [f["count"] for f in funnel][-2:] == [2, 3]


# ---- determinism --------------------------------------------------------------------


def big_pool(n=400, domains=12, seed=0):
    rng = np.random.default_rng(seed)
    return [row(domain=f"D{int(rng.integers(domains))}", tokens=int(rng.integers(1, 1000)),
                source_type="aime" if i % 40 == 0 else "other", small=bool(rng.random() < 0.2))
            for i in range(n)]


def test_same_seed_same_selection_different_seed_differs():
    rows = big_pool()
    a, _ = select_s1k(rows, cfg(size=60, seed=1))
    b, _ = select_s1k([dict(r) for r in rows], cfg(size=60, seed=1))
    c, _ = select_s1k(rows, cfg(size=60, seed=2))
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert [r["id"] for r in a] != [r["id"] for r in c]
    assert {r["id"] for r in a} != {r["id"] for r in c}
    for name in ("1K-random", "1K-diverse"):
        x = select_ablation(name, rows, cfg(size=60, seed=1))
        assert [r["id"] for r in x] == [r["id"] for r in select_ablation(name, rows, cfg(size=60, seed=1))]
        assert [r["id"] for r in x] != [r["id"] for r in select_ablation(name, rows, cfg(size=60, seed=2))]


def test_input_order_of_equal_rows_does_not_matter_for_longest():
    rows = big_pool()
    assert [r["id"] for r in select_ablation("1K-longest", rows, cfg(size=50))] == \
        [r["id"] for r in select_ablation("1K-longest", rows[::-1], cfg(size=50))]


# ---- domain sampling ----------------------------------------------------------------


def domain_pool(per_domain=30, domains=10):
    return [row(domain=f"D{d}", tokens=t + 1) for d in range(domains) for t in range(per_domain)]


def test_notebook_sampling_switches_to_benchmark_domains():
    rows = domain_pool()
    picked = sample_domains(rows, 25, np.random.default_rng(0), length_weighted=True, uniform_until=10,
                            already=0, domain_weights={"D3": 1.0})
    assert len(picked) == 25
    assert all(r["domain"] == "D3" for r in picked[10:])
    assert Counter(r["domain"] for r in picked[:10])["D3"] < 10
    # `already` counts the preselected questions toward uniform_until
    picked = sample_domains(rows, 10, np.random.default_rng(0), length_weighted=True, uniform_until=10,
                            already=6, domain_weights={"D3": 1.0})
    assert all(r["domain"] == "D3" for r in picked[4:])


def test_uniform_sampling_ignores_weights():
    rows = domain_pool()
    picked = sample_domains(rows, 100, np.random.default_rng(0), length_weighted=True, uniform_until=None,
                            domain_weights={"D3": 1.0})
    share = Counter(r["domain"] for r in picked)["D3"] / len(picked)
    assert share < 0.25  # ~1/10, not all


def test_benchmark_weights_follow_source_weights():
    """GPQA domains get half the weight of AIME domains after uniform_until."""
    rows = domain_pool(per_domain=400, domains=4)
    weights = {"D0": 1.0, "D1": 0.5}
    picked = sample_domains(rows, 600, np.random.default_rng(0), length_weighted=True, uniform_until=0,
                            domain_weights=weights)
    c = Counter(r["domain"] for r in picked)
    assert set(c) == {"D0", "D1"}
    assert 1.6 < c["D0"] / c["D1"] < 2.5


def test_kit_semantics_builds_weights_from_preselected_benchmarks(monkeypatch):
    """semantics kit only: each preselected benchmark row adds its source's weight to its
    domain (semantics notebook: test_notebook_semantics_benchmark_weights)."""
    seen = {}
    real = sel.sample_domains

    def spy(*a, **kw):
        seen.update(kw)
        return real(*a, **kw)

    monkeypatch.setattr(sel, "sample_domains", spy)
    rows = [row(source_type="aime", domain="A"), row(source_type="aime", domain="A"),
            row(source_type="gpqa", domain="G"), row(source_type="gpqa", domain="A"),
            row(source_type="aime", domain="X", teacher=False)] + domain_pool(5, 3)
    select_s1k(rows, cfg(size=10, semantics="kit"))
    assert seen["domain_weights"] == {"A": 2.5, "G": 0.5}
    assert seen["already"] == 4 and seen["uniform_until"] == 5
    select_s1k(rows, cfg(size=10, domain_sampling="uniform"))
    assert seen["uniform_until"] is None


def test_notebook_vs_uniform_through_select_s1k():
    rows = [row(source_type="aime", domain="B", tokens=1000)]  # one benchmark question in domain B
    rows += domain_pool(per_domain=40, domains=8)
    rows += [row(domain="B", tokens=t + 1) for t in range(60)]
    nb, _ = select_s1k(rows, cfg(size=50, uniform_until=10))
    un, _ = select_s1k(rows, cfg(size=50, uniform_until=10, domain_sampling="uniform"))
    assert all(r["domain"] == "B" for r in nb[10:])
    assert Counter(r["domain"] for r in un)["B"] < 20


def test_two_to_the_minus_rank_favours_longest():
    rows = [row(domain="D", tokens=t) for t in range(10, 0, -1)]  # tokens 10 (rank 0) .. 1 (rank 9)
    rng = np.random.default_rng(0)
    n = 4000
    first = Counter(sample_domains(rows, 1, rng, length_weighted=True)[0]["thinking_tokens"] for _ in range(n))
    assert abs(first[10] / n - 0.5) < 0.03
    assert abs(first[9] / n - 0.25) < 0.03
    assert abs(first[8] / n - 0.125) < 0.02
    assert first[10] > first[9] > first[8] > first[7]
    flat = Counter(sample_domains(rows, 1, rng, length_weighted=False)[0]["thinking_tokens"] for _ in range(n))
    assert all(abs(flat[t] / n - 0.1) < 0.03 for t in range(1, 11))


def test_exhausted_domains_removed():
    rows = [row(domain="small", tokens=1)] + [row(domain="big", tokens=t + 1) for t in range(20)]
    picked = sample_domains(rows, 21, np.random.default_rng(0), length_weighted=True)
    assert len(picked) == 21 and len({r["id"] for r in picked}) == 21
    assert sample_domains(rows, 100, np.random.default_rng(0), length_weighted=False).__len__() == 21
    # once the only weighted domain is exhausted, sampling goes back to uniform instead of failing
    picked = sample_domains(rows, 21, np.random.default_rng(0), length_weighted=True, uniform_until=0,
                            domain_weights={"small": 1.0})
    assert picked[0]["domain"] == "small" and len(picked) == 21
    assert sample_domains([], 5, np.random.default_rng(0), length_weighted=True) == []


# ---- ablations ----------------------------------------------------------------------


def ablation_pool():
    rows = [row(domain="big", tokens=t + 1, small=t % 3 == 0) for t in range(100)]
    rows += [row(domain=f"rare{i}", tokens=1000 + i) for i in range(5)]
    rows += [row("[asy] x", domain="big", tokens=5000), row(domain="big", tokens=6000, thinking=None)]
    return rows


def test_ablation_1k_random():
    rows = ablation_pool()
    out = select_ablation("1K-random", rows, cfg(size=30))
    assert len(out) == len({r["id"] for r in out}) == 30
    assert all(r["thinking"] is not None and "[asy]" not in r["question"] for r in out)
    # no difficulty filter for the ablations: all 105 quality rows, solved ones included
    assert any(r["small_correct"] for r in select_ablation("1K-random", rows, cfg(size=105)))
    assert len(select_ablation("1K-random", rows, cfg(size=105))) == 105


@pytest.mark.parametrize("name", ["1K-random", "1K-diverse", "1K-longest"])
def test_ablation_size_larger_than_quality_pool_errors(name):
    with pytest.raises(ValueError, match=rf"select.size=106 but only 105 questions are eligible .*{name}"):
        select_ablation(name, ablation_pool(), cfg(size=106))


def test_ablation_1k_diverse_spreads_over_domains():
    rows = ablation_pool()
    diverse = select_ablation("1K-diverse", rows, cfg(size=20))
    rand = select_ablation("1K-random", rows, cfg(size=20))
    rare = lambda sel_: sum(r["domain"].startswith("rare") for r in sel_)  # noqa: E731
    assert rare(diverse) >= 4 and rare(rand) <= 3


def test_ablation_1k_longest():
    rows = ablation_pool()
    out = select_ablation("1K-longest", rows, cfg(size=7))
    assert [r["thinking_tokens"] for r in out] == [1004, 1003, 1002, 1001, 1000, 100, 99]  # [asy] and featureless out


def test_ablation_59k_full():
    rows = ablation_pool()
    out = select_ablation("59K-full", rows, cfg(size=3))
    assert len(out) == len(rows) - 1  # every row with features, no size cap
    assert [r["id"] for r in out] == [r["id"] for r in rows if r["thinking"] is not None]


def test_ablation_59k_full_notebook_is_every_row_with_a_teacher_trace(tmp_path):
    """semantics notebook (config/s1.yaml): 59K-full is the published data_ablation_full59K, every
    question with a teacher trace (data/filter.ipynb cell 4 (geminiall) starts from 58,986 of 59,029),
    rows without grades, a teacher grade or a domain included; only the trace-less row is out."""
    rows = ablation_pool()
    rows += [row(domain=None), row(teacher=None), {**row(), "small_correct": None}]
    out = select_ablation("59K-full", rows, cfg(size=3, semantics="notebook"))
    assert [r["id"] for r in out] == [r["id"] for r in rows if r["thinking"] is not None]
    assert len(out) == len(rows) - 1
    kit = select_ablation("59K-full", rows, cfg(size=3))  # the kit keeps rows with every feature
    assert len(kit) == len(out) - 2  # the domain-less and the grade-less rows (teacher grade is not a kit feature)
    from s1kit.select import write_selection

    info = write_selection(tmp_path / "full", out)  # a domain-less row is written, grouped as (none)
    assert info["questions"] == len(out) and "(none)" in (tmp_path / "full" / "composition.csv").read_text()


def test_unknown_selection():
    with pytest.raises(KeyError, match="1K-random"):
        select_ablation("1K-rand", ablation_pool(), cfg())


# ---- outputs ------------------------------------------------------------------------


def test_composition_and_summary():
    s = [row(domain="A", tokens=10, source_type="x"), row(domain="B", tokens=5, source_type="y", teacher=False),
         row(domain="A", tokens=1, source_type="x")]
    assert composition(s) == [{"domain": "A", "questions": 2, "thinking_tokens": 11},
                              {"domain": "B", "questions": 1, "thinking_tokens": 5}]
    info = summary(s)
    assert info["questions"] == 3 and info["thinking_tokens"] == 16 and info["domains"] == 2
    assert info["avg_thinking_tokens"] == pytest.approx(16 / 3)
    assert info["teacher_correct_frac"] == pytest.approx(2 / 3)
    assert info["source_types"] == {"x": 2, "y": 1}
    assert summary([])["questions"] == 0


@pytest.mark.parametrize("name", ["s1K", "1K-random", "1K-diverse", "1K-longest", "59K-full"])
def test_run_writes_outputs(tmp_path, name):
    rows = [r for r, _ in funnel_rows()] + big_pool(120)
    write_table(tmp_path / "featurized.parquet", rows)
    c = cfg(size=25)
    info = run(name, tmp_path / "featurized.parquet", tmp_path / name, c, funnel_out=tmp_path / "funnel.csv")
    out = tmp_path / name
    ds = read_table(out / "dataset.parquet").to_pylist()
    ids = (out / "ids.txt").read_text().splitlines()
    assert ids == [r["id"] for r in ds]
    assert [r["selection_rank"] for r in ds] == list(range(len(ds)))
    expected = select_s1k(rows, c)[0] if name == "s1K" else select_ablation(name, rows, c)
    assert ids == [r["id"] for r in expected]
    assert json.loads((out / "summary.json").read_text()) == info
    assert info["questions"] == len(ds)
    with open(out / "composition.csv", newline="") as fh:
        comp = list(csv.DictReader(fh))
    assert sum(int(r["questions"]) for r in comp) == len(ds)
    assert sum(int(r["thinking_tokens"]) for r in comp) == info["thinking_tokens"]
    if name == "s1K":
        with open(tmp_path / "funnel.csv", newline="") as fh:
            funnel = list(csv.DictReader(fh))
        assert funnel[0] == {"step": "collected", "count": str(len(rows)),
                             "description": sel.FUNNEL_STEPS["collected"]}
        assert funnel[-1]["count"] == str(len(ds))
    else:
        assert not (tmp_path / "funnel.csv").exists()


def test_run_missing_attempt_column_names_file(tmp_path):
    rows = [{k: v for k, v in row().items() if k != "big_correct"}]
    write_table(tmp_path / "featurized.parquet", rows)
    with pytest.raises(ValueError, match=r"featurized\.parquet.*big_correct"):
        run("s1K", tmp_path / "featurized.parquet", tmp_path / "out", cfg())


def test_group_counts_by_source_and_source_type():
    s = [row(source_type="AIME/2020", domain="A", tokens=10), row(source_type="AIME/2021", domain="A", tokens=20),
         row(source_type="gpqa", domain="B", tokens=5)]
    s[0]["source"] = s[1]["source"] = "aime"
    s[2]["source"] = "gpqa"
    assert group_counts(s, "source") == [
        {"source": "aime", "questions": 2, "thinking_tokens": 30, "avg_thinking_tokens": 15.0},
        {"source": "gpqa", "questions": 1, "thinking_tokens": 5, "avg_thinking_tokens": 5.0}]
    by_type = group_counts(s, "source_type")
    assert [r["source_type"] for r in by_type] == ["AIME/2020", "AIME/2021", "gpqa"]  # ties by name
    assert group_counts([row()], "source")[0]["source"] == "(none)"  # a featurized file without `source`


def test_run_writes_sources_for_the_claims(tmp_path):
    """59K-full/sources.csv: one row per `source`, so "source~<regex>:avg_thinking_tokens" finds one row."""
    rows = big_pool(60)
    for i, r in enumerate(rows):
        r["source"] = ["numina", "aime", "gpqa"][i % 3]
        r["source_type"] = f"{r['source']}/part{i % 2}"
    write_table(tmp_path / "featurized.parquet", rows)
    run("59K-full", tmp_path / "featurized.parquet", tmp_path / "out", cfg())
    with open(tmp_path / "out" / "sources.csv", newline="") as fh:
        src = {r["source"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(src.values()))) == ["source", "questions", "thinking_tokens", "avg_thinking_tokens"]
    aime = [r for r in rows if r["source"] == "aime"]
    assert int(src["aime"]["questions"]) == len(aime)
    assert float(src["aime"]["avg_thinking_tokens"]) == pytest.approx(
        sum(r["thinking_tokens"] for r in aime) / len(aime), abs=0.05)
    with open(tmp_path / "out" / "source_types.csv", newline="") as fh:
        types = list(csv.DictReader(fh))
    assert len(types) == 6 and sum(int(r["questions"]) for r in types) == len(rows)


# ---- properties of s1K --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_s1k_properties(seed):
    """Exactly N unique ids, every one passes the filters, every preselected row is in,
    small domains get exhausted without error."""
    rng = np.random.default_rng(100 + seed)
    rows = []
    for i in range(300):
        d = int(rng.zipf(1.6)) % 15  # skewed domain sizes: some domains have one or two rows
        rows.append(row(f"q{seed}-{i}" + (" [asy]" if rng.random() < 0.05 else ""), domain=f"D{d}",
                        tokens=int(rng.integers(1, 400)), teacher=bool(rng.random() < 0.6),
                        source_type=str(rng.choice(["aime", "gpqa", "math/l5"] + ["other"] * 12)),
                        small=bool(rng.random() < 0.3), big=bool(rng.random() < 0.2),
                        thinking=None if rng.random() < 0.03 else "t"))
    c = cfg(size=40 + 10 * seed, seed=seed, uniform_until=20)
    eligible = [r for r in rows if has_features(r, c) and format_ok(r, c) and is_hard(r, c)]
    pre = {r["id"] for r in eligible if is_preselected(r, c)}
    assert 5 <= len(pre) < c.size < len(eligible)
    selection, funnel = select_s1k(rows, c)
    ids = [r["id"] for r in selection]
    assert len(ids) == len(set(ids)) == c.size
    assert set(ids) <= {r["id"] for r in eligible}
    assert pre <= set(ids) and set(ids[:len(pre)]) == pre
    assert funnel[-1]["count"] == c.size and funnel[-2]["count"] == len(pre)
    # the whole eligible pool: every domain is exhausted along the way
    everything, _ = select_s1k(rows, cfg(size=len(eligible), seed=seed, uniform_until=20))
    assert sorted(r["id"] for r in everything) == sorted(r["id"] for r in eligible)


def test_ranks_past_the_float_underflow_are_never_drawn():
    """2^-rank is exactly 0 from rank 1075 on: those rows of a big domain are never picked."""
    rows = [row(domain="D", tokens=2000 - t) for t in range(1100)]
    picked = sample_domains(rows, 60, np.random.default_rng(0), length_weighted=True)
    ranks = sorted(2000 - r["thinking_tokens"] for r in picked)
    assert ranks[-1] < 1075 and len(set(ranks)) == 60


# ---- a hand-built pool with worked-out picks ----------------------------------------


def hand_pool():
    """Three preselected rows, two hard rows left for sampling (one domain), three dropped."""
    return {
        "A1": row(source_type="aime", domain="Alg", tokens=50, rid="A1"),                 # preselected
        "G1": row(source_type="gpqa", domain="Phys", tokens=40, rid="G1"),                # preselected
        "M1": row(source_type="math/l5", domain="Alg", tokens=150, rid="M1"),             # preselected (long)
        "A2": row(source_type="aime", domain="Alg", tokens=70, teacher=False, rid="A2"),  # teacher wrong: sampled
        "M2": row(source_type="math/l5", domain="Alg", tokens=90, rid="M2"),              # not long: sampled
        "E1": row(domain="Alg", small=True, rid="E1"),                                    # solved: dropped
        "F1": row("[asy] x", domain="Alg", rid="F1"),                                     # format: dropped
        "N1": row(domain=None, rid="N1"),                                                 # no domain: dropped
    }


def test_hand_built_pool_without_randomness():
    pool = hand_pool()
    selection, funnel = select_s1k(list(pool.values()), cfg(size=3, seed=123))
    assert [r["id"] for r in selection] == ["M1", "A1", "G1"]  # preselected, longest first
    assert [f["count"] for f in funnel] == [8, 7, 6, 5, 3, 3]
    selection, _ = select_s1k(list(pool.values()), cfg(size=5, seed=123))
    assert [r["id"] for r in selection[:3]] == ["M1", "A1", "G1"] and {r["id"] for r in selection[3:]} == {"A2", "M2"}


@pytest.mark.parametrize("seed, expected", [(0, "M2"), (4, "A2")])
def test_hand_built_pool_worked_out_draw(seed, expected):
    """One draw in one domain (Alg: M2 rank 0, A2 rank 1): P(M2) = 1/(1 + 1/2) = 2/3.

    Choosing among one domain takes no random number, so the draw is the generator's first
    double u: M2 when u < 2/3. Seed 0 gives u = 0.637 (M2), seed 4 gives u = 0.943 (A2).
    """
    u = np.random.default_rng(seed).random()
    assert (u < 2 / 3) == (expected == "M2")
    selection, _ = select_s1k(list(hand_pool().values()), cfg(size=4, seed=seed))
    assert [r["id"] for r in selection] == ["M1", "A1", "G1", expected]


# ---- byte-identical outputs ---------------------------------------------------------


def test_run_is_byte_identical_for_a_seed(tmp_path):
    rows = [r for r, _ in funnel_rows()] + big_pool(300)
    write_table(tmp_path / "featurized.parquet", rows)
    out = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        run("s1K", tmp_path / "featurized.parquet", tmp_path / name, cfg(size=80, seed=seed),
            funnel_out=tmp_path / name / "funnel.csv")
        out[name] = {f: (tmp_path / name / f).read_bytes() for f in (*sel.OUTPUTS, "funnel.csv")}
    assert out["a"] == out["b"]
    assert out["a"]["ids.txt"] != out["c"]["ids.txt"]
    assert out["a"]["dataset.parquet"] != out["c"]["dataset.parquet"]
    assert out["a"]["funnel.csv"] == out["c"]["funnel.csv"]  # the funnel does not depend on the seed


# ---- review mode: overlap with the published s1K ------------------------------------


def test_overlap_counts():
    info = overlap(["a", "b", "c", "c"], ["b", "c", "d", "e"])
    assert (info["ours"], info["published"], info["intersection"]) == (3, 4, 2)
    assert (info["ours_only"], info["published_only"]) == (1, 2)
    assert info["jaccard"] == pytest.approx(2 / 5)
    assert info["duplicates"] == {"ours": 1, "published": 0}
    assert "domains" not in info
    info = overlap(["a", "b"], ["b", "z"], domains={"a": "Alg", "b": "Alg", "c": "Geo"})
    assert info["published_in_pool"] == 1
    assert info["domains"] == [{"domain": "Alg", "ours": 2, "published": 1, "both": 1},
                               {"domain": "(not in pool)", "ours": 0, "published": 1, "both": 0}]


def test_read_ids_formats(tmp_path):
    (tmp_path / "ids.txt").write_text("x1\n\nx2\n")
    assert read_ids(tmp_path / "ids.txt") == ["x1", "x2"]
    write_table(tmp_path / "published.parquet", [{"question": "What is 1+1?", "cot": "t"}, {"question": "Q2"}])
    assert read_ids(tmp_path / "published.parquet") == [question_hash("What is 1+1?"), question_hash("Q2")]
    write_table(tmp_path / "with_id.parquet", [{"id": "x9"}])
    assert read_ids(tmp_path / "with_id.parquet") == ["x9"]
    (tmp_path / "s1K.jsonl").write_text('{"question": "Q2", "id": "ignored"}\n')
    assert read_ids(tmp_path / "s1K.jsonl") == [question_hash("Q2")]
    write_table(tmp_path / "neither.parquet", [{"text": "x"}])
    with pytest.raises(ValueError, match="'question' or an 'id' column"):
        read_ids(tmp_path / "neither.parquet")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(ValueError, match="empty.txt: no question ids"):
        read_ids(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="missing.txt: cannot read"):
        read_ids(tmp_path / "missing.txt")


def test_select_overlap_cli(tmp_path, capsys):
    """Our s1K against a 'published' parquet that shares half of it, through the CLI."""
    pool = [row(f"question {i}", domain=f"D{i % 2}", rid=question_hash(f"question {i}")) for i in range(8)]
    write_table(tmp_path / "featurized.parquet", pool)
    (tmp_path / "ids.txt").write_text("".join(r["id"] + "\n" for r in pool[:4]))
    published = [{"question": f"question {i}"} for i in (2, 3, 4, 5)] + [{"question": "not in our pool"}]
    write_table(tmp_path / "s1K.parquet", published)
    argv = ["select-overlap", "--ids", str(tmp_path / "ids.txt"), "--published", str(tmp_path / "s1K.parquet"),
            "--out", str(tmp_path / "overlap.json")]
    assert cli.main(argv + ["--featurized", str(tmp_path / "featurized.parquet")]) == 0
    assert json.loads(capsys.readouterr().out) == {"ours": 4, "published": 5, "intersection": 2,
                                                   "jaccard": pytest.approx(2 / 7, abs=1e-6)}
    info = json.loads((tmp_path / "overlap.json").read_text())
    assert info["published_in_pool"] == 4
    assert {d["domain"]: (d["ours"], d["published"], d["both"]) for d in info["domains"]} == \
        {"D0": (2, 2, 1), "D1": (2, 2, 1), "(not in pool)": (0, 1, 0)}
    assert info["inputs"]["featurized"].endswith("featurized.parquet")
    assert cli.main(argv) == 0  # --featurized is optional
    assert "domains" not in json.loads((tmp_path / "overlap.json").read_text())
    assert cli.main(argv[:-2] + ["--out", str(tmp_path / "o.json"), "--published", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt: cannot read" in capsys.readouterr().err
    assert run_overlap(tmp_path / "ids.txt", tmp_path / "ids.txt", tmp_path / "self.json")["jaccard"] == 1.0
