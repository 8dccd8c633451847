"""The budget-forcing controller against a scripted fake model (no torch)."""

from __future__ import annotations

import re

import pytest

from s1kit.evaluate.budget import run_kit
from s1kit.evaluate.controller import Codec, GenRequest, GenResult, strip_stop
from s1kit.evaluate.semantics import semantics_of

KIT = semantics_of("kit")

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
OOV = 10_000  # an id past the vocabulary, like Qwen's padded embedding rows


def word_codec(vocab_size: int = 1000) -> Codec:
    """Word-level: special tokens and words are tokens; decode joins with spaces."""
    vocab: dict[str, int] = {}
    words: list[str] = []

    def encode(text: str) -> list[int]:
        ids = []
        for w in re.findall(r"<\|[^|]+\|>|\S+", text):
            if w not in vocab:
                vocab[w] = len(words)
                words.append(w)
            ids.append(vocab[w])
        return ids

    def decode(ids) -> str:
        return " ".join(words[i] for i in ids if 0 <= i < vocab_size)

    encode(f"{IM_START} {IM_END} think answer Wait Final Answer: t")
    return Codec(encode, decode, vocab_size)


class FakeLM:
    """A scripted model. While thinking it emits ``segment`` "t" tokens, then ends the
    thinking with <|im_start|> (its natural stop); a segment restarts after each "Wait".
    After "answer" it writes "Final Answer: 7 <|im_end|>". ``calls`` logs every request."""

    def __init__(self, codec: Codec, segment, tries=None, oov_every: int = 0):
        self.codec, self.segment, self.tries, self.oov_every = codec, segment, tries, oov_every
        self.calls: list[list[GenRequest]] = []
        words = (IM_START, IM_END, "think", "answer", "Wait", "t", "Final", "Answer:", "7")
        self.ids = {w: codec.encode(w)[0] for w in words}

    def _segment(self, key) -> int:
        if self.tries is not None:  # rejection sampling: the next try's length
            return self.tries[key].pop(0)
        return self.segment if isinstance(self.segment, int) else self.segment[key]

    def _next(self, seq: list[int], plan: dict) -> int:
        ids = self.ids
        if ids["answer"] in seq:
            tail = seq[len(seq) - seq[::-1].index(ids["answer"]) :]
            script = [ids["Final"], ids["Answer:"], ids["7"], ids[IM_END]]
            written = [t for t in tail if t in script]
            return script[len(written)] if len(written) < len(script) else ids[IM_END]
        if plan["left"] > 0:
            plan["left"] -= 1
            plan["n"] += 1
            if self.oov_every and plan["n"] % self.oov_every == 0:
                return OOV
            return ids["t"]
        return ids[IM_START]

    def __call__(self, requests):
        self.calls.append(list(requests))
        out = []
        for r in requests:
            seq, gen = list(r.prompt), []
            plan = {"left": self._segment(r.key) if self.ids["answer"] not in seq else 0, "n": 0}
            finish = "length"
            while len(gen) < r.max_new_tokens:
                gen.append(self._next(seq + gen, plan))
                if any(tuple(gen[-len(s) :]) == tuple(s) for s in r.stop_ids if len(gen) >= len(s)):
                    finish = "stop"
                    break
            out.append(GenResult(gen, finish))
        return out


def run(prompts, gen_kwargs, fake, codec, context=4096):
    cfg = KIT.budget_config(gen_kwargs, default_max_gen_toks=16, eos=IM_END)
    return run_kit(prompts, cfg, fake, codec, context)


@pytest.fixture
def codec():
    return word_codec()


def prompt(codec, n: int = 5) -> list[int]:
    return codec.encode(f"{IM_START} user " + " ".join(["q"] * (n - 4)) + f" {IM_END} {IM_START} assistant")[:n]


def test_budget_caps_thinking_and_forces_the_answer(codec):
    fake = FakeLM(codec, segment=50)
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 12}, fake, codec)
    assert rec.thinking_tokens == 12 and rec.forced_end and rec.wait_rounds == 0
    assert rec.text.startswith(f"{IM_START} think t")
    assert f"{IM_START} answer Final Answer: 7" in rec.text  # forced: "\nFinal Answer:" appended
    assert rec.text.split().count("t") == 12 and rec.finish_reason == "stop"
    assert fake.calls[0][0].max_new_tokens == 12


def test_natural_end_within_budget(codec):
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 100}, FakeLM(codec, segment=9), codec)
    assert rec.thinking_tokens == 9 and not rec.forced_end
    assert rec.text == f"{IM_START} think " + "t " * 9 + f"{IM_START} answer Final Answer: 7"


@pytest.mark.parametrize("n", [1, 2, 4])
def test_wait_appended_exactly_n_times_where_the_model_stopped(codec, n):
    fake = FakeLM(codec, segment=3)
    gk = {"max_tokens_thinking": "auto", "thinking_n_ignore": n, "thinking_n_ignore_str": "Wait"}
    (rec,) = run([prompt(codec)], gk, fake, codec)
    assert rec.wait_rounds == n and not rec.forced_end
    assert rec.text.count("Wait") == n
    # Each "Wait" sits exactly where the model had emitted its end of thinking.
    assert rec.text.startswith(f"{IM_START} think " + "t t t Wait " * n + f"t t t {IM_START} answer")
    assert rec.thinking_tokens == 3 * (n + 1) + n  # generated + appended "Wait" tokens
    assert len(fake.calls) == n + 2  # n + 1 thinking rounds, one answer


def test_budget_shrinks_across_wait_rounds(codec):
    # Budget 10, the model stops after 4: 4 + Wait = 5, then 5 left: 4 + Wait = 9, then 1 left,
    # too little for "Wait" plus a token: the thinking is closed (the fork gave 10 every round).
    fake = FakeLM(codec, segment=4)
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 10, "thinking_n_ignore": 5}, fake, codec)
    assert [c[0].max_new_tokens for c in fake.calls[:-1]] == [10, 5]
    assert rec.thinking_tokens == 9 and rec.wait_rounds == 1 and rec.forced_end
    # Budget 7: 4 + Wait = 5, then 2 left and the model runs out mid-segment.
    fake = FakeLM(codec, segment=4)
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 7, "thinking_n_ignore": 3}, fake, codec)
    assert [c[0].max_new_tokens for c in fake.calls[:-1]] == [7, 2]
    assert rec.thinking_tokens == 7 and rec.forced_end and rec.wait_rounds == 1


def test_thinking_never_exceeds_budget(codec):
    for budget in range(0, 30):
        for segment in (1, 2, 5, 11):
            fake = FakeLM(codec, segment=segment)
            gk = {"max_tokens_thinking": budget, "thinking_n_ignore": 3}
            (rec,) = run([prompt(codec)], gk, fake, codec)
            assert rec.thinking_tokens <= budget, (budget, segment)
            assert rec.wait_rounds <= 3


def test_auto_budget_is_per_request(codec):
    short, long_ = prompt(codec, 10), prompt(codec, 30)
    fake = FakeLM(codec, segment=10_000)  # never stops on its own
    gk = {"max_tokens_thinking": "auto", "auto_answer_room": 20}
    recs = run([long_, short], gk, fake, codec, context=100)
    # reserved = <|im_start|> think (2) + "\n" (0 words) + <|im_start|> answer Final Answer: (4)
    assert [r.budget for r in recs] == [100 - 30 - 6 - 20, 100 - 10 - 6 - 20]
    assert [r.thinking_tokens for r in recs] == [44, 64]
    assert all(r.forced_end for r in recs)
    answer_call = fake.calls[-1]
    # The answer may use what the context has left: 100 - (prompt + 2 + thinking + 4) >= 16.
    assert [c.max_new_tokens for c in answer_call] == [16, 16]


def test_int_budget_capped_by_context(codec):
    gk = {"max_tokens_thinking": 500, "auto_answer_room": 20}
    (rec,) = run([prompt(codec, 10)], gk, FakeLM(codec, 10_000), codec, context=100)
    assert rec.budget == 64 and rec.thinking_tokens == 64


def test_budget_zero_closes_thinking_at_once(codec):
    fake = FakeLM(codec, segment=5)
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 0, "thinking_n_ignore": 2}, fake, codec)
    assert rec.thinking_tokens == 0 and rec.forced_end and rec.tries == 0 and rec.wait_rounds == 0
    assert rec.text == f"{IM_START} think {IM_START} answer Final Answer: 7"
    assert len(fake.calls) == 1  # only the answer


def test_rejection_sampling_until_it_fits(codec):
    fake = FakeLM(codec, segment=None, tries={0: [12, 9, 5], 1: [3]})
    gk = {"max_tokens_thinking": 6, "rejection_sample": "true", "temperature": 1.0}
    a, b = run([prompt(codec), prompt(codec)], gk, fake, codec)
    assert (a.tries, a.thinking_tokens, a.accepted, a.forced_end) == (3, 5, True, False)
    assert (b.tries, b.thinking_tokens, b.accepted) == (1, 3, True)
    assert fake.calls[0][0].max_new_tokens == 7  # one over the budget shows "too long"


def test_rejection_sampling_is_capped(codec):
    fake = FakeLM(codec, segment=None, tries={0: [12, 9, 5]})
    gk = {"max_tokens_thinking": 6, "rejection_sample": True, "rejection_sample_max_tries": 2, "temperature": 1}
    (rec,) = run([prompt(codec)], gk, fake, codec)
    assert rec.tries == 2 and not rec.accepted
    assert rec.thinking_tokens == 6 and rec.forced_end  # the last try, cut at the budget


def test_rejection_sampling_min_and_greedy(codec):
    fake = FakeLM(codec, segment=None, tries={0: [2, 4]})
    gk = {"max_tokens_thinking": 6, "rejection_sample": True, "rejection_sample_min": 3, "temperature": 0.7}
    (rec,) = run([prompt(codec)], gk, fake, codec)
    assert (rec.tries, rec.thinking_tokens, rec.accepted) == (2, 4, True)
    fake = FakeLM(codec, segment=None, tries={0: [9, 9, 9]})
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 6, "rejection_sample": True}, fake, codec)
    assert rec.tries == 1 and not rec.accepted  # greedy: every try would be the same


def test_plain_generation_without_thinking_keys(codec):
    fake = FakeLM(codec, segment=3)
    (rec,) = run([prompt(codec)], {"max_gen_toks": 8}, fake, codec)
    assert rec.thinking_tokens == 0 and rec.budget is None and "think" not in rec.text
    assert len(fake.calls) == 1 and fake.calls[0][0].max_new_tokens == 8


def test_out_of_vocabulary_ids_are_dropped_not_fatal(codec):
    fake = FakeLM(codec, segment=6, oov_every=3)
    (rec,) = run([prompt(codec)], {"max_tokens_thinking": 50}, fake, codec)
    assert rec.oov_tokens == 2 and rec.thinking_tokens == 6
    assert rec.text.split().count("t") == 4


def test_gen_kwargs_parsing():
    cfg = KIT.budget_config(
        {
            "until": "</s>",
            "max_gen_toks": "64",
            "do_sample": False,
            "temperature": 0.7,
            "max_tokens_thinking": "AUTO",
            "thinking_n_ignore": "2",
            "temperature_thinking": 1.0,
            "min_tokens_thinking": 5,
            "until_thinking_2": "Question:",
        },
        eos=IM_END,
    )
    assert cfg.thinking and cfg.max_tokens_thinking == "auto" and cfg.thinking_n_ignore == 2
    assert cfg.until == ("</s>", IM_END) and cfg.max_gen_toks == 64
    assert cfg.sampling == {"temperature": 0.0}
    assert cfg.sampling_thinking == {"temperature": 1.0, "min_tokens": 5}
    assert cfg.until_thinking == (IM_START, "Question:")
    assert not KIT.budget_config({"max_gen_toks": 5}).thinking
    with pytest.raises(ValueError, match="thinking_budget"):
        KIT.budget_config({"thinking_budget": 5})
    with pytest.raises(ValueError, match="cannot be combined"):
        KIT.budget_config({"rejection_sample": True, "thinking_n_ignore": 1, "max_tokens_thinking": 5})
    with pytest.raises(ValueError, match="max_tokens_thinking"):
        KIT.budget_config({"max_tokens_thinking": "lots"})


def test_strip_stop_ids_and_strings():
    toks = ["Let", " x", "<|im_", "start|>", "answer"]

    def decode(ids):
        return "".join(toks[i] for i in ids)

    # A stop string split over tokens: everything from its first token on goes.
    assert strip_stop([0, 1, 2, 3, 4], [], ["<|im_start|>"], decode) == [0, 1]
    assert strip_stop([0, 1, 2, 3], [(2, 3)], [], decode) == [0, 1]
    assert strip_stop([0, 1], [(2, 3)], ["<|im_start|>"], decode) == [0, 1]


def test_context_capped_stops_at_the_context_like_vllm():
    """The transformers backend under fork semantics: max_new_tokens capped by the context
    left (vLLM's max_model_len), no call for a request without room."""
    from s1kit.evaluate.models import context_capped

    seen = []

    def gen(reqs):
        seen.append([(len(r.prompt), r.max_new_tokens) for r in reqs])
        return [GenResult([1] * r.max_new_tokens, "length") for r in reqs]

    out = context_capped(gen, 10)([GenRequest((1,) * 4, 100), GenRequest((1,) * 10, 5), GenRequest((1,) * 8, 1)])
    assert seen == [[(4, 6), (8, 1)]]
    assert [len(r.token_ids) for r in out] == [6, 0, 1] and out[1].finish_reason == "length"
