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


# ---- overlay config files ---------------------------------------------------------------
# Snakemake merges `--configfile a.yaml b.yaml` key by key. For a section with a `backend`
# (distill, retrace.<name>, featurize.grader.llm, ...) that is wrong once b switches the
# backend: a's options (the oracle's error_rate) would reach the new backend and be
# refused. The options of such a section therefore start afresh at the file that switches.

SWITCHED = ("options",)  # keys that belong to one backend


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _backend_sections(node: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if not isinstance(node, dict):
        return set()
    found = {path} if "backend" in node else set()
    for key, value in node.items():
        found |= _backend_sections(value, (*path, str(key)))
    return found


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def switch_backend_options(config: dict, layers: list[dict]) -> list[str]:
    """Rebuild, in ``config`` (the merge of ``layers``, in order), the options of every section
    whose backend a later layer switches: merged only from that layer on. Returns the
    sections changed, as dotted keys."""
    changed = []
    for path in sorted(set().union(*(_backend_sections(layer) for layer in layers)) if layers else ()):
        section = _at(config, path)
        start, backend = None, None
        for i, layer in enumerate(layers):
            here = _at(layer, path)
            if isinstance(here, dict) and "backend" in here:
                if backend is not None and here["backend"] != backend:
                    start = i
                backend = here["backend"]
        if start is None or not isinstance(section, dict):
            continue
        for key in SWITCHED:
            if key not in section:
                continue
            merged: dict = {}
            for layer in layers[start:]:
                opts = (_at(layer, path) or {}).get(key)
                if isinstance(opts, dict):
                    merged = _deep_merge(merged, opts)
            section[key] = merged
        changed.append(".".join(path))
    return changed
