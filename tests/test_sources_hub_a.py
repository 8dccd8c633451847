"""Hub loaders: MATH, OlympicArena, TheoremQA, NuminaMath, Omni-MATH, SciEval, OlympiadBench, JEEBench.

Each fixture is a few synthetic rows in the source's real raw schema (hub column names and
types), written under tmp_path in the repository layout the HubInput file patterns fetch,
plus rows and files the official selection must leave out. No hub access: the real
snapshots cannot be fetched here, so the published counts are not checked.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s1kit.sources import HUB_SOURCES
from s1kit.sources.quality import validate

NAMES = ("math", "olympicarena", "theoremqa", "numinamath", "omnimath", "scieval", "olympiadbench", "jeebench")


def _write(root: Path, rel: str, data) -> None:
    """data: a pyarrow Table (parquet), or a list of dicts (.json list / .jsonl lines)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, pa.Table):
        pq.write_table(data, path)
    elif rel.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _load(name: str, paths: dict[str, Path], seed: int = 0, **options):
    return list(HUB_SOURCES.get(name).load(paths, seed, **options))


def _check_metadata(rows):
    for r in rows:
        assert isinstance(r["metadata"], dict)
        json.dumps(r["metadata"], allow_nan=False)


@pytest.mark.parametrize("name", NAMES)
def test_source_is_registered_train_source_with_inputs_and_doc(name):
    import importlib

    source = HUB_SOURCES.get(name)
    assert source is importlib.import_module(f"s1kit.sources.{name}").SOURCE
    assert source.name == name and source.kind == "train"
    assert source.inputs
    for inp in source.inputs.values():
        assert inp.files and all(f and not f.startswith("/") for f in inp.files)
        assert "/" in inp.repo and inp.repo_type == "dataset"
    assert len(source.doc) > 200 and "aper" in source.doc  # states the paper's count


# ---- MATH ------------------------------------------------------------------------------


def test_math_train_rows_with_subject_source_type(tmp_path):
    def rec(i, subject, problem):
        return {"problem": problem, "solution": f"sol {i}", "answer": str(i), "subject": subject,
                "level": 5, "unique_id": f"train/{subject.lower()}/{i}.json"}

    _write(tmp_path, "train.jsonl", [rec(1, "Algebra", "What is 1+1?"), rec(2, "Counting & Probability", "How many?"),
                                     rec(3, "Geometry", None)])
    _write(tmp_path, "test.jsonl", [rec(9, "Algebra", "a MATH500 problem, not train")])
    rows = _load("math", {"openaimath": tmp_path})
    assert [r["question"] for r in rows] == ["What is 1+1?", "How many?", None]  # no validation here
    assert rows[1]["source_type"] == "qfq/openaimath/Counting & Probability"
    assert {r["cot_type"] for r in rows} == {"math"} and rows[0]["solution"] == "sol 1"
    assert rows[0]["metadata"] == {"answer": "1", "subject": "Algebra", "level": 5,
                                   "unique_id": "train/algebra/1.json"}
    _check_metadata(rows)
    records, quarantined = validate(rows, "math", 50_000)  # the collect step's quality gate
    assert len(records) == 2 and [q["reason"] for q in quarantined] == ["missing_question"]


# ---- OlympicArena ----------------------------------------------------------------------

OA_SCHEMA = pa.schema([
    ("id", pa.string()), ("problem", pa.string()), ("prompt", pa.string()), ("figure_urls", pa.list_(pa.string())),
    ("answer", pa.list_(pa.string())), ("solution", pa.string()), ("answer_type", pa.string()),
    ("unit", pa.list_(pa.string())), ("answer_sequence", pa.list_(pa.string())),
    ("type_sequence", pa.list_(pa.string())),
    ("test_cases", pa.list_(pa.struct([("input", pa.string()), ("output", pa.string())]))),
    ("subject", pa.string()), ("language", pa.string()), ("modality", pa.string()),
])


def _oa(id_, subject, language="EN", modality="text-only", test_cases=None):
    return {"id": id_, "problem": f"problem {id_}", "prompt": "You are participating in an olympiad.",
            "figure_urls": None if modality == "text-only" else ["https://x/fig.png"], "answer": ["42"],
            "solution": f"solution {id_}", "answer_type": "NV", "unit": [None], "answer_sequence": None,
            "type_sequence": None, "test_cases": test_cases, "subject": subject, "language": language,
            "modality": modality}


def _olympicarena_snapshot(root: Path) -> None:
    from s1kit.sources.olympicarena import SUBJECTS

    rows = {
        ("Math", "test"): [_oa("Math_1", "Math"), _oa("Math_2", "Math", language="ZH"),
                           _oa("Math_3", "Math", modality="multi-modal")],
        ("Math", "val"): [_oa("Math_4", "Math")],
        ("CS", "test"): [_oa("CS_1", "CS", test_cases=[{"input": "1", "output": "2"}])],
        ("Physics", "val"): [_oa("Physics_1", "Physics"), _oa("Physics_2", "Physics", language="ZH",
                                                              modality="multi-modal")],
        ("Biology", "test"): [_oa("Biology_1", "Biology")],
    }
    for subject in SUBJECTS:
        for split in ("test", "val"):
            table = pa.Table.from_pylist(rows.get((subject, split), []), schema=OA_SCHEMA)
            _write(root, f"{subject}/{split}-00000-of-00001.parquet", table)


def test_olympicarena_english_text_only_test_then_val(tmp_path):
    _olympicarena_snapshot(tmp_path)
    rows = _load("olympicarena", {"olympicarena": tmp_path})
    ids = [r["metadata"]["id"] for r in rows]
    # every test split (subjects in the official order), then every val split
    assert ids == ["Math_1", "Biology_1", "CS_1", "Math_4", "Physics_1"]
    by_id = {r["metadata"]["id"]: r for r in rows}
    assert {i: r["cot_type"] for i, r in by_id.items()} == {
        "Math_1": "math", "Math_4": "math", "Biology_1": "science", "CS_1": "coding", "Physics_1": "science"}
    assert by_id["CS_1"]["source_type"] == "GAIR/OlympicArena/CS"
    assert by_id["Math_1"]["question"] == "problem Math_1" and by_id["Math_1"]["solution"] == "solution Math_1"
    meta = by_id["CS_1"]["metadata"]
    assert "test_cases" not in meta and "problem" not in meta and "solution" not in meta
    assert meta["answer"] == ["42"] and meta["language"] == "EN" and meta["modality"] == "text-only"
    _check_metadata(rows)


def test_olympicarena_missing_subject_file_is_a_clear_error(tmp_path):
    _olympicarena_snapshot(tmp_path)
    (tmp_path / "Astronomy" / "val-00000-of-00001.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="Astronomy/val"):
        _load("olympicarena", {"olympicarena": tmp_path})


# ---- TheoremQA -------------------------------------------------------------------------

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def test_theoremqa_drops_rows_with_a_picture(tmp_path):
    schema = pa.schema([("id", pa.string()), ("Question", pa.string()), ("Answer", pa.string()),
                        ("Answer_type", pa.string()), ("Picture", IMAGE)])
    table = pa.Table.from_pylist([
        {"id": "t1", "Question": "Is 7 prime?", "Answer": "True", "Answer_type": "bool", "Picture": None},
        {"id": "t2", "Question": "See the figure.", "Answer": "3", "Answer_type": "integer",
         "Picture": {"bytes": b"\x89PNG...", "path": "fig.png"}},
        {"id": "t3", "Question": "Compute 1/4.", "Answer": "0.25", "Answer_type": "float",
         "Picture": {"bytes": None, "path": None}},
    ], schema=schema)
    _write(tmp_path, "data/test-00000-of-00001.parquet", table)
    rows = _load("theoremqa", {"theoremqa": tmp_path})
    assert [r["metadata"]["id"] for r in rows] == ["t1", "t3"]
    assert [r["source_type"] for r in rows] == ["TIGER-Lab/TheoremQA/bool", "TIGER-Lab/TheoremQA/float"]
    assert rows[0]["question"] == "Is 7 prime?" and rows[0]["solution"] == "True" and rows[0]["cot_type"] == "math"
    assert rows[1]["metadata"] == {"id": "t3", "Answer_type": "float"}
    _check_metadata(rows)


# ---- NuminaMath ------------------------------------------------------------------------

NUMINA_SCHEMA = pa.schema([
    ("source", pa.string()), ("problem", pa.string()), ("solution", pa.string()),
    ("messages", pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))),
])


def _numina(source, problem):
    return {"source": source, "problem": problem, "solution": f"solution of {problem}",
            "messages": [{"content": problem, "role": "user"}, {"content": "...", "role": "assistant"}]}


def test_numinamath_aops_plus_500_subset(tmp_path):
    cot, subset = tmp_path / "cot", tmp_path / "subset"
    _write(cot, "data/train-00000-of-00002.parquet", pa.Table.from_pylist([
        _numina("aops_forum", "A1"), _numina("cn_k12", "P1"), _numina("synthetic_math", "not in the subset"),
        _numina("olympiads", "P2")], schema=NUMINA_SCHEMA))
    _write(cot, "data/train-00001-of-00002.parquet", pa.Table.from_pylist([
        _numina("olympiads", "P2"), _numina("aops_forum", "P3"), _numina("orca_math", "P5 not in subset"),
        _numina("aops_forum", "A2")], schema=NUMINA_SCHEMA))
    _write(cot, "data/test-00000-of-00001.parquet", pa.Table.from_pylist(
        [_numina("aops_forum", "a test-split row")], schema=NUMINA_SCHEMA))
    _write(subset, "data/train-00000-of-00001.parquet", pa.Table.from_pylist(
        [_numina("cn_k12", "P1"), _numina("olympiads", "P2"), _numina("aops_forum", "P3"),
         _numina("amc_aime", "P4 absent from CoT")], schema=NUMINA_SCHEMA))
    rows = _load("numinamath", {"numinamath": cot, "numinamath_500": subset})
    # official order: the subset's non-aops rows (duplicates kept for the pool's dedup), then aops_forum
    assert [r["question"] for r in rows] == ["P1", "P2", "P2", "A1", "P3", "A2"]
    assert [r["source_type"].rsplit("/", 1)[1] for r in rows] == [
        "cn_k12", "olympiads", "olympiads", "aops_forum", "aops_forum", "aops_forum"]
    assert rows[0]["source_type"] == "AI-MO/NuminaMath-CoT/cn_k12" and rows[0]["solution"] == "solution of P1"
    assert all(r["metadata"] == {"source": r["source_type"].rsplit("/", 1)[1]} for r in rows)  # no messages
    assert {r["cot_type"] for r in rows} == {"math"}
    _check_metadata(rows)
    # keep_list (collect.semantics official: TMP_QUESTIONS_TO_KEEP) keeps non-aops rows outside the 500 too
    kept = _load("numinamath", {"numinamath": cot, "numinamath_500": subset}, keep_list=["P5 not in subset"])
    assert [r["question"] for r in kept] == ["P1", "P2", "P2", "P5 not in subset", "A1", "P3", "A2"]


def test_numinamath_gets_the_official_keep_list_under_official_semantics(tmp_path):
    """write_source reads TMP_QUESTIONS_TO_KEEP from the pinned collect_data.py for a keep_list source."""
    from s1kit.collect import write_source
    from s1kit.records import read_table

    official = Path(__file__).resolve().parents[1].parent / "shared/official-s1/data/collect_data.py"
    if not official.exists():
        pytest.skip("../shared/official-s1 absent")
    from s1kit.collect import official_keep_list

    tmp = sorted(official_keep_list(official))
    assert len(tmp) == 64  # data/collect_data.py:18 (84 entries, 64 distinct), read, not copied
    cot, subset = tmp_path / "cot", tmp_path / "subset"
    _write(cot, "data/train-00000-of-00001.parquet", pa.Table.from_pylist(
        [_numina("cn_k12", tmp[0]), _numina("cn_k12", "not kept"), _numina("aops_forum", "A1")], schema=NUMINA_SCHEMA))
    _write(subset, "data/train-00000-of-00001.parquet", pa.Table.from_pylist([_numina("cn_k12", "P1")],
                                                                               schema=NUMINA_SCHEMA))
    man = tmp_path / "m.json"
    man.write_text(json.dumps({"numinamath": {"path": str(cot)}, "numinamath_500": {"path": str(subset)}}))
    for flag, expected in ((official, [tmp[0], "A1"]), (None, ["A1"])):
        write_source("numinamath", tmp_path / "raw.parquet", tmp_path / "q.jsonl", manifest=man,
                     official_collect=flag)
        assert read_table(tmp_path / "raw.parquet").column("question").to_pylist() == expected


# ---- Omni-MATH -------------------------------------------------------------------------


def test_omnimath_every_row(tmp_path):
    recs = [{"domain": ["Mathematics -> Algebra -> Inequalities"], "difficulty": 7.5, "problem": "Prove x>0.",
             "solution": "Since ...", "answer": "x>0", "source": "imo"},
            {"domain": ["Mathematics -> Number Theory -> Other"], "difficulty": 2.0, "problem": "",
             "solution": "...", "answer": "3", "source": "amc"}]
    _write(tmp_path, "test.jsonl", recs)
    rows = _load("omnimath", {"omnimath": tmp_path})
    assert [r["question"] for r in rows] == ["Prove x>0.", ""]  # the empty one is the quality step's to drop
    assert rows[0]["source_type"] == "KbsdJames/Omni-MATH" and rows[0]["cot_type"] == "math"
    assert rows[0]["solution"] == "Since ..."
    assert rows[0]["metadata"] == {"domain": ["Mathematics -> Algebra -> Inequalities"], "difficulty": 7.5,
                                   "answer": "x>0", "source": "imo"}
    _check_metadata(rows)


# ---- SciEval ---------------------------------------------------------------------------

SCI_TASKS = {"SocraticQA": ("multiple-choice", "Base Knowledge"), "MedQA": ("multiple-choice", "Knowledge Application"),
             "PubMedQA": ("judge", "Research Ability"), "reagent selection": ("filling", "Scientific Calculation")}


def _sci(i, task, topic=None, answer=("A",), category="biology", question=None):
    type_, ability = SCI_TASKS[task]
    return {"question": question or f"{task} question {i}?\n\nA. x\nB. y\n\nAnswer:",
            "answer": list(answer) if answer is not None else None, "category": category, "topic": topic,
            "ability": ability, "type": type_, "task_name": task, "prompt": "Given a question ...",
            "cot_prompt": "Given a question ...", "id": f"id{i}"}


def _scieval_snapshot(root: Path, n_per_task: int = 12) -> None:
    i = iter(range(10_000))
    local = [_sci(next(i), "SocraticQA", topic=f"topic{k % 3}", category="chemistry") for k in range(n_per_task)]
    local += [_sci(next(i), t) for t in ("MedQA", "PubMedQA") for _ in range(n_per_task)]
    local += [_sci(next(i), "reagent selection", category="chemistry", answer=("CO",),
                   question="Given the rest of reaction components:\nreactant: C\nOptimal solvent:")]
    _write(root, "scieval-test-local.json", local)
    _write(root, "scieval-test.json", [_sci(1000 + k, "MedQA", answer=None) for k in range(30)])  # no answers
    _write(root, "scieval-valid.json", [_sci(next(i), "reagent selection", category="chemistry", answer=("CO",))
                                        for _ in range(n_per_task)])
    _write(root, "scieval-dev.json", [_sci(next(i), "SocraticQA", topic="topic0", category="physics")])


def test_scieval_question_cleaning():
    from s1kit.sources.scieval import clean_question

    assert clean_question("What is X?\n\nA. 1\nB. 2\n\nAnswer:") == "What is X?\n\nA. 1\nB. 2"
    assert clean_question("reactant: C\nOptimal ligand:") == "reactant: C\nWhat is the optimal ligand?"
    assert clean_question(None) is None


def test_scieval_order_is_datasets_shuffle():
    datasets = pytest.importorskip("datasets")
    from s1kit.sources.scieval import shuffled_order

    for seed in (0, 42):
        ds = datasets.Dataset.from_dict({"i": list(range(53))}).shuffle(seed=seed)
        assert shuffled_order(53, seed) == ds["i"]


def test_scieval_selection_hand_traced():
    """n=4 over 4 tasks: 1 place per task; topics {t1, t2, None}: 1 place each.

    Seed 3 visits rows 6, 7, 2, 1, ...: row 6 (reagent, topic None) is taken for the None topic
    (spending SocraticQA's only place) and again for its task; row 7 finds both full; rows 2 and 1
    (SocraticQA t2, t1) are taken for their topics only; 4 rows taken: stop. MedQA and PubMedQA
    get nothing: the official quirks, kept.
    """
    from s1kit.sources.scieval import select_balanced

    tasks = ["SocraticQA", "SocraticQA", "SocraticQA", "MedQA", "MedQA", "PubMedQA", "reagent selection",
             "reagent selection"]
    topics = ["t1", "t1", "t2", None, None, None, None, None]
    rows = [{"id": i, "task_name": t, "topic": p} for i, (t, p) in enumerate(zip(tasks, topics))]
    assert [r["id"] for r in select_balanced(rows, 4, seed=3)] == [6, 6, 2, 1]


def test_scieval_seeded_balanced_sample_and_mapping(tmp_path):
    from s1kit.sources.scieval import select_balanced

    _scieval_snapshot(tmp_path)
    paths = {"scieval": tmp_path}
    everything = _load("scieval", paths, seed=42)
    assert everything == _load("scieval", paths, seed=1)  # the loader draws nothing: the pool step samples

    def sample(seed):  # as s1kit.collect.select runs it on the decontaminated rows
        meta = [{**r["metadata"], "_i": i} for i, r in enumerate(everything)]
        return [everything[m["_i"]] for m in select_balanced(meta, 20, seed)]

    rows = sample(42)
    assert rows == sample(42)  # same seed, same rows
    assert [r["metadata"]["id"] for r in rows] != [r["metadata"]["id"] for r in sample(1)]
    assert len(rows) == 20
    ids = [r["metadata"]["id"] for r in rows]
    # a row may be emitted twice, only back to back (topic place, then task place)
    assert all(ids[j] != ids[k] for j in range(len(ids)) for k in range(j + 2, len(ids)))
    distinct = {r["metadata"]["id"]: r for r in rows}
    per_task = Counter(r["metadata"]["task_name"] for r in distinct.values())
    # 4 tasks: 5 places each; topics {topic0..2, None}: ceil(5/4) = 2 places each
    assert set(per_task) == set(SCI_TASKS) and max(per_task.values()) <= 5 + 2
    assert {r["metadata"]["topic"] for r in distinct.values() if r["metadata"]["task_name"] == "SocraticQA"} <= {
        "topic0", "topic1", "topic2"}
    assert not set(ids) & {f"id{1000 + k}" for k in range(30)}  # scieval-test.json rows have no answer
    assert all(r["solution"] is not None for r in rows)  # answer-less test rows were filtered out
    soc = next(r for r in rows if r["metadata"]["task_name"] == "SocraticQA")
    assert soc["source_type"] == "OpenDFM/SciEval/chemistry/multiple-choice/SocraticQA"
    assert soc["cot_type"] == "science" and soc["solution"] == "A" and not soc["question"].endswith("Answer:")
    med = next(r for r in rows if r["metadata"]["task_name"] == "MedQA")
    assert med["cot_type"] == "health science"
    assert set(soc["metadata"]) == {"category", "topic", "ability", "type", "task_name", "prompt", "cot_prompt",
                                    "id"}
    _check_metadata(rows)


def test_scieval_official_defaults():
    from s1kit.sources.scieval import N_SAMPLES, SOURCE

    assert N_SAMPLES == 250 and SOURCE.sample == 250 and SOURCE.sampler == "balanced" and not SOURCE.options


# ---- OlympiadBench ---------------------------------------------------------------------

OB_SCHEMA = pa.schema([
    ("id", pa.int64()), ("question", pa.string()), ("solution", pa.list_(pa.string())),
    ("final_answer", pa.list_(pa.string())), ("context", pa.string()),
    *[(f"image_{k}", IMAGE) for k in range(1, 6)],
    ("modality", pa.string()), ("difficulty", pa.string()), ("is_multiple_answer", pa.bool_()),
    ("unit", pa.string()), ("answer_type", pa.string()), ("error", pa.string()), ("question_type", pa.string()),
    ("subfield", pa.string()), ("subject", pa.string()), ("language", pa.string()),
])


def _ob(id_, qtype, subject, solution=("first solution", "second solution"), language="English",
        modality="Text-only"):
    return {"id": id_, "question": f"question {id_}", "solution": list(solution) if solution is not None else None,
            "final_answer": ["$3$"] if qtype == "Open-ended" else None, "context": None,
            **{f"image_{k}": None for k in range(1, 6)}, "modality": modality, "difficulty": "Competition",
            "is_multiple_answer": False, "unit": None, "answer_type": "Numerical", "error": None,
            "question_type": qtype, "subfield": "Algebra", "subject": subject, "language": language}


def test_olympiadbench_text_only_english_configs(tmp_path):
    files = {
        "OE_TO_maths_en_COMP": [_ob(1, "Open-ended", "Math"), _ob(2, "Open-ended", "Math", solution=[])],
        "OE_TO_physics_en_COMP": [_ob(3, "Open-ended", "Physics")],
        "TP_TO_maths_en_COMP": [_ob(4, "Theorem proof", "Math")],
        "TP_TO_physics_en_COMP": [_ob(5, "Theorem proof", "Physics")],
        # configs the selection leaves out: multimodal, Chinese
        "OE_MM_maths_en_COMP": [_ob(6, "Open-ended", "Math", modality="Multimodal")],
        "OE_TO_maths_zh_CEE": [_ob(7, "Open-ended", "Math", language="Chinese")],
    }
    for config, recs in files.items():
        _write(tmp_path, f"OlympiadBench/{config}/{config}.parquet", pa.Table.from_pylist(recs, schema=OB_SCHEMA))
    rows = _load("olympiadbench", {"olympiadbench": tmp_path})
    assert [r["metadata"]["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["source_type"] for r in rows] == [
        "Hothan/OlympiadBench/Open-ended/Math", "Hothan/OlympiadBench/Open-ended/Math",
        "Hothan/OlympiadBench/Open-ended/Physics", "Hothan/OlympiadBench/Theorem proof/Math",
        "Hothan/OlympiadBench/Theorem proof/Physics"]
    assert rows[0]["solution"] == "first solution" and rows[1]["solution"] is None
    assert rows[0]["question"] == "question 1" and {r["cot_type"] for r in rows} == {"math"}
    assert not any(k.startswith("image_") for r in rows for k in r["metadata"])
    assert rows[0]["metadata"]["final_answer"] == ["$3$"] and "solution" not in rows[0]["metadata"]
    _check_metadata(rows)


# ---- JEEBench --------------------------------------------------------------------------


def test_jeebench_subjects_to_cot_types(tmp_path):
    recs = [{"description": "JEE Adv 2016 Paper 1", "index": 1, "subject": "phy", "type": "MCQ",
             "question": "A particle ...", "gold": "B"},
            {"description": "JEE Adv 2017 Paper 2", "index": 2, "subject": "chem", "type": "Integer",
             "question": "How many moles ...", "gold": "4"},
            {"description": "JEE Adv 2019 Paper 1", "index": 3, "subject": "math", "type": "MCQ(multiple)",
             "question": "Let f ...", "gold": "ABD"}]
    _write(tmp_path, "test.json", recs)
    rows = _load("jeebench", {"jeebench": tmp_path})
    assert [r["cot_type"] for r in rows] == ["math", "science", "math"]
    assert [r["source_type"] for r in rows] == [
        "daman1209arora/jeebench/phy", "daman1209arora/jeebench/chem", "daman1209arora/jeebench/math"]
    assert rows[2]["question"] == "Let f ..." and rows[2]["solution"] == "ABD"
    assert rows[0]["metadata"] == {"description": "JEE Adv 2016 Paper 1", "index": 1, "subject": "phy",
                                   "type": "MCQ"}
    _check_metadata(rows)
