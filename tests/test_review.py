"""Review mode (s1kit.review, config/review.yaml) on fixtures in the published formats.

The hub is not reachable here: the published artifacts are small hand-written files in the
formats the paper's repositories use (lm-eval 0.4 results_*.json / samples_*.jsonl as in
simplescaling/results; parquet with the columns of data_ablation_full59K and s1K), fetched
through an offline mirror by the same code as a networked fetch.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from s1kit.review import inputs, regrade, reselect
from s1kit.cli import main as cli
from s1kit.records import question_hash
from s1kit.sources import HUB_SOURCES, PUBLISHED_SOURCES
from s1kit.sources.fetch import fetch

REPO = Path(__file__).resolve().parents[1]
STAMP = "2025-01-19T08-56-19.843710"
SHA = "a" * 40


def sample(doc_id: int, gold: str, thinking: str, answer: str, stored: int, extracted: str) -> dict:
    """One record as lm-eval 0.4 logs it for a generate_until task of the fork."""
    text = f"{thinking}<|im_start|>answer\n{answer}"
    return {
        "doc_id": doc_id,
        "doc": {"id": 60 + doc_id, "problem": f"Problem {doc_id}?", "solution": "...", "answer": gold},
        "target": gold,
        "arguments": {"gen_args_0": {"arg_0": f"<|im_start|>user\nProblem {doc_id}?<|im_end|>\n<|im_start|>assistant\n",
                                     "arg_1": {"max_gen_toks": 32768, "until": [], "do_sample": False}}},
        "resps": [[text]],
        "filtered_resps": [text],
        "filter": "none",
        "metrics": ["exact_match", "extracted_answers"],
        "doc_hash": "0" * 64, "prompt_hash": "1" * 64, "target_hash": "2" * 64,
        "exact_match": stored,
        "extracted_answers": [extracted],
    }


# AIME: 4 questions. The fork's grader and the kit agree on docs 0, 1, 3 and differ on doc 2.
AIME = [
    sample(0, "023", "one two three", "\\boxed{23}", 1, "23"),
    sample(1, "100", "one two", "Answer: 99", 0, "99"),
    sample(2, "005", "one two three four five", "The answer is \\boxed{5}.", 0, "5.0?"),
    sample(3, "010", "a b c d e f", "\\boxed{10}", 1, "10"),
]
# MATH500: 2 questions, both judged equal by math-verify; the stored verdicts say 1 of 2.
MATH = [
    sample(0, "\\frac{1}{2}", "x y", "\\boxed{\\dfrac{1}{2}}", 1, "\\frac{1}{2}"),
    sample(1, "4", "x y z w", "Answer: 4", 0, "four"),
]


def results_json(accs: dict[str, float], model: str) -> dict:
    return {
        "results": {t: {"alias": t, "exact_match,none": a, "exact_match_stderr,none": "N/A",
                        "extracted_answers,none": -1} for t, a in accs.items()},
        "configs": {}, "versions": {t: 1.0 for t in accs},
        "n-samples": {t: {"original": 30, "effective": 30} for t in accs},
        "config": {"model": "vllm", "model_args": f"pretrained={model},dtype=float32,tensor_parallel_size=8"},
        "model_name": model, "model_name_sanitized": model.replace("/", "__"),
    }


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def results_dir(tmp_path) -> Path:
    """Two runs in the two layouts of simplescaling/results."""
    root = tmp_path / "results_snapshot"
    run = root / "nottc" / "qfq__1k_qr_bt_dm_po"  # <output_path>/<model_name_sanitized>/
    run.mkdir(parents=True)
    (run / f"results_{STAMP}.json").write_text(json.dumps(results_json(
        {"aime24_nofigures": 0.5, "openai_math": 0.5}, "qfq/1k_qr_bt_dm_po")))
    write_jsonl(run / f"samples_aime24_nofigures_{STAMP}.jsonl", AIME)
    write_jsonl(run / f"samples_openai_math_{STAMP}.jsonl", MATH)
    flat = root / "59k"  # files directly under the run folder, stamp "full"
    flat.mkdir()
    (flat / "results_full.json").write_text(json.dumps(results_json({"openai_math": 1.0}, "qfq/59k")))
    write_jsonl(flat / "samples_openai_math_full.jsonl", [dict(r, exact_match=1) for r in MATH])
    return root


def by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["run"], r["task"]): r for r in rows}


def test_find_runs_reads_both_layouts(results_dir):
    runs = {r.name: r for r in regrade.find_runs(results_dir)}
    assert sorted(runs) == ["59k", "nottc/qfq__1k_qr_bt_dm_po"]
    assert sorted(runs["nottc/qfq__1k_qr_bt_dm_po"].samples) == ["aime24_nofigures", "openai_math"]
    assert runs["59k"].samples == {"openai_math": results_dir / "59k" / "samples_openai_math_full.jsonl"}
    assert runs["nottc/qfq__1k_qr_bt_dm_po"].group == "nottc"


def test_regrading_arithmetic_agreement_and_claims(results_dir):
    count, unit = inputs.make_counter("words")
    report, disagreements = regrade.grade_runs(results_dir, ["aime24_nofigures", "openai_math"], count, unit,
                                              claims={"nottc": "table1.s1-32B-noBF"})
    rows = by_key(report)
    aime = rows[("nottc/qfq__1k_qr_bt_dm_po", "aime24_nofigures")]
    assert aime["n"] == 4 and aime["model"] == "qfq/1k_qr_bt_dm_po"
    assert aime["published_accuracy"] == 50.0 and aime["published_samples_accuracy"] == 50.0
    assert aime["regraded_accuracy"] == 75.0 and aime["delta_published"] == 25.0
    assert aime["sample_agreement"] == 75.0 and aime["disagreements"] == 1
    assert aime["kit_only_correct"] == 1 and aime["published_only_correct"] == 0
    assert aime["avg_thinking"] == (3 + 2 + 5 + 6) / 4 and aime["thinking_unit"].startswith("words")
    assert aime["thinking_delimited"] == 100.0
    # one question of 4 is 25 points: within one question of the stored metric
    assert aime["status_published"] == "agree"
    # the paper's s1 w/o BF AIME24 is 50.0 with a 3.4 tolerance: 75.0 is off
    assert aime["claim"] == "table1.s1-32B-noBF.aime24" and aime["paper_value"] == 50.0
    assert aime["delta_paper"] == 25.0 and aime["status_paper"] == "off"
    math = rows[("nottc/qfq__1k_qr_bt_dm_po", "openai_math")]
    assert math["regraded_accuracy"] == 100.0 and math["published_accuracy"] == 50.0
    assert math["claim"] == "table1.s1-32B-noBF.math500" and math["status_paper"] == "off"  # paper 92.6
    flat = rows[("59k", "openai_math")]
    assert flat["regraded_accuracy"] == 100.0 and flat["sample_agreement"] == 100.0 and flat["claim"] == ""
    assert flat["status_paper"] == "no claim" and flat["status_published"] == "agree"
    listed = {(d["run"], d["task"], d["doc_id"]) for d in disagreements}
    assert listed == {("nottc/qfq__1k_qr_bt_dm_po", "aime24_nofigures", 2),
                      ("nottc/qfq__1k_qr_bt_dm_po", "openai_math", 1)}
    doc2 = next(d for d in disagreements if d["doc_id"] == 2)
    assert doc2["gold"] == "005" and doc2["kit_extracted"] == "5" and doc2["published_extracted"] == "5.0?"
    assert doc2["kit_correct"] is True and doc2["published_correct"] is False


def test_status_differs_beyond_one_question():
    run = regrade.PublishedRun("r", Path("r/results_x.json"), {})
    rows = [{"kit_correct": True, "published_correct": False, "responses": 1, "thinking": 1, "delimited": True}] * 2
    rows += [{"kit_correct": True, "published_correct": True, "responses": 1, "thinking": 1, "delimited": False}] * 2
    row = regrade.summarize(run, "t", rows, 0.5, "m", "words")
    assert row["regraded_accuracy"] == 100.0 and row["delta_published"] == 50.0
    assert row["status_published"] == "differ" and row["thinking_delimited"] == 50.0


def test_include_patterns_and_tasks_filter(results_dir):
    count, unit = inputs.make_counter("chars")
    report, _ = regrade.grade_runs(results_dir, ["openai_math"], count, unit, include=["59k"])
    assert [(r["run"], r["task"]) for r in report] == [("59k", "openai_math")]
    assert report[0]["avg_thinking"] == (len("x y") + len("x y z w")) / 2 and "characters" in report[0]["thinking_unit"]
    with pytest.raises(ValueError, match="no published run matches"):
        regrade.grade_runs(results_dir, ["openai_math"], count, unit, include=["nope*"])


def test_bad_sample_record_names_file_and_line(results_dir, tmp_path):
    bad = results_dir / "59k" / "samples_openai_math_full.jsonl"
    bad.write_text(json.dumps(MATH[0]) + "\n{not json\n")
    count, unit = inputs.make_counter("words")
    with pytest.raises(ValueError, match=r"samples_openai_math_full.jsonl:2: not JSON"):
        regrade.grade_runs(results_dir, ["openai_math"], count, unit, include=["59k"])
    rec = dict(MATH[0], resps=[], filtered_resps=[])
    with pytest.raises(ValueError, match="doc 0: no text"):
        regrade.grade_samples([rec], len, "f")


def test_thinking_split_and_tokenizer_counter(tmp_path):
    assert regrade.split_thinking("<|im_start|>think\nA B<|im_start|>answer\nC") == ("A B", True)
    assert regrade.split_thinking("plain answer") == ("plain answer", False)
    # a real (tiny, word-level) tokenizer saved locally, loaded the way the Qwen2.5 files are
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    count, unit = inputs.make_counter("tokenizer", tmp_path / "tok")
    assert count("a b a zz") == 4 and unit == "qwen2.5 tokens"
    with pytest.raises(ValueError, match="tokenizer"):
        inputs.make_counter("tokenizer", None)
    with pytest.raises(ValueError, match="thinking_count"):
        inputs.make_counter("bytes")


def test_published_sources_registered():
    for name in PUBLISHED_SOURCES:
        src = HUB_SOURCES.get(name)
        assert src.kind == "published" and src.inputs and src.doc
    assert HUB_SOURCES.get("published_results").inputs["results"].repo == "simplescaling/results"
    assert HUB_SOURCES.get("qwen_tokenizer").inputs["tokenizer"].repo_type == "model"
    with pytest.raises(ValueError, match="not a question source"):
        HUB_SOURCES.get("published_results").load({}, 0)


def test_fetch_from_mirror_then_cli_grade(results_dir, tmp_path):
    """The published results go through the real fetch (offline mirror, lock, manifest) and the CLI."""
    mirror = tmp_path / "mirror"
    shutil.copytree(results_dir, mirror / "datasets" / "simplescaling" / "results" / SHA)
    lock = tmp_path / "hub.lock.yaml"
    lock.write_text(yaml.safe_dump({"version": 1, "inputs": {"simplescaling/results@main": {
        "repo": "simplescaling/results", "repo_type": "dataset", "revision": "main", "sha": SHA}}}))
    fetch({"published_results": HUB_SOURCES.get("published_results")}, lock, tmp_path / "hub",
          tmp_path / "manifests", mirror=mirror)
    locked = yaml.safe_load(lock.read_text())["inputs"]["simplescaling/results@main"]["files"]
    assert "59k/samples_openai_math_full.jsonl" in locked
    assert f"nottc/qfq__1k_qr_bt_dm_po/results_{STAMP}.json" in locked
    out = tmp_path / "review"
    rc = cli(["review-grade", "--results-manifest", str(tmp_path / "manifests" / "published_results.json"),
              "--tasks", "aime24_nofigures", "openai_math", "--claims-json", '{"nottc": "table1.s1-32B-noBF"}',
              "--out-dir", str(out)])
    assert rc == 0
    with open(out / "grade.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and list(rows[0]) == regrade.GRADE_COLUMNS
    with open(out / "disagreements.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2
    md = (out / "grade.md").read_text()
    assert "table1.s1-32B-noBF.aime24" in md and "words (whitespace; not tokens)" in md and "2 sample(s)" in md


# ---- selection on the published pool ---------------------------------------------------------


def published_table(path: Path, rows: list[tuple[str, str, str, list[str] | None]]) -> None:
    """Parquet with the columns of simplescaling/data_ablation_full59K and s1K."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "solution": [f"sol {i}" for i in range(len(rows))],
        "question": [q for q, _, _, _ in rows],
        "cot_type": [c for _, c, _, _ in rows],
        "source_type": [s for _, _, s, _ in rows],
        "metadata": ["{'level': 5}"] * len(rows),
        "cot": pa.array([None] * len(rows), pa.null()),
        "thinking_trajectories": pa.array([t for _, _, _, t in rows], pa.list_(pa.string())),
        "attempt": ["Answer: 1"] * len(rows),
    })
    pq.write_table(table, path)


POOL = [
    ("Q long", "math", "qfq/openaimath/Algebra", ["w " * 50]),
    ("Q asy [asy] draw", "math", "qfq/openaimath/Geometry", ["w " * 80]),  # format filter drops it
    ("Q aime [asy] kept", "math", "qq8933/AIME_1983_2024", ["w " * 40]),   # AIME keeps its figures
    ("Q mid", "science", "Idavidrein/gpqa", ["w " * 20]),
    ("Q short", "crossword", "0xharib/xword1", ["w " * 5]),
    ("Q no trace", "math", "qfq/openaimath/Algebra", None),
]


def test_review_select_runs_what_the_columns_allow(tmp_path):
    published_table(tmp_path / "pool" / "data" / "train-00000-of-00001.parquet", POOL)
    published_table(tmp_path / "s1k" / "data" / "train-00000-of-00001.parquet",
                    [POOL[0], POOL[3], ("Q only in s1K", "math", "x", ["w w"])])
    cfg = {"size": 2, "seed": 0, "attempt_models": ["qwen7b"], "keep_asy_pattern": "^qq8933/AIME",
           "benchmark_sources": {"aime": {"pattern": "^qq8933/AIME", "weight": 1.0}}}
    info = reselect.run_select(tmp_path / "pool", tmp_path / "s1k", tmp_path / "out", cfg,
                             ["s1K", "1K-diverse", "1K-longest", "59K-full"], "words")
    assert info["pool_rows"] == 6 and info["missing_s1k_features"] == ["domain", "teacher_correct", "qwen7b_correct"]
    assert info["selections"]["s1K"] == {"status": "not run",
                                         "missing_features": ["domain", "teacher_correct", "qwen7b_correct"]}
    assert info["selections"]["1K-diverse"]["status"] == "not run"
    ids = (tmp_path / "out" / "1K-longest" / "ids.txt").read_text().split()
    assert ids == [question_hash("Q long"), question_hash("Q aime [asy] kept")]
    longest = info["selections"]["1K-longest"]
    assert longest["avg_thinking"] == 45.0 and longest["overlap_with_published_s1k"]["intersection"] == 1
    assert info["selections"]["59K-full"]["questions"] == 5  # every row with a trace
    assert info["s1k_vs_pool"]["intersection"] == 2 and info["s1k_vs_pool"]["published"] == 3
    assert info["published_s1k"]["avg_thinking"] == round((50 + 20 + 2) / 3, 1)
    overlap = json.loads((tmp_path / "out" / "1K-longest" / "overlap.json").read_text())
    assert {d["domain"] for d in overlap["domains"]} >= {"math", "(not in pool)"}
    feats = pq.read_table(tmp_path / "out" / "pool_features.parquet").to_pylist()
    assert [f["thinking_tokens"] for f in feats] == [50, 80, 40, 20, 5, None]
    md = (tmp_path / "out" / "select.md").read_text()
    assert "cannot be redrawn" in md and "2 of 3" in md and "words" in md


def test_review_select_rejects_unknown_selection(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        reselect.run_select(tmp_path, tmp_path, tmp_path / "o", {}, ["1K-best"], "words")


# ---- the workflow ------------------------------------------------------------------------------


def test_review_config_dry_run_shows_fetch_and_review_jobs(tmp_path):
    """`snakemake --configfile config/review.yaml -n`: fetch + review jobs, none of the pipeline's."""
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "--cores", "1",
                           "--configfile", str(REPO / "config" / "review.yaml"), "-n"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    stats = out[out.index("Job stats"):]
    for job in ("review_fetch", "review_grade", "review_select"):
        assert job in stats
    assert "train_sft" not in stats and "collect_source" not in stats
    assert "--tokenizer-manifest resources/hub/manifests/qwen_tokenizer.json" in out
    assert "review" not in yaml.safe_load((REPO / "config" / "default.yaml").read_text())


def test_review_fetch_without_a_network_says_what_it_needs_in_one_line(tmp_path):
    """Issue 22: no hub reachable (a closed port on loopback stands in for no network) -> one line
    naming the repository, the revision and the two ways out, not a traceback."""
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
    env.pop("HF_HUB_OFFLINE", None)
    proc = subprocess.run([str(Path(sys.executable).parent / "s1kit"), "fetch", "--sources", "published_results",
                           "--lock", str(tmp_path / "hub.lock.yaml"), "--dest", str(tmp_path / "hub"),
                           "--manifests", str(tmp_path / "manifests")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = lines[0]
    assert line.startswith("s1kit fetch: error: cannot resolve dataset simplescaling/results at revision 'main'")
    assert "Needs a network" in line and "collect.hub.offline_mirror" in line
