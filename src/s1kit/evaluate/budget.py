"""Budget forcing (arXiv 2501.19393v3 §3.1) as a pure controller over a small generate interface.

A backend is any callable ``generate(requests: Sequence[GenRequest]) -> list[GenResult]``:
each request carries its prompt token ids, its own ``max_new_tokens``, stop token-id
sequences, stop strings, sampling parameters and a ``key`` that stays the same for one
request across rounds (a backend may use it to keep that request's KV cache). A result is
the sampled ids, the matched stop included, and ``finish_reason`` "stop" or "length".
``hf_generate.HFGenerator`` and ``models.S1KitVLLM`` implement it; tests use scripted fakes.

The controller reads the official fork's gen-kwarg names, so command lines port::

    max_tokens_thinking=auto,thinking_n_ignore=2,thinking_n_ignore_str=Wait,max_gen_toks=32768

- ``thinking_start`` ("<|im_start|>think") is appended to the prompt; thinking stops at
  ``until_thinking`` ("<|im_start|>", which begins ``thinking_end``), ``until_thinking_2``,
  ``thinking_end`` itself, the task's ``until`` and eos.
- ``max_tokens_thinking``: the thinking budget, an int or "auto" = context length minus
  this request's prompt minus the delimiters minus ``auto_answer_room`` (100) tokens for the
  answer. When the budget runs out, ``thinking_end + "\\nFinal Answer:"`` is appended
  (after a newline unless the thinking ends with one) and the model answers. 0 closes the
  thinking at once.
- ``thinking_n_ignore=N``: the first N times thinking stops (delimiter or eos), the stop is
  dropped, ``thinking_n_ignore_str`` ("Wait") is appended and thinking goes on.
- ``rejection_sample=true``: sample the thinking again until its length is within
  [``rejection_sample_min``, ``max_tokens_thinking``], at most ``rejection_sample_max_tries``.
- ``max_gen_toks``: the answer's token limit (capped by the context left).
- ``<name>_thinking`` overrides sampling parameter ``<name>`` while thinking
  (``temperature_thinking``, ``top_p_thinking``, ``min_tokens_thinking`` ...).
- With no thinking key at all, generation is plain (one call, no delimiters), as in the fork.

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

Semantics: all of the above is ``semantics="kit"``. ``BudgetConfig.semantics="fork"``
(``evaluate.semantics: fork``, the paper config) runs ``fork.run_fork`` instead, which
reproduces the fork's ``_model_generate`` call for call, its defects included (docs/fidelity.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

AUTO = "auto"
SEMANTICS = ("kit", "fork")
_CAPPED: set[int] = set()
STOP, LENGTH = "stop", "length"

# Gen kwargs the controller consumes itself; every other "*_thinking" key is a sampling override.
_CONTROL_KEYS = (
    "thinking_start",
    "thinking_end",
    "thinking_n_ignore",
    "thinking_n_ignore_str",
    "until_thinking",
    "until_thinking_2",
    "max_tokens_thinking",
    "rejection_sample",
    "rejection_sample_min",
    "rejection_sample_max_tries",
    "auto_answer_room",
)
_SUFFIX = "_thinking"


# --------------------------------------------------------------------------- interface


@dataclass(frozen=True)
class GenRequest:
    """One generation call: continue ``prompt`` by at most ``max_new_tokens`` tokens.

    ``stop_ids`` and ``stop_strings`` are every stop (a backend stops at any of them);
    ``stop_token_ids`` is what a vLLM backend sends as ``stop_token_ids``: None derives it
    from the single-token ``stop_ids`` (kit), a tuple is sent as it is (fork semantics)."""

    prompt: tuple[int, ...]
    max_new_tokens: int
    stop_ids: tuple[tuple[int, ...], ...] = ()
    stop_strings: tuple[str, ...] = ()
    sampling: Mapping[str, Any] = field(default_factory=dict)
    key: Hashable | None = None
    stop_token_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class GenResult:
    """Sampled ids (a matched stop included) and why sampling ended: "stop" or "length".
    ``text``: the backend's own detokenized text (vLLM's, the stop left out), if it has one."""

    token_ids: list[int]
    finish_reason: str
    text: str | None = None


GenerateFn = Callable[[Sequence[GenRequest]], list[GenResult]]


@dataclass(frozen=True)
class Codec:
    """Text <-> ids without added special tokens; decode keeps special tokens."""

    encode: Callable[[str], list[int]]
    decode: Callable[[Sequence[int]], str]
    vocab_size: int

    @classmethod
    def from_hf(cls, tokenizer) -> Codec:
        size = len(tokenizer)

        def decode(ids: Sequence[int]) -> str:
            # Padded embedding rows have no token: drop them rather than crash.
            ids = [int(i) for i in ids if 0 <= int(i) < size]
            return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

        return cls(lambda s: list(tokenizer.encode(s, add_special_tokens=False)), decode, size)

    def ids(self, text: str) -> list[int]:
        return list(self.encode(text)) if text else []

    def oov(self, ids: Sequence[int]) -> int:
        return sum(1 for i in ids if not 0 <= i < self.vocab_size)


# --------------------------------------------------------------------------- config


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ValueError(f"gen kwarg {key}={value!r} is not a boolean")


def _as_int(key: str, value: Any, minimum: int = 0) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"gen kwarg {key}={value!r} is not an integer") from None
    if out != float(value) or out < minimum:
        raise ValueError(f"gen kwarg {key}={value!r} must be an integer >= {minimum}")
    return out


def _as_strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class BudgetConfig:
    """Budget-forcing settings, built from lm-eval gen kwargs by ``from_gen_kwargs``."""

    thinking: bool = field(default=True, metadata={"help": "False: plain generation, no delimiters"})
    thinking_start: str = field(default="<|im_start|>think", metadata={"help": "appended to the prompt"})
    thinking_end: str = field(default="<|im_start|>answer", metadata={"help": "closes the thinking"})
    final_answer: str = field(default="\nFinal Answer:", metadata={"help": "follows thinking_end when forced"})
    max_tokens_thinking: int | str = field(default=AUTO, metadata={"help": 'thinking budget: int or "auto"'})
    thinking_n_ignore: int | None = field(default=0, metadata={"help": "times to suppress the end (fork: None if unset)"})
    thinking_n_ignore_str: str = field(default="Wait", metadata={"help": "appended when suppressing"})
    until_thinking: tuple[str, ...] = field(default=("<|im_start|>",), metadata={"help": "thinking stops"})
    until: tuple[str, ...] = field(default=(), metadata={"help": "the task's stops (eos included)"})
    max_gen_toks: int = field(default=256, metadata={"help": "answer token limit"})
    sampling: Mapping[str, Any] = field(default_factory=dict, metadata={"help": "answer sampling"})
    sampling_thinking: Mapping[str, Any] = field(default_factory=dict, metadata={"help": "thinking sampling"})
    rejection_sample: bool = field(default=False, metadata={"help": "resample thinking until it fits"})
    rejection_sample_min: int = field(default=0, metadata={"help": "shortest accepted thinking"})
    rejection_sample_max_tries: int = field(default=64, metadata={"help": "cap on tries per request"})
    auto_answer_room: int = field(default=100, metadata={"help": '"auto" leaves this many tokens to answer'})
    semantics: str = field(default="kit", metadata={"help": "kit (this module) or fork (fork.run_fork)"})

    def __post_init__(self) -> None:
        if self.semantics not in SEMANTICS:
            raise ValueError(f"semantics={self.semantics!r}: expected one of {list(SEMANTICS)}")
        budget = self.max_tokens_thinking
        if budget != AUTO and not (isinstance(budget, int) and budget >= 0):
            raise ValueError(f'max_tokens_thinking={budget!r}: expected an integer >= 0 or "auto"')
        if self.rejection_sample and self.thinking_n_ignore:
            raise ValueError("rejection_sample and thinking_n_ignore cannot be combined")
        if self.rejection_sample and budget != AUTO and self.rejection_sample_min > budget:
            raise ValueError(f"rejection_sample_min={self.rejection_sample_min} > max_tokens_thinking={budget}")
        if self.rejection_sample_max_tries < 1:
            raise ValueError(f"rejection_sample_max_tries={self.rejection_sample_max_tries} must be >= 1")
        for name in ("thinking_n_ignore", "max_gen_toks", "rejection_sample_min", "auto_answer_room"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")

    @classmethod
    def from_gen_kwargs(
        cls, gen_kwargs: Mapping[str, Any], default_max_gen_toks: int = 256, eos: str | None = None,
        semantics: str = "kit",
    ) -> BudgetConfig:
        """Split lm-eval gen kwargs into control settings and sampling parameters; the
        defaults and the ``do_sample`` rule are those of ``semantics`` (``_DEFAULTS``)."""
        if semantics not in SEMANTICS:
            raise ValueError(f"semantics={semantics!r}: expected one of {list(SEMANTICS)}")
        rules = _DEFAULTS[semantics]
        kw = dict(gen_kwargs)
        until = list(_as_strings(kw.pop("until", None)))
        if eos and eos not in until:
            until.append(eos)
        # Same aliases and priority as lm-eval's normalize_gen_kwargs.
        sizes = [kw.pop(k, None) for k in ("max_gen_toks", "max_new_tokens", "max_tokens")]
        max_gen_toks = next((s for s in sizes if s is not None), default_max_gen_toks)
        do_sample = kw.pop("do_sample", None)
        thinking = any("thinking" in k for k in kw) or _as_bool("rejection_sample", kw.get("rejection_sample", False))

        ctrl = {k: kw.pop(k) for k in _CONTROL_KEYS if k in kw}
        sampling_thinking = {k[: -len(_SUFFIX)]: kw.pop(k) for k in list(kw) if k.endswith(_SUFFIX)}
        stray = [k for k in kw if "thinking" in k]
        if stray:
            raise ValueError(f"unknown thinking gen kwargs {stray}; expected {list(_CONTROL_KEYS)} or <name>_thinking")
        sampling = rules["sampling"](dict(kw), do_sample)
        max_gen_toks = _as_int("max_gen_toks", max_gen_toks)

        budget = ctrl.get("max_tokens_thinking", rules["budget"](max_gen_toks))
        if not (isinstance(budget, str) and budget.lower() == AUTO):
            budget = _as_int("max_tokens_thinking", budget)
        else:
            budget = AUTO
        until_thinking = _as_strings(ctrl.get("until_thinking", "<|im_start|>")) + _as_strings(
            ctrl.get("until_thinking_2")
        )
        defaults = cls()
        return cls(
            thinking=thinking,
            thinking_start=str(ctrl.get("thinking_start", defaults.thinking_start)),
            thinking_end=str(ctrl.get("thinking_end", defaults.thinking_end)),
            max_tokens_thinking=budget,
            thinking_n_ignore=(
                None if "thinking_n_ignore" not in ctrl and rules["n_ignore"] is None
                else _as_int("thinking_n_ignore", ctrl.get("thinking_n_ignore", rules["n_ignore"]))
            ),
            thinking_n_ignore_str=str(ctrl.get("thinking_n_ignore_str", rules["n_ignore_str"])),
            until_thinking=until_thinking,
            until=tuple(until),
            max_gen_toks=max_gen_toks,
            sampling=sampling,
            sampling_thinking={**sampling, **sampling_thinking},
            rejection_sample=_as_bool("rejection_sample", ctrl.get("rejection_sample", False)),
            rejection_sample_min=_as_int("rejection_sample_min", ctrl.get("rejection_sample_min", 0)),
            rejection_sample_max_tries=_as_int(
                "rejection_sample_max_tries", ctrl.get("rejection_sample_max_tries", rules["max_tries"]), minimum=1
            ),
            auto_answer_room=_as_int("auto_answer_room", ctrl.get("auto_answer_room", 100)),
            semantics=semantics,
        )


def _kit_sampling(sampling: dict[str, Any], do_sample: Any) -> dict[str, Any]:
    if do_sample is not None and not _as_bool("do_sample", do_sample):
        sampling["temperature"] = 0.0  # lm-eval's HF path: do_sample=False means greedy
    return sampling


def _fork_sampling(sampling: dict[str, Any], do_sample: Any) -> dict[str, Any]:
    # eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:731 (modify_gen_kwargs):
    # do_sample=False only sets temperature 0 when no temperature is given.
    if do_sample is not None and not _as_bool("do_sample", do_sample) and "temperature" not in sampling:
        sampling["temperature"] = 0.0
    return sampling


# What each semantics assumes where a gen kwarg is absent, and how it reads do_sample. The fork:
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:241 (thinking_n_ignore): None when unset;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:242 (thinking_n_ignore_str): no string;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:271 (sampling_params_thinking): no
# max_tokens_thinking means max_gen_toks;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:286 (rejection_sample): no cap, so
# the fork semantics keeps only a safety cap on rounds.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "kit": {"sampling": _kit_sampling, "budget": lambda max_gen_toks: AUTO, "n_ignore": 0,
            "n_ignore_str": "Wait", "max_tries": 64},
    "fork": {"sampling": _fork_sampling, "budget": lambda max_gen_toks: max_gen_toks, "n_ignore": None,
             "n_ignore_str": "", "max_tries": 100_000},
}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class BudgetRecord:
    """What happened to one request. ``text`` is the full continuation, special tokens kept."""

    text: str
    thinking_tokens: int  # generated thinking tokens + appended "Wait" tokens, over all rounds
    answer_tokens: int
    wait_rounds: int  # times the end of thinking was suppressed
    forced_end: bool  # the thinking budget ran out and the end was appended
    tries: int  # thinking samples drawn (rejection sampling: > 1; budget 0 or plain: 0)
    finish_reason: str  # of the last generation call: "stop" or "length"
    budget: int | None  # the effective max_tokens_thinking of this request (None: plain)
    accepted: bool  # rejection sampling: thinking length within [min, max]; else True
    oov_tokens: int  # generated ids >= len(tokenizer), dropped from the text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_budget_forcing(
    prompts: Sequence[Sequence[int]],
    cfg: BudgetConfig,
    generate: GenerateFn,
    codec: Codec,
    context_length: int,
    eos_ids: Sequence[int] = (),
) -> list[BudgetRecord]:
    """Budget forcing under ``cfg.semantics``: the kit's controller (``run_kit``) or the
    fork's (``fork.run_fork``); both return one record per prompt, in order."""
    if cfg.semantics == "fork":
        from s1kit.evaluate.fork import run_fork

        return run_fork(prompts, cfg, generate, codec, context_length, eos_ids)
    return run_kit(prompts, cfg, generate, codec, context_length, eos_ids)


# --------------------------------------------------------------------------- stops


def stop_sequences(strings: Sequence[str], codec: Codec, extra_ids: Sequence[int] = ()) -> tuple[tuple[int, ...], ...]:
    """Stop strings as id sequences (longest first): word-level decoding adds spaces, so a
    multi-token stop like "<|im_start|>answer" is only reliably seen as ids."""
    seqs = {tuple(codec.ids(s)) for s in strings if s} | {(int(i),) for i in extra_ids}
    return tuple(sorted((s for s in seqs if s), key=lambda s: (-len(s), s)))


def strip_stop(
    ids: Sequence[int], stop_ids: Sequence[Sequence[int]], stop_strings: Sequence[str], decode
) -> list[int]:
    """Drop the stop a generation ended on: a trailing id sequence, else the tokens from
    where the first stop string starts (tokens wholly before it are kept)."""
    ids = list(ids)
    for seq in stop_ids:
        if seq and len(ids) >= len(seq) and tuple(ids[-len(seq) :]) == tuple(seq):
            return ids[: -len(seq)]
    if stop_strings:
        text = decode(ids)
        hits = [text.find(s) for s in stop_strings if s and s in text]
        if hits:
            p = min(hits)
            j = len(ids)
            while j > 0 and len(decode(ids[:j])) > p:
                j -= 1
            return ids[:j]
    return ids


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


def _call(generate: GenerateFn, reqs: list[GenRequest]) -> list[GenResult]:
    results = generate(reqs) if reqs else []
    if len(results) != len(reqs):
        raise RuntimeError(f"backend returned {len(results)} results for {len(reqs)} requests")
    return results


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
        for i, req, res in zip(active, reqs, _call(generate, reqs)):
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
        for i, res in zip(pending, _call(generate, reqs)):
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
    for i, res in zip(todo, _call(generate, reqs)):
        st = states[i]
        st.finish = res.finish_reason
        st.answer = _kept(res, stops, codec)[0]
