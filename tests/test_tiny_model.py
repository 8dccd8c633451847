"""The tiny default's tokenizer and student, and saving/loading them through s1kit.hf."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from s1kit.hf import TOKENIZER_SUBDIR, load_model, load_tokenizer, save_model, tokenizer_path  # noqa: E402
from s1kit.records import make_question, write_table  # noqa: E402
from s1kit.tiny.student import StudentConfig, build_base, init_student  # noqa: E402
from s1kit.tiny.tokenizer import FORMAT_WORDS, IM_END, IM_START, PAD, UNK, train_tokenizer  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

CHAT = "<|im_start|>user\n4 h+2 i-1<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n4 h +2 4 6 i -1 6 5\n" \
       "<|im_start|>answer\nAnswer: 5<|im_end|>\n"


def _ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def test_pre_tokenizer_splits_label_and_op(tiny_tokenizer):
    assert tiny_tokenizer.tokenize("4 h+2 i-1 j+1 k-2") == ["4", "h", "+2", "i", "-1", "j", "+1", "k", "-2"]
    # the question's "h+2" and the thinking's "h +2" give the same tokens
    assert _ids(tiny_tokenizer, "h+2")[-1] == _ids(tiny_tokenizer, "h +2")[-1]
    assert _ids(tiny_tokenizer, "h+2") == _ids(tiny_tokenizer, "h +2")


def test_special_tokens_are_single_tokens(tiny_tokenizer):
    toks = tiny_tokenizer.convert_ids_to_tokens(_ids(tiny_tokenizer, CHAT))
    assert toks[:2] == [IM_START, "user"]
    assert toks.count(IM_START) == 4 and toks.count(IM_END) == 2
    assert UNK not in toks
    for s in (PAD, IM_START, IM_END):
        assert len(_ids(tiny_tokenizer, s)) == 1
    assert tiny_tokenizer.pad_token == PAD and tiny_tokenizer.eos_token == IM_END
    assert tiny_tokenizer.padding_side == "left"
    assert tiny_tokenizer.convert_tokens_to_ids(IM_START) != tiny_tokenizer.unk_token_id


def test_format_words_in_vocab_and_unknown_words(tiny_tokenizer):
    tok = train_tokenizer(["1 a+1"])  # a corpus without any format word
    for w in FORMAT_WORDS:
        assert tok.convert_tokens_to_ids(w) != tok.unk_token_id, w
    assert tok.convert_ids_to_tokens(_ids(tok, "zebra")) == [UNK]


def test_decode_joins_words_with_single_spaces(tiny_tokenizer, chain_corpus):
    for c in chain_corpus[:20]:
        assert tiny_tokenizer.decode(_ids(tiny_tokenizer, c.thinking())) == c.thinking()
        assert tiny_tokenizer.decode(_ids(tiny_tokenizer, c.attempt())) == c.attempt()
        # the question comes back with label and op separated
        assert tiny_tokenizer.decode(_ids(tiny_tokenizer, c.question())).split() == \
            c.question().replace("+", " +").replace("-", " -").split()
    ids = _ids(tiny_tokenizer, "4 <|im_start|>answer")
    assert tiny_tokenizer.decode(ids) == "4 <|im_start|> answer"
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == "4 answer"


def test_chat_template_renders_chatml(tiny_tokenizer):
    msgs = [{"role": "user", "content": "4 h+2"}]
    assert tiny_tokenizer.apply_chat_template(msgs, tokenize=False) == "<|im_start|>user\n4 h+2<|im_end|>\n"
    assert tiny_tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True).endswith(
        "<|im_end|>\n<|im_start|>assistant\n")


def test_save_and_reload_gives_identical_ids(tiny_tokenizer, tmp_path):
    model = init_student(StudentConfig(), tiny_tokenizer)
    save_model(model, tiny_tokenizer, tmp_path / "m")
    assert (tmp_path / "m" / TOKENIZER_SUBDIR / "tokenizer_config.json").exists()
    assert tokenizer_path(tmp_path / "m") == str(tmp_path / "m" / TOKENIZER_SUBDIR)
    tok2 = load_tokenizer(tmp_path / "m")
    # transformers 5 would rebuild a tokenizer saved next to a qwen2 config as byte-level BPE
    assert len(tok2) == len(tiny_tokenizer)
    assert _ids(tok2, CHAT) == _ids(tiny_tokenizer, CHAT)
    assert tok2.decode(_ids(tok2, CHAT)) == tiny_tokenizer.decode(_ids(tiny_tokenizer, CHAT))
    assert (tok2.pad_token_id, tok2.eos_token_id) == (tiny_tokenizer.pad_token_id, tiny_tokenizer.eos_token_id)
    assert tok2.chat_template == tiny_tokenizer.chat_template
    assert load_tokenizer(tmp_path / "m", padding_side="right").padding_side == "right"


def test_tokenizer_path_without_subdir(tiny_tokenizer, tmp_path):
    model = init_student(StudentConfig(), tiny_tokenizer)
    save_model(model, tiny_tokenizer, tmp_path / "flat", separate_tokenizer=False)
    assert not (tmp_path / "flat" / TOKENIZER_SUBDIR).exists()
    assert tokenizer_path(tmp_path / "flat") == str(tmp_path / "flat")


def test_model_roundtrip_same_logits(tiny_tokenizer, tmp_path, torch_one_thread):
    torch = torch_one_thread
    model = init_student(StudentConfig(seed=3), tiny_tokenizer).eval()
    save_model(model, tiny_tokenizer, tmp_path / "m")
    loaded = load_model(tmp_path / "m").eval()
    x = torch.tensor([_ids(tiny_tokenizer, CHAT)])
    with torch.no_grad():
        assert torch.equal(model(x).logits, loaded(x).logits)


def test_init_student_deterministic_and_sized(tiny_tokenizer, torch_one_thread):
    torch = torch_one_thread
    a = init_student(StudentConfig(seed=0), tiny_tokenizer)
    b = init_student(StudentConfig(seed=0), tiny_tokenizer)
    c = init_student(StudentConfig(seed=1), tiny_tokenizer)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    n = sum(p.numel() for p in a.parameters())
    assert 100_000 < n < 200_000, n  # ~135K with the default sizes
    assert a.config.vocab_size == len(tiny_tokenizer)
    assert a.config.tie_word_embeddings
    assert a.generation_config.eos_token_id == tiny_tokenizer.eos_token_id
    assert a.generation_config.pad_token_id == tiny_tokenizer.pad_token_id


def test_student_config_validation():
    with pytest.raises(ValueError, match="not divisible"):
        StudentConfig(hidden_size=66, num_attention_heads=4)


def test_build_base_from_corpus(tmp_path, chain_corpus):
    rows = [make_question(c.question(), "s", "t", "math") for c in chain_corpus[:50]]
    rows.append(make_question("", "s", "t", "math"))
    write_table(tmp_path / "raw.parquet", rows)
    n = build_base([str(tmp_path / "raw.parquet")], str(tmp_path / "base"), StudentConfig())
    assert 100_000 < n < 200_000
    tok = load_tokenizer(tmp_path / "base")
    assert tok.tokenize(chain_corpus[0].question())[1] in tok.get_vocab()
    assert UNK not in tok.convert_ids_to_tokens(_ids(tok, chain_corpus[0].question()))
    assert load_model(tmp_path / "base").config.vocab_size == len(tok)
