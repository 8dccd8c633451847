"""s1kit.sft: the s1 chat format, the assistant-only mask, the schedule, batching, a tiny run."""

from __future__ import annotations

import json
import math

import pytest

from s1kit.sft.format import IGNORE_INDEX, RESPONSE_TEMPLATE, assistant_text, chat_text, tokenize_masked
from s1kit.sft.config import TrainConfig
from s1kit.sft.data import LengthBatcher
from s1kit.sft.optim import lr_at

# ---- format -------------------------------------------------------------------------


def test_assistant_text_exact_format():
    assert assistant_text("4 h +2 4 6", "Final Answer: 6") == \
        "<|im_start|>think\n4 h +2 4 6\n<|im_start|>answer\nFinal Answer: 6"


def test_answer_prefix_rule():
    assert assistant_text("t", "42").endswith("<|im_start|>answer\nAnswer: 42")
    assert assistant_text("t", "The Answer: 42").endswith("<|im_start|>answer\nThe Answer: 42")
    assert assistant_text("t", "answer: 42").endswith("\nAnswer: answer: 42")  # case-sensitive, as upstream
    assert assistant_text("  t\n\n", "  42\n").endswith("think\nt\n<|im_start|>answer\nAnswer:   42")
    assert assistant_text("\n thinking \n", "Answer: 1 \n") == \
        "<|im_start|>think\nthinking\n<|im_start|>answer\nAnswer: 1"


def test_chat_text(tiny_tokenizer):
    text = chat_text(tiny_tokenizer, "4 h+2", "4 h +2 4 6", "Final Answer: 6")
    assert text == ("<|im_start|>user\n4 h+2<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n4 h +2 4 6\n"
                    "<|im_start|>answer\nFinal Answer: 6<|im_end|>\n")
    # the question verbatim, surrounding whitespace included (issue #24 item 6(c); the official text:
    # tests/test_sft_hf_trainer.py::test_loss_mask_equals_trl_0_12_collator_on_the_official_text)
    assert chat_text(tiny_tokenizer, "  4 h+2 \n", "4 h +2 4 6", "6").startswith("<|im_start|>user\n  4 h+2 \n<|im_end|>")
    with_sys = chat_text(tiny_tokenizer, "q", "t", "a", system="be brief")
    assert with_sys.startswith("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nq<|im_end|>\n")


def _tok(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_tokenize_masked_masks_prompt(tiny_tokenizer):
    text = chat_text(tiny_tokenizer, "4 h+2 i-1", "4 h +2 4 6 i -1 6 5", "Final Answer: 5")
    t = tokenize_masked(tiny_tokenizer, text, block_size=1000)
    ids = _tok(tiny_tokenizer, text)
    assert t.input_ids == ids and not t.truncated
    prompt = _tok(tiny_tokenizer, "<|im_start|>user\n4 h+2 i-1<|im_end|>\n" + RESPONSE_TEMPLATE)
    cut = len(prompt)
    assert ids[:cut] == prompt
    assert t.labels[:cut] == [IGNORE_INDEX] * cut
    assert t.labels[cut:] == ids[cut:]
    assert IGNORE_INDEX not in t.labels[cut:]
    toks = tiny_tokenizer.convert_ids_to_tokens(ids[cut:])
    assert toks[:2] == ["<|im_start|>", "think"] and toks[-1] == "<|im_end|>"  # the model learns to stop


def test_tokenize_masked_uses_last_template_and_system(tiny_tokenizer):
    text = chat_text(tiny_tokenizer, "q", "t", "a", system="sys")
    t = tokenize_masked(tiny_tokenizer, text, 1000)
    cut = t.labels.count(IGNORE_INDEX)
    assert tiny_tokenizer.decode(t.input_ids[:cut]).endswith("<|im_start|> assistant")
    assert tiny_tokenizer.decode(t.input_ids[cut:]).startswith("<|im_start|> think")
    two_turns = text + "<|im_start|>assistant\nsecond<|im_end|>\n"
    t2 = tokenize_masked(tiny_tokenizer, two_turns, 1000)
    kept = [i for i, lab in zip(t2.input_ids, t2.labels) if lab != IGNORE_INDEX]
    assert tiny_tokenizer.decode(kept).split() == ["[UNK]", "<|im_end|>"]  # only after the last template


def test_tokenize_masked_truncation(tiny_tokenizer):
    text = chat_text(tiny_tokenizer, "4 h+2", "4 h +2 4 6", "Final Answer: 6")
    full = len(_tok(tiny_tokenizer, text))
    t = tokenize_masked(tiny_tokenizer, text, block_size=full - 3)
    assert t.truncated and len(t.input_ids) == len(t.labels) == full - 3
    assert not tokenize_masked(tiny_tokenizer, text, block_size=full).truncated


def test_tokenize_masked_without_template(tiny_tokenizer):
    with pytest.raises(ValueError, match="response template"):
        tokenize_masked(tiny_tokenizer, "<|im_start|>user\nq<|im_end|>\n", 100)


# ---- schedule and config ------------------------------------------------------------


def test_lr_warmup_and_cosine():
    c = TrainConfig(lr=1e-3, warmup_ratio=0.1)
    total = 100  # warmup = 10 steps, from 0 as the HF Trainer (tests/test_sft_hf_trainer.py)
    assert lr_at(0, total, c) == 0.0
    assert lr_at(4, total, c) == pytest.approx(4e-4)
    assert lr_at(9, total, c) == pytest.approx(9e-4)
    assert lr_at(10, total, c) == pytest.approx(1e-3)  # cosine starts at the peak
    assert lr_at(55, total, c) == pytest.approx(0.5e-3)  # half way through the cosine
    assert lr_at(99, total, c) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert lr_at(99, total, c) < 1e-6
    lrs = [lr_at(s, total, c) for s in range(10, total)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_lr_floor_and_paper_schedule():
    c = TrainConfig(lr=1e-3, warmup_ratio=0.1, min_lr_rate=0.1)
    assert lr_at(55, 100, c) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert lr_at(100, 100, c) == pytest.approx(1e-4)
    paper = TrainConfig()  # 315 steps, 5% warmup = 16 steps, peak 1e-5
    assert lr_at(0, 315, paper) == 0.0 and lr_at(1, 315, paper) == pytest.approx(1e-5 / 16)
    assert lr_at(15, 315, paper) == pytest.approx(1e-5 * 15 / 16)
    assert lr_at(16, 315, paper) == pytest.approx(1e-5)
    no_warmup = TrainConfig(lr=1.0, warmup_ratio=0.0)
    assert lr_at(0, 10, no_warmup) == pytest.approx(1.0)


def test_train_config_divisibility_and_accum():
    with pytest.raises(ValueError) as e:
        TrainConfig(global_batch_size=16, world_size=3, per_device_batch_size=1)
    assert str(e.value) == ("global_batch_size 16 is not divisible by world_size x per_device_batch_size = 3 x 1")
    assert TrainConfig(global_batch_size=16, world_size=2, per_device_batch_size=2).grad_accum == 4
    assert TrainConfig().grad_accum == 16  # paper: 16 GPUs x 1 are here 1 process x 16 accumulation steps


# ---- batching -----------------------------------------------------------------------


def test_length_batcher_windows_and_curriculum():
    lengths = [50, 10, 40, 20, 30, 60, 70, 80]
    b = LengthBatcher(lengths, batch_size=3, seed=0)
    assert b.lengths == sorted(lengths)
    seen = set()
    for _ in range(300):
        idx = b.sample(max_len=float("inf"))
        assert len(idx) == 3 and len(set(idx)) == 3
        ls = sorted(lengths[i] for i in idx)
        assert ls[-1] - ls[0] == 20  # neighbours in length order
        seen.update(idx)
    assert seen == set(range(len(lengths)))
    for _ in range(100):
        assert all(lengths[i] <= 40 for i in b.sample(max_len=40))
    for _ in range(20):  # nothing fits: the shortest batch
        assert sorted(lengths[i] for i in b.sample(max_len=1)) == [10, 20, 30]


def test_length_batcher_seeded_and_clipped():
    lengths = list(range(1, 30))
    x, y = LengthBatcher(lengths, 4, 7), LengthBatcher(lengths, 4, 7)
    assert [x.sample(100) for _ in range(20)] == [y.sample(100) for _ in range(20)]
    assert sorted(LengthBatcher([3, 1], batch_size=8, seed=0).sample(10)) == [0, 1]


# ---- a tiny run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_tokenizer, chain_corpus, torch_one_thread):
    from s1kit.hf import save_model
    from s1kit.records import write_table
    from s1kit.tiny.student import StudentConfig, init_student

    root = tmp_path_factory.mktemp("sft")
    save_model(init_student(StudentConfig(), tiny_tokenizer), tiny_tokenizer, root / "base")
    chains = [c for c in chain_corpus if c.k <= 6][:40]
    assert len(chains) == 40
    write_table(root / "data.parquet", [{"id": str(i), "question": c.question(), "thinking": c.thinking(),
                                          "attempt": c.attempt()} for i, c in enumerate(chains)])
    cfg = TrainConfig(lr=3e-3, max_steps=30, global_batch_size=8, per_device_batch_size=4, warmup_ratio=0.1,
                      weight_decay=0.0, block_size=64, curriculum_fraction=0.3, log_every=5, seed=0)
    from s1kit.sft.train import train

    metrics = train(root / "base", root / "data.parquet", root / "out", cfg)
    return root, cfg, metrics


def test_train_writes_model_and_metrics(tiny_run, tiny_tokenizer):
    from s1kit.hf import load_model, load_tokenizer

    root, cfg, metrics = tiny_run
    out = root / "out"
    assert (out / "model" / "config.json").exists()
    assert (out / "model" / "tokenizer" / "tokenizer_config.json").exists()
    tok = load_tokenizer(out / "model")
    assert tok("4 h+2", add_special_tokens=False)["input_ids"] == \
        tiny_tokenizer("4 h+2", add_special_tokens=False)["input_ids"]
    assert load_model(out / "model").config.vocab_size == len(tiny_tokenizer)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["steps"] == 30 and on_disk["examples"] == 40 and on_disk["samples_cut"] == 0
    assert [p["step"] for p in on_disk["loss_curve"]] == [0, 5, 10, 15, 20, 25, 29]
    assert on_disk["config"]["lr"] == cfg.lr
    assert on_disk["final_loss"] == on_disk["loss_curve"][-1]["loss"]
    assert on_disk["loss_curve"][0]["lr"] == pytest.approx(lr_at(0, 30, cfg))


def test_train_loss_decreases(tiny_run):
    _, _, metrics = tiny_run
    curve = [p["loss"] for p in metrics["loss_curve"]]
    assert curve[0] > curve[-1]
    assert curve[-1] < 0.8 * curve[0]


def test_load_examples_counts_cut_and_rejects_empty(tmp_path, tiny_tokenizer, chain_corpus):
    from s1kit.records import write_table
    from s1kit.sft.data import load_examples

    chains = chain_corpus[:10]
    write_table(tmp_path / "d.parquet", [{"question": c.question(), "thinking": c.thinking(), "attempt": c.attempt()}
                                         for c in chains])
    examples, cut = load_examples(tmp_path / "d.parquet", tiny_tokenizer, TrainConfig(block_size=30))
    assert len(examples) == 10
    # 8 format tokens + question (2k+1) + "<|im_start|> think" + thinking (4k+1) + answer turn (6) = 6k+15
    assert [len(tiny_tokenizer(chat_text(tiny_tokenizer, c.question(), c.thinking(), c.attempt()),
                               add_special_tokens=False)["input_ids"]) for c in chains] == [6 * c.k + 15 for c in chains]
    assert cut == sum(1 for c in chains if 6 * c.k + 15 > 30)
    assert 0 < cut < 10
    assert all(len(e.input_ids) <= 30 for e in examples)
    import pyarrow as pa

    write_table(tmp_path / "empty.parquet", pa.table({"question": pa.array([], pa.string()),
                                                      "thinking": pa.array([], pa.string()),
                                                      "attempt": pa.array([], pa.string())}))
    with pytest.raises(ValueError, match="empty.parquet: no training examples"):
        load_examples(tmp_path / "empty.parquet", tiny_tokenizer, TrainConfig())


# ---- masked spans (self-corrections) ------------------------------------------------


def test_thinking_spans_move_to_text_offsets(tiny_tokenizer):
    from s1kit.sft.format import thinking_spans

    thinking = "  4 h +2 4 7 Wait h +2 4 6\n"
    spans = [(thinking.index("7"), thinking.index("7") + 1)]
    text = chat_text(tiny_tokenizer, "4 h+2", thinking, "Final Answer: 6")
    moved = thinking_spans(text, thinking, spans)
    assert [text[a:b] for a, b in moved] == ["7"]
    assert text[moved[0][1]:].startswith(" Wait")
    assert thinking_spans(text, thinking, []) == []
    with pytest.raises(ValueError, match="thinking not found"):
        thinking_spans(text, "something else", spans)


def test_tokenize_masked_masks_only_the_slip(tiny_tokenizer):
    from s1kit.llm import Request
    from s1kit.llm.oracle import OracleBackend
    from s1kit.sft.format import thinking_spans
    from s1kit.tiny.chains import Chain

    c = Chain(4, ("h", "i", "j"), ("+2", "-1", "+1"))
    r = OracleBackend(correction_rate=1.0).complete(
        Request(model="o", messages=({"role": "user", "content": c.question()},)))
    text = chat_text(tiny_tokenizer, c.question(), r.reasoning, r.text)
    plain = tokenize_masked(tiny_tokenizer, text, 1000)
    masked = tokenize_masked(tiny_tokenizer, text, 1000, thinking_spans(text, r.reasoning, list(r.masked)))
    assert masked.input_ids == plain.input_ids
    diff = [i for i, (x, y) in enumerate(zip(plain.labels, masked.labels)) if x != y]
    assert len(diff) == 1
    i = diff[0]
    assert tiny_tokenizer.convert_ids_to_tokens([plain.input_ids[i]])[0] == r.reasoning[slice(*r.masked[0])]
    assert tiny_tokenizer.convert_ids_to_tokens([plain.input_ids[i + 1]])[0] == "Wait"
    assert masked.labels[i + 1] != IGNORE_INDEX  # noticing the slip is trained on


def test_load_examples_applies_masked_spans(tmp_path, tiny_tokenizer):
    from s1kit.records import write_table
    from s1kit.sft.data import load_examples

    thinking = "4 h +2 4 7 Wait h +2 4 6"
    a = thinking.index("7")
    write_table(tmp_path / "d.parquet", [
        {"question": "4 h+2", "thinking": thinking, "attempt": "Final Answer: 6",
         "thinking_masked": json.dumps([[a, a + 1]])},
        {"question": "4 h+2", "thinking": thinking, "attempt": "Final Answer: 6", "thinking_masked": None},
    ])
    (m, p), _ = load_examples(tmp_path / "d.parquet", tiny_tokenizer, TrainConfig())
    assert m.input_ids == p.input_ids
    assert m.labels.count(IGNORE_INDEX) == p.labels.count(IGNORE_INDEX) + 1
