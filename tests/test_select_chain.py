"""The chain, end to end: official collection -> featurization merge -> notebook selection.

Under the official collection AIME is appended without dedup (data/add_aime.py:34
(concatenate_datasets)), so a pool question repeated by AIME is in the pool twice, under one id.
This drives the synthetic 16-source corpus of tests/test_collect_conformance.py (AIME repeats a
MATH question there) through the official collection code and the kit's pool step
(``collect.semantics: official``, ``official_loop: published``, as config/s1.yaml), merges
synthetic features onto the kit's pool with ``s1kit.features.merge.merge`` (the features are
per id, as featurization keys them by question hash), then runs the pinned notebook's own cells
(data/filter.ipynb, loaded and executed as tests/test_select_notebook.py does) beside
``select_s1k`` under config/s1.yaml's select section. The notebook keys every filter and draw
by question hash and keeps both rows of the question in cell 22 (sampled_geminiall); the kit
must do the same (it used to raise on the duplicate id).

Skips, saying why, when ../shared/official-s1 is absent.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path

import pytest

from s1kit.features.merge import merge
from s1kit.records import question_hash, read_table, write_table
from s1kit.select import select_s1k

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_collect_conformance as collection  # noqa: E402
import test_select_notebook as notebook  # noqa: E402

pytestmark = pytest.mark.skipif(not (notebook.NOTEBOOK.exists() and collection.DATA.exists()),
                                reason="../shared/official-s1 (the pinned official code) absent")
MODELS = notebook.MODELS
notebook_aime, notebook_gpqa = "qq8933/AIME_1983_2024", "Idavidrein/gpqa"  # data/filter.ipynb cell 17 (gpqa_domain)
DOMAINS = 8


def _h(qid: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{qid}".encode()).hexdigest()[:8], 16)


def _features(pool: list[dict], dup: str, tmp: Path) -> dict[str, Path]:
    """Traces, grades and domains per id (one per question, as the official featurization keys
    them); the duplicated question is hard and teacher-correct, so its AIME row is preselected.
    The 8 AIME rows spread over all DOMAINS, so that the notebook's benchmark domains (AIME's, GPQA's
    weights truncate to 0 here) do not all run dry before 1,000: data/filter.ipynb cell 21
    (benchmark_sample) would fail."""
    uniq = list(dict.fromkeys(r["id"] for r in pool))
    bench = list(dict.fromkeys(r["id"] for r in pool if r["source_type"] in (notebook_aime, notebook_gpqa)))
    traces = [{"id": i, "thinking": " ".join(["step"] * (20 + _h(i, "len") % 300)), "attempt": "Answer: 1",
               "finish_reason": "stop"} for i in uniq]
    teacher = [{"id": i, "correct": i == dup or _h(i, "teacher") % 5 != 0} for i in uniq]
    grades = {m: [{"id": i, "correct": i != dup and _h(i, m) % k == 0} for i in uniq]
              for m, k in zip(MODELS, (9, 8))}
    domains = [{"id": i, "domain": f"{bench.index(i) % DOMAINS:02d} D" if i in bench
                else None if _h(i, "dom") % 97 == 0 else f"{_h(i, 'd') % DOMAINS:02d} D"} for i in uniq]
    paths = {"traces": tmp / "traces.parquet", "teacher": tmp / "teacher.parquet", "domains": tmp / "domains.parquet"}
    write_table(paths["traces"], traces)
    write_table(paths["teacher"], teacher)
    write_table(paths["domains"], domains)
    for m, rows in grades.items():
        paths[m] = tmp / f"{m}.parquet"
        write_table(paths[m], rows)
    return paths


def _notebook_namespace(rows: list[dict], workdir: Path) -> dict:
    """data/filter.ipynb cells 0, 1 and the filters (4, 5, 7, 9, 10) on these rows, loading patched:
    the same steps as tests/test_select_notebook.py's ``filtered`` fixture."""
    src = notebook.cells()
    workdir = workdir / "data" / "scripts"  # cell 0 changes to two levels up
    workdir.mkdir(parents=True)
    ns: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.syspath_prepend(str(notebook.OFFICIAL))
        exec(src[0], ns)  # noqa: S102 - the pinned official notebook, the thing under test
    loaders = notebook.notebook_datasets(rows)
    ns["load_dataset"] = lambda name: {"train": loaders[name]}
    exec(src[1], ns)  # noqa: S102
    ns["funnel"] = {"collected": len(ns["geminiall"])}
    for i in notebook.FILTER_CELLS:
        exec(src[i], ns)  # noqa: S102
        if i in notebook.FUNNEL_CELLS:
            ns["funnel"][notebook.FUNNEL_CELLS[i]] = len(ns["geminiall"])
    return ns


@pytest.fixture(scope="module")
def chain(tmp_path_factory, tiny_tokenizer):
    pytest.importorskip("datasets")
    mod, _ = collection._official_module()
    corpus = collection.Corpus(mod.TMP_QUESTIONS_TO_KEEP)
    tmp = tmp_path_factory.mktemp("chain")
    with pytest.MonkeyPatch.context() as mp:
        official = collection.run_official(corpus, mp, published=True)
    kit_pool, _ = collection.run_kit(corpus, tmp, "official", official_loop="published")
    pool_path = tmp / "official-published" / "pool.parquet"
    dup = question_hash(corpus.aime[2]["Question"])  # AIME repeats a MATH question
    paths = _features(kit_pool, dup, tmp)
    tiny_tokenizer.save_pretrained(str(tmp / "tok"))
    merge(pool_path, paths["traces"], paths["teacher"], {m: str(paths[m]) for m in MODELS}, paths["domains"],
          tmp / "tok", tmp / "featurized.parquet")
    featurized = read_table(tmp / "featurized.parquet").to_pylist()
    return corpus, official, kit_pool, featurized, dup, _notebook_namespace(featurized, tmp / "nb")


def test_official_collection_puts_the_aime_copy_through_the_merge(chain):
    corpus, official, kit_pool, featurized, dup, _ = chain
    assert [(r["question"], r["source_type"]) for r in kit_pool] == official  # the official collection
    assert Counter(r["id"] for r in featurized)[dup] == 2  # one id, a MATH row and an AIME row
    assert {r["source_type"] for r in featurized if r["id"] == dup} == {
        "simplescaling/openaimath/Algebra", "qq8933/AIME_1983_2024"}
    assert len(featurized) == len(kit_pool)


@pytest.mark.parametrize("seed", [0, 42])
def test_notebook_selection_keeps_both_rows_of_the_duplicate(chain, seed):
    """Same funnel and the same rows in the same order as the notebook's cells, the duplicated
    question's two rows included (1,001 rows for 1,000 questions)."""
    _, _, _, featurized, dup, ns0 = chain
    ns = notebook.run_notebook(ns0, seed)
    cfg = notebook.paper_select_config(seed=seed)
    selection, funnel = select_s1k(featurized, cfg)
    assert {f["step"]: f["count"] for f in funnel} == ns["funnel"]
    nb_ids = [ns["question_hash"](x["question"]) for x in ns["sampled_geminiall"]]
    assert [r["id"] for r in selection] == nb_ids
    assert nb_ids.count(dup) == 2 and len(set(nb_ids)) == 1000 and len(nb_ids) == 1001
