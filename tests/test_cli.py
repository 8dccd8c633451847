"""s1kit.settings and the `s1kit` command line (called in-process through cli.main)."""

from __future__ import annotations

import json

import pytest

from s1kit import cli
from s1kit.records import read_jsonl, read_table, write_table
from s1kit.select import BenchmarkSource, SelectConfig
from s1kit.settings import from_dict, load_json_arg
from s1kit.sft.config import TrainConfig

# ---- settings -----------------------------------------------------------------------


def test_from_dict_builds_and_defaults():
    assert from_dict(TrainConfig, None, "train") == TrainConfig()
    c = from_dict(TrainConfig, {"lr": 3e-3, "max_steps": 7}, "train")
    assert (c.lr, c.max_steps, c.global_batch_size) == (3e-3, 7, 16)
    assert from_dict(BenchmarkSource, {"pattern": "aime"}, "x").weight == 1.0


def test_from_dict_unknown_key_names_section_and_key():
    with pytest.raises(ValueError) as e:
        from_dict(SelectConfig, {"size": 5, "sizee": 5, "seeed": 1}, "select")
    msg = str(e.value)
    assert msg.startswith("config select: unknown key(s) ['seeed', 'sizee']")
    assert "'size'" in msg.split("known:")[1]  # the known keys are listed


def test_from_dict_does_not_mutate_input():
    data = {"lr": 1.0}
    from_dict(TrainConfig, data, "train")
    assert data == {"lr": 1.0}


def test_from_dict_validation_errors_pass_through():
    with pytest.raises(ValueError, match="select.domain_sampling"):
        from_dict(SelectConfig, {"domain_sampling": "x"}, "select")


def test_load_json_arg():
    assert load_json_arg('{"a": [1, 2]}', "--x") == {"a": [1, 2]}
    assert load_json_arg("{}", "--x") == {}
    with pytest.raises(ValueError, match=r"^--config-json: invalid JSON"):
        load_json_arg("{'a': 1}", "--config-json")
    with pytest.raises(ValueError, match=r"^--options-json: expected a JSON object"):
        load_json_arg("[1]", "--options-json")
    with pytest.raises(ValueError, match="expected a JSON object"):
        load_json_arg("null", "--x")


# ---- cli ----------------------------------------------------------------------------


def _select_args(tmp_path, config):
    return ["select", "--name", "s1K", "--featurized", str(tmp_path / "featurized.parquet"),
            "--out-dir", str(tmp_path / "out"), "--config-json", json.dumps(config),
            "--funnel-out", str(tmp_path / "funnel.csv")]


def _featurized(tmp_path, n=30):
    rows = [{"id": f"q{i:03d}", "question": f"question {i}", "source_type": "aime" if i < 2 else "other",
             "domain": f"D{i % 3}", "thinking": "t", "thinking_tokens": i + 1, "teacher_correct": True,
             "m_correct": i % 5 == 4} for i in range(n)]
    write_table(tmp_path / "featurized.parquet", rows)
    return rows


def test_select_bad_config_key_exits_2(tmp_path, capsys):
    _featurized(tmp_path)
    rc = cli.main(_select_args(tmp_path, {"size": 5, "bogus_key": 1}))
    err = capsys.readouterr().err
    assert rc == 2
    assert "s1kit select: error:" in err and "config select" in err and "bogus_key" in err
    assert not (tmp_path / "out").exists()


def test_select_bad_benchmark_key_names_nested_section(tmp_path, capsys):
    _featurized(tmp_path)
    rc = cli.main(_select_args(tmp_path, {"benchmark_sources": {"aime": {"patern": "aime"}}}))
    assert rc == 2
    assert "select.benchmark_sources.aime" in capsys.readouterr().err


def test_select_invalid_json_and_missing_file(tmp_path, capsys):
    args = _select_args(tmp_path, {})
    args[args.index("--config-json") + 1] = "{size: 5}"
    assert cli.main(args) == 2
    assert "--config-json: invalid JSON" in capsys.readouterr().err
    assert cli.main(_select_args(tmp_path, {})) == 2  # no featurized.parquet
    assert "featurized.parquet" in capsys.readouterr().err


def test_select_happy_path(tmp_path, capsys):
    _featurized(tmp_path)
    config = {"size": 10, "seed": 3, "attempt_models": ["m"], "uniform_until": 4,
              "benchmark_sources": {"aime": {"pattern": "^aime$", "weight": 1.0}}}
    assert cli.main(_select_args(tmp_path, config)) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["questions"] == 10
    ids = (tmp_path / "out" / "ids.txt").read_text().split()
    assert ids[:2] == ["q001", "q000"]  # the preselected AIME rows, longest first
    assert not any(int(i[1:]) % 5 == 4 for i in ids)  # solved by the attempt model: dropped
    assert (tmp_path / "funnel.csv").exists()


def test_train_bad_config_key(tmp_path, capsys):
    rc = cli.main(["train", "--model", str(tmp_path), "--data", str(tmp_path / "d.parquet"), "--out-dir",
                   str(tmp_path / "o"), "--config-json", '{"learning_rate": 1}'])
    assert rc == 2
    err = capsys.readouterr().err
    assert "config train" in err and "learning_rate" in err


def test_fetch_model_errors(tmp_path, capsys):
    assert cli.main(["fetch-model", "--kind", "qwen", "--corpus", "x", "--out", str(tmp_path)]) == 2
    assert "expected tiny or hub" in capsys.readouterr().err
    assert cli.main(["fetch-model", "--kind", "hub", "--out", str(tmp_path)]) == 2
    assert "models.<name>.repo is required" in capsys.readouterr().err
    assert cli.main(["fetch-model", "--kind", "tiny", "--out", str(tmp_path)]) == 2
    assert "needs --corpus" in capsys.readouterr().err
    assert cli.main(["fetch-model", "--kind", "tiny", "--corpus", "x", "--out", str(tmp_path),
                     "--config-json", '{"hidden": 3}']) == 2
    assert "models.<name>.tiny" in capsys.readouterr().err


def test_collect_eval_and_source(tmp_path, capsys):
    ev = tmp_path / "eval.jsonl"
    assert cli.main(["collect-eval", "--task", "tiny_chains", "--n", "12", "--seed", "0", "--out", str(ev)]) == 0
    assert len(read_jsonl(ev)) == 12
    out = tmp_path / "raw.parquet"
    q = tmp_path / "quarantine.jsonl"
    assert cli.main(["collect-source", "--source", "tiny_math", "--n", "20", "--seed", "0", "--out", str(out),
                     "--quarantine", str(q), "--eval", str(ev)]) == 0
    assert f"tiny_math: {read_table(out).num_rows} records" in capsys.readouterr().out
    assert len(read_jsonl(q)) == 1  # the planted empty question
    assert cli.main(["collect-source", "--source", "tiny_mth", "--n", "2", "--seed", "0", "--out", str(out),
                     "--quarantine", str(q)]) == 2
    assert "did you mean tiny_math" in capsys.readouterr().err


def test_where_prints_paths(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    assert cli.main(["where", "results"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.strip().split(": ", 1) for line in out.strip().splitlines())
    assert lines["selection funnel"] == "results/select/funnel.csv"
    assert lines["claims"] == "results/paper/claims.csv"
    assert lines["eval runs"] == "results/eval"
    assert all(v.startswith("results/") for v in lines.values())


def test_missing_required_flag_is_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["select", "--name", "s1K"])
    assert e.value.code == 2
    assert "--featurized" in capsys.readouterr().err


def test_distill_bad_option_key_exits_2(tmp_path, capsys):
    write_table(tmp_path / "pool.parquet", [{"id": "a", "question": "1 a+1", "solution": "2", "cot_type": "math",
                                             "source_type": "t", "source": "s", "metadata": "{}"}])
    rc = cli.main(["distill", "--pool", str(tmp_path / "pool.parquet"), "--teacher", "o", "--backend", "oracle",
                   "--options-json", '{"eror_rate": 0.1}', "--out-traces", str(tmp_path / "t.parquet"),
                   "--out-ledger", str(tmp_path / "l.jsonl")])
    assert rc == 2
    assert "eror_rate" in capsys.readouterr().err
