"""Config -> dataclass and evaluation setting names -> generation arguments.

Setting names are built from config values, never typed by hand:
``bf-<N>`` (thinking budget N), ``bf-auto`` (budget = context minus prompt),
``nobf`` (no forcing), ``wait-<N>`` ("Wait" appended N times, budget auto).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, TypeVar

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    """Build a config dataclass; unknown keys are an error naming the config section."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"config {where}: unknown key(s) {unknown}; known: {sorted(names)}")
    return cls(**data)


def load_json_arg(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{flag}: invalid JSON ({e.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{flag}: expected a JSON object")
    return value


def setting_names(budgets: list[int], wait: list[int], auto: bool = True, nobf: bool = False) -> list[str]:
    names = [f"bf-{b}" for b in budgets] + (["bf-auto"] if auto else []) + (["nobf"] if nobf else [])
    return names + [f"wait-{n}" for n in wait]


_SETTING = re.compile(r"^(bf-(?P<budget>\d+|auto)|nobf|wait-(?P<wait>\d+))$")


def gen_kwargs(setting: str, base: dict[str, Any] | None = None, wait_str: str = "Wait") -> dict[str, Any]:
    """Generation arguments (the official names) for a setting, on top of `base`."""
    m = _SETTING.match(setting)
    if not m:
        raise ValueError(f"unknown evaluation setting {setting!r} (expected bf-<N>, bf-auto, nobf or wait-<N>)")
    kw = dict(base or {})
    if m["budget"] is not None:
        kw["max_tokens_thinking"] = m["budget"] if m["budget"] == "auto" else int(m["budget"])
        kw["thinking_n_ignore"] = 0
    elif m["wait"] is not None:
        kw["max_tokens_thinking"] = "auto"
        kw["thinking_n_ignore"] = int(m["wait"])
        kw["thinking_n_ignore_str"] = wait_str
    return kw
