"""s1K selection, conformance: the official notebook's own cells beside ``select.semantics``.

The cells of data/filter.ipynb from the feature filter to the sampling loop (cells 4-22,
less the upload in cell 11) are read from the pinned notebook's JSON at test time and
executed as they are, after cell 0's imports and cell 1 with ``load_dataset`` returning
in-memory ``datasets.Dataset`` s built from the synthetic pool of tests/select_pool.py, after
``np.random.seed(S)``. The kit's notebook mode runs on the same pool with config/s1.yaml's
select section and seed S. Same 1,000 ids in the same order, same count at every funnel
step, for 6 seeds; the kit's own semantics is tested for each documented difference.

Skips, saying why, when ../shared/official-s1 is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from s1kit.select import (BenchmarkSource, SelectConfig, format_ok, has_features, notebook_benchmark_weights,
                          require_fixed_hash_seed, run, select_s1k)
from s1kit.settings import from_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_pool import synthetic_pool  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = (ROOT / ".." / "shared" / "official-s1").resolve()
NOTEBOOK = OFFICIAL / "data" / "filter.ipynb"
pytestmark = pytest.mark.skipif(not NOTEBOOK.exists(), reason="../shared/official-s1 (the pinned official code) absent")

SEEDS = [0, 1, 2, 3, 7, 42]
# Cells after which the funnel is read; 11 (push_to_hub) and 24-28 (inspect, upload, tokenize) are not run.
FUNNEL_CELLS = {4: "with_features", 7: "after_format", 9: "after_difficulty"}
FILTER_CELLS = [4, 5, 7, 9, 10]
SAMPLE_CELLS = [14, 15, 17, 18, 19, 21, 22]
MODELS = ("Qwen2.5-7B-Instruct", "Qwen2.5-32B-Instruct")  # config/s1.yaml featurize.attempt_models
NB_GRADE = {MODELS[0]: "isqwen7bcorrect", MODELS[1]: "isqwen32bcorrect"}  # featurization.py upload_grading


def paper_select_config(**kw) -> SelectConfig:
    """config/s1.yaml's select section, as the select rule passes it."""
    cfg = yaml.safe_load((ROOT / "config" / "s1.yaml").read_text())
    raw = {k: v for k, v in cfg["select"].items() if k != "selections"}
    assert tuple(cfg["featurize"]["attempt_models"]) == MODELS
    raw["benchmark_sources"] = {k: from_dict(BenchmarkSource, v, k) for k, v in raw["benchmark_sources"].items()}
    return from_dict(SelectConfig, {**raw, "attempt_models": MODELS, **kw}, "select")


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool(attempt_models=MODELS)


def cells() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]]


def notebook_datasets(rows):
    """qfq/geminiall and qfq/train_featurized as the notebook reads them, in memory."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    gemini = {"question": [r["question"] for r in rows], "source_type": [r["source_type"] for r in rows]}
    feats = {k: [r[k] for r in rows] for k in ("solution", "question", "cot_type", "source_type", "metadata")}
    feats["cot"] = [None] * len(rows)
    feats["domain"] = [r["domain"] for r in rows]
    feats["gemini_length"] = [r["thinking_tokens"] for r in rows]
    feats["isgeminicorrect"] = [r["teacher_correct"] for r in rows]
    for m, col in NB_GRADE.items():
        feats[col] = [r[f"{m}_correct"] for r in rows]
    return {"qfq/geminiall": datasets.Dataset.from_dict(gemini),
            "qfq/train_featurized": datasets.Dataset.from_dict(feats)}


@pytest.fixture(scope="module")
def filtered(pool, tmp_path_factory) -> dict:
    """The notebook's namespace after cells 0-10 (imports, loading, the three filters), run once:
    nothing in them draws a random number, and cells 14-22 only read what they leave."""
    src = cells()
    assert "os.chdir(os.path.dirname(os.path.dirname(os.getcwd())))" in src[0]
    assert "load_dataset(\"qfq/train_featurized\")" in src[1] and "push_to_hub" in src[11]
    workdir = tmp_path_factory.mktemp("nb") / "data" / "scripts"  # cell 0 changes to two levels up
    workdir.mkdir(parents=True)
    ns: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.syspath_prepend(str(OFFICIAL))  # cell 0: from data.utils.io_utils import question_hash
        exec(src[0], ns)  # noqa: S102 - the pinned official notebook, the thing under test
    loaders = notebook_datasets(pool)
    ns["load_dataset"] = lambda name: {"train": loaders[name]}  # the only patch: loading
    exec(src[1], ns)  # noqa: S102
    ns["funnel"] = {"collected": len(ns["geminiall"])}
    for i in FILTER_CELLS:
        exec(src[i], ns)  # noqa: S102
        if i in FUNNEL_CELLS:
            ns["funnel"][FUNNEL_CELLS[i]] = len(ns["geminiall"])
    return ns


def run_notebook(filtered: dict, seed: int) -> dict:
    """Cells 14-22 after ``np.random.seed(seed)`` on a copy of ``filtered``; snapshots of the
    pools and benchmark weights taken before the sampling loop (cell 21)."""
    src = cells()
    ns = dict(filtered, funnel=dict(filtered["funnel"]))
    np.random.seed(seed)
    for i in SAMPLE_CELLS:
        if i == 21:
            ns["_pools_before"] = {d: dict(v) for d, v in ns["questions_ordered_by_domain"].items()}
            ns["_bench_before"] = (list(ns["benchmark_domains"]), ns["benchmark_weights"].copy())
        exec(src[i], ns)  # noqa: S102
        if i == 14:
            ns["funnel"]["preselected"] = len(ns["selected_qhashes"])
    ns["funnel"]["selected"] = len(ns["sampled_geminiall"])
    return ns


@pytest.mark.parametrize("seed", SEEDS)
def test_notebook_mode_equals_the_notebooks_cells(pool, filtered, seed):
    """Same ids in the same order (cell 22's pool order) and the same funnel, for seed S."""
    ns = run_notebook(filtered, seed)
    cfg = paper_select_config(seed=seed)
    assert cfg.semantics == "notebook"  # config/s1.yaml uses the notebook-exact rules
    selection, funnel = select_s1k(pool, cfg)
    assert {f["step"]: f["count"] for f in funnel} == ns["funnel"]
    nb_ids = [ns["question_hash"](x["question"]) for x in ns["sampled_geminiall"]]
    assert len(nb_ids) == 1000
    assert [r["id"] for r in selection] == nb_ids

    # the cases the pool was built for did occur in this run
    before, after = ns["_pools_before"], ns["questions_ordered_by_domain"]
    drawn = sum(len(v) for v in before.values()) - sum(len(v) for v in after.values())
    pre = ns["funnel"]["preselected"]
    assert drawn > 1000 - pre, "no preselected question was drawn again"
    assert sum(1 for d in before if not after[d]) >= 3, "no domain ran dry"
    assert len(ns["benchmark_domains"]) < len(ns["_bench_before"][0]), "no benchmark domain ran dry"
    lengths = [v["gemini_length"] for v in before[max(before, key=lambda d: len(before[d]))].values()]
    assert len(lengths) > 16 and len(set(lengths)) < len(lengths)  # ties in a domain past insertion sort


def test_cell17_weights_equal(pool, filtered):
    """data/filter.ipynb cell 17 (benchmark_weights): the same domains, order and float weights."""
    ns = run_notebook(filtered, 0)
    cfg = paper_select_config()
    hard = [r for r in pool if has_features(r, cfg) and format_ok(r, cfg)
            and not any(r[f"{m}_correct"] for m in MODELS)]
    domains, weights = notebook_benchmark_weights(hard, cfg)
    nb_domains, nb_weights = ns["_bench_before"]
    assert domains == nb_domains
    assert weights.tolist() == nb_weights.tolist()  # bit for bit
    # GPQA counted over every hard GPQA row, teacher grade ignored, scaled and truncated
    gpqa = [r for r in hard if r["source_type"] == "Idavidrein/gpqa"]
    assert any(not r["teacher_correct"] for r in gpqa)


def test_kit_semantics_documented_differences(pool, filtered):
    """docs/fidelity.md's selection rows: where `semantics: kit` parts from the notebook."""
    ns = run_notebook(filtered, 0)
    qh = ns["question_hash"]
    nb, kit = paper_select_config(), paper_select_config(semantics="kit")
    # feature filter: the kit does not need the teacher grade
    only_teacher_missing = [r for r in pool if r["teacher_correct"] is None and has_features(r, kit)]
    assert only_teacher_missing and not any(has_features(r, nb) for r in only_teacher_missing)
    kit_sel, kit_funnel = select_s1k(pool, kit)
    counts = {f["step"]: f["count"] for f in kit_funnel}
    assert counts["with_features"] - ns["funnel"]["with_features"] == len(only_teacher_missing)
    # format filters: rows past both feature filters on which the kit and cell 7 disagree are
    # exactly the planted cases (source class: 'AIME' in it, the notebook's test; 'aime' only)
    nb_kept = ns["no_weird_string"]
    both_featured = [r for r in pool if has_features(r, nb)]
    assert all(format_ok(r, nb) == (qh(r["question"]) in nb_kept) for r in both_featured)
    label = lambda r: r["case"] + ("/AIME" if "AIME" in r["source_type"]  # noqa: E731
                                   else "/aime" if "aime" in r["source_type"] else "")
    disagree = {label(r) for r in both_featured if (qh(r["question"]) in nb_kept) != format_ok(r, kit)}
    expected = {label(r) for r in both_featured
                if r["case"] in ("image_lower", "enum_in_word", "enum_zero")
                or (r["case"], label(r)) in (("asy_plus_enum", "asy_plus_enum/AIME"), ("asy", "asy/aime"))}
    assert disagree == expected
    assert {"asy_plus_enum/AIME", "asy/aime", "image_lower", "enum_in_word", "enum_zero"} <= expected
    # sampling: preselected rows first, then draws; no id twice; another selection than the notebook's
    pre = counts["preselected"]
    assert kit_sel[:pre] == sorted(kit_sel[:pre], key=lambda r: (-r["thinking_tokens"], r["id"]))
    assert len({r["id"] for r in kit_sel}) == 1000
    nb_ids = {qh(x["question"]) for x in ns["sampled_geminiall"]}
    assert len(nb_ids & {r["id"] for r in kit_sel}) < 1000


HASH_SEED_SCRIPT = """
import sys, dataclasses
sys.path.insert(0, {tests!r})
from test_select_notebook import paper_select_config, MODELS
from select_pool import synthetic_pool
from s1kit.select import select_s1k
rows = synthetic_pool(attempt_models=MODELS)
for sem in ("notebook", "kit"):
    sel, _ = select_s1k(rows, paper_select_config(semantics=sem, seed=3))
    print(sem, ",".join(r["id"] for r in sel))
"""


def test_notebook_mode_depends_on_the_hash_seed_kit_does_not():
    """The notebook's domain list is a set's order (cell 18): reproducible only under one
    PYTHONHASHSEED; the kit's draws depend on the pool and seed alone."""
    out = {}
    for hs in ("1", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hs, "OMP_NUM_THREADS": "1"}
        res = subprocess.run([sys.executable, "-c", HASH_SEED_SCRIPT.format(tests=str(Path(__file__).parent))],
                             capture_output=True, text=True, env=env, check=True, cwd=ROOT)
        out.setdefault(hs, []).append(dict(line.split(" ", 1) for line in res.stdout.splitlines()))
    (a, b), (c,) = out["1"], out["2"]
    assert a == b  # one hash seed: reproducible
    assert a["kit"] == c["kit"]
    assert a["notebook"] != c["notebook"]


def test_stage_requires_a_fixed_hash_seed(pool, tmp_path, monkeypatch):
    from s1kit.records import write_table

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    with pytest.raises(ValueError, match="PYTHONHASHSEED"):
        require_fixed_hash_seed(paper_select_config())
    require_fixed_hash_seed(paper_select_config(semantics="kit"))  # the kit's order is the pool's and seed's
    write_table(tmp_path / "f.parquet", pool)
    with pytest.raises(ValueError, match="PYTHONHASHSEED"):
        run("s1K", tmp_path / "f.parquet", tmp_path / "out", paper_select_config())
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    info = run("s1K", tmp_path / "f.parquet", tmp_path / "out", paper_select_config())
    assert info["questions"] == 1000


def test_notebook_errors_instead_of_failing_like_the_notebook(pool):
    """Where the notebook would crash (benchmark domains all dry) or run on past size, a clear error."""
    cfg = paper_select_config(uniform_until=0, size=900)
    bench = {r["domain"] for r in pool if r["source_type"] in ("Idavidrein/gpqa", "qq8933/AIME_1983_2024")}
    small = [r for r in pool if r["domain"] not in bench or r["source_type"] == "qq8933/AIME_1983_2024"]
    with pytest.raises(ValueError, match="every benchmark domain ran dry"):
        select_s1k(small, cfg)
    with pytest.raises(ValueError, match="no domain|weight 1.0"):
        SelectConfig(semantics="notebook", benchmark_sources={"gpqa": BenchmarkSource("gpqa", 0.5)})
    with pytest.raises(ValueError, match="occurs more than once"):  # the kit refuses a question twice;
        select_s1k(pool[:10] + pool[:1], paper_select_config(semantics="kit", size=900))
    # the notebook keeps both rows (test_select_chain.py runs it on such a pool)
