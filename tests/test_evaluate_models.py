"""Registration, the vLLM adapter without vllm, settings and the CLI entry points."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from s1kit.evaluate.budget import GenRequest
from s1kit.evaluate.run import add_arguments, main, model_name_of, parse_setting

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
    for bad in ("bf-", "bf-1k", "wait-auto", "forcing1k"):
        with pytest.raises(ValueError, match="unknown setting"):
            parse_setting(bad)


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
