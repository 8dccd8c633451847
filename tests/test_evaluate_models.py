"""Registration, the vLLM adapter without vllm, settings and the CLI entry points."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from s1kit.evaluate.controller import GenRequest
from s1kit.evaluate.run import add_arguments, main, model_name_of
from s1kit.evaluate.settings import parse_setting

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def test_register_is_lazy_and_idempotent():
    from lm_eval.api.registry import get_model, model_registry

    from s1kit.evaluate.models import S1KitHFLM, register

    register()
    register()
    assert "s1kit_hf" in model_registry and "s1kit_vllm" in model_registry
    assert get_model("s1kit_hf") is S1KitHFLM
    assert get_model("hf").__name__ == "HFLM"  # the built-in entries survive
    if not HAS_VLLM:
        assert "vllm" not in sys.modules


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed")
def test_vllm_model_needs_vllm_only_when_used():
    import s1kit.evaluate.models as models

    with pytest.raises(ModuleNotFoundError, match="vllm"):
        models.S1KitVLLM  # noqa: B018


@dataclass
class FakeSamplingParams:
    max_tokens: int
    stop: list | None = None
    stop_token_ids: list | None = None
    skip_special_tokens: bool = True
    spaces_between_special_tokens: bool = True
    temperature: float = 1.0
    min_tokens: int = 0


def test_vllm_generate_maps_requests():
    from s1kit.evaluate.models import vllm_generate

    seen = {}

    def llm_generate(prompts, params):
        seen["prompts"], seen["params"] = prompts, params
        return [
            SimpleNamespace(outputs=[SimpleNamespace(token_ids=(5, 6, 2), finish_reason="stop")]),
            SimpleNamespace(outputs=[SimpleNamespace(token_ids=(7,), finish_reason="length")]),
        ]

    reqs = [
        GenRequest(
            (1, 2),
            10,
            stop_ids=((2,), (3, 4)),
            stop_strings=("<|im_start|>",),
            sampling={"temperature": 0.0, "min_tokens": 3},
        ),
        GenRequest((1,), 1),
    ]
    a, b = vllm_generate(llm_generate, FakeSamplingParams, reqs)
    assert (a.token_ids, a.finish_reason, b.token_ids, b.finish_reason) == ([5, 6, 2], "stop", [7], "length")
    assert seen["prompts"] == [[1, 2], [1]]
    p = seen["params"][0]
    assert (p.max_tokens, p.stop, p.stop_token_ids, p.min_tokens, p.temperature) == (10, ["<|im_start|>"], [2], 3, 0.0)
    assert p.skip_special_tokens is False  # the delimiters stay in the text
    assert seen["params"][1].stop is None and seen["params"][1].stop_token_ids is None


def test_parse_setting():
    assert parse_setting("bf-2000").gen_kwargs == {"max_tokens_thinking": 2000}
    assert parse_setting("bf-2000").max_tokens == 2000
    auto = parse_setting("bf-auto")
    assert auto.gen_kwargs == {"max_tokens_thinking": "auto"} and auto.max_tokens is None
    wait = parse_setting("wait-4").gen_kwargs
    assert wait == {"max_tokens_thinking": "auto", "thinking_n_ignore": 4, "thinking_n_ignore_str": "Wait"}
    assert parse_setting("plain").gen_kwargs == {}
    for bad in ("bf-", "bf-1k", "wait-auto", "forcing1k", "tcc-", "ccc-medium", "rs-auto", "ignore-x-Wait"):
        with pytest.raises(ValueError, match="unknown setting"):
            parse_setting(bad)


def test_parse_table3_and_table4_settings():
    from s1kit.evaluate.semantics import semantics_of
    from s1kit.evaluate.tasks.official import control_suffix

    rs = parse_setting("rs-4000")
    assert rs.gen_kwargs == {"max_tokens_thinking": 4000, "rejection_sample": True, "do_sample": True,
                             "temperature": 1.0} and rs.max_tokens == 4000
    tcc, tccbf, scc = parse_setting("tcc-2048"), parse_setting("tccbf-2048"), parse_setting("scc-32")
    assert tcc.task_metadata == tccbf.task_metadata == {"control": "tcc", "budget": 2048}
    assert tcc.gen_kwargs == {"max_tokens_thinking": "auto"} and tccbf.gen_kwargs == {"max_tokens_thinking": 2048}
    assert tcc.max_tokens == tccbf.max_tokens == 2048 and scc.max_tokens is None
    assert control_suffix(**scc.task_metadata) == "Think for up to 32 steps."
    sccbf = parse_setting("sccbf-32")
    assert sccbf.task_metadata == scc.task_metadata and sccbf.gen_kwargs["until_thinking"] == "<|im_start|>0"
    assert sccbf.gen_kwargs["thinking_start"] == "<|im_start|>" and sccbf.max_tokens is None
    assert control_suffix(**parse_setting("ccc-short").task_metadata).startswith("Answer after a short")
    none = parse_setting("ignore-2-none").gen_kwargs
    assert none["thinking_n_ignore"] == 2 and none["thinking_n_ignore_str"] == ""
    assert parse_setting("ignore-2-Hmm").gen_kwargs["thinking_n_ignore_str"] == "Hmm"
    with pytest.raises(ValueError, match="budget must be > 0"):
        parse_setting("rs-0")
    # each setting's gen kwargs are accepted by the budget-forcing controller
    for name in ("rs-4000", "tcc-2048", "tccbf-2048", "sccbf-64", "ignore-2-none", "ccc-long"):
        semantics_of("kit").budget_config(dict(parse_setting(name).gen_kwargs))


def test_model_name_of(tmp_path):
    (tmp_path / "s1-tiny" / "model").mkdir(parents=True)
    assert model_name_of(tmp_path / "s1-tiny" / "model") == "s1-tiny"
    assert model_name_of(tmp_path / "s1-tiny") == "s1-tiny"
    assert model_name_of("simplescaling/s1-32B") == "simplescaling/s1-32B"


def test_cli_flags_and_bad_input(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    base = ["--model", "m", "--task", "tiny_chains", "--data", "d.jsonl", "--out-dir", str(tmp_path)]
    args = parser.parse_args(base + ["--setting", "bf-8", "--gen-kwargs", '{"max_gen_toks": 4}', "--limit", "2"])
    assert (args.backend, args.batch_size, args.seed, args.limit, args.dtype) == ("hf", 64, 1234, 2, "auto")
    assert main(parser.parse_args(base + ["--setting", "nope"])) == 2
    assert main(parser.parse_args(base + ["--setting", "bf-8", "--gen-kwargs", "[1]"])) == 2
    assert "error" in capsys.readouterr().err


def test_sample_rows_keep_every_sample_of_k():
    """agg64 tasks: samples.jsonl keeps all k responses with their budget records, not only the first."""
    from s1kit.evaluate.run import _sample_rows

    texts = ["think\nAnswer: 7", "think\nAnswer: 8", "think\nAnswer: 7"]
    recs = [{"text": t, "thinking_tokens": i + 1, "budget": 10} for i, t in enumerate(texts)]
    sample = {"doc_id": 0, "doc": {"id": "q0", "question": "Q?"}, "resps": [texts], "target": "7", "exact_match": 1}
    rows = _sample_rows("t_agg", [sample], {("t_agg", 0): recs})
    assert len(rows) == 1 and rows[0]["response"] == texts[0] and rows[0]["thinking_tokens"] == 1
    assert [s["thinking_tokens"] for s in rows[0]["samples"]] == [1, 2, 3]
    assert [s["correct"] for s in rows[0]["samples"]] == [True, False, True]
    with pytest.raises(RuntimeError, match="3 responses but 2 records"):
        _sample_rows("t_agg", [sample], {("t_agg", 0): recs[:2]})
