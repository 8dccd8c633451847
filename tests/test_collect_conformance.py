"""Collection conformance: the official collect_data.py + fix_gpqa.py + add_aime.py beside the kit's pool step.

The official files are executed from ../shared/official-s1 (the pinned commit), not
re-implemented: collect_data.py's definitions are executed as a module, its loaders in
DS_TO_SELECTION replaced by in-memory synthetic datasets (the loading they cannot do
offline), then its ``__main__`` block is executed as written; fix_gpqa.py and add_aime.py
run as ``__main__``. ``datasets.load_dataset`` is patched to serve the synthetic data: the
four test sets of the main block, LiveCodeBench through a stand-in for the hub's loading
script (its ``version_tag`` releases are cumulative, as the script's ALLOWED_FILES say, so
the official load_livecodebench itself runs), AIME for add_aime.py; ``push_to_hub`` is
captured. The kit's pool step (s1kit.collect.build_pool) gets the same rows: as raw
parquet for the 13 simple sources, through its own loaders for LiveCodeBench, its eval
set and AIME.

The synthetic corpus (16 sources) plants: eval-set copies, a later source repeating an
earlier source's question with a few words changed, exact duplicates within and across
sources, a short (< 8 words) question equal to a short eval question, short duplicates,
AIME rows after 2022 and one repeating a MATH question, SciEval (320 rows) and XWord (1,100)
above their sample sizes with TMP_QUESTIONS_TO_KEEP entries among them, and LiveCodeBench
problems against its release_v4 eval set (one of fewer than 8 words).
"""

from __future__ import annotations

import ast
import json
import random
import runpy
import sys
import types
from pathlib import Path

import pytest

from s1kit.collect import CollectConfig, build_pool, write_eval_set, write_source
from s1kit.records import QUESTION_SCHEMA, make_question, read_table, write_jsonl, write_table

OFFICIAL = Path(__file__).resolve().parents[1].parent / "shared" / "official-s1"
DATA = OFFICIAL / "data"
pytestmark = pytest.mark.skipif(not (DATA / "collect_data.py").exists(), reason="../shared/official-s1 absent")

# DS_TO_SELECTION name (data/collect_data.py:405) -> the kit's source name and the rows' source_type
SOURCES = {"MATH": ("math", "simplescaling/openaimath/Algebra"),
           "OlympicArena": ("olympicarena", "GAIR/OlympicArena/Math"),
           "TheoremQA": ("theoremqa", "TIGER-Lab/TheoremQA/float"),
           "NuminaMath": ("numinamath", "AI-MO/NuminaMath-CoT/aops_forum"),
           "Omni-MATH": ("omnimath", "KbsdJames/Omni-MATH"), "SciEval": ("scieval", None),
           "OlympiadBench": ("olympiadbench", "Hothan/OlympiadBench/Open-ended/Math"),
           "JEEBench": ("jeebench", "daman1209arora/jeebench/math"), "AGIEval": ("agieval", "baber/agieval/sat_math"),
           "StatsQual": ("s1_prob", "simplescaling/s1-prob"), "GPQA": ("gpqa", "Idavidrein/gpqa"),
           "XWord": ("xword", "0xharib/xword1"), "USACO": ("usaco", "codegenning/usacobench_formatted"),
           "Quant": ("s1_teasers", "simplescaling/s1-teasers"), "LiveCodeBench": ("livecodebench", None)}
SCI_TASKS = ("SocraticQA", "reagent selection", "MedQA", "PubMedQA")
LCB_FILES = {"release_v1": ["test.jsonl"], "release_v2": ["test.jsonl", "test2.jsonl"],
             "release_v3": ["test.jsonl", "test2.jsonl", "test3.jsonl"],
             "release_v4": ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl"]}


class _DropDecontamination(ast.NodeTransformer):
    """The main block as it built the published pool: simplescaling/s1 commit 0b086e8 (2025-01-31)
    had the loop's `ds = decontaminate_train_data(...)` commented out (commit e6c18d8 of 2025-02-10
    enabled it, data/collect_data.py:459 (decontaminate_train_data)); the loop is otherwise the same."""

    dropped = 0

    def visit_Assign(self, node):
        if "decontaminate_train_data(" in ast.unparse(node.value):
            self.dropped += 1
            return None
        return node


def _official_module(published: bool = False):
    """collect_data.py's definitions (everything but the __main__ block) as a module, and that block
    (published: without its decontamination call, _DropDecontamination)."""
    path = DATA / "collect_data.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    main = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert len(main) == 1
    if published:
        drop = _DropDecontamination()
        main = [drop.visit(main[0])]
        assert drop.dropped == 1, "the pinned main block no longer has one decontaminate_train_data call"
        ast.fix_missing_locations(main[0])
    mod = types.ModuleType("collect_data")
    mod.__file__ = str(path)
    sys.path.insert(0, str(DATA))  # `from decontaminate_util import *`
    try:
        exec(compile(ast.Module([n for n in tree.body if n is not main[0]], []), str(path), "exec"), mod.__dict__)
    finally:
        sys.path.remove(str(DATA))
    return mod, compile(ast.Module(main[0].body, []), str(path), "exec")


class Corpus:
    """The synthetic 16-source corpus and its eval sets (deterministic)."""

    def __init__(self, tmp: list[str]):
        self.rng = random.Random(7)
        self.vocab = [f"w{i}" for i in range(3000)]
        self.tmp = tmp  # TMP_QUESTIONS_TO_KEEP of the pinned file
        self.evals = {"aime24": [self.text(30) for _ in range(6)] + ["What is seven plus six?"],
                      "gpqa_diamond": [self.text(40) for _ in range(5)], "math500": [self.text(25) for _ in range(8)]}
        self.rows: dict[str, list[dict]] = {}
        self.plants: dict[str, str] = {}
        self._build()

    def text(self, n: int) -> str:
        return " ".join(self.rng.choice(self.vocab) for _ in range(n))

    def _plain(self, name: str, n: int) -> list[dict]:
        _, source_type = SOURCES[name]
        return [{"question": self.text(self.rng.randint(10, 40)), "solution": self.text(5), "cot_type": "math",
                 "source_type": source_type, "metadata": {"k": i}} for i in range(n)]

    def _build(self) -> None:
        r = self.rows
        for name in SOURCES:
            if name not in ("SciEval", "LiveCodeBench", "GPQA"):
                r[name] = self._plain(name, 1100 if name == "XWord" else 40)
        math = r["MATH"]
        math[3]["question"] = "Compute: " + self.evals["math500"][2] + " Give the answer."  # eval copy
        math[5]["question"] = math[4]["question"]  # exact duplicate within a source
        math[9]["question"] = "Add two small numbers."  # short, duplicated by USACO below
        r["NuminaMath"][2]["question"] = self.evals["aime24"][1].upper()  # eval copy, other case
        r["NuminaMath"][6]["question"] = "What is seven plus six?"  # = a short eval question
        words = math[12]["question"].split()
        words[0], words[-1] = "changed", "words"  # a few words changed, 8-gram spans left
        r["OlympiadBench"][4]["question"] = self.plants["near_dup"] = " ".join(words)
        r["JEEBench"][1]["question"] = r["TheoremQA"][7]["question"]  # exact duplicate across sources
        r["USACO"][3]["question"] = "Add two small numbers."
        r["AGIEval"][0]["question"] = self.plants["short_agieval"] = "Which is larger?"
        r["Quant"][0]["question"] = "Which is larger?"  # short duplicate across sources
        r["XWord"][10]["question"] = self.tmp[3]
        r["XWord"][500]["question"] = self.tmp[4]
        r["XWord"][20]["question"] = "Clue: " + self.evals["gpqa_diamond"][0]  # eval copy before the sample
        r["GPQA"] = [self._gpqa(i) for i in range(12)]
        r["GPQA"][5]["question"] = self.evals["gpqa_diamond"][3]  # a diamond question in extended
        r["SciEval"] = [self._scieval(i) for i in range(320)]
        for i, q in ((7, self.tmp[0]), (100, self.tmp[1]), (250, self.tmp[2])):
            r["SciEval"][i]["question"] = q
        r["SciEval"][30]["question"] = "Recall: " + math[20]["question"]  # near-duplicate of MATH
        self.lcb = {"test.jsonl": [self._lcb("a", "hard"), self._lcb("b", "easy"), self._lcb("c", "hard"),
                                   self._lcb("s", "hard", "Print hello world.")],
                    "test2.jsonl": [self._lcb("d", "hard"), self._lcb("e", "medium")],
                    "test3.jsonl": [self._lcb("f", "hard")], "test4.jsonl": [self._lcb("g", "hard")]}
        self.aime = [{"ID": f"{y}-{k}", "Year": y, "Problem Number": k, "Question": self.text(30),
                      "Answer": str(k), "Part": None} for y in (1983, 2001, 2021, 2022, 2023, 2024) for k in (1, 2)]
        self.aime[2]["Question"] = math[30]["question"]  # AIME repeats a MATH question
        self.aime[4]["Question"] = self.evals["aime24"][0]  # and holds an eval question (appended anyway)

    def _gpqa(self, i: int) -> dict:
        meta = {"Incorrect Answer 1": f"wrong a{i}", "Incorrect Answer 2": f"wrong b{i}\n",
                "Incorrect Answer 3": f"wrong c{i}", "Correct Answer": f"right {i}\n", "High-level domain": "Physics"}
        return {"question": self.text(20), "solution": self.text(6), "cot_type": "science",
                "source_type": "Idavidrein/gpqa", "metadata": meta}

    def _scieval(self, i: int) -> dict:
        task = SCI_TASKS[i % 4]
        topic = f"topic{i % 3}" if task == "SocraticQA" else None
        return {"question": self.text(self.rng.randint(10, 30)), "solution": "A", "cot_type": "science",
                "source_type": f"OpenDFM/SciEval/chemistry/multiple-choice/{task}",
                "metadata": {"task_name": task, "topic": topic, "id": f"s{i}"}}

    def _lcb(self, qid: str, difficulty: str, content: str | None = None) -> dict:
        return {"question_title": qid, "question_content": content or "  " + self.text(30) + "\n",
                "platform": "atcoder", "question_id": qid, "difficulty": difficulty, "private_test_cases": "x"}


# ---- the official run ------------------------------------------------------------------------


def _as_dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list([{**x, "metadata": str(x["metadata"])} for x in rows])


def run_official(corpus: Corpus, monkeypatch, published: bool = False) -> list[tuple[str, str]]:
    import datasets

    mod, main = _official_module(published)
    hub: dict[str, object] = {}

    def load_dataset(name, conf=None, version_tag=None, trust_remote_code=None, **kw):
        if name == "livecodebench/code_generation_lite":  # the hub script's cumulative releases
            rows = [x for f in LCB_FILES[version_tag] for x in corpus.lcb[f]]
            return {"test": datasets.Dataset.from_list(rows)}
        tests = {"AI-MO/aimo-validation-aime": ("train", "problem", "aime24"),
                 "Idavidrein/gpqa": ("train", "Question", "gpqa_diamond"),
                 "simplescaling/openaimath": ("test", "problem", "math500")}
        if name in tests:
            split, field, key = tests[name]
            assert name != "Idavidrein/gpqa" or conf == "gpqa_diamond"
            return {split: datasets.Dataset.from_list([{field: q} for q in corpus.evals[key]])}
        if name == "qq8933/AIME_1983_2024":
            return {"train": datasets.Dataset.from_list(corpus.aime)}
        if name == "simplescaling/s1K":  # fix_gpqa.py and add_aime.py read the pool pushed before them
            return {"train": hub["pool"]}
        raise AssertionError(f"unexpected load_dataset({name!r})")

    def push_to_hub(self, repo_id, *args, **kwargs):
        hub["pool"] = self

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(datasets.Dataset, "push_to_hub", push_to_hub)
    monkeypatch.syspath_prepend(str(DATA))
    for name, spec in mod.DS_TO_SELECTION.items():
        if name != "LiveCodeBench":  # LiveCodeBench's own loader runs, on the patched load_dataset
            spec[0] = lambda name=name: _as_dataset(corpus.rows[name])
    exec(main, mod.__dict__)  # collect_data.py's __main__ block, as written
    monkeypatch.setattr(sys, "argv", ["fix_gpqa.py"])
    runpy.run_path(str(DATA / "fix_gpqa.py"), run_name="__main__")
    runpy.run_path(str(DATA / "add_aime.py"), run_name="__main__")
    return [(x["question"], x["source_type"]) for x in hub["pool"]]


# ---- the kit's run ---------------------------------------------------------------------------


def run_kit(corpus: Corpus, tmp: Path, semantics: str, official_loop: str = "pinned") -> tuple[list[dict], dict]:
    raws, evals = [], []
    for name, (kit, _) in SOURCES.items():
        raw = tmp / "raw" / f"{kit}.parquet"
        if name == "LiveCodeBench":
            _kit_loader("livecodebench", raw, tmp, {f: corpus.lcb[f] for f in LCB_FILES["release_v3"]}, "jsonl")
        else:
            write_table(raw, [make_question(x["question"], kit, x["source_type"], x["cot_type"], x["solution"],
                                            x["metadata"]) for x in corpus.rows[name]], schema=QUESTION_SCHEMA)
        raws.append(raw)
    raws.append(tmp / "raw" / "aime.parquet")
    _kit_loader("aime", raws[-1], tmp, {"default/train/0000.parquet": corpus.aime}, "parquet")
    for key, questions in corpus.evals.items():
        evals.append(tmp / "eval" / f"{key}.jsonl")
        write_jsonl(evals[-1], [{"id": str(i), "question": q} for i, q in enumerate(questions)])
    evals.append(tmp / "eval" / "livecodebench_v4.jsonl")
    lcb = _snapshot(tmp / "hub" / "livecodebench_v4", corpus.lcb, "jsonl")
    write_eval_set("livecodebench_v4", evals[-1], manifest=_manifest(tmp, "livecodebench_v4", lcb))
    cfg = CollectConfig(semantics=semantics, ngram=8, seed=42, sources={"aime": {"decontaminate": False}},
                        official_loop=official_loop)
    out = tmp / f"{semantics}-{official_loop}"
    build_pool(raws, evals, out / "pool.parquet", out / "funnel.csv", out / "contaminated.parquet",
               out / "duplicates.parquet", config=cfg, official_collect=DATA / "collect_data.py")
    import csv

    with open(out / "funnel.csv", newline="") as fh:
        funnel = {r["source"]: {k: int(v) for k, v in r.items() if k != "source"} for r in csv.DictReader(fh)}
    return read_table(out / "pool.parquet").to_pylist(), funnel


def _snapshot(root: Path, files: dict[str, list[dict]], kind: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for rel, rows in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if kind == "jsonl":
            write_jsonl(root / rel, rows)
        else:
            pq.write_table(pa.Table.from_pylist(rows), root / rel)
    return root


def _manifest(tmp: Path, name: str, path: Path) -> Path:
    out = tmp / "manifests" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({name: {"path": str(path)}}))
    return out


def _kit_loader(name: str, raw: Path, tmp: Path, files: dict[str, list[dict]], kind: str) -> None:
    """A hub source through the kit's own loader, on a snapshot of the synthetic upstream files."""
    snap = _snapshot(tmp / "hub" / name, files, kind)
    write_source(name, raw, tmp / "quarantine" / f"{name}.jsonl", manifest=_manifest(tmp, name, snap), seed=0)


# ---- the comparisons -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("datasets")
    mod, _ = _official_module()
    corpus = Corpus(mod.TMP_QUESTIONS_TO_KEEP)
    tmp = tmp_path_factory.mktemp("conformance")
    with pytest.MonkeyPatch.context() as mp:
        official = run_official(corpus, mp)
    kit_official, funnel_official = run_kit(corpus, tmp, "official")
    kit, funnel_kit = run_kit(corpus, tmp, "kit")
    return corpus, official, kit_official, funnel_official, kit, funnel_kit


def _by_source(pairs) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for q, st in pairs:
        key = "LiveCodeBench" if st.startswith("LiveCodeBench") else "/".join(st.split("/")[:2])
        out.setdefault(key, []).append(q)
    return out


def test_official_semantics_equals_the_official_code(runs):
    """Same kept questions per source and the same pool order (source_type included)."""
    corpus, official, kit, funnel, _, _ = runs
    assert [(r["question"], r["source_type"]) for r in kit] == official
    # the planted cases did happen, so the equality above covers them
    questions = [q for q, _ in official]
    assert corpus.plants["near_dup"] not in questions  # cross-source 8-gram overlap with MATH
    assert funnel["olympiadbench"]["cross_source"] == 1 and funnel["scieval"]["cross_source"] == 1
    assert "What is seven plus six?" in questions  # a short eval question has no 8-gram upstream
    assert sum(q == corpus.plants["short_agieval"] for q in questions) == 1  # short duplicate: exact dedup
    assert all(t in questions for t in corpus.tmp[:5])  # TMP_QUESTIONS_TO_KEEP kept by SciEval and XWord
    # XWord: 1000 - 2 drawn + the 2 TMP rows, which the draw can hold too (then dedup drops the copy)
    assert 998 <= len([1 for _, st in official if st == "0xharib/xword1"]) <= 1000
    assert len({q for q, st in official if st.startswith("OpenDFM/SciEval")}) <= 250
    assert [q for q, st in official if st.startswith("LiveCodeBench")] == ["Print hello world."]  # < 8 words
    aime = [q for q, st in official if st == "qq8933/AIME_1983_2024"]
    assert len(aime) == 8 and corpus.aime[2]["Question"] in questions[:-8]  # <= 2022, appended without dedup
    assert all("\nAnswer Choices:\n(A) " in q for q, st in official if st == "Idavidrein/gpqa")


def test_kit_semantics_differs_only_as_documented(runs):
    """kit: no cross-source check, short eval copies caught, source order kept, no TMP list, AIME
    deduplicated, GPQA choices shuffled per question; everything else as the official code."""
    corpus, official, _, _, kit, funnel = runs
    off, mine = _by_source(official), _by_source((r["question"], r["source_type"]) for r in kit)
    sampled = {"OpenDFM/SciEval", "0xharib/xword1", "Idavidrein/gpqa", "qq8933/AIME_1983_2024"}
    for key in set(off) - sampled:
        expected = set(off[key])
        if key == "Hothan/OlympiadBench":
            expected.add(corpus.plants["near_dup"])  # kept: the kit checks against the eval sets only
        if key == "AI-MO/NuminaMath-CoT":
            expected.discard("What is seven plus six?")  # a short eval question copied verbatim
        if key == "LiveCodeBench":
            expected.discard("Print hello world.")  # short, and in release_v4 verbatim
        assert set(mine.get(key, [])) == expected, key
    # source order kept (no shuffle of unsampled sources): MATH in its upstream order
    math = [x["question"] for x in corpus.rows["MATH"]]
    assert mine["simplescaling/openaimath"] == sorted(set(mine["simplescaling/openaimath"]), key=math.index)
    assert funnel["math"]["contaminated"] == 1 and funnel["math"]["duplicates"] == 1
    # AIME: deduplicated against the pool (the MATH copy goes), otherwise as add_aime.py
    aime = "qq8933/AIME_1983_2024"
    assert sorted(mine[aime]) == sorted(q for q in off[aime] if q != corpus.aime[2]["Question"])
    # GPQA: the same questions and choices; only the letters' order may differ
    def heads(qs):
        return sorted((q.split("\nAnswer Choices:\n")[0], frozenset(q.split("\n")[-4:])) for q in qs)

    def choice_set(qs):
        return sorted((h, frozenset(c[4:] for c in cs)) for h, cs in heads(qs))

    assert choice_set(mine["Idavidrein/gpqa"]) == choice_set(off["Idavidrein/gpqa"])
    # sampled sources: the seeded draw over the decontaminated rows, without the TMP list
    assert len(mine["0xharib/xword1"]) == 1000 and len(set(mine["OpenDFM/SciEval"])) <= 250
    sci = {x["question"] for x in corpus.rows["SciEval"]}
    assert set(mine["OpenDFM/SciEval"]) <= sci and funnel["scieval"]["cross_source"] == 0


@pytest.fixture(scope="module")
def published_runs(tmp_path_factory):
    pytest.importorskip("datasets")
    mod, _ = _official_module()
    corpus = Corpus(mod.TMP_QUESTIONS_TO_KEEP)
    tmp = tmp_path_factory.mktemp("published")
    with pytest.MonkeyPatch.context() as mp:
        official = run_official(corpus, mp, published=True)
    kit, funnel = run_kit(corpus, tmp, "official", official_loop="published")
    return corpus, official, kit, funnel


def test_published_loop_equals_the_official_code_without_its_decontamination_call(published_runs):
    """collect.official_loop published (config/s1.yaml): the pool of the official main block with its
    decontaminate_train_data call taken out, as the published 59K pool was built. Nothing is dropped
    by n-grams, so LiveCodeBench keeps every hard problem of release_v1-v3 once (the published pool's
    release_v1 26, v2 46, v3 79 = 151); which release labels a problem is the copy that comes first
    after the source's seeded shuffle, data/collect_data.py:469 (shuffle), as the equality shows."""
    corpus, official, kit, funnel = published_runs
    assert [(r["question"], r["source_type"]) for r in kit] == official
    lcb = [q for q, st in official if st.startswith("LiveCodeBench")]
    hard = {x["question_content"].strip() for f in ("test.jsonl", "test2.jsonl", "test3.jsonl")
            for x in corpus.lcb[f] if x["difficulty"] == "hard"}
    assert sorted(lcb) == sorted(hard) and len(lcb) == 5  # every hard problem of v1-v3, once
    assert funnel["livecodebench"]["kept"] == 5 and funnel["livecodebench"]["contaminated"] == 0
    questions = [q for q, _ in official]
    assert corpus.plants["near_dup"] in questions  # no cross-source check either
    assert "Compute: " + corpus.evals["math500"][2] + " Give the answer." in questions  # an eval copy stays
    assert sum(r["contaminated"] + r["cross_source"] for k, r in funnel.items() if k != "total") == 0
