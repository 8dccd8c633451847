"""The controller protocol: what a budget-forcing runner, its backends and its config share.

A backend is any callable ``generate(requests: Sequence[GenRequest]) -> list[GenResult]``:
each request carries its prompt token ids, its own ``max_new_tokens``, stop token-id
sequences, stop strings, sampling parameters and a ``key`` that stays the same for one
request across rounds (a backend may use it to keep that request's KV cache). A result is
the sampled ids, the matched stop included, and ``finish_reason`` "stop" or "length".
``hf_generate.HFGenerator`` and ``models.vllm_generate`` implement it; tests use scripted fakes.

A runner (``Runner``: ``budget.run_kit``, ``fork.run_fork``) turns prompts, a ``BudgetConfig``,
a backend and a ``Codec`` into one ``BudgetRecord`` per prompt; ``semantics.py`` picks it.

``BudgetConfig.from_gen_kwargs`` reads the official fork's gen-kwarg names, so command lines port::

    max_tokens_thinking=auto,thinking_n_ignore=2,thinking_n_ignore_str=Wait,max_gen_toks=32768

- ``thinking_start`` ("<|im_start|>think") is appended to the prompt; thinking stops at
  ``until_thinking`` ("<|im_start|>", which begins ``thinking_end``), ``until_thinking_2``,
  ``thinking_end`` itself, the task's ``until`` and eos.
- ``max_tokens_thinking``: the thinking budget, an int or "auto" (each runner says what
  "auto" leaves; budget.py, fork.py). 0 closes the thinking at once.
- ``thinking_n_ignore=N``: the first N times thinking stops (delimiter or eos), the stop is
  dropped, ``thinking_n_ignore_str`` is appended and thinking goes on.
- ``rejection_sample=true``: sample the thinking again until its length is within
  [``rejection_sample_min``, ``max_tokens_thinking``], at most ``rejection_sample_max_tries``.
- ``max_gen_toks``: the answer's token limit.
- ``<name>_thinking`` overrides sampling parameter ``<name>`` while thinking
  (``temperature_thinking``, ``top_p_thinking``, ``min_tokens_thinking`` ...).
- With no thinking key at all, generation is plain (one call, no delimiters), as in the fork.

What a gen kwarg means when it is absent, and how ``do_sample`` is read, is the semantics'
(``GenDefaults``, one per semantics in ``semantics.SEMANTICS``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

AUTO = "auto"
STOP, LENGTH = "stop", "length"
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default answer length

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


# --------------------------------------------------------------------------- backend


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


def call_backend(generate: GenerateFn, reqs: list[GenRequest]) -> list[GenResult]:
    """``generate(reqs)``, skipped when there is nothing to ask; one result per request or RuntimeError."""
    results = generate(reqs) if reqs else []
    if len(results) != len(reqs):
        raise RuntimeError(f"backend returned {len(results)} results for {len(reqs)} requests")
    return results


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


# --------------------------------------------------------------------------- config


def as_bool(key: str, value: Any) -> bool:
    """A gen kwarg as a boolean (true/false, 1/0, as strings too); ValueError names ``key``."""
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
class GenDefaults:
    """What a semantics assumes where a gen kwarg is absent, and how it reads ``do_sample``."""

    sampling: Callable[[dict[str, Any], Any], dict[str, Any]]  # (sampling kwargs, do_sample) -> sampling
    budget: Callable[[int], int | str]  # max_gen_toks -> max_tokens_thinking
    n_ignore: int | None  # thinking_n_ignore (None: the "Wait" block does not run)
    n_ignore_str: str  # thinking_n_ignore_str
    max_tries: int  # rejection_sample_max_tries


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
    max_gen_toks: int = field(default=DEFAULT_MAX_GEN_TOKS, metadata={"help": "answer token limit"})
    sampling: Mapping[str, Any] = field(default_factory=dict, metadata={"help": "answer sampling"})
    sampling_thinking: Mapping[str, Any] = field(default_factory=dict, metadata={"help": "thinking sampling"})
    rejection_sample: bool = field(default=False, metadata={"help": "resample thinking until it fits"})
    rejection_sample_min: int = field(default=0, metadata={"help": "shortest accepted thinking"})
    rejection_sample_max_tries: int = field(default=64, metadata={"help": "cap on tries per request"})
    auto_answer_room: int = field(default=100, metadata={"help": '"auto" leaves this many tokens to answer'})
    semantics: str = field(kw_only=True, metadata={"help": "the semantics that built it (semantics.SEMANTICS)"})

    def __post_init__(self) -> None:
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
        cls, gen_kwargs: Mapping[str, Any], semantics: str, rules: GenDefaults, default_max_gen_toks: int,
        eos: str | None,
    ) -> BudgetConfig:
        """Split lm-eval gen kwargs into control settings and sampling parameters; ``rules``
        are the defaults and the ``do_sample`` rule of ``semantics`` (``Semantics.budget_config``)."""
        kw = dict(gen_kwargs)
        until = list(_as_strings(kw.pop("until", None)))
        if eos and eos not in until:
            until.append(eos)
        # Same aliases and priority as lm-eval's normalize_gen_kwargs.
        sizes = [kw.pop(k, None) for k in ("max_gen_toks", "max_new_tokens", "max_tokens")]
        max_gen_toks = next((s for s in sizes if s is not None), default_max_gen_toks)
        do_sample = kw.pop("do_sample", None)
        thinking = any("thinking" in k for k in kw) or as_bool("rejection_sample", kw.get("rejection_sample", False))

        ctrl = {k: kw.pop(k) for k in _CONTROL_KEYS if k in kw}
        sampling_thinking = {k[: -len(_SUFFIX)]: kw.pop(k) for k in list(kw) if k.endswith(_SUFFIX)}
        stray = [k for k in kw if "thinking" in k]
        if stray:
            raise ValueError(f"unknown thinking gen kwargs {stray}; expected {list(_CONTROL_KEYS)} or <name>_thinking")
        sampling = rules.sampling(dict(kw), do_sample)
        max_gen_toks = _as_int("max_gen_toks", max_gen_toks)

        budget = ctrl.get("max_tokens_thinking", rules.budget(max_gen_toks))
        if not (isinstance(budget, str) and budget.lower() == AUTO):
            budget = _as_int("max_tokens_thinking", budget)
        else:
            budget = AUTO
        until_thinking = _as_strings(ctrl.get("until_thinking", "<|im_start|>")) + _as_strings(
            ctrl.get("until_thinking_2")
        )
        defaults = cls(semantics=semantics)
        return cls(
            thinking=thinking,
            thinking_start=str(ctrl.get("thinking_start", defaults.thinking_start)),
            thinking_end=str(ctrl.get("thinking_end", defaults.thinking_end)),
            max_tokens_thinking=budget,
            thinking_n_ignore=(
                None if "thinking_n_ignore" not in ctrl and rules.n_ignore is None
                else _as_int("thinking_n_ignore", ctrl.get("thinking_n_ignore", rules.n_ignore))
            ),
            thinking_n_ignore_str=str(ctrl.get("thinking_n_ignore_str", rules.n_ignore_str)),
            until_thinking=until_thinking,
            until=tuple(until),
            max_gen_toks=max_gen_toks,
            sampling=sampling,
            sampling_thinking={**sampling, **sampling_thinking},
            rejection_sample=as_bool("rejection_sample", ctrl.get("rejection_sample", False)),
            rejection_sample_min=_as_int("rejection_sample_min", ctrl.get("rejection_sample_min", 0)),
            rejection_sample_max_tries=_as_int(
                "rejection_sample_max_tries", ctrl.get("rejection_sample_max_tries", rules.max_tries), minimum=1
            ),
            auto_answer_room=_as_int("auto_answer_room", ctrl.get("auto_answer_room", 100)),
            semantics=semantics,
        )


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


# prompts, cfg, generate, codec, context_length, eos_ids -> one record per prompt, in order
Runner = Callable[[Sequence[Sequence[int]], BudgetConfig, GenerateFn, Codec, int, Sequence[int]], list[BudgetRecord]]
