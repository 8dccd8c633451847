"""Budget forcing (arXiv 2501.19393v3 §3.1) as the kit runs it (``semantics: kit``): ``run_kit``,
a pure controller over the backend interface of ``controller.py``.

The gen kwargs are those of ``controller.BudgetConfig.from_gen_kwargs``. Here
``max_tokens_thinking`` "auto" is the context length minus this request's prompt minus the
delimiters minus ``auto_answer_room`` (100) tokens for the answer. When the budget runs out,
``thinking_end + "\\nFinal Answer:"`` is appended (after a newline unless the thinking ends
with one) and the model answers. The answer's ``max_gen_toks`` is capped by the context left.

Defects of the official fork fixed (its budget forcing is inline in
eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:237 (thinking)):

1. Each "Wait" round got the full ``max_tokens_thinking`` again and the total was cut
   afterwards (ids only; the text kept the excess). Here the remaining budget shrinks across
   rounds: thinking tokens are counted exactly over all rounds, the appended "Wait" tokens
   included, so the thinking never exceeds the budget and the text is what the model saw.
   A "Wait" is only appended if at least one token of budget is left after it.
2. ``max_tokens_thinking=auto`` subtracted the longest prompt of the batch from the
   context; here each request gets its own.
3. ``rejection_sample`` looped until every sample fit; here tries are capped. After the cap
   the last try is kept, cut at the budget if longer (``forced_end``), and ``accepted`` is False.
4. The response text is decoded with special tokens kept, so the think/answer delimiters are
   in the returned text and answer parsing can split on them.
5. Ids >= len(tokenizer) (padded embedding rows) crashed detokenization; here they are dropped
   from the text and counted in ``oov_tokens`` (the HF backend never samples them).
6. The answer could ask for more tokens than the context had left; it is capped.
7. A budget-forced thinking of zero tokens indexed ``text[-1]`` of an empty string.

Deviations (deliberate): ``thinking_n_ignore_str`` defaults to "Wait" (the fork: no string;
pass ``thinking_n_ignore_str=""`` for the paper's "2x without string" ablation), and a
thinking run without ``max_tokens_thinking`` means "auto" (the fork: ``max_gen_toks``).

The fork's own semantics (``evaluate.semantics: fork``, the paper config) is ``fork.run_fork``,
which reproduces the fork's ``_model_generate`` call for call, its defects included
(docs/fidelity.md); ``semantics.py`` picks one of the two.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s1kit.evaluate.controller import (
    AUTO,
    LENGTH,
    STOP,
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

_CAPPED: set[int] = set()


def kit_sampling(sampling: dict[str, Any], do_sample: Any) -> dict[str, Any]:
    """The kit's ``do_sample`` rule: False means greedy (lm-eval's HF path)."""
    if do_sample is not None and not as_bool("do_sample", do_sample):
        sampling["temperature"] = 0.0
    return sampling


def kit_batches(idx, prompts, contexts, cfg: BudgetConfig, context_length: int, batch_size: int | None):
    """The kit's batching of one gen-kwargs group: longest prompt first (least padding),
    ``batch_size`` per chunk (None: all)."""
    idx = sorted(idx, key=lambda i: -len(prompts[i]))
    size = batch_size or len(idx)
    return [(idx[k : k + size], [prompts[i] for i in idx[k : k + size]]) for k in range(0, len(idx), size)]


# --------------------------------------------------------------------------- controller


@dataclass
class _State:
    prompt: list[int]
    budget: int | None
    thinking: list[int] = field(default_factory=list)
    delim: list[int] = field(default_factory=list)
    answer: list[int] = field(default_factory=list)
    wait_rounds: int = 0
    forced: bool = False
    tries: int = 0
    accepted: bool = True
    finish: str = LENGTH
    oov: int = 0


def _greedy(sampling: Mapping[str, Any]) -> bool:
    return float(sampling.get("temperature", 0.0) or 0.0) == 0.0


def resolve_budget(cfg: BudgetConfig, prompt_len: int, context_length: int, reserved: int) -> int:
    """This request's thinking budget: "auto" is what the context leaves after the prompt,
    the delimiters (``reserved``) and ``auto_answer_room``; an int is capped by the same."""
    room = max(0, context_length - prompt_len - reserved - cfg.auto_answer_room)
    if cfg.max_tokens_thinking == AUTO:
        return room
    if cfg.max_tokens_thinking > room and cfg.max_tokens_thinking not in _CAPPED:
        _CAPPED.add(cfg.max_tokens_thinking)  # once per budget, not once per request
        log.warning("max_tokens_thinking=%s exceeds the context left (%s here); capped", cfg.max_tokens_thinking, room)
    return min(int(cfg.max_tokens_thinking), room)


def run_kit(
    prompts: Sequence[Sequence[int]],
    cfg: BudgetConfig,
    generate: GenerateFn,
    codec: Codec,
    context_length: int,
    eos_ids: Sequence[int] = (),
) -> list[BudgetRecord]:
    """The kit's semantics: run thinking (with budget, "Wait" rounds or rejection sampling)
    then the answer, for all prompts in lock step; one ``generate`` call per round. ``eos_ids`` are extra stop
    ids (e.g. a model's generation-config eos) besides the ``until`` strings."""
    start, end = codec.ids(cfg.thinking_start), codec.ids(cfg.thinking_end)
    end_forced = codec.ids(cfg.thinking_end + cfg.final_answer)
    newline, wait = codec.ids("\n"), codec.ids(cfg.thinking_n_ignore_str)
    until = tuple(s for s in cfg.until if s)
    answer_stops = (stop_sequences(until, codec, eos_ids), until)
    states = []
    for p in prompts:
        if len(p) >= context_length:
            raise ValueError(f"prompt of {len(p)} tokens leaves no room in a context of {context_length}")
        budget = resolve_budget(cfg, len(p), context_length, len(start) + len(newline) + len(end_forced))
        states.append(_State(list(p), budget if cfg.thinking else None))

    if cfg.thinking:
        think_strings = tuple(dict.fromkeys(cfg.until_thinking + (cfg.thinking_end,) + until))
        think_stops = (stop_sequences(think_strings, codec, eos_ids), tuple(s for s in think_strings if s))
        if cfg.rejection_sample:
            _reject(states, cfg, generate, codec, start, think_stops)
        else:
            _think(states, cfg, generate, codec, start, wait, think_stops)
        for st in states:
            if st.forced:
                text = codec.decode(st.thinking)
                st.delim = ([] if text.endswith("\n") else newline) + end_forced
            else:
                st.delim = list(end)
        prefix = [st.prompt + start + st.thinking + st.delim for st in states]
    else:
        start, prefix = [], [st.prompt for st in states]

    _answer(states, prefix, cfg, generate, codec, context_length, answer_stops)
    records = []
    for st in states:
        ids = start + st.thinking + st.delim + st.answer if cfg.thinking else st.answer
        records.append(
            BudgetRecord(
                text=codec.decode(ids),
                thinking_tokens=len(st.thinking),
                answer_tokens=len(st.answer),
                wait_rounds=st.wait_rounds,
                forced_end=st.forced,
                tries=st.tries,
                finish_reason=st.finish,
                budget=st.budget,
                accepted=st.accepted,
                oov_tokens=codec.oov(st.thinking) + codec.oov(st.answer),
            )
        )
    return records


def _kept(res: GenResult, stops, codec: Codec) -> tuple[list[int], bool]:
    """The ids to keep of one thinking result and whether the model itself stopped."""
    if res.finish_reason == STOP:
        return strip_stop(res.token_ids, stops[0], stops[1], codec.decode), True
    return list(res.token_ids), False


def _think(states, cfg: BudgetConfig, generate, codec, start, wait, stops) -> None:
    """Thinking with a shrinking budget; suppress the end ``thinking_n_ignore`` times."""
    active = []
    for i, st in enumerate(states):
        if st.budget == 0:
            st.forced = True  # budget 0: close the thinking at once
        else:
            active.append(i)
    while active:
        reqs = [
            GenRequest(
                tuple(states[i].prompt + start + states[i].thinking),
                states[i].budget - len(states[i].thinking),
                stops[0],
                stops[1],
                cfg.sampling_thinking,
                key=i,
            )
            for i in active
        ]
        nxt = []
        for i, req, res in zip(active, reqs, call_backend(generate, reqs)):
            st = states[i]
            st.tries = max(st.tries, 1)
            kept, stopped = _kept(res, stops, codec)
            st.thinking += kept[: req.max_new_tokens]  # a backend that overshoots cannot break the budget
            left = st.budget - len(st.thinking)
            if not stopped or left <= 0:
                st.forced = True
            elif st.wait_rounds < (cfg.thinking_n_ignore or 0):
                if len(wait) < left:  # keep at least one token of budget after "Wait"
                    st.thinking += wait
                    st.wait_rounds += 1
                    nxt.append(i)
                else:
                    st.forced = True
        active = nxt


def _reject(states, cfg: BudgetConfig, generate, codec, start, stops) -> None:
    """Resample the whole thinking until its length is within [min, budget], capped."""
    max_tries = cfg.rejection_sample_max_tries
    if _greedy(cfg.sampling_thinking) and max_tries > 1:
        log.warning("rejection_sample with greedy decoding: every try is the same; using 1 try")
        max_tries = 1
    pending = []
    for i, st in enumerate(states):
        if st.budget == 0:
            st.forced = True
        else:
            pending.append(i)
    while pending:
        # One token over the budget tells "too long" apart from "exactly the budget".
        reqs = [
            GenRequest(
                tuple(states[i].prompt + start), states[i].budget + 1, stops[0], stops[1], cfg.sampling_thinking, i
            )
            for i in pending
        ]
        nxt = []
        for i, res in zip(pending, call_backend(generate, reqs)):
            st = states[i]
            st.tries += 1
            kept, stopped = _kept(res, stops, codec)
            fits = stopped and cfg.rejection_sample_min <= len(kept) <= st.budget
            if fits or st.tries >= max_tries:
                st.accepted = fits
                st.forced = not stopped or len(kept) > st.budget
                st.thinking = kept[: st.budget]
            else:
                nxt.append(i)
        pending = nxt


def _answer(states, prefix, cfg: BudgetConfig, generate, codec, context_length, stops) -> None:
    """One call for all answers; each gets ``max_gen_toks`` capped by its context left."""
    todo, reqs = [], []
    for i, (st, p) in enumerate(zip(states, prefix)):
        room = min(cfg.max_gen_toks, context_length - len(p))
        if room > 0:
            todo.append(i)
            reqs.append(GenRequest(tuple(p), room, stops[0], stops[1], cfg.sampling, key=i))
        else:
            st.finish = LENGTH
    for i, res in zip(todo, call_backend(generate, reqs)):
        st = states[i]
        st.finish = res.finish_reason
        st.answer = _kept(res, stops, codec)[0]
