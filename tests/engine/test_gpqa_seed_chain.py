"""On the real vLLM engine: does building an engine with ``seed=1234`` reseed the global
``random`` of the process that builds it? (docs/fidelity.md, "GPQA choice order")

The official GPQA choice order is drawn from the global ``random`` in the driver process
after the model is built. vLLM 0.6.4.post1 (the official stack) runs its driver worker in
that process and reseeds ``random`` with the engine seed at start-up and after the warm-up
(vllm/worker/worker.py:149 and :296 of its wheel), so the order starts from
``random.seed(1234)``. This test runs the same mechanism on the CPU build of vLLM
(``.venv-vllm``, ``make test-vllm``): with the engine core in the process
(``VLLM_ENABLE_V1_MULTIPROCESSING=0``, as 0.6.4's V0 engine always was) the global RNG after
``LLM(seed=1234)`` is exactly ``random.seed(1234)``'s, whatever it was before. (With the V1
engine core in its own process, that vLLM's default, the driver's state is left alone: seen
once with ``VLLM_ENABLE_V1_MULTIPROCESSING=1`` here, 2026-12-06, and not tested, as it costs
another engine start and nothing of the kit depends on it.) Weights are vLLM's
dummy ones (``load_format="dummy"``): only the start-up is under test. Skips where ``vllm``
is not installed (the kit's main venv).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_SPEC = importlib.util.find_spec("vllm")
# A real install only (tests/fake_vllm.py puts a fake one on sys.path while its tests run).
pytestmark = pytest.mark.skipif(_SPEC is None or "site-packages" not in str(_SPEC.origin),
                                reason="vllm is not installed here (it is in .venv-vllm: make test-vllm)")

PROBE = textwrap.dedent('''
    import json, random, sys
    if __name__ == "__main__":
        from vllm import LLM
        random.seed(0)  # lm-eval's simple_evaluate seeds 0 before it builds the model
        LLM(model=sys.argv[1], seed=1234, dtype="float32", load_format="dummy", enforce_eager=True,
            max_model_len=512, max_num_seqs=2)
        state = random.getstate()
        print("STATE " + json.dumps({s: random.Random(s).getstate() == state for s in (0, 1234)}))
''')


def tiny_model(path: Path) -> Path:
    """A byte-level BPE tokenizer with ChatML specials and a 2-layer Qwen2 config (head_dim 64)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(["Which choice is right? A B C D Wait think answer"] * 10, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    path.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(path))
    (path / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": len(fast), "hidden_size": 128,
        "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "torch_dtype": "float32",
        "eos_token_id": fast.eos_token_id, "hidden_act": "silu"}))
    return path


def rng_after_engine_start(model: Path, tmp_path: Path, multiprocessing: str) -> dict[str, bool]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": multiprocessing, "VLLM_CPU_KVCACHE_SPACE": "1"}
    out = subprocess.run([sys.executable, str(script), str(model)], env=env, capture_output=True, text=True,
                         timeout=600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("STATE ")), None)
    assert line, f"the engine did not start:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return {int(k): v for k, v in json.loads(line[len("STATE "):]).items()}


def test_engine_in_the_process_reseeds_the_global_random_with_its_seed(tmp_path):
    model = tiny_model(tmp_path / "model")
    assert rng_after_engine_start(model, tmp_path, "0") == {0: False, 1234: True}
