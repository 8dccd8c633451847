"""Real eval data, prompt for prompt, with the real Qwen2.5 vocabulary (issue #25 item 4).

On the real AIME24 (nofigures), AIME25 (nofigures), MATH500 and GPQA Diamond files in
../shared/data (GPQA rows are read from there at test time, never copied), every document's
final prompt that the kit builds (its task YAML through the installed lm-eval, the kit's
vLLM model's chat template) equals the one the official fork builds: the fork's own
``ConfigurableTask`` (eval/lm-evaluation-harness/lm_eval/api/task.py at 77272c6, running on
the installed lm-eval's helpers) with the fork's ``process_docs`` / ``doc_to_text``
(lm_eval/tasks/aime/utils.py, openai_math/utils.py, gpqa/openai/utils.py) and the fork's
``VLLM.apply_chat_template`` (lm_eval/models/vllm_causallms.py), both with Qwen2.5-Instruct's
tokenizer (s1kit.tiny.qwen25, the real vocabulary, offline). The fork's hub datasets are
replaced by the same rows loaded by ``datasets`` from the local files (GPQA: the original
CSV, through the CSV builder, as the hub's Idavidrein/gpqa is a CSV).

Then: GPQA's choice order is the fork's given the same global RNG state (the state an
official command has when the tasks are built: ``random.seed(1234)`` by vLLM's start-up,
docs/fidelity.md "GPQA choice order"); prompt token ids are equal; gold answers score 100%
and answers rotated by one document score nothing but the documents whose golds coincide,
under both ``evaluate.scoring`` values; and for every distinct ``--gen_kwargs`` of
eval/commands.sh the fork's ``VLLM.generate_until`` and the kit's (``semantics="fork"``),
on one four-task batch of real prompts, tokenize "Wait" (and the other ignore strings), the
think and answer delimiters, "Final Answer:" and the stop strings alike and send the same
generate calls. The engine is tests/fake_vllm.py's toy model (no real vLLM here: the calls,
not the weights, are under test); ``openai`` is stubbed for the fork's task files (no judge
runs), and so is the fork's few-shot sampler, built but unused at 0 shots (ZeroShotSampler).
Skips when ../shared/official-s1 or ../shared/data is absent.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import importlib.util
import io
import json
import logging
import random
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

import fake_vllm
from test_evaluate_vllm_fork import load_fork_vllm

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
HARNESS = SHARED / "official-s1" / "eval" / "lm-evaluation-harness" / "lm_eval"
DATA = SHARED / "data"
# task -> (data file, documents, the fork's task folder, the fork's split, doc_to_text name)
SETS = {
    "aime24_nofigures": (DATA / "aime24" / "aime24_nofigures.jsonl", 30, "aime", "train", "doc_to_text"),
    "aime25_nofigures": (DATA / "aime25" / "aime25_nofigures.jsonl", 30, "aime", "train", "doc_to_text"),
    "openai_math": (DATA / "math500" / "test.jsonl", 500, "openai_math", "test", "doc_to_text"),
    "gpqa_diamond_openai": (DATA / "gpqa_diamond" / "gpqa_diamond.csv", 198, "gpqa/openai", "train", "doc_to_text_gpqa"),
}
pytestmark = pytest.mark.skipif(
    not (HARNESS / "api" / "task.py").is_file() or not all(s[0].is_file() for s in SETS.values()),
    reason="../shared/official-s1 (the pinned official code) or ../shared/data (the real eval sets) is absent",
)
QWEN_SYSTEM = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
TASK_GEN_KWARGS = {"until": [], "do_sample": False, "temperature": 0, "max_gen_toks": 32768}


def _exec(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):  # the fork's task files print their template
        spec.loader.exec_module(module)
    return module


class ZeroShotSampler:
    """Stands in for lm-eval 0.4.4's ContextSampler, which the fork's task.py builds at 0 shots
    too (the installed lm-eval's has another signature); a few-shot context would fail loudly."""

    def __init__(self, docs, task, rnd=None):
        self.docs, self.task, self.rnd = docs, task, rnd
        self.fewshot_delimiter, self.target_delimiter = "\n\n", " "

    def get_context(self, *args, **kwargs):
        raise AssertionError("the paper's tasks are 0-shot")

    get_chat_context = get_context


def gpqa_jsonl(csv_path: Path, out: Path) -> Path:
    """The kit's input for GPQA: the CSV's rows as JSONL (in a temporary folder only)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The fork's task code, the fork's and the kit's vLLM models on fake engines, with Qwen2.5's tokenizer."""
    import lm_eval.utils

    from s1kit.tiny.qwen25 import write_qwen25_tokenizer

    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("prompts_real")
    openai = types.ModuleType("openai")
    openai.OpenAI = object
    openai.BadRequestError = type("BadRequestError", (Exception,), {})
    mp.setitem(sys.modules, "openai", openai)
    mp.setattr(lm_eval.utils, "eval_logger", logging.getLogger("lm-eval-fork"), raising=False)
    for var in ("PROMPTSTEP", "PROMPTTOKEN", "PROMPTLONG", "PROMPTSHORT", "PROCESSOR"):
        mp.delenv(var, raising=False)
    model_dir = write_qwen25_tokenizer(tmp / "qwen25")
    # A Qwen2.5-32B-Instruct-shaped config: the fake engine reads the context length only.
    (model_dir / "config.json").write_text(json.dumps({
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 152064, "hidden_size": 8,
        "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 32768, "eos_token_id": 151645, "bos_token_id": 151643}))
    try:
        fork_task = _exec(HARNESS / "api" / "task.py", "fork_lm_eval_api_task_g")
        fork_task.samplers = SimpleNamespace(get_sampler=lambda name: ZeroShotSampler)
        utils = {folder: _exec(HARNESS / "tasks" / folder / "utils.py", f"fork_{folder.replace('/', '_')}_utils_g")
                 for folder in ("aime", "openai_math", "gpqa/openai")}
        fake = fake_vllm.install(mp, tmp / "site", version="0.11.0")
        fork_vllm = load_fork_vllm(mp)
        fake_vllm.forget_lm_eval_vllm(mp)  # re-import over the fake
        from s1kit.evaluate import models

        args = {"pretrained": str(model_dir), "dtype": "float32", "seed": 1234, "batch_size": "auto"}
        mp.setattr(fake, "API", "0.6.4")
        fork_lm = fork_vllm.VLLM(**args)
        mp.setattr(fake, "API", "current")
        kit_lm = models._build_vllm_class()(**args, semantics="fork")
        yield SimpleNamespace(tmp=tmp, fork_task=fork_task, utils=utils, fork_lm=fork_lm, kit_lm=kit_lm,
                              tok=fork_lm.tokenizer, gpqa=gpqa_jsonl(SETS["gpqa_diamond_openai"][0], tmp / "gpqa.jsonl"))
    finally:
        mp.undo()
        fake_vllm.drop_lm_eval_vllm()


def fork_task(env, name: str, cache_dir: Path, gpqa_seed: int | None = 1234):
    """The fork's ConfigurableTask for ``name`` (its YAML's fields, the data from the local
    file); for GPQA the global RNG is seeded with ``gpqa_seed`` just before the task is built."""
    path, _, folder, split, to_text = SETS[name]
    utils = env.utils[folder]
    config = {
        "task": name, "output_type": "generate_until", "doc_to_target": "answer",
        "process_docs": utils.process_docs, "doc_to_text": getattr(utils, to_text),
        "process_results": utils.process_results, "generation_kwargs": dict(TASK_GEN_KWARGS),
        "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0},
    }
    if name == "gpqa_diamond_openai":  # gpqa/openai/gpqa_diamond_openai.yaml: train split as validation, 0-shot
        config |= {"dataset_path": "csv", "training_split": "train", "validation_split": "train",
                   "test_split": None, "num_fewshot": 0}
        if gpqa_seed is not None:
            random.seed(gpqa_seed)
    else:
        config |= {"dataset_path": "json", "test_split": split}
    config["dataset_kwargs"] = {"data_files": {split: str(path)}, "cache_dir": str(cache_dir)}
    with contextlib.redirect_stdout(io.StringIO()):
        return env.fork_task.ConfigurableTask(config=config)


def kit_task(name: str, data_path: Path, **metadata):
    from lm_eval.tasks import TaskManager

    from s1kit.evaluate.tasks import TASKS_DIR

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False,
                     metadata={"data_path": str(data_path), **metadata})
    return tm.load([name])["tasks"][name]


def contexts(task, chat_template) -> list[str]:
    """The final prompt of every document, in document order (lm-eval's request building)."""
    with contextlib.redirect_stdout(io.StringIO()):
        task.build_all_requests(apply_chat_template=True, chat_template=chat_template, tokenizer_name="qwen25")
    by_doc = {inst.doc_id: inst.args[0] for inst in task.instances}
    return [by_doc[i] for i in range(len(by_doc))]


@pytest.fixture(scope="module")
def built(env):
    """Per set: the fork's task and prompts, the kit's task and prompts (GPQA: fork order, default seed)."""
    out = {}
    for name, (path, *_rest) in SETS.items():
        ftask = fork_task(env, name, env.tmp / f"hf-cache-{name}")
        data = env.gpqa if name == "gpqa_diamond_openai" else path
        ktask = kit_task(name, data, choice_order="fork")
        out[name] = SimpleNamespace(
            fork=ftask, fork_ctx=contexts(ftask, env.fork_lm.apply_chat_template),
            kit=ktask, kit_ctx=contexts(ktask, env.kit_lm.apply_chat_template))
    return out


@pytest.mark.parametrize("name", list(SETS))
def test_every_document_prompt_equals_the_forks(built, name):
    b, n = built[name], SETS[name][1]
    assert len(b.fork_ctx) == len(b.kit_ctx) == n
    diff = [i for i, (f, k) in enumerate(zip(b.fork_ctx, b.kit_ctx)) if f != k]
    assert not diff, f"{len(diff)} of {n} prompts differ, first doc {diff[:1]}"
    # The real chat template: Qwen2.5's default system turn, the question as the one user turn.
    assert all(c.startswith(QWEN_SYSTEM + "<|im_start|>user\n") and c.endswith("<|im_end|>\n<|im_start|>assistant\n")
               for c in b.kit_ctx)
    if name != "gpqa_diamond_openai":
        docs = list(b.kit.eval_docs)
        assert [QWEN_SYSTEM + "<|im_start|>user\n" + d["question"] + "<|im_end|>\n<|im_start|>assistant\n"
                for d in docs] == b.fork_ctx


def test_gpqa_choice_order_and_gold_equal_the_forks_for_the_same_rng_state(env, built):
    """Kit (choice_order fork, default seed 1234) = the fork's process_docs after random.seed(1234)."""
    b = built["gpqa_diamond_openai"]
    fork_docs, kit_docs = list(b.fork.eval_docs), list(b.kit.eval_docs)
    assert len(fork_docs) == len(kit_docs) == 198
    for f, k in zip(fork_docs, kit_docs):
        assert [k[f"choice{i}"] for i in range(1, 5)] == [f[f"choice{i}"] for i in range(1, 5)]
        assert k["answer"] == f["answer"] and k["question"] == f["Question"]
    letters = [d["answer"] for d in kit_docs]
    assert all(letters.count(x) >= 30 for x in "ABCD")  # a shuffle happened
    # Another RNG state gives another order: the equality above is not vacuous.
    other = fork_task(env, "gpqa_diamond_openai", env.tmp / "hf-cache-gpqa-seed0", gpqa_seed=0)
    assert [d["answer"] for d in other.eval_docs] != letters


@pytest.mark.parametrize("name", list(SETS))
def test_prompt_token_ids_equal_with_the_real_vocabulary(env, built, name):
    b = built[name]
    fork_ids = [env.fork_lm.tok_encode(c) for c in b.fork_ctx]
    kit_ids = [env.kit_lm.tok_encode(c) for c in b.kit_ctx]
    assert fork_ids == kit_ids
    head = env.tok.encode(QWEN_SYSTEM + "<|im_start|>user\n", add_special_tokens=False)
    assert head[:1] == [151644] and all(ids[: len(head)] == head for ids in kit_ids)
    assert all(ids[-3:] == [151644, 77091, 198] for ids in kit_ids)  # "<|im_start|>", "assistant", "\n"
    assert min(map(len, kit_ids)) > len(head) + 3  # every prompt has a question


def _answer_text(gold: str) -> str:
    return f"<|im_start|>think\nLet me work it out.\n<|im_start|>answer\nAnswer: {gold}"


@pytest.mark.parametrize("scoring", ["kit", "fork"])
@pytest.mark.parametrize("name", list(SETS))
def test_gold_answers_score_all_and_rotated_answers_none(built, name, scoring):
    """Gold: 100%. The next document's gold: wrong wherever the two golds differ (a rotation by
    one document can only be right where neighbouring golds are the same answer)."""
    from s1kit.evaluate.answers import score

    task = built[name].kit
    docs = [{**d, "scoring": scoring} for d in task.eval_docs]
    golds = [d["answer"] for d in docs]
    right = [task.process_results(d, [_answer_text(g)])["exact_match"] for d, g in zip(docs, golds)]
    assert sum(right) == len(docs)
    rotated = golds[1:] + golds[:1]
    wrong = [task.process_results(d, [_answer_text(g)])["exact_match"] for d, g in zip(docs, rotated)]
    same = [score(_answer_text(g2), g1, scoring)[1] for g1, g2 in zip(golds, rotated)]  # neighbours' golds agree
    assert wrong == [float(s) for s in same]
    if name.startswith("aime"):
        assert sum(wrong) == 0  # no two neighbouring AIME answers are equal
    elif name == "openai_math":
        assert sum(wrong) <= 5, [(g1, g2) for g1, g2, s in zip(golds, rotated, same) if s]
    else:  # letters: neighbours share one about a quarter of the time; another letter is always wrong
        assert 0 < sum(wrong) < 0.4 * len(docs)
        shifted = ["ABCD"[("ABCD".index(g) + 1) % 4] for g in golds]
        assert sum(task.process_results(d, [_answer_text(s)])["exact_match"] for d, s in zip(docs, shifted)) == 0


# ---------------------------------------------------------------------------- budget forcing


def official_gen_kwargs() -> list[tuple[str, dict]]:
    from s1kit.evaluate.official_commands import parse_commands

    text = (SHARED / "official-s1" / "eval" / "commands.sh").read_text(encoding="utf-8")
    seen: dict[str, tuple[str, dict]] = {}
    for cmd in parse_commands(text):
        seen.setdefault(repr(sorted(cmd.gen_kwargs.items())), (cmd.output_path, cmd.gen_kwargs))
    return list(seen.values())


GEN_KWARGS = official_gen_kwargs() if (SHARED / "official-s1" / "eval" / "commands.sh").is_file() else []


@pytest.fixture(scope="module")
def batch(env, built):
    """One four-task batch, as the official commands run it: per task its shortest and longest
    real prompt (different prompt lengths, as the official four-task batches had)."""
    chosen = []
    for name in SETS:
        ctx = built[name].kit_ctx
        lengths = [len(env.kit_lm.tok_encode(c)) for c in ctx]
        for i in sorted({lengths.index(min(lengths)), lengths.index(max(lengths))}):
            chosen.append((name, i, ctx[i]))
    return chosen


def _requests(batch, gen_kwargs: dict):
    from lm_eval.api.instance import Instance

    kw = {**TASK_GEN_KWARGS, **gen_kwargs}
    return [Instance("generate_until", {}, (ctx, copy.deepcopy(kw)), idx=0, metadata=(name, i, 1))
            for name, i, ctx in batch]


def _run(lm, batch, gen_kwargs):
    lm.model.reset()
    out = lm.generate_until(_requests(batch, gen_kwargs), disable_tqdm=True)
    return out, [c for c in lm.model.calls if c]


@pytest.mark.parametrize("label,gen_kwargs", GEN_KWARGS, ids=[g[0] for g in GEN_KWARGS])
def test_budget_forcing_tokenizations_and_calls_equal_the_forks(env, batch, label, gen_kwargs):
    """The fork's own tok_encode calls (logged) give the ids the kit's codec gives, and both
    send the same generate calls (prompt ids, stops, stop ids, budgets) on the real vocabulary."""
    from s1kit.evaluate.controller import Codec

    fork_lm, kit_lm, tok = env.fork_lm, env.kit_lm, env.tok
    seen: dict[str, list] = {}
    original = type(fork_lm).tok_encode

    def logged(string, *args, **kwargs):
        ids = original(fork_lm, string, *args, **kwargs)
        for s, i in zip([string] if isinstance(string, str) else string, [ids] if isinstance(string, str) else ids):
            if len(s) < 200:  # the delimiters and strings, not the prompts
                seen[s] = list(i)
        return ids

    fork_lm.tok_encode = logged
    try:
        ref, ref_calls = _run(fork_lm, batch, gen_kwargs)
    finally:
        del fork_lm.tok_encode
    codec = Codec.from_hf(tok)
    assert {s: codec.ids(s) for s in seen} == seen
    if "max_tokens_thinking" in gen_kwargs:
        start = gen_kwargs.get("thinking_start", "<|im_start|>think")
        end = gen_kwargs.get("thinking_end", "<|im_start|>answer")
        expect = {start, end, end + "\nFinal Answer:", "\n", gen_kwargs.get("until_thinking", "<|im_start|>"), "<|im_end|>"}
        if "thinking_n_ignore_str" in gen_kwargs:
            expect.add(gen_kwargs["thinking_n_ignore_str"])
        assert expect <= set(seen), expect - set(seen)
    got, calls = _run(kit_lm, batch, gen_kwargs)
    assert len(calls) == len(ref_calls)
    for n, (a, b) in enumerate(zip(calls, ref_calls)):
        assert a == b, f"generate call {n} differs"
    assert got == ref


def test_the_forks_delimiters_in_qwen25_tokens(env):
    """What the fork's tok_encode gives on the real vocabulary (for the record; any change of
    vocabulary or tokenizer settings shows here first)."""
    enc = env.fork_lm.tok_encode
    assert enc("<|im_start|>think") == [151644, 26865]
    assert enc("<|im_start|>answer") == [151644, 9217]
    assert enc("<|im_start|>answer\nFinal Answer:") == [151644, 9217, 198, 19357, 21806, 25]
    assert enc("\n") == [198] and enc("<|im_end|>") == [151645] and enc("<|im_start|>") == [151644]
    assert [enc(s) for s in ("Wait", "Hmm", "Alternatively")] == [[14190], [80022], [92014]]
    assert enc(["<|im_start|>", "<|im_end|>"]) == [[151644], [151645]]  # until_thinking + the eos stop
    assert env.fork_lm.eot_token_id == 151645


# ---------------------------------------------------------------------------- GPQA order: the chain (issue #24 item 2)


def _letters(task) -> list[str]:
    return [d["answer"] for d in task.eval_docs]


def _kit_letters(env, seed: int | None) -> list[str]:
    from s1kit.evaluate.tasks import read_jsonl
    from s1kit.evaluate.tasks.official import gpqa_docs

    return [d["answer"] for d in gpqa_docs(read_jsonl(env.gpqa), choice_order="fork", shuffle_seed=seed)]


def test_fork_gpqa_order_is_its_first_shuffle_of_the_run(env):
    """The fork runs GPQA's process_docs again and again (few-shot docs and eval docs at task
    init, eval docs when requests are built and when results are scored); datasets' map cache
    hands back the first shuffle every time, whatever drew from ``random`` in between."""
    task = fork_task(env, "gpqa_diamond_openai", env.tmp / "chain-run", gpqa_seed=1234)
    first = _letters(task)
    random.seed(99)  # the rest of the run moves the global RNG
    prompts = contexts(task, env.fork_lm.apply_chat_template)
    assert _letters(task) == first == _kit_letters(env, None)  # the kit's fork order, default seed 1234
    assert all(f"A) {d['choice1']}\nB) {d['choice2']}" in p for d, p in zip(task.eval_docs, prompts))


def test_fork_gpqa_order_of_a_later_run_is_the_first_runs_on_the_same_cache(env):
    """The map cache outlives the run: on the same datasets cache a later run reuses the first
    run's order. commands.sh's first command is a ``--model dummy`` test (no vLLM: the global
    RNG is still lm-eval's ``random.seed(0)``); a vLLM run after it on the same cache gets that
    order, not its own. Which run came first on the authors' machines is not in the code."""
    cache = env.tmp / "chain-shared-cache"
    dummy_first = fork_task(env, "gpqa_diamond_openai", cache, gpqa_seed=0)
    vllm_later = fork_task(env, "gpqa_diamond_openai", cache, gpqa_seed=1234)
    assert _letters(vllm_later) == _letters(dummy_first) == _kit_letters(env, 0)
    cold = fork_task(env, "gpqa_diamond_openai", env.tmp / "chain-cold-cache", gpqa_seed=1234)
    assert _letters(cold) == _kit_letters(env, 1234) != _kit_letters(env, 0)


def test_without_the_map_cache_each_process_docs_of_the_fork_reshuffles(env):
    """Why the cache matters: with datasets' caching off, the fork's later process_docs calls
    draw new orders, so its prompts would not follow the order of its first shuffle."""
    import datasets

    datasets.disable_caching()
    try:
        task = fork_task(env, "gpqa_diamond_openai", env.tmp / "chain-no-cache", gpqa_seed=1234)
        again = _letters(task)
    finally:
        datasets.enable_caching()
    assert again != _kit_letters(env, 1234)  # the first shuffle (at init) is not what eval_docs returns now
