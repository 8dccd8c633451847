"""A fake ``vllm`` package for CPU tests of the vLLM path (no GPU, no real vllm).

``install(monkeypatch, tmp_path, version)`` puts it in ``sys.modules`` (with a dist-info so
``importlib.metadata.version("vllm")`` answers) under the names lm-eval's and the fork's
``vllm_causallms.py`` import. ``API`` picks the ``LLM.generate`` signature of the LLM objects
built afterwards: ``"0.6.4"`` (``prompts``/``prompt_token_ids``, as vllm 0.6.4.post1, the
official stack) or ``"current"`` (``prompts`` only: token prompts as
``{"prompt_token_ids": ids}``; ``prompt_token_ids=`` is a TypeError, as in vLLM >= 0.10).

``LLM.generate`` runs a toy autoregressive model (``ToyModel``) and follows vLLM's rules
for what the tests rely on: ``SamplingParams`` defaults and normalisation (stop None -> [],
a string -> [string], stop_token_ids None -> []), ``max_tokens`` ("length"), the context
length ``max_model_len`` ("length"), eos and ``stop_token_ids`` (the token stays in
``token_ids``, its text is left out of ``text``), ``stop`` strings (``text`` cut where the
string starts, ``token_ids`` keep the token), ``min_tokens`` (eos and stop_token_ids masked,
no stop check before it), ``n``, ``temperature`` (0: greedy, a function of the prefix;
> 0: draws from the engine's RNG seeded by ``LLM(seed=)``, in call order) and ``seed`` (a
request's own RNG). Every call is recorded in ``LLM.calls``: per prompt, its ids and the
full field dict of its SamplingParams.
"""

from __future__ import annotations

import importlib.machinery
import json
import random
import sys
import types
from pathlib import Path
from types import SimpleNamespace

API = "0.6.4"
MASK = (1 << 61) - 1

# vLLM 0.6.4.post1's SamplingParams fields and defaults (those a test can set).
DEFAULTS = dict(
    n=1, best_of=None, presence_penalty=0.0, frequency_penalty=0.0, repetition_penalty=1.0,
    temperature=1.0, top_p=1.0, top_k=-1, min_p=0.0, seed=None, stop=None, stop_token_ids=None,
    ignore_eos=False, max_tokens=16, min_tokens=0, logprobs=None, prompt_logprobs=None,
    detokenize=True, skip_special_tokens=True, spaces_between_special_tokens=True,
    include_stop_str_in_output=False,
)


class SamplingParams:
    """vLLM's SamplingParams: unknown fields raise, stops are normalised."""

    def __init__(self, **kw):
        unknown = sorted(set(kw) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"SamplingParams got unexpected keyword arguments {unknown}")
        vals = {**DEFAULTS, **kw}
        stop = vals["stop"]
        vals["stop"] = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
        vals["stop_token_ids"] = list(vals["stop_token_ids"] or [])
        if vals["max_tokens"] is not None and vals["max_tokens"] < 1:
            raise ValueError(f"max_tokens must be at least 1, got {vals['max_tokens']}")
        if vals["max_tokens"] is not None and vals["min_tokens"] > vals["max_tokens"]:
            raise ValueError("min_tokens must be less than or equal to max_tokens")
        self.__dict__.update(vals)

    def fields(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"SamplingParams({self.fields()})"


class ToyModel:
    """Deterministic next-token rule over a real tokenizer's vocabulary. While thinking
    (the last ``<|im_start|>`` of the prompt is not followed by "answer") it ends the
    thinking with ``<|im_start|>`` with probability 1/v per token, v in VERBOSITY chosen by
    the question's length in tokens (``verbosity``), and writes eos now and then; after ``<|im_start|>`` comes a digit
    (step markers, "0" ends step-conditional thinking). Answering, it writes eos with
    probability 1/12 per token."""

    VERBOSITY = (40, 300, 1500, 6000)
    P_EOS_THINKING = 1 / 20000

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.im_start = tokenizer.convert_tokens_to_ids("<|im_start|>")
        self.eos = tokenizer.eos_token_id
        special = set(tokenizer.all_special_ids) | {self.im_start}
        self.pieces = {i: tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False)
                       for i in range(len(tokenizer))}
        self.content = sorted(i for i, p in self.pieces.items() if i not in special and p.isascii() and p)
        self.digits = [tokenizer.convert_tokens_to_ids(d) for d in "0123"]
        assert all(len(tokenizer.encode(d, add_special_tokens=False)) == 1 for d in "0123")

    def verbosity(self, prompt) -> int:
        """A property of the question, kept across "Wait" rounds: the length of the prompt's
        first turn (up to its first eos), modulo 4, picks the class."""
        turn = prompt.index(self.eos) if self.eos in prompt else len(prompt)
        return self.VERBOSITY[turn % len(self.VERBOSITY)]

    def answering(self, prompt) -> bool:
        idx = [i for i, t in enumerate(prompt) if t == self.im_start]
        if not idx or idx[-1] + 1 >= len(prompt):
            return False
        return self.pieces.get(prompt[idx[-1] + 1], "").startswith("answer")

    def choose(self, h: int, u: float, answering: bool, last: int | None, v: int, masked: set) -> int:
        if last == self.im_start:
            tok = self.digits[(h >> 33) % 4]
        elif answering:
            tok = self.eos if u < 1 / 12 else self.content[(h >> 20) % len(self.content)]
        elif u < 1 / v:
            tok = self.im_start
        elif u < 1 / v + self.P_EOS_THINKING:
            tok = self.eos
        else:
            tok = self.content[(h >> 20) % len(self.content)]
        if tok in masked:  # min_tokens: eos and stop_token_ids cannot be sampled yet
            tok = self.content[(h >> 20) % len(self.content)]
        return tok


def _mix(h: int, x: int) -> int:
    h = (h ^ x) * 0x9E3779B97F4A7C15 & MASK
    return (h ^ (h >> 29)) & MASK


class LLM:
    """The fake engine; ``calls`` records every generate call."""

    def __init__(self, model: str, seed: int = 0, max_model_len: int | None = None, tokenizer: str | None = None,
                 **_engine_args):
        from transformers import AutoTokenizer

        self.api = API
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or model)
        self.toy = ToyModel(self.tokenizer)
        if max_model_len is None:
            max_model_len = json.loads((Path(model) / "config.json").read_text())["max_position_embeddings"]
        self.max_model_len = int(max_model_len)
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=self.max_model_len))
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Fresh engine RNG and an empty call log (as a new LLM(seed=...) would have)."""
        self.rng = random.Random(self.seed)
        self.calls: list[list[tuple[tuple[int, ...], dict]]] = []

    def generate(self, prompts=None, sampling_params=None, prompt_token_ids=None, use_tqdm=True, lora_request=None,
                 **kw):
        if self.api == "current":
            if prompt_token_ids is not None:
                raise TypeError("LLM.generate() got an unexpected keyword argument 'prompt_token_ids'")
            if prompts is None:
                raise TypeError("LLM.generate() missing 1 required positional argument: 'prompts'")
        if kw:
            raise TypeError(f"LLM.generate() got unexpected keyword arguments {sorted(kw)}")
        if prompt_token_ids is not None:
            ids = [list(p) for p in prompt_token_ids]
        else:
            ids = [list(p["prompt_token_ids"]) if isinstance(p, dict) else self.tokenizer.encode(p) for p in prompts]
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(ids)
        if len(params) != len(ids):
            raise ValueError("The lengths of prompts and sampling_params must be the same.")
        self.calls.append([(tuple(p), sp.fields()) for p, sp in zip(ids, params)])
        out = []
        for i, (p, sp) in enumerate(zip(ids, params)):
            rng = random.Random(sp.seed) if sp.seed is not None else self.rng
            comps = [self._complete(p, sp, rng, k) for k in range(sp.n)]
            out.append(SimpleNamespace(request_id=str(i), prompt=None, prompt_token_ids=p, outputs=comps, finished=True))
        return out

    def _complete(self, prompt: list[int], sp: SamplingParams, rng: random.Random, index: int):
        toy = self.toy
        if len(prompt) >= self.max_model_len:  # too long: vLLM ignores it with an empty output
            return SimpleNamespace(index=index, text="", token_ids=[], finish_reason="length", stop_reason=None)
        h = 0
        for t in prompt:
            h = _mix(h, t + 1)
        answering = toy.answering(prompt)
        v = toy.verbosity(prompt)
        greedy = sp.temperature == 0
        stop_ids = set(sp.stop_token_ids) | ({toy.eos} if not sp.ignore_eos else set())
        gen: list[int] = []
        pieces: list[str] = []
        tail, length, finish, cut = "", 0, None, None
        last = prompt[-1]
        while finish is None:
            u = (h >> 8) / (1 << 53) if greedy else rng.random()
            if not greedy:
                h = _mix(h, int(u * (1 << 30)))
            masked = stop_ids if len(gen) < sp.min_tokens else set()
            tok = toy.choose(h, u, answering, last, v, masked)
            h = _mix(h, tok + 7)
            gen.append(tok)
            last = tok
            piece = toy.pieces[tok]
            pieces.append(piece)
            length += len(piece)
            tail = (tail + piece)[-64:]
            if len(gen) >= sp.min_tokens:
                if tok in stop_ids:
                    finish, cut = "stop", length - len(piece)  # the stop token's text is left out
                    break
                for s in sp.stop:
                    at = tail.find(s)
                    if at >= 0:
                        finish, cut = "stop", length - len(tail) + at
                        break
                if finish:
                    break
            if len(prompt) + len(gen) >= self.max_model_len or len(gen) >= sp.max_tokens:
                finish = "length"
        text = "".join(pieces)
        return SimpleNamespace(index=index, text=text if cut is None else text[:cut], token_ids=gen,
                               finish_reason=finish, stop_reason=None)


class LoRARequest:  # imported by both vllm_causallms.py files; never used here
    def __init__(self, *args, **kwargs):
        raise NotImplementedError


def get_tokenizer(name, *args, **kwargs):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def resolve_hf_chat_template(*args, **kwargs):
    return None  # lm-eval then uses the tokenizer's own template


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.__dict__.update(attrs)
    return mod


def install(monkeypatch, tmp_path: Path, version: str = "0.11.0") -> types.ModuleType:
    """Register the fake as ``vllm`` (and ``ray``, which the fork imports first) for one test
    module, with ``version`` reported by importlib.metadata."""
    dist = tmp_path / f"vllm-{version}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    this = sys.modules[__name__]
    tokenizer_mod = _module("vllm.transformers_utils.tokenizer", get_tokenizer=get_tokenizer)
    mods = {
        "vllm": _module("vllm", LLM=LLM, SamplingParams=SamplingParams, TokensPrompt=dict, __version__=version),
        "vllm.lora": _module("vllm.lora"),
        "vllm.lora.request": _module("vllm.lora.request", LoRARequest=LoRARequest),
        "vllm.transformers_utils": _module("vllm.transformers_utils", tokenizer=tokenizer_mod),
        "vllm.transformers_utils.tokenizer": tokenizer_mod,
        "vllm.entrypoints": _module("vllm.entrypoints"),
        "vllm.entrypoints.chat_utils": _module("vllm.entrypoints.chat_utils",
                                               resolve_hf_chat_template=resolve_hf_chat_template),
        "ray": _module("ray", remote=lambda f: f),
    }
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return this


def forget_lm_eval_vllm(monkeypatch) -> None:
    """Let lm-eval's vllm_causallms be imported again over this fake: drop the module and its
    "vllm" entry in lm-eval's model registry (an earlier import in the session registered its
    class, and lm-eval refuses a second, different class under the same name)."""
    from lm_eval.api.registry import model_registry

    monkeypatch.delitem(sys.modules, "lm_eval.models.vllm_causallms", raising=False)
    monkeypatch.delitem(model_registry._objs, "vllm", raising=False)


def drop_lm_eval_vllm() -> None:
    """After a fixture's undo: leave lm-eval's vllm_causallms unimported and unregistered, so
    that the next import (over a fake or the real vllm) registers its class afresh."""
    from lm_eval.api.registry import model_registry

    sys.modules.pop("lm_eval.models.vllm_causallms", None)
    model_registry._objs.pop("vllm", None)
