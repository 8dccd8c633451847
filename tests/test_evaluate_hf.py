"""The transformers backend and the lm-eval path end to end, with the random tiny student."""

from __future__ import annotations

import json
import random

import pytest

torch = pytest.importorskip("torch")

from s1kit.evaluate.controller import Codec, GenRequest  # noqa: E402
from s1kit.evaluate.hf_generate import HFGenerator  # noqa: E402
from s1kit.tiny.chains import sample_chain  # noqa: E402
from s1kit.tiny.student import StudentConfig, init_student  # noqa: E402
from s1kit.tiny.tokenizer import train_tokenizer  # noqa: E402

N_QUESTIONS = 8


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matrices: OpenMP threads only add contention on a small shared machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tokenizer, a random student saved as <run>/model, and 8 tiny_chains questions."""
    from s1kit.hf import save_model

    rng = random.Random(0)
    chains = [sample_chain(rng, rng.randint(2, 6)) for _ in range(40)]
    tok = train_tokenizer([f"{c.question()} {c.thinking()} {c.attempt()}" for c in chains])
    model = init_student(StudentConfig(), tok).eval()
    root = tmp_path_factory.mktemp("eval")
    save_model(model, tok, root / "tiny-run" / "model")
    data = root / "tiny_chains.jsonl"
    rows = [{"id": f"q{i}", "question": c.question(), "answer": c.answer()} for i, c in enumerate(chains[:N_QUESTIONS])]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"tok": tok, "model": model, "root": root, "data": data, "rows": rows}


def chat_ids(tok, question: str) -> list[int]:
    text = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)
    return tok.encode(text, add_special_tokens=False)


def reference(model, prompt: list[int], n: int) -> list[int]:
    out = model.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False, eos_token_id=None, pad_token_id=0)
    return out[0, len(prompt) :].tolist()


def stop_on(tok, model, token: str, bias: float = 1e4):
    """Make ``token`` the model's favourite: the thinking ends at once, every round."""
    tid = tok.convert_tokens_to_ids(token)

    def hook(_module, _inputs, logits):
        logits[..., tid] += bias
        return logits

    return model.lm_head.register_forward_hook(hook)


# --------------------------------------------------------------------------- backend


def test_generator_matches_transformers_and_reuses_the_cache(tiny):
    tok, model = tiny["tok"], tiny["model"]
    codec = Codec.from_hf(tok)
    start = codec.ids("<|im_start|>think")
    prompts = [chat_ids(tok, r["question"]) + start for r in tiny["rows"][:5]]
    assert len({len(p) for p in prompts}) > 1  # left padding is exercised
    refs = [reference(model, p, 12) for p in prompts]
    outs = {}
    for reuse in (False, True):
        gen = HFGenerator(model, len(tok), tok.pad_token_id, codec.decode, reuse_cache=reuse)
        first = gen([GenRequest(tuple(p), 12, key=i) for i, p in enumerate(prompts)])
        assert [r.token_ids for r in first] == refs
        assert all(r.finish_reason == "length" for r in first)
        # A "Wait" round: keep 5 of the 12 tokens, append Wait, continue three of the rows.
        wait = codec.ids("Wait")
        cont = {i: prompts[i] + refs[i][:5] + wait for i in (1, 2, 4)}
        second = gen([GenRequest(tuple(p), 9, key=i) for i, p in cont.items()])
        assert [r.token_ids for r in second] == [reference(model, p, 9) for p in cont.values()]
        round2 = dict(gen.stats)
        # The answer for all five: rows 0 and 3 continue from the first call, the rest from the second.
        end = codec.ids("<|im_start|>answer")
        done = {i: prompts[i] + refs[i] + end for i in (0, 3)}
        done.update({i: cont[i] + r.token_ids + end for i, r in zip((1, 2, 4), second)})
        done = dict(sorted(done.items()))
        third = gen([GenRequest(tuple(p), 4, key=i) for i, p in done.items()])
        assert [r.token_ids for r in third] == [reference(model, p, 4) for p in done.values()]
        outs[reuse] = (round2, gen.stats)
    assert outs[False][1]["reused_tokens"] == 0
    # With reuse the second round prefills only "Wait": prompt and kept tokens are cached.
    round2 = outs[True][0]
    assert round2["reused_tokens"] == sum(len(prompts[i]) + 5 for i in (1, 2, 4))
    assert outs[False][0]["prefill_tokens"] - round2["prefill_tokens"] == round2["reused_tokens"]
    # ... and the answer re-feeds only each row's last uncached token and the delimiter.
    answer_prefill = outs[True][1]["prefill_tokens"] - round2["prefill_tokens"]
    assert answer_prefill == 5 * (1 + len(end))


def test_generator_stops_and_per_request_limits(tiny):
    tok, model = tiny["tok"], tiny["model"]
    codec = Codec.from_hf(tok)
    prompts = [chat_ids(tok, r["question"]) for r in tiny["rows"][:3]]
    refs = [reference(model, p, 20) for p in prompts]
    # Stop each row on the 4th token it would generate; give the rows different limits.
    reqs = [
        GenRequest(tuple(prompts[0]), 20, stop_ids=((refs[0][3],),)),
        GenRequest(tuple(prompts[1]), 2),
        GenRequest(tuple(prompts[2]), 7),
    ]
    a, b, c = HFGenerator(model, len(tok), tok.pad_token_id, codec.decode)(reqs)
    assert a.finish_reason == "stop" and a.token_ids == refs[0][: refs[0].index(refs[0][3]) + 1]
    assert (b.finish_reason, b.token_ids) == ("length", refs[1][:2])
    assert (c.finish_reason, c.token_ids) == ("length", refs[2][:7])


def test_generator_never_samples_padded_vocabulary(tiny):
    tok = tiny["tok"]
    model = init_student(StudentConfig(), tok).eval()
    model.resize_token_embeddings(len(tok) + 16)  # like Qwen2.5: more rows than tokens

    def hook(_module, _inputs, logits):
        logits[..., len(tok) :] += 1e4  # the padded rows would always win
        return logits

    handle = model.lm_head.register_forward_hook(hook)
    try:
        codec = Codec.from_hf(tok)
        gen = HFGenerator(model, len(tok), tok.pad_token_id, codec.decode)
        (res,) = gen([GenRequest(tuple(chat_ids(tok, "3 a+1")), 10)])
        assert len(res.token_ids) == 10 and max(res.token_ids) < len(tok)
    finally:
        handle.remove()


# --------------------------------------------------------------------------- lm-eval


def read_outputs(out_dir):
    results = json.loads((out_dir / "results.json").read_text())
    samples = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    return results, samples


RESULT_KEYS = {"model", "task", "setting", "n", "accuracy", "avg_thinking_tokens", "max_thinking_tokens", "control"}
RESULT_KEYS |= {"gen_kwargs", "engine", "dtype", "seed", "versions", "lm_eval"}
SAMPLE_KEYS = {"doc_id", "id", "question", "target", "response", "thinking_tokens", "wait_rounds", "forced_end"}
SAMPLE_KEYS |= {"extracted", "correct"}


def test_run_eval_budget_forcing(tiny):
    from s1kit.evaluate.run import run_eval

    out = tiny["root"] / "out" / "bf-8"
    res = run_eval(tiny["root"] / "tiny-run" / "model", "tiny_chains", tiny["data"], "bf-8", {}, out, batch_size=4)
    results, samples = read_outputs(out)
    assert results == json.loads(json.dumps(res))
    assert RESULT_KEYS <= set(results)
    names = (results["model"], results["task"], results["setting"], results["engine"])
    assert names == ("tiny-run", "tiny_chains", "bf-8", "hf")
    assert results["n"] == N_QUESTIONS == len(samples)
    assert set(results["versions"]) >= {"torch", "transformers", "lm_eval", "s1kit"}
    assert results["gen_kwargs"]["max_tokens_thinking"] == 8 and results["dtype"] == "float32"
    assert "exact_match,none" in results["lm_eval"]
    for s in samples:
        assert SAMPLE_KEYS <= set(s)
        assert 0 <= s["thinking_tokens"] <= 8 and s["budget"] == 8
        assert s["response"].startswith("<|im_start|> think")
        assert ("<|im_start|> answer Final Answer:" in s["response"]) == s["forced_end"]
    assert [s["id"] for s in samples] == [r["id"] for r in tiny["rows"]]
    assert results["control"] == 1.0
    assert results["accuracy"] == sum(s["correct"] for s in samples) / N_QUESTIONS
    assert results["max_thinking_tokens"] == max(s["thinking_tokens"] for s in samples)


def test_run_eval_wait_auto_budget_per_request(tiny):
    from s1kit.evaluate.run import run_eval

    out = tiny["root"] / "out" / "wait-2"
    model_dir = tiny["root"] / "tiny-run" / "model"
    run_eval(model_dir, "tiny_chains", tiny["data"], "wait-2", {"max_gen_toks": 4}, out, batch_size=8)
    results, samples = read_outputs(out)
    tok = tiny["tok"]
    by_id = {r["id"]: r for r in tiny["rows"]}
    budgets = set()
    for s in samples:
        # auto = context 512 - this prompt - (think 2 + answer-delimiter 4) - 100 for the answer
        expected = 512 - len(chat_ids(tok, by_id[s["id"]]["question"])) - 6 - 100
        assert s["budget"] == expected
        budgets.add(expected)
        assert s["thinking_tokens"] <= expected and s["wait_rounds"] <= 2
        if not s["forced_end"]:
            assert s["wait_rounds"] == 2  # a model that ends its thinking is sent back twice
        assert s["response"].count("Wait") >= s["wait_rounds"]
    assert len(budgets) > 1  # questions of different lengths got different budgets
    assert results["control"] == 1.0


def test_wait_rounds_through_lm_eval(tiny):
    """A model that always wants to end its thinking gets exactly N "Wait"s, with or
    without KV-cache reuse, and the records reach lm-eval's samples."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    from s1kit.evaluate.models import S1KitHFLM, records, register
    from s1kit.evaluate.tasks import TASKS_DIR

    register()
    register()  # idempotent
    tok, model = tiny["tok"], tiny["model"]
    handle = stop_on(tok, model, "<|im_start|>")
    texts = {}
    try:
        for reuse in (True, False):
            lm = S1KitHFLM(pretrained=model, tokenizer=tok, batch_size=8, device="cpu")
            lm.s1_kv_reuse = reuse
            meta = {"data_path": str(tiny["data"])}
            tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=meta)
            gk = {"max_tokens_thinking": "auto", "thinking_n_ignore": 3, "thinking_n_ignore_str": "Wait"}
            out = lm_eval.simple_evaluate(
                model=lm,
                tasks=["tiny_chains"],
                task_manager=tm,
                gen_kwargs={**gk, "max_gen_toks": 3},
                apply_chat_template=True,
                log_samples=True,
            )
            samples = out["samples"]["tiny_chains"]
            assert len(samples) == N_QUESTIONS
            table = records(lm)
            for s in samples:
                (rec,) = table[("tiny_chains", s["doc_id"])]
                assert rec["text"] == s["resps"][0][0]
                assert rec["wait_rounds"] == 3 and rec["thinking_tokens"] == 3 and not rec["forced_end"]
                assert s["resps"][0][0].split()[:6] == ["<|im_start|>", "think", "Wait", "Wait", "Wait", "<|im_start|>"]
            texts[reuse] = [s["resps"][0][0] for s in samples]
            if reuse:
                assert lm.s1_generator.stats["reused_tokens"] > 0
    finally:
        handle.remove()
    assert texts[True] == texts[False]


def test_cli_main_runs(tiny, capsys):
    import argparse

    from s1kit.evaluate.run import add_arguments, main

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tiny["root"] / "out" / "cli"
    argv = ["--model", str(tiny["root"] / "tiny-run" / "model"), "--task", "tiny_chains", "--data", str(tiny["data"])]
    argv += ["--setting", "bf-0", "--out-dir", str(out), "--limit", "2", "--model-name", "named"]
    assert main(parser.parse_args(argv)) == 0
    results, samples = read_outputs(out)
    assert results["model"] == "named" and results["n"] == 2 and results["limit"] == 2
    assert all(s["thinking_tokens"] == 0 and s["forced_end"] and s["tries"] == 0 for s in samples)
    assert all(s["response"].startswith("<|im_start|> think <|im_start|> answer Final Answer:") for s in samples)
    assert "named tiny_chains bf-0" in capsys.readouterr().out


def test_run_eval_fork_semantics(tiny):
    """``--semantics fork`` end to end on the transformers backend: one "auto" budget for the
    whole batch (max_gen_toks - its longest prompt - delimiters - 100), recorded beside the
    stack; rejection sampling reports tries and the acceptance rate."""
    from s1kit.evaluate.run import run_eval

    model_dir = tiny["root"] / "tiny-run" / "model"
    out = tiny["root"] / "out" / "fork-wait"
    res = run_eval(model_dir, "tiny_chains", tiny["data"], "wait-2", {"max_gen_toks": 200}, out, batch_size="auto",
                   semantics="fork")
    results, samples = read_outputs(out)
    assert results["semantics"] == "fork" and results["stack"] == "current" == res["stack"]
    tok = tiny["tok"]
    longest = max(len(chat_ids(tok, r["question"])) for r in tiny["rows"])
    end_max = tok.encode("<|im_start|>answer\nFinal Answer:", add_special_tokens=False)
    start = tok.encode("<|im_start|>think", add_special_tokens=False)
    assert {s["budget"] for s in samples} == {200 - longest - len(start) - len(end_max) - 100}
    assert all(s["thinking_tokens"] <= s["budget"] for s in samples)
    # the kit's own semantics on the same run: each request its own budget
    kit_out = tiny["root"] / "out" / "kit-wait"
    run_eval(model_dir, "tiny_chains", tiny["data"], "wait-2", {"max_gen_toks": 200}, kit_out, batch_size="auto")
    assert len({s["budget"] for s in read_outputs(kit_out)[1]}) > 1

    rs_out = tiny["root"] / "out" / "fork-rs"
    run_eval(model_dir, "tiny_chains", tiny["data"], "fork.rs-40", {"max_gen_toks": 200}, rs_out, batch_size="auto")
    rs, rs_samples = read_outputs(rs_out)
    assert rs["semantics"] == "fork" and rs["setting"] == "fork.rs-40"
    assert rs["total_tries"] == sum(s["tries"] for s in rs_samples) >= len(rs_samples)
    assert rs["avg_tries"] == rs["total_tries"] / len(rs_samples)
    assert rs["acceptance_rate"] == pytest.approx((len(rs_samples) - rs["not_accepted"]) / rs["total_tries"])
    assert all(s["thinking_tokens"] <= 40 for s in rs_samples)
