"""`s1kit paper` end to end on synthetic results trees (paper-scale and tiny)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from s1kit.paper import build
from s1kit.paper.report import TINY_NOTE


def ev(root: Path, model: str, setting: str, task: str, accuracy: float, tokens: float, n: int = 30,
       control: float = 1.0) -> Path:
    path = root / "eval" / model / setting / task / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": model, "task": task, "setting": setting, "n": n, "accuracy": accuracy,
                                "avg_thinking_tokens": tokens, "max_thinking_tokens": 2 * tokens,
                                "control": control, "gen_kwargs": {}, "engine": "fake"}))
    return path


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def paper_tree(tmp_path: Path) -> Path:
    """A small paper-scale tree: every status occurs for a known claim."""
    root = tmp_path / "results"
    aime = "aime24_nofigures"
    for setting, solved, tokens in [("bf-500", 0, 500), ("bf-1000", 4, 1000), ("bf-2000", 9, 2000),
                                    ("bf-4000", 13, 3933), ("bf-8000", 15, 5300), ("bf-auto", 15, 6984),
                                    ("wait-2", 16, 6657), ("wait-4", 17, 7320)]:
        ev(root, "s1-32B", setting, aime, solved / 30, tokens)
    ev(root, "s1-32B", "bf-auto", "openai_math", 0.932, 3200, n=500)
    ev(root, "s1-32B", "bf-auto", "gpqa_diamond_openai", 119 / 198, 4000, n=198)
    ev(root, "s1-32B", "plain", aime, 15 / 30, 0)  # w/o budget forcing (the fork's nottc)
    path = ev(root, "s1-32B", "kit.bf-auto", aime, 17 / 30, 6500)  # a kit addition, on the official stack
    path.write_text(json.dumps({**json.loads(path.read_text()), "semantics": "kit", "stack": "official"}))
    write(root / "select/funnel.csv", "step,count,description\ncollected,58986,c\nwith_features,54116,f\n"
          "after_format,51600,x\nafter_difficulty,24496,d\npreselected,393,p\nselected,1000,s\n")
    write(root / "select/s1K/summary.json", json.dumps({"questions": 1000, "thinking_tokens": 4_700_000, "domains": 51,
                                                        "teacher_correct_frac": 0.536, "avg_thinking_tokens": 4700}))
    write(root / "select/s1K/composition.csv",
          "domain,questions,thinking_tokens\nGeometry,109,1\nNumber theory,98,1\nDifferential geometry,5,1\n")
    write(root / "data/funnel_collect.csv",
          "source,loaded,quarantined,contaminated,cross_source,unselected,duplicates,kept,deduplicated\n"
          "numinamath,31000,10,290,0,0,40,30660,30660\nmath,12500,0,500,0,0,1,11999,11999\n"
          "total,43500,10,790,0,0,41,42659,42659\n")
    write(root / "train/s1-32B/metrics.json",
          json.dumps({"steps": 315, "train_runtime_s": 1560, "samples_cut_frac": 0.0}))
    return root


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tiny" / "results"
    for setting, acc, tokens in [("bf-0", 0.1, 0), ("bf-8", 0.2, 8), ("bf-16", 0.3, 16), ("bf-24", 0.5, 24),
                                 ("bf-32", 0.6, 31), ("bf-48", 0.8, 45), ("bf-64", 0.9, 50), ("bf-auto", 0.9, 52),
                                 ("wait-1", 0.92, 60), ("wait-2", 0.93, 70)]:
        ev(root, "tiny-s1", setting, "tiny_chains", acc, tokens, n=100)
    write(root / "select/funnel.csv", "step,count,description\ncollected,400,c\nwith_features,400,f\n"
          "after_format,390,x\nafter_difficulty,200,d\npreselected,10,p\nselected,50,s\n")
    write(root / "select/s1K/composition.csv", "domain,questions,thinking_tokens\ntiny_math,30,900\ntiny_science,20,500\n")
    write(root / "train/tiny-s1/metrics.json", json.dumps({"steps": 40, "train_runtime_s": 30, "samples_cut_frac": 0.1}))
    return root


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    build.add_arguments(parser)
    return build.main(parser.parse_args(list(argv)))


def claims_csv(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "claims.csv", keep_default_na=False, dtype=str).set_index("claim_id")


def test_paper_tree_outputs_and_statuses(paper_tree: Path, capsys):
    out = paper_tree / "paper"
    assert run_cli("--results-dir", str(paper_tree)) == 0
    for name in ["claims.csv", "report.md", "report.html", "figures/scaling.png", "figures/scaling.pdf",
                 "figures/composition-s1K.png", "figures/composition-s1K.pdf",
                 *(f"tables/{t}.{x}" for t in ("results", "scaling_methods", "funnel", "funnel_collect", "selections")
                   for x in ("csv", "md", "tex"))]:
        assert (out / name).stat().st_size > 0, name
    assert (out / "figures/scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures/scaling.pdf").read_bytes()[:5] == b"%PDF-"
    assert not list(out.rglob("*.tmp"))  # atomic writes leave nothing behind
    claims = claims_csv(out)
    status = claims["status"]
    assert status["table2.s1K.aime24"] == "match"                     # 15/30 = 50.0
    assert status["table1.s1-32B-noBF.aime24"] == "match"  # plain: 15/30 = 50.0
    assert status["kit.table1.s1-32B.aime24"] == "match"  # kit.bf-auto: 17/30 = 56.7
    assert claims["semantics"]["kit.table1.s1-32B.aime24"] == "kit"
    assert claims["semantics"]["table1.s1-32B.aime24"] == "fork" and claims["semantics"]["table1.o1.aime24"] == ""
    assert claims["stack"]["kit.table1.s1-32B.aime24"] == "official" and claims["stack"]["table1.s1-32B.aime24"] == ""
    assert status["table1.s1-32B.aime24"] == "off"                    # 50.0 vs 56.7: two problems
    assert status["table1.s1-32B.math500"] == "within tolerance"      # 93.2 vs 93.0
    assert status["table1.s1-32B.gpqa"] == "within tolerance"         # 119/198 = 60.1 vs 59.6
    assert status["table2.s1K.gpqa"] == "off"                         # 60.1 vs 57.6
    assert status["table1.s1.1-32B.aime24"] == "not run"
    assert status["table1.o1.aime24"] == "cited"
    assert status["funnel.collected"] == "match" and claims.loc["funnel.collected", "compared_to"] == "notebook"
    assert status["funnel.after_format"] == "off" and claims.loc["funnel.after_format", "delta"] == "-7.0"
    assert status["collect.NuminaMATH.questions"] == "match"
    assert status["collect.OmniMath.questions"] == "not run"          # no such row: not produced
    assert "no row matches" in claims.loc["collect.OmniMath.questions", "note"]
    assert status["collect.total.questions"] == "off"
    assert status["s1K.domain.Geometry"] == "match"                   # Differential geometry is not Geometry
    assert status["train.s1-32B.minutes"] == "match"                  # 1560 s = 26 min
    assert status["train.s1-32B.gpu_hours"] == "error"                # metrics.json lacks gpu_hours
    assert "no key 'gpu_hours'" in claims.loc["train.s1-32B.gpu_hours", "note"]
    assert status["table3.budget-forcing.control"] == "match"         # read back from scaling_methods.csv
    # complete commands (issue 22): the paper config named; the cheapest route first
    assert claims.loc["table1.s1-32B.aime24", "rebuild"] == \
        "snakemake --configfile config/s1.yaml --cores all results/eval/s1-32B/bf-auto/aime24_nofigures/results.json"
    assert claims.loc["table1.s1-32B.aime24", "requires"] == "gpu-eval"
    assert "--allowed-rules" in claims.loc["table1.s1-32B.aime24", "command"]
    assert claims.loc["table1.s1-32B.aime24", "band"].startswith("one question = 3.3 points")
    assert claims.loc["table1.s1-32B.aime24", "tiny_value"] == ""     # no tiny tree given
    assert "claims" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "## Table 1" in report and "## Figures" in report and "![" in report
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'class="off"' in html
    assert '<figure id="fig-scaling"><img src="data:image/png;base64,' in html  # self-contained
    # the paper's layout: Table 1 row s1-32B, column AIME24 holds 50.0 against 56.7, off, details one click away
    cell = html[html.index('id="c-table1.s1-32B.aime24"'):].split("</td>")[0]
    assert '<span class="v">50.0</span>' in cell and "paper 56.7% · Δ -6.7" in cell and "b-off" in cell
    assert "<details>" in cell and "snakemake --configfile config/s1.yaml --cores all results/eval/s1-32B/bf-auto/aime24_nofigures/results.json" in cell
    assert "| s1-32B | **50.0** / 56.7 (-6.7) off |" in report


def test_tiny_tree_is_never_compared_with_the_paper(tiny_tree: Path):
    out = tiny_tree / "paper"
    assert run_cli("--results-dir", str(tiny_tree)) == 0
    claims = claims_csv(out)
    # one vocabulary (issue 22): a claim with a tiny analogue is "tiny", never compared
    assert set(claims["status"]) == {"tiny", "not run", "cited"}
    assert ((claims["status"] == "tiny") == (claims["tiny_value"] != "")).all()
    row = claims.loc["table1.s1-32B.aime24"]
    assert (row["reproduced_value"], row["tiny_value"], row["tiny_note"]) == ("", "90.0", TINY_NOTE)
    assert (row["delta"], row["compared_to"]) == ("", "")
    assert claims.loc["funnel.selected", "tiny_value"] == "50.0"      # same path as the paper target
    assert claims.loc["table3.budget-forcing.control", "tiny_value"] == "100.0"
    assert claims.loc["table5.s1-32B.wait-2.aime24", "tiny_value"] == "93.0"
    assert (claims["tiny_note"] != "").sum() == (claims["tiny_value"] != "").sum()
    methods = pd.read_csv(out / "tables/scaling_methods.csv")
    assert methods.iloc[0][["model", "method", "runs"]].tolist() == ["tiny-s1", "budget forcing", 8]
    report = (out / "report.md").read_text()
    assert "tiny default run" in report and "not paper numbers" in report  # figure captions say so
    assert "bf-0" not in (out / "tables/scaling_methods.md").read_text()


def test_paper_tree_with_tiny_tree_beside(paper_tree: Path, tiny_tree: Path):
    assert run_cli("--results-dir", str(tiny_tree)) == 0  # the tiny run's own paper stage (Table 3 CSV)
    out = paper_tree.parent / "report"
    assert run_cli("--results-dir", str(paper_tree), "--out-dir", str(out), "--tiny-results-dir", str(tiny_tree)) == 0
    claims = claims_csv(out)
    row = claims.loc["funnel.selected"]
    assert (row["reproduced_value"], row["status"], row["tiny_value"]) == ("1000.0", "match", "50.0")
    assert claims.loc["table3.budget-forcing.scaling", "tiny_value"] != ""


def test_explicit_eval_results_limit_the_tables(paper_tree: Path):
    out = paper_tree.parent / "only"
    one = paper_tree / "eval/s1-32B/bf-auto/openai_math/results.json"
    assert run_cli("--results-dir", str(paper_tree), "--out-dir", str(out), "--eval-results", str(one)) == 0
    table = pd.read_csv(out / "tables/results.csv")
    assert table[["model", "setting"]].values.tolist() == [["s1-32B", "bf-auto"]]


def test_empty_tree_still_writes_declared_outputs(tmp_path: Path):
    root = tmp_path / "results"
    root.mkdir()
    assert run_cli("--results-dir", str(root)) == 0
    for name in ("claims.csv", "report.md", "report.html", "figures/scaling.png", "tables/results.csv",
                 "tables/scaling_methods.csv"):
        assert (root / "paper" / name).exists(), name
    assert set(claims_csv(root / "paper")["status"]) == {"not run", "cited"}


def test_malformed_json_is_a_clear_error(paper_tree: Path, capsys):
    bad = paper_tree / "eval/s1-32B/bf-auto/openai_math/results.json"
    bad.write_text('{"model": "s1-32B",')
    assert run_cli("--results-dir", str(paper_tree)) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}: malformed JSON" in err


def test_missing_column_is_a_clear_error(paper_tree: Path, capsys):
    write(paper_tree / "select/funnel.csv", "step,n,description\ncollected,1,c\n")
    assert run_cli("--results-dir", str(paper_tree)) == 2
    assert "funnel.csv: missing column(s) ['count']" in capsys.readouterr().err


def test_strict_fails_on_a_missing_field(paper_tree: Path, capsys):
    assert run_cli("--results-dir", str(paper_tree), "--strict") == 2
    assert "claim train.s1-32B.gpu_hours" in capsys.readouterr().err


def test_rebuild_is_deterministic(paper_tree: Path):
    assert run_cli("--results-dir", str(paper_tree)) == 0
    first = {p: p.read_bytes() for p in (paper_tree / "paper").rglob("*") if p.is_file()}
    assert run_cli("--results-dir", str(paper_tree)) == 0
    second = {p: p.read_bytes() for p in (paper_tree / "paper").rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [p for p in first if first[p] != second[p]] == []


def test_partial_tiny_run_is_detected_before_any_eval(tmp_path: Path):
    root = tmp_path / "results"
    write(root / "data/raw/tiny_math.parquet", "")
    assert build.detect_mode(root) == "tiny"
    assert build.detect_mode(tmp_path / "elsewhere") == "paper"
    write(root / "select/funnel.csv", "step,count,description\ncollected,400,c\nwith_features,400,f\n"
          "after_format,390,x\nafter_difficulty,200,d\npreselected,10,p\nselected,50,s\n")
    assert run_cli("--results-dir", str(root)) == 0
    row = claims_csv(root / "paper").loc["funnel.selected"]
    assert (row["status"], row["tiny_value"]) == ("tiny", "50.0")  # never compared: its own status
    assert run_cli("--results-dir", str(root), "--mode", "paper") == 0  # explicit override
    assert claims_csv(root / "paper").loc["funnel.selected", "status"] == "off"


def test_thinking_length_histograms(paper_tree: Path, capsys):
    """One histogram per selection with a dataset.parquet; byte-identical on rebuild."""
    from s1kit.records import write_table

    write_table(paper_tree / "select/s1K/dataset.parquet",
                [{"id": f"q{i}", "thinking_tokens": 1000 + 37 * i} for i in range(200)])
    write_table(paper_tree / "select/1K-longest/dataset.parquet", [{"id": "q0", "thinking_tokens": 9000}])
    out = paper_tree / "paper"
    assert run_cli("--results-dir", str(paper_tree)) == 0
    figs = {p.name for p in (out / "figures").glob("thinking-lengths-*")}
    assert figs == {f"thinking-lengths-{s}.{x}" for s in ("s1K", "1K-longest") for x in ("png", "pdf")}
    assert (out / "figures/thinking-lengths-s1K.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Thinking lengths of s1K: 200 questions" in (out / "report.md").read_text()
    first = {n: (out / "figures" / n).read_bytes() for n in figs}
    assert run_cli("--results-dir", str(paper_tree)) == 0
    assert first == {n: (out / "figures" / n).read_bytes() for n in figs}
    write_table(paper_tree / "select/s1K/dataset.parquet", [{"id": "q0", "tokens": 3}])
    assert run_cli("--results-dir", str(paper_tree)) == 2
    assert "dataset.parquet: cannot read column 'thinking_tokens'" in capsys.readouterr().err


def test_no_dataset_no_histogram(paper_tree: Path):
    assert run_cli("--results-dir", str(paper_tree)) == 0
    assert not list((paper_tree / "paper/figures").glob("thinking-lengths-*"))
