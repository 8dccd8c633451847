"""Hub loaders (AGIEval, s1-prob, GPQA, crossword, USACO, s1-teasers, LiveCodeBench, AIME) and eval sets.

Offline: each fixture is a few synthetic rows in the source's real raw schema (hub column
names and shapes), written as parquet/jsonl under tmp_path in the layout the HubInput file
patterns name, so the loader reads them as it reads a fetched snapshot. The hub itself is
not reachable here; fetching is tested elsewhere.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s1kit.sources import HUB_SOURCES
from s1kit.sources import agieval, aime, eval_sets, gpqa, livecodebench, s1_prob, s1_teasers, usaco, xword
from s1kit.sources.quality import validate

TRAIN = {"agieval": agieval, "s1_prob": s1_prob, "gpqa": gpqa, "xword": xword, "usaco": usaco,
         "s1_teasers": s1_teasers, "livecodebench": livecodebench, "aime": aime}
EVAL = {"aime24": eval_sets.AIME24, "aime25": eval_sets.AIME25, "math500": eval_sets.MATH500,
        "gpqa_diamond": eval_sets.GPQA_DIAMOND, "livecodebench_v4": eval_sets.LIVECODEBENCH_V4}


def write_parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def covered(source, rel: str) -> bool:
    """The fixture file lies where one of the source's HubInput patterns would fetch it."""
    return any(fnmatch.fnmatch(rel, p) for inp in source.inputs.values() for p in inp.files)


def assert_jsonable(rows: list[dict]) -> None:
    for r in rows:
        assert isinstance(r["metadata"], dict)
        json.dumps(r["metadata"], allow_nan=False)


# ----------------------------------------------------------------------------- every SOURCE object

@pytest.mark.parametrize("name", [*TRAIN, *EVAL])
def test_source_objects(name):
    source = TRAIN[name].SOURCE if name in TRAIN else EVAL[name]
    assert HUB_SOURCES.get(name) is source
    assert source.name == name
    assert source.kind == ("train" if name in TRAIN else "eval")
    assert source.inputs and all(inp.files and all(inp.files) for inp in source.inputs.values())
    assert len(source.doc) > 80


# ----------------------------------------------------------------------------- AGIEval

def agieval_row(question, passage="", options=(), label="A", solution="sol", **extra):
    return {"passage": passage, "question": question, "options": None if options is None else list(options), "label": label,
            "solution": solution, **extra}


@pytest.fixture
def agieval_dir(tmp_path):
    rows = {c: {"test": [agieval_row(f"{c} q1?", "Passage one. ", ["(A)x", "(B)y"])],
                "few_shot": [agieval_row(f"{c} fs?", "", ["(A)u"])]} for c in agieval.WITH_PASSAGE}
    rows["aqua_rat"] = {"test": [agieval_row("aqua q?", "", ["(A)1", "(B)2"])], "few_shot": []}
    rows["math_agieval"] = {
        "test": [agieval_row("hard?", options=[], solution="s5", level=5),
                 agieval_row("easy?", options=[], solution="s3", level=3)],
        "few_shot": [agieval_row("fs math?", options=[], solution="s", level=None)],
    }
    schema_row = agieval_row("x", level=1)
    for config, splits in rows.items():
        for split, rs in splits.items():
            rel = f"{config}/{split}/0000.parquet"
            assert covered(agieval.SOURCE, rel)
            table = pa.Table.from_pylist(rs) if rs else pa.Table.from_pylist([schema_row]).slice(0, 0)
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp_path / rel)
    return tmp_path


def test_agieval_selection_and_mapping(agieval_dir):
    rows = agieval.load({"agieval": agieval_dir}, 0)
    qs = [r["question"] for r in rows]
    # 6 passage configs x (test + few_shot) + aqua_rat + the level-5 MATH row only
    assert len(rows) == 6 * 2 + 1 + 1
    assert "easy?" not in qs and "fs math?" not in qs and "hard?" in qs
    # the official (passage + "\n\n").strip() leaves no separator between passage and question
    assert rows[0]["question"] == "Passage one.sat_en q1?\n(A)x\n(B)y"
    assert rows[1]["question"] == "sat_en fs?\n(A)u"
    assert rows[0]["source_type"] == "baber/agieval/sat_en" and rows[0]["cot_type"] == "english"
    by_type = {r["source_type"].split("/")[-1]: r for r in rows}
    assert by_type["logiqa"]["cot_type"] == "math" and by_type["lsat_rc"]["cot_type"] == "english"
    aqua = by_type["aqua_rat"]
    assert aqua["question"] == "aqua q?" and aqua["metadata"]["options"] == ["(A)1", "(B)2"]
    assert by_type["math_agieval"]["solution"] == "s5" and by_type["math_agieval"]["metadata"]["level"] == 5
    assert "passage" not in rows[0]["metadata"] and rows[0]["metadata"]["label"] == "A"
    assert_jsonable(rows)


def test_agieval_reads_the_older_export_layout(agieval_dir):
    for split in ("test", "few_shot"):
        (agieval_dir / f"lsat_ar/{split}/0000.parquet").unlink()
    rel = "lsat_ar/agieval-test.parquet"
    assert covered(agieval.SOURCE, rel) and covered(agieval.SOURCE, "lsat_ar/agieval-few_shot.parquet")
    write_parquet(agieval_dir / rel, [agieval_row("old layout?", "P ")])
    write_parquet(agieval_dir / "lsat_ar/agieval-few_shot.parquet", [agieval_row("old fs?")])
    rows = [r for r in agieval.load({"agieval": agieval_dir}, 0) if r["source_type"] == "baber/agieval/lsat_ar"]
    assert [r["question"] for r in rows] == ["Pold layout?\n", "old fs?\n"]


def test_agieval_malformed_row_is_kept_for_quarantine(agieval_dir):
    write_parquet(agieval_dir / "sat_math/test/0000.parquet", [agieval_row(None, None, None)])
    rows = agieval.load({"agieval": agieval_dir}, 0)
    bad = [r for r in rows if r["source_type"] == "baber/agieval/sat_math" and r["question"] is None]
    assert len(bad) == 1
    _, quarantined = validate(rows, "agieval", 50_000)
    assert [q["reason"] for q in quarantined] == ["missing_question"]


# ----------------------------------------------------------------------------- s1-prob, s1-teasers, USACO

def test_s1_prob(tmp_path):
    rel = "data/train-00000-of-00001.parquet"
    assert covered(s1_prob.SOURCE, rel)
    write_parquet(tmp_path / rel, [{"question": "P(X>1)?", "solution": "1/2", "topic": "prob"},
                                   {"question": None, "solution": "x", "topic": "t"}])
    rows = s1_prob.load({"s1_prob": tmp_path}, 0)
    assert [r["question"] for r in rows] == ["P(X>1)?", None]  # not validated here
    assert rows[0]["solution"] == "1/2" and rows[0]["source_type"] == "qfq/stats_qual"
    assert rows[0]["metadata"] == {"topic": "prob"}


def test_s1_teasers(tmp_path):
    rel = "data/train-00000-of-00001.parquet"
    assert covered(s1_teasers.SOURCE, rel)
    write_parquet(tmp_path / rel, [{"Question": "  Coin flips?\n", "Answer": 42, "Source": "interview"}])
    (r,) = s1_teasers.load({"s1_teasers": tmp_path}, 0)
    assert r["question"] == "Coin flips?" and r["solution"] == "42"
    assert r["source_type"] == "qfq/quant" and r["metadata"] == {"Source": "interview"}


def test_usaco(tmp_path):
    rel = "default/test/0000.parquet"
    assert covered(usaco.SOURCE, rel)
    write_parquet(tmp_path / rel, [{"question": "\n Farmer John...\n", "problem_id": "1_bronze", "tests": "[]"}])
    (r,) = usaco.load({"usaco": tmp_path}, 0)
    assert r["question"] == "Farmer John..." and r["solution"] is None and r["cot_type"] == "coding"
    assert r["source_type"] == "codegenning/usacobench_formatted"
    assert r["metadata"] == {"problem_id": "1_bronze", "tests": "[]"}


# ----------------------------------------------------------------------------- GPQA

def gpqa_row(q, domain="Physics"):
    return {"Question": q, "Correct Answer": f"right {q}\n", "Incorrect Answer 1": "w1",
            "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Explanation": f"because {q}",
            "High-level domain": domain, "Subdomain": "Quantum", "Record ID": f"rec{q}"}


@pytest.fixture
def gpqa_dir(tmp_path):
    for rel, qs in (("gpqa_extended/train/0000.parquet", ["q1", "q2", "diamond q", "q4"]),
                    ("gpqa_diamond/train/0000.parquet", ["diamond q"])):
        assert covered(gpqa.SOURCE, rel)
        write_parquet(tmp_path / rel, [gpqa_row(q, "Chemistry" if q == "q2" else "Physics") for q in qs])
    return tmp_path


def test_gpqa_extended_minus_diamond_plain(gpqa_dir):
    rows = gpqa.load({"gpqa": gpqa_dir}, 0)
    assert [r["question"] for r in rows] == ["q1", "q2", "q4"]  # bare: the choices come after collection
    assert rows[0]["solution"] == "because q1" and {r["cot_type"] for r in rows} == {"science"}
    assert rows[0]["source_type"] == "Idavidrein/gpqa"
    assert "Question" not in rows[0]["metadata"] and rows[0]["metadata"]["High-level domain"] == "Physics"
    assert_jsonable(rows)


def _records(gpqa_dir):
    from s1kit.sources.quality import validate

    return validate(gpqa.load({"gpqa": gpqa_dir}, 0), "gpqa", 10_000)[0]


def test_gpqa_answer_choices_follow_fix_gpqa(gpqa_dir):
    """The pool step's finish (s1kit.collect): fix_gpqa.py's format, the shuffle from the given RNG."""
    import random

    from s1kit.records import question_hash

    records = _records(gpqa_dir)
    rows = gpqa.add_choices(records, lambda q: random.Random(f"42\0{q}"))
    for r in rows:
        q = json.loads(r["metadata"])["Record ID"][3:]
        head, choices = r["question"].split("\nAnswer Choices:\n")
        assert head == q and r["id"] == question_hash(r["question"])
        lines = choices.split("\n")
        assert [ln[:4] for ln in lines] == ["(A) ", "(B) ", "(C) ", "(D) "]
        assert sorted(ln[4:] for ln in lines) == sorted(["w1", "w2", "w3", f"right {q}"])  # newline stripped
        letter = r["solution"].rsplit("Answer: ", 1)[1]
        assert r["solution"] == f"because {q}\n\nAnswer: {letter}"
        assert lines["ABCD".index(letter)][4:] == f"right {q}"
    orders = {tuple(r["question"] for r in gpqa.add_choices(records, lambda q, s=s: random.Random(f"{s}\0{q}")))
              for s in range(8)}
    assert len(orders) > 1  # the seed does drive the shuffle
    shared = random.Random(42)  # one state walked in order: fix_gpqa.py's global random
    one = gpqa.add_choices(records, lambda q: shared)
    again = random.Random(42)
    assert one == gpqa.add_choices(records, lambda q: again)


# ----------------------------------------------------------------------------- crossword

@pytest.fixture
def xword_dir(tmp_path):
    rel = "default/train/0000.parquet"
    assert covered(xword.SOURCE, rel)
    rows = [{"instruction": "Solve the crossword", "input": f"### Instruction: solve\n### Clue: Clue {i} (5)",
             "output": f"ANS{i}"} for i in range(40)]
    rows[3]["input"] = "no marker here"
    write_parquet(tmp_path / rel, rows)
    return tmp_path


def test_xword_every_clue_in_file_order_and_malformed(xword_dir):
    rows = xword.load({"xword": xword_dir}, 0)
    assert rows == xword.load({"xword": xword_dir}, 5)  # the sample of 1,000 is the pool step's
    assert [r["solution"] for r in rows] == [f"ANS{i}" for i in range(40)] and xword.SOURCE.sample == 1000
    assert rows[0]["question"] == xword.INSTRUCTION + "\n\nClue 0 (5)"
    assert rows[0]["cot_type"] == "crossword" and rows[0]["source_type"] == "0xharib/xword1"
    assert rows[0]["metadata"] == {"instruction": "Solve the crossword"}
    assert rows[3]["question"] is None and rows[3]["metadata"]["input"] == "no marker here"
    datasets = pytest.importorskip("datasets")
    from s1kit.collect import shuffled

    ds = datasets.Dataset.from_parquet(str(xword_dir / "default/train/0000.parquet")).shuffle(seed=42)
    assert [r["solution"] for r in shuffled(rows, 42)][:10] == ds.select(range(10))["output"]  # the official draw


# ----------------------------------------------------------------------------- LiveCodeBench

def lcb_row(qid, difficulty, content=None):
    return {"question_title": f"t{qid}", "question_content": content or f"  Problem {qid}\n", "platform": "atcoder",
            "question_id": qid, "contest_id": "abc", "contest_date": "2023-08-01T00:00:00", "starter_code": "",
            "difficulty": difficulty, "public_test_cases": "[]", "private_test_cases": "eJzLSM3JyQcABiwCFQ==",
            "metadata": "{}"}


@pytest.fixture
def lcb_dir(tmp_path):
    files = {"test.jsonl": [lcb_row("a", "hard"), lcb_row("b", "easy"), lcb_row("c", "hard")],
             "test2.jsonl": [lcb_row("d", "hard"), lcb_row("e", "medium")],
             "test3.jsonl": [lcb_row("f", "hard")],
             "test4.jsonl": [lcb_row("g", "hard")]}
    for name, rows in files.items():
        write_jsonl(tmp_path / name, rows)
    return tmp_path


def test_livecodebench_hard_v1_to_v3(lcb_dir):
    assert all(covered(livecodebench.SOURCE, f) for f in ("test.jsonl", "test2.jsonl", "test3.jsonl"))
    assert not covered(livecodebench.SOURCE, "test4.jsonl")
    rows = livecodebench.load({"livecodebench": lcb_dir}, 0, **livecodebench.SOURCE.options)
    # the loading script's releases are cumulative: v1 = test.jsonl, v2 = + test2.jsonl, v3 = + test3.jsonl
    assert [r["metadata"]["question_id"] for r in rows] == ["a", "c", "a", "c", "d", "a", "c", "d", "f"]
    assert [r["source_type"] for r in rows] == ["LiveCodeBench/release_v1"] * 2 + ["LiveCodeBench/release_v2"] * 3 + [
        "LiveCodeBench/release_v3"] * 4
    assert rows[0]["question"] == "Problem a" and rows[0]["solution"] is None and rows[0]["cot_type"] == "coding"
    assert "private_test_cases" not in rows[0]["metadata"] and "question_content" not in rows[0]["metadata"]
    assert_jsonable(rows)


def test_livecodebench_missing_release_file_is_loud(lcb_dir):
    (lcb_dir / "test2.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="test2.jsonl"):
        livecodebench.load({"livecodebench": lcb_dir}, 0)


# ----------------------------------------------------------------------------- AIME

@pytest.fixture
def aime_dir(tmp_path):
    rel = "default/train/0000.parquet"
    assert covered(aime.SOURCE, rel)
    ids = ["1983-1", "2021-II-15", "2022-I-1", "2022-II-8", "2023-I-1", "2024-II-3"]
    rows = [{"ID": i, "Year": int(i[:4]), "Problem Number": int(i.rsplit("-", 1)[1]), "Question": f"Problem {i}",
             "Answer": "080 or 081 (both were accepted)" if i == "2022-II-8" else str(len(i)),
             "Part": None if i.count("-") == 1 else i.split("-")[1]} for i in ids]
    rows.append({"ID": "bad", "Year": 2020, "Problem Number": 1, "Question": "Year from column", "Answer": "1",
                 "Part": "I"})
    write_parquet(tmp_path / rel, rows)
    return tmp_path


def test_aime_year_cutoff_option(aime_dir):
    paths = {"aime": aime_dir}
    default = aime.load(paths, 0, **aime.SOURCE.options)
    assert aime.SOURCE.options == {"max_year": 2022}
    assert [r["metadata"]["ID"] for r in default] == ["1983-1", "2021-II-15", "2022-I-1", "2022-II-8", "bad"]
    assert [r["metadata"]["ID"] for r in aime.load(paths, 0, max_year=2021)] == ["1983-1", "2021-II-15", "bad"]
    assert len(aime.load(paths, 0, max_year=2024)) == 7
    r = default[3]
    assert r["question"] == "Problem 2022-II-8" and r["solution"] == "080 or 081 (both were accepted)"
    assert r["source_type"] == "qq8933/AIME_1983_2024" and r["cot_type"] == "math"
    assert set(r["metadata"]) == {"ID", "Year", "Problem Number", "Part"}
    records, quarantined = validate(default, "aime", 50_000)
    assert len(records) == 5 and not quarantined


def test_aime_numeric_answer_becomes_text(tmp_path):
    write_parquet(tmp_path / "default/train/0000.parquet",
                  [{"ID": "1990-1", "Year": 1990, "Problem Number": 1, "Question": "q", "Answer": 528, "Part": None}])
    (r,) = aime.load({"aime": tmp_path}, 0)
    assert r["solution"] == "528"


def test_aime_year_of():
    assert aime.year_of({"ID": "2021-I-5"}) == 2021
    assert aime.year_of({"ID": "x-1", "Year": "1999"}) == 1999
    assert aime.year_of({"ID": None, "Year": None}) is None


# ----------------------------------------------------------------------------- eval sets

def test_aime24_all_90_by_default_years_option(tmp_path):
    rel = "data/train-00000-of-00001.parquet"
    assert covered(eval_sets.AIME24, rel)
    write_parquet(tmp_path / rel, [
        {"id": i, "problem": f"P{y}", "solution": f"S{y}", "answer": "1",
         "url": f"https://artofproblemsolving.com/wiki/index.php/{y}_AIME_I_Problems/Problem_1"}
        for i, y in enumerate((2022, 2023, 2024))])
    paths = {"aime24": tmp_path}
    rows = eval_sets.AIME24.load(paths, 0, **eval_sets.AIME24.options)
    assert [r["question"] for r in rows] == ["P2022", "P2023", "P2024"]
    assert rows[0]["solution"] == "S2022" and rows[0]["metadata"]["answer"] == "1"
    assert [r["question"] for r in eval_sets.AIME24.load(paths, 0, years=[2024])] == ["P2024"]


def test_aime25_and_math500(tmp_path):
    write_jsonl(tmp_path / "a25" / "aime25_nofigures.jsonl",
                [{"id": "2025-I-1", "problem": "Find x.", "solution": "s", "answer": "70", "url": "u"}])
    write_jsonl(tmp_path / "m" / "test.jsonl", [{"problem": "What is 1+1?", "solution": "$\\boxed{2}$",
                                                  "answer": "2", "subject": "Algebra", "level": 1,
                                                  "unique_id": "test/algebra/1.json"}])
    assert covered(eval_sets.AIME25, "aime25_nofigures.jsonl") and covered(eval_sets.MATH500, "test.jsonl")
    (a,) = eval_sets.AIME25.load({"aime25": tmp_path / "a25"}, 0)
    assert a["question"] == "Find x." and a["metadata"]["answer"] == "70"
    (m,) = eval_sets.MATH500.load({"math500": tmp_path / "m"}, 0)
    assert m["question"] == "What is 1+1?" and m["metadata"]["subject"] == "Algebra"
    assert_jsonable([a, m])


def test_gpqa_diamond_eval_is_bare_question(tmp_path):
    rel = "gpqa_diamond/train/0000.parquet"
    assert covered(eval_sets.GPQA_DIAMOND, rel)
    write_parquet(tmp_path / rel, [gpqa_row("Which state?"), gpqa_row("Why?")])
    rows = eval_sets.GPQA_DIAMOND.load({"gpqa_diamond": tmp_path}, 0)
    assert [r["question"] for r in rows] == ["Which state?", "Why?"]
    assert rows[0]["metadata"]["Correct Answer"] == "right Which state?\n"
    records, quarantined = validate(rows, "gpqa_diamond", 50_000)
    assert len(records) == 2 and not quarantined


def test_livecodebench_v4_eval_all_difficulties_unstripped(lcb_dir):
    rel_files = [f"test{'' if i == 1 else i}.jsonl" for i in range(1, 5)]
    assert all(covered(eval_sets.LIVECODEBENCH_V4, f) for f in rel_files)
    rows = eval_sets.LIVECODEBENCH_V4.load({"livecodebench_v4": lcb_dir}, 0)
    assert [r["metadata"]["question_id"] for r in rows] == list("abcdefg")
    assert rows[0]["question"] == "  Problem a\n"  # as the official comparison read it
    assert "private_test_cases" not in rows[0]["metadata"]
