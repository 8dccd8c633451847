"""Config sections -> frozen dataclasses, with errors that name the config key."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    """Build a config dataclass; unknown keys are an error naming the config section."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"config {where}: unknown key(s) {unknown}; known: {sorted(names)}")
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        allowed = _scalar_types(hints[key])
        if allowed and (not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed)):
            raise ValueError(f"config {where}.{key}: expected {hints[key]}, got {value!r}")
    return cls(**data)


def _scalar_types(hint: Any) -> tuple[type, ...]:
    """The runtime types a scalar hint admits (int counts as float, bool does not count as int);
    () for hints not checked here (containers, nested dataclasses)."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if not all(a in (int, float, str, bool, type(None)) for a in args):
        return ()
    out = set(args) | ({int} if float in args else set())
    return tuple(out)


def load_json_arg(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{flag}: invalid JSON ({e.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{flag}: expected a JSON object")
    return value
