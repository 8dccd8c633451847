"""Differential test of the vLLM path on CPU, against a fake ``vllm`` (tests/fake_vllm.py).

The official fork's ``VLLM.generate_until`` (the pinned
``eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py`` with the fork's own
``models/utils.py`` Collator) and the kit's ``s1kit_vllm`` run on the same requests against
the same toy engine, for every ``--gen_kwargs`` of the pinned ``eval/commands.sh``:

- ``semantics="fork"``: the same sequence of generate calls (prompt ids and every
  SamplingParams field) and the same responses, on both vLLM APIs: the kit adapter on the
  fork's lm-eval 0.4.4-based VLLM with the vllm 0.6.4 API (the official stack) and on the
  installed lm-eval's VLLM with the current API;
- ``semantics="kit"``: only the documented differences (docs/fidelity.md), each asserted.

Only what the fork imports and cannot load here is stubbed: ``vllm`` and ``ray`` (fake),
``lm_eval.utils.eval_logger`` (gone from current lm-eval), its ``register_model`` (the name
"vllm" is taken by the installed lm-eval) and, while it loads, ``lm_eval.models.utils`` (the
fork's own pinned copy). Skips when ../shared/official-s1 is absent.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import sys
from collections import Counter
from pathlib import Path

import pytest

import fake_vllm

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / ".." / "shared" / "official-s1"
HARNESS = OFFICIAL / "eval" / "lm-evaluation-harness" / "lm_eval"
pytestmark = pytest.mark.skipif(not (HARNESS / "models" / "vllm_causallms.py").is_file(),
                                reason="../shared/official-s1 (the pinned official code) is absent")

EOS, IM_START = "<|im_end|>", "<|im_start|>"
QUESTIONS = [  # thinking lengths of the toy engine (fake_vllm.ToyModel.verbosity): ~6000, 6000, 40, 300, 300, 40
    "What is 2 + 3?",
    "What is 4 + 5?",  # same token count as the first: the fork orders ties by context text
    "Let x be a real number with x squared equal to 49. What is the largest possible x?",
    "How many edges does a hexagon have?",
    "Find the number of ordered pairs of positive integers whose sum is 10.",
    "How many sides does a hexagon have?",
]
# The official task yaml's generation_kwargs (aime24_nofigures.yaml; the others differ only in
# max_gen_toks, which every command overrides), merged as lm-eval 0.4.4's simple_evaluate does.
TASK_GEN_KWARGS = {"until": [], "do_sample": False, "temperature": 0, "max_gen_toks": 32768}


def _exec_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_fork_vllm(mp: pytest.MonkeyPatch):
    """The pinned fork file, imported with its own models/utils.py."""
    import lm_eval.api.registry
    import lm_eval.models.utils  # noqa: F401  (loaded first: it is put back afterwards)
    import lm_eval.utils

    mp.setattr(lm_eval.utils, "eval_logger", logging.getLogger("lm-eval-fork"), raising=False)
    saved_utils = sys.modules.get("lm_eval.models.utils")
    saved_register = lm_eval.api.registry.register_model
    try:
        sys.modules["lm_eval.models.utils"] = _exec_file(HARNESS / "models" / "utils.py", "fork_lm_eval_models_utils")
        lm_eval.api.registry.register_model = lambda *names: (lambda cls: cls)
        return _exec_file(HARNESS / "models" / "vllm_causallms.py", "fork_vllm_causallms")
    finally:
        sys.modules["lm_eval.models.utils"] = saved_utils
        lm_eval.api.registry.register_model = saved_register


def build_model_dir(path: Path) -> Path:
    """A byte-level BPE tokenizer (ASCII vocabulary, ChatML specials) and a Qwen2 config."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from s1kit.tiny.tokenizer import CHAT_TEMPLATE

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["think answer Wait Hmm Alternatively Final Answer: step 0 1 2 3 so the answer is 5\n"] * 20
    corpus += [f"Let us add {a} and {b}. The sum is {a + b}. Wait, check again.\n" for a in range(30) for b in range(5)]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", IM_START, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token="<|endoftext|>",
                                   additional_special_tokens=[IM_START], clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    path.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(path))
    config = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": len(fast),
              "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
              "num_key_value_heads": 1, "max_position_embeddings": 32768, "eos_token_id": fast.eos_token_id}
    (path / "config.json").write_text(json.dumps(config))
    return path


def official_gen_kwargs() -> list[tuple[str, dict]]:
    """Every distinct --gen_kwargs of commands.sh (first output_path as its label)."""
    from s1kit.evaluate.official_commands import parse_commands

    text = (OFFICIAL / "eval" / "commands.sh").read_text(encoding="utf-8")
    seen: dict[str, tuple[str, dict]] = {}
    for cmd in parse_commands(text):
        key = repr(sorted(cmd.gen_kwargs.items()))
        seen.setdefault(key, (cmd.output_path, cmd.gen_kwargs))
    return list(seen.values())


GEN_KWARGS = official_gen_kwargs() if (OFFICIAL / "eval" / "commands.sh").is_file() else []


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The fork's model and the kit's on both APIs, all on fake engines of the same seed."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("fake_vllm")
    fake = fake_vllm.install(mp, tmp / "site", version="0.11.0")
    model_dir = build_model_dir(tmp / "model")
    try:
        fork_mod = load_fork_vllm(mp)
        fake_vllm.forget_lm_eval_vllm(mp)  # re-import over the fake
        from s1kit.evaluate import models

        args = {"pretrained": str(model_dir), "dtype": "float32", "seed": 1234, "batch_size": "auto"}
        mp.setattr(fake, "API", "0.6.4")
        fork = fork_mod.VLLM(**args)
        official = models._build_vllm_class(base=fork_mod.VLLM)(**args, semantics="fork")
        mp.setattr(fake, "API", "current")
        current_cls = models._build_vllm_class()
        current = current_cls(**args, semantics="fork")
        kit = current_cls(**args, semantics="kit")
        yield {"fork": fork, "official": official, "current": current, "kit": kit, "tok": fork.tokenizer}
    finally:
        mp.undo()
        fake_vllm.drop_lm_eval_vllm()


def requests_for(tok, gen_kwargs: dict):
    from lm_eval.api.instance import Instance

    kw = {**TASK_GEN_KWARGS, **gen_kwargs}
    out = []
    for i, q in enumerate(QUESTIONS):
        ctx = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
        out.append(Instance("generate_until", {"q": q}, (ctx, copy.deepcopy(kw)), idx=0, metadata=("t", i, 1)))
    return out


_FORK_RUNS: dict[str, tuple[list[str], list]] = {}


def run_fork(stack, gen_kwargs: dict) -> tuple[list[str], list]:
    """The fork's responses and calls for ``gen_kwargs`` (computed once per module)."""
    key = repr(sorted(gen_kwargs.items()))
    if key not in _FORK_RUNS:
        _FORK_RUNS[key] = run(stack["fork"], gen_kwargs)
    return _FORK_RUNS[key]


def run(lm, gen_kwargs: dict) -> tuple[list[str], list]:
    lm.model.reset()
    responses = lm.generate_until(requests_for(lm.tokenizer, gen_kwargs), disable_tqdm=True)
    calls = [c for c in lm.model.calls if c]  # the fork also sent empty batches; nothing to compare there
    return responses, calls


def test_fake_engine_detokenizes_like_the_tokenizer(stack):
    """The fake's text is the concatenation of single-token pieces: true for this vocabulary."""
    tok = stack["tok"]
    ids = tok.encode("<|im_start|>think\nWait, 12 + 3 = 15.<|im_start|>answer\nFinal Answer: 15<|im_end|>",
                     add_special_tokens=False)
    toy = stack["fork"].model.toy
    assert "".join(toy.pieces[i] for i in ids) == tok.decode(ids, skip_special_tokens=False)
    assert len(tok.encode(IM_START, add_special_tokens=False)) == 1
    lengths = Counter(len(tok.encode(r.args[0], add_special_tokens=False)) for r in requests_for(tok, {}))
    assert max(lengths.values()) >= 2  # a tie in prompt length: the fork's order breaks it by text
    verbosity = {toy.verbosity(tok.encode(r.args[0], add_special_tokens=False)) for r in requests_for(tok, {})}
    assert {40, 300, 6000} <= verbosity  # short, medium and long thinkers


def test_fake_engine_honours_sampling_params(stack):
    """The fake follows vLLM where the paths rely on it: n, seed, temperature, stops, limits."""
    llm, tok = stack["current"].model, stack["tok"]
    sp = fake_vllm.SamplingParams
    prompt = {"prompt_token_ids": tok.encode("<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>think",
                                             add_special_tokens=False)}
    llm.reset()
    (four,) = llm.generate([prompt], sp(n=4, temperature=1.0, max_tokens=50, seed=3))
    assert len(four.outputs) == 4 and len({tuple(o.token_ids) for o in four.outputs}) > 1
    (again,) = llm.generate([prompt], sp(n=4, temperature=1.0, max_tokens=50, seed=3))
    assert [o.token_ids for o in again.outputs] == [o.token_ids for o in four.outputs]  # a request's own seed
    a, b = llm.generate([prompt, prompt], sp(temperature=0, max_tokens=50))
    assert a.outputs[0].token_ids == b.outputs[0].token_ids  # greedy: a function of the prefix
    (x,) = llm.generate([prompt], sp(temperature=1.0, max_tokens=50))
    (y,) = llm.generate([prompt], sp(temperature=1.0, max_tokens=50))
    assert x.outputs[0].token_ids != y.outputs[0].token_ids  # the engine RNG moves on
    im_start = tok.convert_tokens_to_ids(IM_START)
    (ids,) = llm.generate([prompt], sp(temperature=0, max_tokens=20000, stop_token_ids=[im_start], ignore_eos=True))
    (txt,) = llm.generate([prompt], sp(temperature=0, max_tokens=20000, stop=[IM_START], ignore_eos=True))
    o, t = ids.outputs[0], txt.outputs[0]
    assert o.finish_reason == t.finish_reason == "stop" and o.token_ids == t.token_ids and o.token_ids[-1] == im_start
    assert o.text == t.text and IM_START not in o.text  # the stop is in the ids, not in the text
    (short,) = llm.generate([prompt], sp(temperature=0, max_tokens=3))
    assert len(short.outputs[0].token_ids) == 3 and short.outputs[0].finish_reason == "length"
    with pytest.raises(TypeError):
        llm.generate(prompt_token_ids=[prompt["prompt_token_ids"]], sampling_params=sp())  # gone from current vLLM
    with pytest.raises(TypeError):
        sp(max_tokens=5, no_such_field=1)


def test_the_official_file_is_the_one_running(stack):
    code = type(stack["fork"])._model_generate.__code__
    assert Path(code.co_filename).resolve() == (HARNESS / "models" / "vllm_causallms.py").resolve()
    assert "rejection_sample" in code.co_varnames  # the fork's, not lm-eval's


@pytest.mark.parametrize("label,gen_kwargs", GEN_KWARGS, ids=[g[0] for g in GEN_KWARGS])
def test_fork_semantics_same_calls_and_responses(stack, label, gen_kwargs):
    """Fork semantics = the fork, call for call, on the 0.6.4 API (the official stack) and the current one."""
    ref, ref_calls = run_fork(stack, gen_kwargs)
    for name in ("official", "current"):
        got, calls = run(stack[name], gen_kwargs)
        assert len(calls) == len(ref_calls), f"{name}: {len(calls)} generate calls, the fork made {len(ref_calls)}"
        for n, (a, b) in enumerate(zip(calls, ref_calls)):
            assert a == b, f"{name}: generate call {n} differs"
        assert got == ref, f"{name}: responses differ"
    _check_exercised(label, gen_kwargs, ref_calls, stack["current"])


def _check_exercised(label, kw, calls, lm) -> None:
    """Each setting exercises what it is about (so equality above is not vacuous)."""
    recs = [r[0] for r in lm.s1_records.values()]
    n = len(QUESTIONS)
    if "max_tokens_thinking" not in kw:
        assert len(calls) == 1 and all(r["thinking_tokens"] == 0 for r in recs)
        return
    thinking = calls[0][0][1]
    if kw.get("rejection_sample"):
        assert thinking["max_tokens"] == int(kw["max_tokens_thinking"]) + 1
        assert thinking["temperature"] == 1  # do_sample=false does not make it greedy in the fork
        assert all(len(c) == n for c in calls[:-1])  # full batches every round
        if int(kw["max_tokens_thinking"]) <= 4000:
            assert len(calls) >= 3
            assert any(len(set(p for p, _ in c)) < n for c in calls[1:-1])  # done slots re-sample pending ones
        assert all(r["thinking_tokens"] <= int(kw["max_tokens_thinking"]) for r in recs)
        if int(kw["max_tokens_thinking"]) <= 4000:
            assert sum(r["tries"] for r in recs) > n
    elif "thinking_n_ignore" in kw:
        assert thinking["stop"] == [] and thinking["min_tokens"] == 1 and thinking["stop_token_ids"]
        # every round asks for the full budget again
        assert len({p["max_tokens"] for c in calls[:-1] for _, p in c}) == 1
        assert max(r["wait_rounds"] for r in recs) == int(kw["thinking_n_ignore"])
    else:
        assert thinking["stop"] and thinking["stop_token_ids"] == []
        if kw["max_tokens_thinking"] == "auto":
            assert len({p["max_tokens"] for _, p in calls[0]}) == 1  # one budget for the whole batch
        elif int(kw["max_tokens_thinking"]) <= 1000:
            assert any(r["forced_end"] for r in recs) and not all(r["forced_end"] for r in recs)
    answers = calls[-1]
    assert all(p["max_tokens"] == 32768 for _, p in answers)  # the answer ignores the context left


def test_fork_wait_rounds_cut_ids_not_text(stack):
    """Wait rounds that all stop by themselves but add up to more than the budget: the ids
    are cut to the budget, the text is not, and no "Final Answer:" is appended."""
    tok = stack["tok"]
    start, end = (tok.encode(s, add_special_tokens=False) for s in ("<|im_start|>think", "<|im_start|>answer"))
    contexts = [r.args[0] for r in requests_for(tok, {})]
    found = 0
    for budget in (60, 100, 150, 300):
        kw = {"max_gen_toks": 32768, "max_tokens_thinking": budget, "thinking_n_ignore": 2, "thinking_n_ignore_str": "Wait"}
        ref, ref_calls = run(stack["fork"], kw)
        got, calls = run(stack["current"], kw)
        assert got == ref and calls == ref_calls
        recs = stack["current"].s1_records
        for i, text in enumerate(got):
            rec = recs[("t", i)][0]
            if rec["thinking_tokens"] != budget or rec["forced_end"]:
                continue
            ctx = tok.encode(contexts[i], add_special_tokens=False)
            prompt = next(p for p, _ in calls[-1] if list(p[: len(ctx)]) == ctx)
            seen = tok.decode(prompt[len(ctx) + len(start) : -len(end)], skip_special_tokens=False)
            thinking = text[len("<|im_start|>think") : text.index("<|im_start|>answer")]
            assert len(prompt) - len(ctx) - len(start) - len(end) == budget  # the model saw the cut ids
            assert thinking.startswith(seen) and len(thinking) > len(seen)  # the text kept the rest
            assert "Final Answer:" not in text
            found += 1
    assert found, "no request was cut without being forced"


# ---------------------------------------------------------------------------- kit semantics


def _thinking_calls(calls):
    return calls[:-1]


@pytest.mark.parametrize("label,gen_kwargs", GEN_KWARGS, ids=[g[0] for g in GEN_KWARGS])
def test_kit_semantics_documented_differences(stack, label, gen_kwargs):
    """The kit's semantics differs from the fork only as docs/fidelity.md says."""
    ref, ref_calls = run_fork(stack, gen_kwargs)
    got, calls = run(stack["kit"], gen_kwargs)
    lm, tok = stack["kit"], stack["tok"]
    recs = {k[1]: v[0] for k, v in lm.s1_records.items()}
    kw = {**TASK_GEN_KWARGS, **gen_kwargs}
    ctx = lm.max_length
    eos_id = tok.eos_token_id
    # 1. answers: max_tokens capped by the context left (the fork asks max_gen_toks)
    for prompt, p in calls[-1]:
        assert p["max_tokens"] == min(32768, ctx - len(prompt))
        assert eos_id in p["stop_token_ids"] and EOS in p["stop"]
    # 2. do_sample=false wins over temperature (the fork samples at the given temperature)
    want_t = 0.0 if kw.get("do_sample") is False else kw.get("temperature")
    assert all(p["temperature"] == want_t for c in calls for _, p in c)
    assert all(p["temperature"] == kw.get("temperature") for c in ref_calls for _, p in c)
    if "max_tokens_thinking" not in gen_kwargs:  # plain: one call, same prompts, same text when greedy in both
        assert len(calls) == 1 and sorted(p for p, _ in calls[0]) == sorted(p for p, _ in ref_calls[0])
        assert (got == ref) == (want_t == kw.get("temperature"))
        return
    think = _thinking_calls(calls)
    # 3. thinking stops: strings and one-token ids, thinking_end among them
    end = str(kw.get("thinking_end", "<|im_start|>answer"))
    for c in think:
        for _, p in c:
            assert end in p["stop"] and eos_id in p["stop_token_ids"] and p["min_tokens"] == 0
    # 4. "auto": each request's own budget = context - own prompt - delimiters - 100
    start = tok.encode(str(kw.get("thinking_start", "<|im_start|>think")), add_special_tokens=False)
    forced = tok.encode("\n", add_special_tokens=False) + tok.encode(end + "\nFinal Answer:", add_special_tokens=False)
    budgets = {}
    for prompt, p in think[0]:
        own = len(prompt) - len(start)
        room = ctx - own - len(start) - len(forced) - 100
        b = room if kw["max_tokens_thinking"] == "auto" else min(int(kw["max_tokens_thinking"]), room)
        budgets[tuple(prompt)] = b
        assert p["max_tokens"] == (b + 1 if kw.get("rejection_sample") else b)
    assert all(r["thinking_tokens"] <= r["budget"] for r in recs.values())
    if kw.get("rejection_sample"):
        # 5. greedy rejection sampling: one try each (the fork: full-batch rounds until all fit)
        assert len(think) == 1 and all(r["tries"] == 1 for r in recs.values())
    elif "thinking_n_ignore" in kw:
        # 6. Wait rounds: each round gets the budget left (the fork: the full budget again)
        left: dict[tuple, list[int]] = {}
        for c in think:
            for prompt, p in c:
                first = next(q for q in budgets if tuple(prompt[: len(q)]) == q)
                assert p["max_tokens"] == budgets[first] - (len(prompt) - len(first))
                left.setdefault(first, []).append(p["max_tokens"])
        assert all(a > b for v in left.values() for a, b in zip(v, v[1:]))
        assert any(len(v) > 1 for v in left.values())
        ignore = kw.get("thinking_n_ignore_str", "Wait")
        for text, rec in zip(got, (recs[i] for i in range(len(got)))):
            assert text.count(ignore) >= rec["wait_rounds"]
    else:
        # 7. plain budget forcing with an integer budget: the very same responses
        if kw["max_tokens_thinking"] != "auto":
            assert got == ref


# ---------------------------------------------------------------------------- the official multi-task batch

# Two kit tasks in ONE lm-eval run, as every official command's --tasks list (issue 24.1): the
# openai_math questions are longer, so the batch's longest prompt is one of theirs.
BATCH = {
    "aime24_nofigures": QUESTIONS[:3],
    "openai_math": [f"{q} Show every step of the computation and state the final answer as an integer."
                    for q in QUESTIONS[3:]],
}


def write_task_data(root: Path, questions_by_task: dict[str, list[str]]) -> dict[str, Path]:
    """One JSONL per task (id, problem, answer "5"): the data ``run.run_batch`` reads."""
    import json

    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for task, questions in questions_by_task.items():
        paths[task] = root / f"{task}.jsonl"
        paths[task].write_text("".join(json.dumps({"id": f"{task}-{i}", "problem": q, "answer": "5"}) + "\n"
                                       for i, q in enumerate(questions)))
    return paths


@pytest.fixture(scope="module")
def batch_stack(stack, tmp_path_factory):
    """``run.run_batch`` (the code behind ``s1kit evaluate --task a b``) on the fake engine with
    what reached the model recorded: its lm-eval requests, its engine and its responses."""
    from s1kit.evaluate import models

    tmp = tmp_path_factory.mktemp("batch")
    seen: list[dict] = []
    original = models.generate_until_budget

    def recording(lm, requests, *args, **kwargs):
        entry = {"requests": copy.deepcopy(list(requests)), "lm": lm}
        entry["texts"] = original(lm, requests, *args, **kwargs)
        seen.append(entry)
        return entry["texts"]

    mp = pytest.MonkeyPatch()
    mp.setattr(models, "generate_until_budget", recording)
    mp.setattr(models, "_VLLM_CLASS", None)  # built over the fake here; undone afterwards (no stale class)
    models.register()
    try:
        yield {"seen": seen, "data": write_task_data(tmp / "data", BATCH), "tmp": tmp, "model": stack["fork"].model_args["model"]}
    finally:
        mp.undo()


def _run_batch(batch_stack, gen_kwargs: dict, tasks: list[str], out: Path) -> tuple[list, list, list, list]:
    """One ``run_batch`` of ``tasks`` under fork semantics: (results, requests, engine calls, texts)."""
    from s1kit.evaluate.run import TaskRun, run_batch

    runs = [TaskRun(t, batch_stack["data"][t], out / t) for t in tasks]
    before = len(batch_stack["seen"])
    # setting "plain" adds no gen kwargs: the command's reach lm-eval as they are (over the task yaml's)
    results = run_batch(batch_stack["model"], runs, "plain", dict(gen_kwargs), backend="vllm", batch_size="auto",
                        dtype="float32", semantics="fork")
    (entry,) = batch_stack["seen"][before:]  # one generate_until call for the whole run
    calls = [c for c in entry["lm"].model.calls if c]
    return results, entry["requests"], calls, entry["texts"]


def _task_of(prompt, contexts: dict[str, list]) -> str:
    return next(t for t, encs in contexts.items() if any(list(prompt[: len(e)]) == e for e in encs))


@pytest.mark.parametrize("label,gen_kwargs", GEN_KWARGS, ids=[g[0] for g in GEN_KWARGS])
def test_fork_semantics_multi_task_batch_is_the_official_run(stack, batch_stack, label, gen_kwargs, tmp_path):
    """Issue 24.1: two tasks of different prompt lengths in one kit run (``run_batch``) send the
    same generate calls and return the same texts as the pinned fork given all their requests
    in one ``generate_until`` (one official ``--tasks a,b`` run). One run per task (the old
    behaviour) would not: the "auto" budget and the rejection-sampling rounds depend on the
    other task's requests, which the checks at the end show."""
    kw = gen_kwargs
    tasks = list(BATCH)
    results, requests, calls, texts = _run_batch(batch_stack, kw, tasks, tmp_path / "batch")
    assert [r["task"] for r in results] == tasks and all(r["batch"] == tasks for r in results)
    assert Counter(req.task_name for req in requests) == Counter({t: len(q) for t, q in BATCH.items()})
    for t in tasks:
        assert (tmp_path / "batch" / t / "results.json").is_file() and (tmp_path / "batch" / t / "samples.jsonl").is_file()

    fork = stack["fork"]
    fork.model.reset()
    ref = fork.generate_until(copy.deepcopy(requests), disable_tqdm=True)
    ref_calls = [c for c in fork.model.calls if c]
    assert len(calls) == len(ref_calls), f"{len(calls)} generate calls, the fork made {len(ref_calls)}"
    for n, (a, b) in enumerate(zip(calls, ref_calls)):
        assert a == b, f"generate call {n} differs"
    assert texts == ref

    # Not vacuous: the calls mix both tasks, and the batch is what decides them.
    tok = fork.tokenizer
    contexts = {t: [tok.encode(r.args[0], add_special_tokens=False) for r in requests if r.task_name == t]
                for t in tasks}
    longest = max(len(e) for encs in contexts.values() for e in encs)
    assert longest == max(len(e) for e in contexts["openai_math"]) > max(len(e) for e in contexts["aime24_nofigures"])
    assert {_task_of(p, contexts) for p, _ in calls[0]} == set(tasks)
    if kw.get("max_tokens_thinking") == "auto":
        start = tok.encode(str(kw.get("thinking_start", "<|im_start|>think")), add_special_tokens=False)
        end_max = tok.encode(str(kw.get("thinking_end", "<|im_start|>answer")) + "\nFinal Answer:",
                             add_special_tokens=False)
        budget = 32768 - longest - len(start) - len(end_max) - 100  # vllm_causallms.py:264, over BOTH tasks
        assert {p["max_tokens"] for _, p in calls[0]} == {budget}
        # The old behaviour: aime24_nofigures alone gets the budget of its own longest prompt.
        _, _, alone, _ = _run_batch(batch_stack, kw, ["aime24_nofigures"], tmp_path / "alone")
        assert {p["max_tokens"] for _, p in alone[0]} == {budget + longest - max(map(len, contexts["aime24_nofigures"]))}
    if kw.get("rejection_sample"):
        # spare slots of one task re-sample the other's pending requests
        sizes = {t: len(q) for t, q in BATCH.items()}
        mixed = [c for c in calls[1:-1] if any(Counter(_task_of(p, contexts) for p, _ in c)[t] > sizes[t] for t in tasks)]
        if int(kw["max_tokens_thinking"]) <= 4000:
            assert mixed, "no round where one task's slots re-sampled the other's requests"
