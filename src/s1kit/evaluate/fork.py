"""Budget forcing exactly as the paper's evaluation fork ran it (``semantics: fork``).

The fork's generation is eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:219 (_model_generate)
of simplescaling/s1 at 77272c6. ``run_fork`` issues the same sequence of
generate calls (prompt ids, max_tokens, stops, sampling parameters) and builds the same
response text, over the kit's backend interface (``controller.GenRequest`` / ``GenResult``), so
it runs on vLLM and on the transformers backend alike. Its defects are kept on purpose,
because the paper's numbers came from them (the kit's own semantics fixes them; budget.py):

- "auto" budget (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:264 (max_tokens)): ``max_gen_toks`` minus the batch's longest prompt
  minus the delimiters minus 100, for every request of the batch. Under ``--batch_size auto``
  the batch is every request of the lm-eval run with equal gen kwargs, and the official
  commands run several tasks in one run, so it spans them (``run.run_batch``, config
  ``evaluate.batches``);
- thinking stops (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:246 (until_thinking), eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:273 (min_tokens)): ``until_thinking`` (+ ``until_thinking_2``) and the
  task's ``until`` as stop strings; with ``thinking_n_ignore`` or ``min_tokens_thinking``
  only their first tokens, as ``stop_token_ids`` (every one must be one token), and
  ``min_tokens`` 1 when ignoring;
- "Wait" rounds (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:331 (thinking_n_ignore)): every round asks for the full budget again; the ids are cut to
  the budget afterwards but the text is not; "Final Answer:" is appended only if the last
  round ran out of tokens (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:401 (finish_reason)), not when the cut shortened the thinking;
- rejection sampling (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:286 (rejection_sample)): every round generates a full batch, the slots of accepted
  requests re-sampling the next pending ones; a try is accepted when its ids (the stop
  token included) are at most the budget; no cap (here a safety cap of
  ``rejection_sample_max_tries`` rounds, default 100,000; a request still pending then keeps
  its last try cut at the budget, ``accepted`` False);
- the answer asks for ``max_gen_toks`` whatever the context has left (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:414 (SamplingParams)); the engine
  stops at its context length.

The one defect not kept: a budget-forced thinking with empty text indexed ``text[-1]``
(eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:404 (thinking_start)) and crashed the run; here it counts as not ending in a newline.
Calls with no prompt (every request already done) are skipped; the fork sent them to vLLM.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from s1kit.evaluate.controller import (
    AUTO,
    LENGTH,
    BudgetConfig,
    BudgetRecord,
    Codec,
    GenerateFn,
    GenRequest,
    GenResult,
    as_bool,
    call_backend,
    stop_sequences,
    strip_stop,
)

log = logging.getLogger(__name__)
FINAL_ANSWER = "\nFinal Answer:"  # thinking_end_max of the fork
ANSWER_ROOM = 100  # the fork's "Leave 100 tokens for answer"


@dataclass
class _Out:
    """One request's thinking as the fork accumulates it (ids, text, last finish reason)."""

    ids: list[int]
    text: str
    finish: str
    tries: int = 0
    rounds: int = 0
    accepted: bool = True


@dataclass(frozen=True)
class _Stops:
    """Thinking stops as the fork sends them, plus what a non-vLLM backend needs to see them."""

    strings: tuple[str, ...]
    token_ids: tuple[int, ...]
    ids: tuple[tuple[int, ...], ...]
    strip: tuple[tuple[int, ...], ...] = field(default=())  # until_thinking_tok, in order


def _text(res: GenResult, stops: _Stops | tuple, codec: Codec) -> str:
    """The backend's text, else vLLM's: the ids decoded without the stop they ended on."""
    if res.text is not None:
        return res.text
    if res.finish_reason != LENGTH:
        ids, strings = (stops.ids, stops.strings) if isinstance(stops, _Stops) else stops
        return codec.decode(strip_stop(res.token_ids, ids, strings, codec.decode))
    return codec.decode(res.token_ids)


def fork_sampling(sampling: dict[str, Any], do_sample: Any) -> dict[str, Any]:
    """The fork's ``do_sample`` rule
    (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:731 (modify_gen_kwargs)):
    do_sample=False only sets temperature 0 when no temperature is given."""
    if do_sample is not None and not as_bool("do_sample", do_sample) and "temperature" not in sampling:
        sampling["temperature"] = 0.0
    return sampling


def fork_batches(idx, prompts, contexts, cfg: BudgetConfig, context_length: int, batch_size: int | None):
    """The fork's order and truncation: longest first, ties by context text
    (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:514 (_collate_gen)); contexts
    cut to their last ``max_length - max_gen_toks`` tokens
    (eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:572 (max_ctx_len)), as Python
    slices: 0 keeps everything (``x[-0:]``), a negative value drops the first tokens;
    ``--batch_size auto`` (None) is one batch per gen kwargs group."""
    idx = sorted(idx, key=lambda i: (-len(prompts[i]), contexts[i]))
    keep = context_length - cfg.max_gen_toks
    cut = [prompts[i][-keep:] for i in idx]
    size = batch_size or len(idx)
    return [(idx[k : k + size], cut[k : k + size]) for k in range(0, len(idx), size)]


def thinking_budget(cfg: BudgetConfig, prompts: Sequence[Sequence[int]], codec: Codec) -> int:
    """The thinking ``max_tokens`` of the batch (the fork's sampling_params_thinking["max_tokens"]), before the +1 of
    rejection sampling: "auto" is ``max_gen_toks`` minus the longest prompt of the batch,
    the start and forced-end delimiters and 100."""
    if cfg.max_tokens_thinking != AUTO:
        return int(cfg.max_tokens_thinking)
    start, end_max = codec.ids(cfg.thinking_start), codec.ids(cfg.thinking_end + FINAL_ANSWER)
    return cfg.max_gen_toks - max(len(p) for p in prompts) - len(start) - len(end_max) - ANSWER_ROOM


def thinking_stops(cfg: BudgetConfig, codec: Codec, eos_ids: Sequence[int]) -> tuple[_Stops, dict]:
    """Stops and sampling of the thinking calls (the fork's until_thinking, stop_token_ids)."""
    until_thinking = list(cfg.until_thinking) + [s for s in cfg.until if s]
    toks = tuple(tuple(codec.ids(s)) for s in until_thinking)
    sampling = dict(cfg.sampling_thinking)
    extra = tuple((int(i),) for i in eos_ids)  # the engine's own eos stop, for non-vLLM backends
    if "min_tokens" in sampling or cfg.thinking_n_ignore is not None:
        sampling["min_tokens"] = 1 if cfg.thinking_n_ignore is not None else int(sampling["min_tokens"])
        long = [s for s, t in zip(until_thinking, toks) if len(t) != 1]
        if long:  # the fork asserts it
            raise ValueError(f"fork semantics: thinking stops {long} are not one token each "
                             "(thinking_n_ignore / min_tokens_thinking need one-token stops)")
        ids = tuple(t[0] for t in toks)
        return _Stops((), ids, tuple((i,) for i in ids) + extra, toks), sampling
    return _Stops(tuple(until_thinking), (), stop_sequences(until_thinking, codec, eos_ids), toks), sampling


def _strip_tail(ids: list[int], toks: Sequence[Sequence[int]]) -> list[int]:
    """Drop each of until_thinking_tok's id sequences from the end, in order, as the fork does."""
    for t in toks:
        if t and ids[-len(t):] == list(t):
            ids = ids[: -len(t)]
    return ids


def run_fork(
    prompts: Sequence[Sequence[int]],
    cfg: BudgetConfig,
    generate: GenerateFn,
    codec: Codec,
    context_length: int,
    eos_ids: Sequence[int] = (),
) -> list[BudgetRecord]:
    """The fork's ``_model_generate(generate=True)`` for one batch, one record per prompt.
    ``context_length`` is the engine's; the fork never asks it (vLLM caps at it)."""
    until = tuple(s for s in cfg.until if s)
    answer_stops = (stop_sequences(until, codec, eos_ids), until)
    if not cfg.thinking:  # the fork without its thinking block: one plain call
        reqs = [GenRequest(tuple(p), cfg.max_gen_toks, answer_stops[0], until, cfg.sampling, i, ())
                for i, p in enumerate(prompts)]
        return [_record(_text(r, answer_stops, codec), [], r, answer_stops, codec, None, None)
                for r in call_backend(generate, reqs)]

    start, end = codec.ids(cfg.thinking_start), codec.ids(cfg.thinking_end)
    end_max, newline = codec.ids(cfg.thinking_end + FINAL_ANSWER), codec.ids("\n")
    budget = thinking_budget(cfg, prompts, codec)
    max_tokens = budget + 1 if cfg.rejection_sample else budget  # +1: "too long" vs "exactly the budget"
    if max_tokens < 1:
        raise ValueError(f"fork semantics: thinking max_tokens {max_tokens} < 1 (max_gen_toks {cfg.max_gen_toks})")
    stops, sampling = thinking_stops(cfg, codec, eos_ids)
    base = [list(p) + start for p in prompts]

    def request(prompt: list[int], key: int) -> GenRequest:
        return GenRequest(tuple(prompt), max_tokens, stops.ids, stops.strings, sampling, key, stops.token_ids)

    if cfg.rejection_sample:
        outs = _reject(base, request, generate, codec, stops, max_tokens, cfg.rejection_sample_max_tries)
    elif cfg.thinking_n_ignore is not None:
        outs = _ignore(base, request, generate, codec, stops, cfg, max_tokens)
    else:
        outs = [_Out(list(r.token_ids), _text(r, stops, codec), r.finish_reason, tries=1)
                for r in call_backend(generate, [request(p, i) for i, p in enumerate(base)])]

    answers, texts, thinking = [], [], []
    for p, o in zip(base, outs):  # eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:393 (outputs_thinking)
        cont = _strip_tail(o.ids, stops.strip)
        if o.finish == LENGTH:
            bare = (o.text[-1:] == "\n") or cfg.thinking_start[:1] == "\n"
            delim = end_max if bare else newline + end_max
            texts.append(cfg.thinking_start + o.text + ("" if bare else "\n") + cfg.thinking_end + FINAL_ANSWER)
        else:
            delim = end
            texts.append(cfg.thinking_start + o.text + cfg.thinking_end)
        thinking.append(cont)
        answers.append(GenRequest(tuple(p + cont + delim), cfg.max_gen_toks, answer_stops[0], until,
                                  cfg.sampling, len(answers), ()))
    records = []
    for o, text, cont, res in zip(outs, texts, thinking, call_backend(generate, answers)):
        records.append(_record(text + _text(res, answer_stops, codec), cont, res, answer_stops, codec, o, budget))
    return records


def _record(text, thinking, res, stops, codec, out: _Out | None, budget) -> BudgetRecord:
    answer = strip_stop(res.token_ids, stops[0], stops[1], codec.decode) if res.finish_reason != LENGTH else res.token_ids
    return BudgetRecord(
        text=text,
        thinking_tokens=len(thinking),
        answer_tokens=len(answer),
        wait_rounds=out.rounds if out else 0,
        forced_end=bool(out and out.finish == LENGTH),
        tries=out.tries if out else 0,
        finish_reason=res.finish_reason,
        budget=budget,
        accepted=out.accepted if out else True,
        oov_tokens=codec.oov(thinking) + codec.oov(list(answer)),
    )


def _ignore(base, request, generate, codec, stops, cfg: BudgetConfig, max_tokens: int) -> list[_Out]:
    """The fork's ``thinking_n_ignore + 1`` rounds, each with the full
    budget; a round that stopped (not the last) drops its stop and appends the string."""
    rounds = int(cfg.thinking_n_ignore) + 1
    ignore_ids = codec.ids(cfg.thinking_n_ignore_str)
    outs: list[_Out | None] = [None] * len(base)
    reqs, idx = [list(p) for p in base], list(range(len(base)))
    for i in range(rounds):
        nreqs, nidx = [], []
        for j, res in enumerate(call_backend(generate, [request(r, k) for r, k in zip(reqs, idx)])):
            k, cont, text = idx[j], list(res.token_ids), _text(res, stops, codec)
            if res.finish_reason == LENGTH or i == rounds - 1:
                if outs[k] is None:
                    outs[k] = _Out(cont, text, res.finish_reason, tries=1)
                else:
                    outs[k].ids += cont
                    outs[k].text += text
                    outs[k].finish = res.finish_reason
                continue
            cont = _strip_tail(cont, stops.strip) + ignore_ids
            text += cfg.thinking_n_ignore_str
            if outs[k] is None:
                outs[k] = _Out(cont, text, res.finish_reason, tries=1)
            else:  # finish_reason stays as it was: eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:370 (outputs_thinking)
                outs[k].ids += cont
                outs[k].text += text
            outs[k].rounds += 1
            nreqs.append(reqs[j] + cont)
            nidx.append(k)
        reqs, idx = nreqs, nidx
    for o in outs:  # the ids are cut, the text is not: eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:381 (outputs_thinking)
        o.ids = o.ids[:max_tokens]
    return outs


def _reject(base, request, generate, codec, stops, max_tokens: int, cap: int) -> list[_Out]:
    """The fork's rejection sampling: whole-batch rounds until every slot holds a try of at most
    ``max_tokens - 1`` ids; done slots re-sample the next pending request (cyclically)."""
    n = len(base)
    done: list[_Out | None] = [None] * n
    source = list(range(n))  # whose prompt each slot samples this round
    tries = [0] * n
    last: list[GenResult | None] = [None] * n
    rounds = 0
    while True:
        results = call_backend(generate, [request(base[s], s) for s in source])
        before = list(done)
        for j, res in enumerate(results):
            tries[source[j]] += 1
            last[source[j]] = res
            if len(res.token_ids) <= max_tokens - 1:
                # The first slot from j on (cyclically) that was pending before this round.
                k = next(((j + m) % n for m in range(n) if before[(j + m) % n] is None), None)
                if k is not None:
                    done[k] = _Out(list(res.token_ids), _text(res, stops, codec), res.finish_reason)
        pending = [j for j in range(n) if done[j] is None]
        if not pending:
            break
        rounds += 1
        if rounds >= cap:
            log.warning("fork rejection sampling: %d requests still too long after %d rounds (safety cap)",
                        len(pending), rounds)
            for j in pending:
                res = last[j]
                done[j] = _Out(list(res.token_ids)[: max_tokens - 1], _text(res, stops, codec), LENGTH,
                               accepted=False)
            break
        # Each done slot takes the first pending request from it on, cyclically (:320-327).
        nxt: list[int | None] = [j if done[j] is None else None for j in range(n)]
        for j in range(n):
            if nxt[j] is None:
                nxt[j] = next(s for s in nxt[j:] + nxt[:j] if s is not None)
        source = [int(s) for s in nxt]
    for j, o in enumerate(done):
        o.tries = tries[j]
    return done
