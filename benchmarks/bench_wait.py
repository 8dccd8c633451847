"""What do "Wait" rounds cost? The tiny student on CPU, transformers backend.

Generates the same number of thinking tokens per request three ways and prints wall time:

- one uninterrupted call;
- N + 1 rounds with a "Wait" appended between them, each round prefilling its whole
  prompt again (what a backend without a prefix cache does: the official fork on a vLLM
  without prefix caching);
- the same rounds with ``HFGenerator`` keeping the KV cache (only "Wait" is prefilled).

Run::

    .venv/bin/python benchmarks/bench_wait.py                # defaults below
    .venv/bin/python benchmarks/bench_wait.py --batch 1 --tokens 256 --waits 1 2 4 8
"""

from __future__ import annotations

import argparse
import random
import statistics
import time


def build(seed: int = 0):
    from s1kit.evaluate.controller import Codec
    from s1kit.tiny.chains import sample_chain
    from s1kit.tiny.student import StudentConfig, init_student
    from s1kit.tiny.tokenizer import train_tokenizer

    rng = random.Random(seed)
    chains = [sample_chain(rng, rng.randint(2, 8)) for _ in range(64)]
    tok = train_tokenizer([f"{c.question()} {c.thinking()} {c.attempt()}" for c in chains])
    model = init_student(StudentConfig(), tok).eval()
    codec = Codec.from_hf(tok)
    prompts = []
    for c in chains:
        messages = [{"role": "user", "content": c.question()}]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompts.append(codec.ids(text) + codec.ids("<|im_start|>think"))
    return tok, model, codec, prompts


def rounds(gen, prompts, total: int, waits: int, wait_ids: list[int]) -> int:
    """Generate ``total`` thinking tokens per prompt in ``waits + 1`` rounds; returns tokens made."""
    from s1kit.evaluate.controller import GenRequest

    seqs = [list(p) for p in prompts]
    made = 0
    per_round = [total // (waits + 1) + (r < total % (waits + 1)) for r in range(waits + 1)]
    for r, n in enumerate(per_round):
        if r:
            seqs = [s + wait_ids for s in seqs]
        res = gen([GenRequest(tuple(s), n, key=i) for i, s in enumerate(seqs)])
        seqs = [s + x.token_ids for s, x in zip(seqs, res)]
        made += sum(len(x.token_ids) for x in res)
    return made


def timed(fn, repeats: int) -> tuple[float, int]:
    times, made = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        made = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8, help="requests per call")
    ap.add_argument("--tokens", type=int, default=384, help="thinking tokens per request (context is 512)")
    ap.add_argument("--waits", type=int, nargs="+", default=[1, 2, 4, 8], help="numbers of Wait rounds")
    ap.add_argument("--repeats", type=int, default=3, help="median of this many runs")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for the tiny model)")
    args = ap.parse_args()

    import torch

    from s1kit.evaluate.hf_generate import HFGenerator

    torch.set_num_threads(args.threads)
    tok, model, codec, prompts = build()
    prompts = prompts[: args.batch]
    wait_ids = codec.ids("Wait")

    def make(reuse: bool) -> HFGenerator:
        return HFGenerator(model, codec.vocab_size, tok.pad_token_id, codec.decode, reuse_cache=reuse)

    base, made = timed(lambda: rounds(make(False), prompts, args.tokens, 0, wait_ids), args.repeats)
    print(f"tiny student ({sum(p.numel() for p in model.parameters()):,} params), CPU, {args.threads} thread(s), "
          f"batch {args.batch}, {args.tokens} thinking tokens per request, median of {args.repeats}")
    print(f"{'mode':<26}{'rounds':>7}{'seconds':>9}{'tok/s':>9}{'prefilled':>11}{'x uninterrupted':>17}")
    gen = make(False)
    rounds(gen, prompts, args.tokens, 0, wait_ids)
    print(f"{'uninterrupted':<26}{1:>7}{base:>9.3f}{made / base:>9.0f}{gen.stats['prefill_tokens']:>11}{1.0:>17.2f}")
    for waits in args.waits:
        for reuse, label in ((False, "Wait, re-prefill"), (True, "Wait, KV cache kept")):
            secs, made = timed(lambda: rounds(make(reuse), prompts, args.tokens, waits, wait_ids), args.repeats)
            gen = make(reuse)
            rounds(gen, prompts, args.tokens, waits, wait_ids)
            prefilled = gen.stats["prefill_tokens"]
            print(f"{label:<26}{waits + 1:>7}{secs:>9.3f}{made / secs:>9.0f}{prefilled:>11}{secs / base:>17.2f}")


if __name__ == "__main__":
    main()
