"""Featurization, conformance: the official request payloads beside the kit's, same questions.

The official functions run as they are: data/featurization.py's grading
(``_process_example_grading``) and MSC classification (``do_domain_classification`` ->
``_process_question``), and data/bulk_inference.py's attempts (``difficulty_classification``
-> ``_qwen_forward``), imported from the pinned files in ../shared/official-s1. Patched
are only what cannot run here: the ``anthropic`` / ``openai`` / ``vllm`` packages (stand-in
modules that record each call's arguments and answer "Yes" / code "11" / a short text),
``load_dataset`` and ``AutoTokenizer.from_pretrained`` (in-memory questions, the tiny
chat-template tokenizer), and the process pool (run in this process, so the calls can be
recorded). The kit's requests go through its own client to the local stand-in server
(tests/llm_server.py) with config/s1.yaml's featurize settings, and its attempts through
its own generate call (recorded, not run to 32,768 tokens).

Every field is compared; each difference is one of docs/fidelity.md's featurization rows
and is asserted here as it stands. Skips, saying why, when ../shared/official-s1 is absent.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from s1kit.features.domains import SYSTEM_PROMPT, llm_domains
from s1kit.features.grading import llm_grades
from s1kit.features.llm_jobs import job_from_dict
from s1kit.features.semantics import SEMANTICS, semantics_of
from s1kit.records import QUESTION_SCHEMA, make_question, question_hash, write_table
from llm_server import FakeAPI

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = (ROOT / ".." / "shared" / "official-s1").resolve()
pytestmark = pytest.mark.skipif(not (OFFICIAL / "data" / "featurization.py").exists(),
                                reason="../shared/official-s1 (the pinned official code) absent")
S1 = yaml.safe_load((ROOT / "config" / "s1.yaml").read_text())
FZ = S1["featurize"]
QUESTIONS = ["What is $1+1$?", "Find all primes $p$ such that $p^2+2$ is prime.",
             "A ball of mass 2 kg falls 5 m. Its kinetic energy at the bottom, in J?"]
SOLUTIONS = ["2", "$p=3$", "98"]
ATTEMPTS = ["The sum is 2.", "Only p = 3 works, since squares are 1 mod 3", "It is 98 J."]


def reply(text: str) -> dict:
    """An Anthropic Messages API response body."""
    return {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 100, "output_tokens": 20}}


class Recorder:
    """Stand-ins for the API packages: every call's keyword arguments, in order."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def modules(self) -> dict[str, types.ModuleType]:
        rec = self

        class Messages:
            def create(self, **kw):
                rec.calls.append(("anthropic.messages.create", kw))
                last = "11" if "two-digit code" in kw.get("system", "") else "Yes"
                return SimpleNamespace(content=[SimpleNamespace(text=f"Reasoning.\n{last}")], usage=None)

        class Anthropic:
            def __init__(self, **kw):
                self.messages = Messages()

        class SamplingParams:
            def __init__(self, **kw):
                rec.calls.append(("vllm.SamplingParams", kw))
                self.kw = kw

        class LLM:
            def __init__(self, **kw):
                rec.calls.append(("vllm.LLM", kw))

            def generate(self, **kw):
                rec.calls.append(("vllm.LLM.generate", kw))
                return [SimpleNamespace(outputs=[SimpleNamespace(text="attempt")]) for _ in kw["prompts"]]

        anthropic = types.ModuleType("anthropic")
        anthropic.Anthropic = Anthropic
        openai = types.ModuleType("openai")
        openai.OpenAI = object
        vllm = types.ModuleType("vllm")
        vllm.LLM, vllm.SamplingParams = LLM, SamplingParams
        return {"anthropic": anthropic, "openai": openai, "vllm": vllm}

    def of(self, name: str) -> list[dict]:
        return [kw for n, kw in self.calls if n == name]


class InProcessPool:
    """The official ProcessPoolExecutor, run in this process so that the stand-ins see the calls."""

    def __init__(self, max_workers=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        return [fn(x) for x in items]


@pytest.fixture
def official(tmp_path, monkeypatch):
    """(recorder, import function) with the stand-ins installed and the cwd a scratch dir."""
    rec = Recorder()
    for name, mod in rec.modules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    for name in [m for m in sys.modules if m == "data" or m.startswith("data.")]:
        monkeypatch.delitem(sys.modules, name)  # re-import against the stand-ins
    monkeypatch.syspath_prepend(str(OFFICIAL))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-key")  # io_utils.set_anthropic_private_key
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "kit-cache"))
    return rec, importlib.import_module


@pytest.fixture
def api():
    server = FakeAPI(default=reply("Reasoning.\nYes"),
                     route=lambda path, body: (200, reply("Reasoning.\n11")) if "two-digit code" in json.dumps(
                         body.get("system")) + json.dumps(body.get("messages")) else None)
    yield server
    server.close()


def kit_job(section: dict, url: str, **kw):
    raw = {**section, "options": {**section.get("options", {}), "base_url": url},
           "client": {**section.get("client", {}), "workers": 1, "max_retries": 0}, **kw}
    return job_from_dict(raw, "featurize")


def pool_rows():
    return [make_question(q, "s", "t", "math", solution=s) for q, s in zip(QUESTIONS, SOLUTIONS)]


# ---- grading: data/featurization.py _process_example_grading ---------------------------


def test_grading_payload(official, api, tmp_path):
    rec, imp = official
    feat = imp("data.featurization")
    io = imp("data.utils.io_utils")
    prompt = io.tload(str(OFFICIAL / "data" / "grading.txt"))
    for q, s, a in zip(QUESTIONS, SOLUTIONS, ATTEMPTS):
        io.jdump({"question": q, "solution": s, "attempt": a},
                 f"results/difficulty_classification/gemini/grading_input/{question_hash(q)}.json")
        feat._process_example_grading(question_hash(q), grading_prompt=prompt, response_dir="gemini")
    official_calls = rec.of("anthropic.messages.create")
    assert len(official_calls) == 3

    pool = {r["id"]: r for r in pool_rows()}
    rows = [{"id": i, "attempt": a, "finish_reason": "stop"} for i, a in zip(pool, ATTEMPTS)]
    correct, _, _ = llm_grades(rows, pool, "attempt", prompt, kit_job(FZ["grader"]["llm"], api.url), None, "t",
                               sem=semantics_of(FZ["semantics"]))
    assert correct == [True, True, True]
    ours = [h["body"] for h in api.hits]
    for off, kit in zip(official_calls, ours):
        assert kit["model"] == off["model"] == "claude-3-5-sonnet-20241022"
        assert kit["max_tokens"] == off["max_tokens"] == 8192
        assert kit["messages"] == off["messages"]
        # DIFFERENT (format only): the same system text as a cached block, not a string
        assert kit["system"] == [{"type": "text", "text": off["system"], "cache_control": {"type": "ephemeral"}}]
        assert set(kit) == set(off) == {"model", "max_tokens", "system", "messages"}  # no temperature, no stop


@pytest.mark.parametrize("semantics, sent", [("official", 3), ("kit", 2)])
def test_unfinished_attempts_graded_as_featurize_semantics_says(official, api, tmp_path, semantics, sent):
    """The official grading sends every attempt it was given (bulk_inference keeps vLLM's text
    whatever its finish); featurize.semantics kit leaves a cut-off attempt ungraded (null)."""
    prompt = (OFFICIAL / "data" / "grading.txt").read_text()
    pool = {r["id"]: r for r in pool_rows()}
    rows = [{"id": i, "attempt": a, "finish_reason": f} for i, a, f in zip(pool, ATTEMPTS, ["stop", "length", "stop"])]
    correct, reason, _ = llm_grades(rows, pool, "attempt", prompt, kit_job(FZ["grader"]["llm"], api.url), None, "t",
                                    sem=semantics_of(semantics))
    assert len(api.hits) == sent
    assert correct[1] is (True if semantics == "official" else None)
    assert semantics == "official" or reason[1] == "attempt unfinished (length): not sent"
    assert FZ["semantics"] == "official"  # config/s1.yaml grades them, as the official code


# ---- MSC classification: data/featurization.py do_domain_classification ---------------


@pytest.mark.parametrize("rubric_in", ["user", "system"])
def test_domain_classification_payload(official, api, tmp_path, monkeypatch, rubric_in):
    rec, imp = official
    feat = imp("data.featurization")
    (tmp_path / "data").mkdir()
    shutil.copy(OFFICIAL / "data" / "msc.json", tmp_path / "data" / "msc.json")  # jload("data/msc.json")
    monkeypatch.setattr(feat, "load_dataset", lambda name: {"train": {"question": list(QUESTIONS)}})
    monkeypatch.setattr(feat, "ProcessPoolExecutor", InProcessPool)
    feat.do_domain_classification()
    official_calls = rec.of("anthropic.messages.create")
    assert len(official_calls) == 3

    section = FZ["domains"]["llm"]
    out, _ = llm_domains(pool_rows(), tmp_path / "data" / "msc.json", kit_job(section, api.url, rubric_in=rubric_in),
                         None)
    assert all(r["domain_code"] == "11" for r in out)
    ours = [h["body"] for h in api.hits]
    for off, kit in zip(sorted(official_calls, key=lambda c: c["messages"][0]["content"]),
                        sorted(ours, key=lambda c: c["messages"][0]["content"])):
        assert kit["model"] == off["model"] and kit["max_tokens"] == off["max_tokens"] == 8192
        assert set(kit) == set(off) == {"model", "max_tokens", "system", "messages"}
        assert len(kit["system"]) == 1 and kit["system"][0]["cache_control"] == {"type": "ephemeral"}
        if rubric_in == "user":  # SAME words in the same places
            assert kit["system"][0]["text"] == off["system"] == SYSTEM_PROMPT
            assert kit["messages"] == off["messages"]
        else:  # DIFFERENT: the rubric moved from the end of the user turn to the end of the system prompt
            o_user, k_user = off["messages"][0]["content"], kit["messages"][0]["content"]
            rubric = o_user[o_user.index("\n\n## Classification rubrics\n"):]
            assert o_user == k_user + rubric
            assert kit["system"][0]["text"] == off["system"] + rubric
    assert section["rubric_in"] == "user"  # config/s1.yaml keeps the official layout


# ---- attempts: data/bulk_inference.py difficulty_classification ------------------------


def test_attempt_payload(official, tmp_path, monkeypatch, tiny_tokenizer, torch_one_thread):
    """Prompt tokens, temperature, token limit and stop of the Qwen attempts."""
    torch = torch_one_thread
    rec, imp = official
    bulk = imp("data.bulk_inference")
    io = imp("data.utils.io_utils")
    model_name = S1["models"][FZ["attempt_models"][0]]["repo"]
    pretty = model_name.replace("/", "_").replace("-", "_").replace(".", "_")
    io.jdump(list(QUESTIONS), f"results/difficulty_classification/{pretty}/shard_0_input.json")
    monkeypatch.setattr(bulk, "AutoTokenizer", SimpleNamespace(from_pretrained=lambda *a, **k: tiny_tokenizer))
    bulk.difficulty_classification(shard_index=0, model_name=model_name)
    (llm,), (params,), (gen,) = rec.of("vllm.LLM"), rec.of("vllm.SamplingParams"), rec.of("vllm.LLM.generate")
    assert llm["model"] == model_name == "Qwen/Qwen2.5-7B-Instruct"

    from s1kit.features import attempts as kit_attempts
    from s1kit.hf import save_model
    from s1kit.tiny.student import StudentConfig, init_student

    seen = []

    class Recorded(torch.nn.Module):
        """The kit's model: generate's arguments recorded, then an immediate end of sequence."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def generate(self, input_ids, attention_mask, **kw):
            seen.append({"input_ids": input_ids, "attention_mask": attention_mask, **kw})
            eos = torch.full((input_ids.shape[0], 1), tiny_tokenizer.eos_token_id)
            return torch.cat([input_ids, eos], dim=1)

    save_model(init_student(StudentConfig(), tiny_tokenizer), tiny_tokenizer, tmp_path / "student")
    real_load = kit_attempts.load_model
    monkeypatch.setattr(kit_attempts, "load_model", lambda d: Recorded(real_load(d)))
    write_table(tmp_path / "pool.parquet", pool_rows(), schema=QUESTION_SCHEMA)
    for semantics in ("official", "kit"):
        kit_attempts.generate_attempts(tmp_path / "student", "m", tmp_path / "pool.parquet", tmp_path / "a.parquet",
                                       max_new_tokens=FZ["max_new_tokens"], batch_size=8, seed=FZ["seed"],
                                       semantics=semantics)
    official_run, kit_run = seen
    # SAME prompt: the official string, tokenized, is the kit's unpadded input
    for prompt, ids, mask in zip(gen["prompts"], official_run["input_ids"], official_run["attention_mask"]):
        assert prompt.endswith("<|im_start|>assistant\n")
        assert ids[mask.bool()].tolist() == tiny_tokenizer(prompt, add_special_tokens=False)["input_ids"]
    # SAME token limit; SAME stop (none given: the end-of-sequence token)
    assert params == {"temperature": 0.05, "max_tokens": 32768}
    # SAME limit: vLLM's context (32,768 for Qwen2.5) holds prompt and attempt together, so the
    # official max_tokens 32768 leaves each row 32768 - its prompt (data/bulk_inference.py:31 (max_length))
    shortest = int(official_run["attention_mask"].sum(dim=1).min())
    assert official_run["max_new_tokens"] == params["max_tokens"] - shortest
    assert kit_run["max_new_tokens"] == FZ["max_new_tokens"] == params["max_tokens"]
    assert not {"stop", "stop_strings", "stop_token_ids"} & (set(params) | set(official_run))
    # temperature: SAME under featurize.semantics official (config/s1.yaml), with vLLM's
    # other defaults spelled out; DIFFERENT (greedy) under kit
    assert FZ["semantics"] == "official"
    assert {k: official_run[k] for k in ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty")} == {
        "do_sample": True, "temperature": params["temperature"], "top_p": 1.0, "top_k": 0, "repetition_penalty": 1.0}
    assert kit_run["do_sample"] is False and "temperature" not in kit_run


def test_attempt_limits_and_end_tokens_as_vllm_ran_them(tiny_tokenizer):
    """featurize.semantics official: at most 32,768 tokens including the prompt, per row, and
    <|endoftext|> ends an attempt as <|im_end|> does (Qwen2.5's generation config lists both; vLLM
    stops at either); kit: max_new_tokens for every row, the tokenizer's eos only."""
    from s1kit.features.attempts import end_ids, new_token_limits

    official_sem, kit_sem = SEMANTICS["official"], SEMANTICS["kit"]
    assert new_token_limits([100, 32000, 33000], 32768, official_sem.max_len) == [32668, 768, 0]
    assert new_token_limits([100, 32000], 32768, None) == [32768, 32768]

    class Tok:
        eos_token_id = 7

        def get_vocab(self):
            return {"<|im_end|>": 7, "<|endoftext|>": 3, "a": 1}

    assert end_ids(Tok(), official_sem) == [3, 7] and end_ids(Tok(), kit_sem) == [7]
    assert end_ids(tiny_tokenizer, kit_sem) == [tiny_tokenizer.eos_token_id]
    assert set(end_ids(tiny_tokenizer, official_sem)) == {tiny_tokenizer.eos_token_id, tiny_tokenizer.get_vocab()["<|endoftext|>"]}


def test_empty_solution_graded_and_cut_teacher_traces_kept(official, api, tmp_path, tok_dir_official):
    """data/featurization.py:56 (solution): only a None solution is skipped; an empty one and an empty
    attempt are sent. featurize.semantics official does the same, and merges a teacher trace that did
    not finish with stop (data/gemini.py:28 (thinking) keeps every answer); kit skips all three."""
    rec, imp = official
    feat = imp("data.featurization")
    io = imp("data.utils.io_utils")
    prompt = io.tload(str(OFFICIAL / "data" / "grading.txt"))
    cases = [(QUESTIONS[0], "", ATTEMPTS[0]), (QUESTIONS[1], None, ATTEMPTS[1]), (QUESTIONS[2], SOLUTIONS[2], "")]
    for q, s, a in cases:
        io.jdump({"question": q, "solution": s, "attempt": a},
                 f"results/difficulty_classification/gemini/grading_input/{question_hash(q)}.json")
        feat._process_example_grading(question_hash(q), grading_prompt=prompt, response_dir="gemini")
    assert len(rec.of("anthropic.messages.create")) == 2  # the empty solution and the empty attempt
    pool = {r["id"]: r for r in [make_question(q, "s", "t", "math", solution=s) for q, s, _ in cases]}
    rows = [{"id": i, "attempt": a, "finish_reason": "stop"} for i, (_, _, a) in zip(pool, cases)]
    correct, _, _ = llm_grades(rows, pool, "attempt", prompt, kit_job(FZ["grader"]["llm"], api.url), None, "t",
                               sem=SEMANTICS["official"])
    assert len(api.hits) == 2 and correct == [True, None, True]
    correct, _, _ = llm_grades(rows, pool, "attempt", prompt, kit_job(FZ["grader"]["llm"], api.url), None, "t",
                               sem=SEMANTICS["kit"])
    assert len(api.hits) == 2 and correct == [None, None, False]  # nothing more sent

    from s1kit.features.merge import merge
    from s1kit.records import read_table

    ids = list(pool)
    write_table(tmp_path / "pool.parquet", list(pool.values()), schema=QUESTION_SCHEMA)
    write_table(tmp_path / "traces.parquet", [{"id": ids[0], "thinking": "a b", "attempt": "x", "finish_reason": "length"},
                                              {"id": ids[1], "thinking": "a", "attempt": "y", "finish_reason": "stop"}])
    write_table(tmp_path / "g.parquet", [{"id": i, "correct": True} for i in ids])
    write_table(tmp_path / "d.parquet", [{"id": i, "domain": "11"} for i in ids])
    for semantics, kept in (("official", 2), ("kit", 1)):
        merge(tmp_path / "pool.parquet", tmp_path / "traces.parquet", tmp_path / "g.parquet", {},
              tmp_path / "d.parquet", tok_dir_official, tmp_path / f"{semantics}.parquet", semantics=semantics)
        rows = read_table(tmp_path / f"{semantics}.parquet").to_pylist()
        assert sum(r["thinking"] is not None for r in rows) == kept
    assert FZ["semantics"] == "official" and S1["distill"]["params"] == {}  # no max_tokens, as data/gemini.py:24 (generate_content)


@pytest.fixture
def tok_dir_official(tmp_path, tiny_tokenizer):
    tiny_tokenizer.save_pretrained(str(tmp_path / "tok"))
    return tmp_path / "tok"
