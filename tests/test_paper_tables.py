"""Table builders and Table 3 metrics on small synthetic inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from s1kit.paper import tables
from s1kit.paper.io import InputError
from s1kit.paper.metrics import method_metrics
from s1kit.paper.render import to_latex, to_markdown
from s1kit.paper.results import load_eval_result, load_eval_results, setting_sort_key

# Figure 1, AIME24: (average thinking tokens, accuracy %), read off the paper's figure.
FIG1_AIME24 = [(500, 0.0), (1000, 13.3), (2000, 30.0), (3933, 43.3), (5300, 50.0), (6657, 53.3), (7320, 56.7)]


def write_result(root: Path, model: str, setting: str, task: str, accuracy: float, tokens: float,
                 control: float | None = 1.0, **extra) -> Path:
    path = root / "eval" / model / setting / task / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"model": model, "task": task, "setting": setting, "n": 30, "accuracy": accuracy,
            "avg_thinking_tokens": tokens, "max_thinking_tokens": 2 * tokens, "control": control,
            "gen_kwargs": {}, "engine": "fake", **extra}
    path.write_text(json.dumps(data))
    return path


# ---- Scaling / Control / Performance -----------------------------------------------------------


def test_scaling_by_hand_on_three_points():
    # Pairs: (1000->2000) 10/1 doubling, (2000->4000) 20/1, (1000->4000) 30/2 -> mean (10+20+15)/3 = 15.
    m = method_metrics([(1000, 10.0), (2000, 20.0), (4000, 40.0)], [1.0, 0.5, 0.0])
    assert m == {"control": pytest.approx(50.0), "scaling": pytest.approx(15.0), "performance": 40.0}


def test_scaling_on_figure1_aime24_points_matches_table3():
    # By hand (21 pairs of (acc_b - acc_a) / log2(tok_b / tok_a)): 311.80 / 21 = 14.848, which the
    # paper prints as 15 in Table 3 (budget forcing); Performance is the top point, 56.7.
    m = method_metrics(FIG1_AIME24, [1.0] * 7)
    assert m["scaling"] == pytest.approx(14.848, abs=1e-3)
    assert round(m["scaling"]) == 15
    assert m["performance"] == 56.7 and m["control"] == 100.0


def test_decreasing_accuracy_gives_negative_scaling():
    # Rejection sampling (PAPER.md): longer thinking, lower accuracy; Table 3 prints -35.
    rs = [(2957, 40.0), (3737, 36.7), (4305, 33.3), (4611, 30.0), (4940, 26.7), (5008, 23.3)]
    assert method_metrics(rs, [1.0] * 6)["scaling"] == pytest.approx(-36.48, abs=0.01)


def test_zero_token_runs_are_left_out_of_scaling_only():
    m = method_metrics([(0, 10.0), (8, 20.0), (16, 40.0)], [1.0, 1.0, math.nan])
    assert m["scaling"] == pytest.approx(20.0)  # only (8 -> 16)
    assert m["performance"] == 40.0 and m["control"] == 100.0
    assert math.isnan(method_metrics([(0, 10.0), (8, 20.0)], [1.0, 1.0])["scaling"])


def test_scaling_methods_table_groups_by_setting_prefix(tmp_path):
    for (tok, acc), budget in zip(FIG1_AIME24[:5], (500, 1000, 2000, 4000, 8000)):
        write_result(tmp_path, "s1-32B", f"bf-{budget}", "aime24_nofigures", acc / 100, tok)
    write_result(tmp_path, "s1-32B", "wait-2", "aime24_nofigures", 0.533, 6657)  # not a bf-* run
    # Control per run from the run's AVERAGE thinking (not results.json's control): tcc-1000
    # averaged 3000 > 1000 (out), tcc-4000 averaged 4000 <= 4000 (in) -> 50%.
    write_result(tmp_path, "s1-32B", "tcc-1000", "aime24_nofigures", 0.4, 3000, control=0.2)
    write_result(tmp_path, "s1-32B", "tcc-4000", "aime24_nofigures", 0.3, 4000, control=0.6)
    evals = load_eval_results(sorted(tmp_path.rglob("results.json")))
    data, display = tables.scaling_methods_table(evals)
    assert list(data.columns) == ["model", "task", "method", "control", "scaling", "performance", "runs"]
    bf = data[data["method"] == "budget forcing"].iloc[0]
    assert (bf["runs"], bf["control"], bf["performance"]) == (5, 100.0, 50.0)
    tcc = data[data["method"] == "token-conditional control"].iloc[0]
    assert tcc["control"] == pytest.approx(50.0)
    assert tcc["scaling"] == pytest.approx((30.0 - 40.0) / math.log2(4000 / 3000), abs=1e-3)
    assert list(display["Method"]) == ["budget forcing", "token-conditional control"]


# ---- results table ----------------------------------------------------------------------------


def test_results_table_rows_and_cells(tmp_path):
    write_result(tmp_path, "s1-32B", "bf-auto", "aime24_nofigures", 17 / 30, 7320.4)
    write_result(tmp_path, "s1-32B", "bf-auto", "openai_math", 0.93, 3200)
    write_result(tmp_path, "s1-32B", "bf-500", "aime24_nofigures", 0.0, 500)
    write_result(tmp_path, "Qwen2.5-32B-Instruct", "nobf", "gpqa_diamond_openai", 0.49, 0)
    evals = load_eval_results(sorted(tmp_path.rglob("results.json")))
    data, display = tables.results_table(evals)
    assert list(data["setting"]) == ["nobf", "bf-500", "bf-auto"]  # models sorted, bf-500 before bf-auto
    assert list(display.columns) == ["Model", "Setting", "AIME24", "MATH500", "GPQA Diamond"]
    row = data[(data["model"] == "s1-32B") & (data["setting"] == "bf-auto")].iloc[0]
    assert row["aime24_nofigures.accuracy_pct"] == 56.67 and row["aime24_nofigures.avg_thinking_tokens"] == 7320.4
    assert math.isnan(row["gpqa_diamond_openai.accuracy_pct"])
    assert display.iloc[2]["AIME24"] == "56.7 (7,320)" and display.iloc[1]["MATH500"] == ""


def test_setting_order():
    settings = ["wait-2", "bf-auto", "bf-16000", "nobf", "bf-500", "rs-4000", "bf-2000", "ignore-2-Hmm"]
    assert sorted(settings, key=setting_sort_key) == [
        "bf-500", "bf-2000", "bf-16000", "bf-auto", "nobf", "wait-2", "ignore-2-Hmm", "rs-4000"]


@pytest.mark.parametrize("change, message", [
    ({"accuracy": 56.7}, "'accuracy' must be a fraction"),
    ({"accuracy": "0.5"}, "'accuracy' must be a number"),
    ({"model": "other"}, "key 'model' is 'other' but the path says 's1-32B'"),
    ({"control": 2}, "'control' must be a fraction"),
])
def test_bad_result_names_file_and_key(tmp_path, change, message):
    path = write_result(tmp_path, "s1-32B", "bf-auto", "openai_math", 0.9, 100)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **change}))
    with pytest.raises(InputError, match=message) as e:
        load_eval_result(path)
    assert str(path) in str(e.value)


def test_missing_key_and_duplicate_results(tmp_path):
    path = write_result(tmp_path, "s1-32B", "bf-auto", "openai_math", 0.9, 100)
    data = json.loads(path.read_text())
    del data["avg_thinking_tokens"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"missing key\(s\) \['avg_thinking_tokens'\]"):
        load_eval_result(path)
    other = write_result(tmp_path / "copy", "s1-32B", "bf-auto", "openai_math", 0.9, 100)
    with pytest.raises(InputError, match="two results for the same model/setting/task"):
        load_eval_results([other, write_result(tmp_path / "copy2", "s1-32B", "bf-auto", "openai_math", 0.9, 1)])


# ---- funnels ---------------------------------------------------------------------------------

FUNNEL = [("collected", 59029), ("with_features", 54116), ("after_format", 51581), ("after_difficulty", 24496),
          ("preselected", 384), ("selected", 1000)]


def write_funnel(path: Path, rows) -> Path:
    path.write_text("step,count,description\n" + "".join(f"{s},{n},about {s}\n" for s, n in rows))
    return path


def test_funnel_arithmetic(tmp_path):
    data, display = tables.funnel_table(write_funnel(tmp_path / "funnel.csv", FUNNEL))
    assert list(data["count"]) == [n for _, n in FUNNEL]
    removed = data["removed"].tolist()
    assert removed[1:4] == [59029 - 54116, 54116 - 51581, 51581 - 24496] == [4913, 2535, 27085]
    assert math.isnan(removed[0]) and math.isnan(removed[4]) and math.isnan(removed[5])
    assert data["kept_pct"].tolist()[3] == round(100 * 24496 / 59029, 2) == 41.5
    assert display["Questions"].tolist()[0] == "59,029"


@pytest.mark.parametrize("rows, message", [
    (FUNNEL[:5], "must be"),
    ([FUNNEL[1], FUNNEL[0], *FUNNEL[2:]], "in this order"),
    ([FUNNEL[0], ("with_features", 60000), *FUNNEL[2:]], "exceeds 'collected'"),
    ([*FUNNEL[:5], ("selected", 100)], "must lie between"),
    ([*FUNNEL[:5], ("selected", "many")], "not an integer"),
])
def test_funnel_inconsistencies_are_errors(tmp_path, rows, message):
    path = write_funnel(tmp_path / "funnel.csv", rows)
    with pytest.raises(InputError, match=message) as e:
        tables.funnel_table(path)
    assert str(path) in str(e.value)


def test_funnel_missing_column(tmp_path):
    path = tmp_path / "funnel.csv"
    path.write_text("step,count\ncollected,1\n")
    with pytest.raises(InputError, match=r"funnel.csv: missing column\(s\) \['description'\]"):
        tables.funnel_table(path)


def test_collect_table_checks_total(tmp_path):
    path = tmp_path / "funnel_collect.csv"
    head = "source,loaded,quarantined,contaminated,cross_source,unselected,duplicates,kept\n"
    path.write_text(head + "a,10,1,1,0,0,0,8\nb,9,0,0,1,3,1,4\ntotal,19,1,1,1,3,1,12\n")
    data, display = tables.collect_table(path)
    assert data["kept"].tolist() == [8, 4, 12] and list(display.columns)[-1] == "Kept"
    assert "Cross source" in display.columns
    path.write_text(head + "a,10,1,1,0,0,0,8\nb,9,0,0,1,3,1,4\ntotal,20,1,1,1,3,1,13\n")
    with pytest.raises(InputError, match="'total' row column 'loaded' is 20 but the sources sum to 19"):
        tables.collect_table(path)
    path.write_text(head + "a,10,0,1,0,0,0,8\ntotal,10,0,1,0,0,0,8\n")
    with pytest.raises(InputError, match="source 'a' needs loaded - quarantined - contaminated - cross_source - "
                                         "unselected - duplicates = kept"):
        tables.collect_table(path)


def test_selections_table_requires_summary_keys(tmp_path):
    good = tmp_path / "s1K.json"
    good.write_text(json.dumps({"questions": 1000, "thinking_tokens": 4.7e6, "domains": 50,
                                "teacher_correct_frac": 0.536, "avg_thinking_tokens": 4700}))
    data, display = tables.selections_table({"s1K": good})
    assert display.iloc[0]["Teacher correct (%)"] == "53.6"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"questions": 1}))
    with pytest.raises(InputError, match=r"bad.json: missing key\(s\)"):
        tables.selections_table({"x": bad})


# ---- rendering ---------------------------------------------------------------------------------


def test_markdown_and_latex_escape():
    df = pd.DataFrame({"a_b": ["x|y", "50%"], "n": [1.0, 2.5]})
    md = to_markdown(df)
    assert "x\\|y" in md and md.splitlines()[1] == "|---|---|" and "| 50% | 2.5 |" in md
    tex = to_latex(df, caption="Acc. 100%", label="tab:x")
    assert r"a\_b" in tex and r"50\%" in tex and r"\caption{Acc. 100\%}" in tex and "{lr}" in tex
