"""Compute-setting names (docs/evaluate.md, "Settings"): built from config values by
``setting_names``, read back by ``parse_setting`` into gen kwargs, the budget Control is
measured against and task metadata (arXiv 2501.19393v3 §3, Tables 3 and 4).

- ``bf-<N>``: ``max_tokens_thinking=N`` (budget forcing, maximum N thinking tokens)
- ``bf-auto``: ``max_tokens_thinking=auto`` (the context left is the budget)
- ``wait-<N>``: ``max_tokens_thinking=auto, thinking_n_ignore=N, thinking_n_ignore_str=Wait``
- ``plain``: no thinking delimiters at all (a non-thinking baseline such as Qwen2.5-Instruct)
- ``ignore-<N>-<str|none>``, ``rs-<N>``, ``tcc-<N>``, ``tccbf-<N>``, ``scc-<N>``,
  ``sccbf-<N>``, ``ccc-long``, ``ccc-short``: other strings, rejection sampling and
  conditional control
- ``kit.<setting>`` / ``fork.<setting>``: that setting under the kit's or the fork's
  semantics whatever ``--semantics`` says (docs/fidelity.md)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

_SETTING = re.compile(r"^(?:(bf)-(\d+|auto)|(wait)-(\d+)|(plain))$")
_IGNORE = re.compile(r"^ignore-(\d+)-(.+)$")
_CONTROL = re.compile(r"^(tcc|tccbf|scc|sccbf|rs)-(\d+)$")
_CLASS = re.compile(r"^ccc-(long|short)$")
_SEMANTICS_PREFIX = re.compile(r"^(kit|fork)\.(.+)$")
SETTING_HELP = ("bf-<N>, bf-auto, wait-<N>, plain, ignore-<N>-<str|none>, tcc-<N>, tccbf-<N>, scc-<N>, "
                "sccbf-<N>, ccc-long, ccc-short or rs-<N>, each optionally prefixed kit. or fork.")
# Step-conditional control + budget forcing (the official command): each step opens with
# "<|im_start|>" and its count of steps left, so thinking is stopped at "<|im_start|>0".
SCC_FORCING = {"thinking_start": "<|im_start|>", "thinking_end": "<|im_start|>answer",
               "until_thinking": "<|im_start|>0"}


@dataclass(frozen=True)
class Setting:
    """A named compute setting: its gen kwargs and the budget Control is measured against."""

    name: str
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = field(default=None, metadata={"help": "None: each request's own budget"})
    min_tokens: int | None = None
    # Reaches the task: the conditional-control prompt variants (official.py CONTROL_PROMPTS).
    task_metadata: dict[str, Any] = field(default_factory=dict)
    semantics: str | None = field(default=None, metadata={"help": "kit/fork prefix; None: --semantics"})


def _extra_setting(name: str) -> Setting | None:
    """The Table 3/4 settings: conditional control, rejection sampling, other ignore strings."""
    auto = {"max_tokens_thinking": "auto"}
    if m := _IGNORE.match(name):
        text = "" if m.group(2) == "none" else m.group(2)
        return Setting(name, {**auto, "thinking_n_ignore": int(m.group(1)), "thinking_n_ignore_str": text})
    if m := _CLASS.match(name):
        return Setting(name, auto, task_metadata={"control": f"ccc-{m.group(1)}"})
    if m := _CONTROL.match(name):
        kind, n = m.group(1), int(m.group(2))
        if n <= 0:
            raise ValueError(f"setting {name!r}: the budget must be > 0")
        if kind == "rs":  # sample (temperature 1) until the thinking fits in n tokens; tries capped
            return Setting(name, {"max_tokens_thinking": n, "rejection_sample": True, "do_sample": True,
                                  "temperature": 1.0}, max_tokens=n)
        control = {"control": kind.removesuffix("bf"), "budget": n}
        if kind == "tccbf":
            return Setting(name, {"max_tokens_thinking": n}, max_tokens=n, task_metadata=control)
        if kind == "sccbf":
            return Setting(name, {**auto, **SCC_FORCING}, task_metadata=control)
        # tcc asks for n tokens (Control measured against n); scc asks for n steps, not tokens
        return Setting(name, auto, max_tokens=n if kind == "tcc" else None, task_metadata=control)
    return None


def parse_setting(name: str) -> Setting:
    """A setting name (SETTING_HELP) -> its gen kwargs and task metadata; ValueError names a bad one."""
    if m := _SEMANTICS_PREFIX.match(name):
        inner = parse_setting(m.group(2))
        if inner.semantics is not None:
            raise ValueError(f"setting {name!r}: one kit./fork. prefix at most")
        return replace(inner, name=name, semantics=m.group(1))
    m = _SETTING.match(name)
    if not m:
        extra = _extra_setting(name)
        if extra is None:
            raise ValueError(f"unknown setting {name!r}; expected {SETTING_HELP}")
        return extra
    if m.group(1):
        value = m.group(2)
        if value == "auto":
            return Setting(name, {"max_tokens_thinking": "auto"})
        return Setting(name, {"max_tokens_thinking": int(value)}, max_tokens=int(value))
    if m.group(3):
        n = int(m.group(4))
        kw = {"max_tokens_thinking": "auto", "thinking_n_ignore": n, "thinking_n_ignore_str": "Wait"}
        return Setting(name, kw)
    return Setting(name)


def setting_names(budgets: list[int], wait: list[int], auto: bool = True) -> list[str]:
    """The settings of a sweep, in the order parse_setting reads them back."""
    return [f"bf-{b}" for b in budgets] + (["bf-auto"] if auto else []) + [f"wait-{n}" for n in wait]


def base_name(setting: str) -> str:
    """``setting`` without its kit./fork. prefix."""
    m = _SEMANTICS_PREFIX.match(setting)
    return m.group(2) if m else setting


def semantics_of_setting(setting: str, default: str) -> str:
    """The semantics a run of ``setting`` has: its kit./fork. prefix, else ``default``."""
    return parse_setting(setting).semantics or default
