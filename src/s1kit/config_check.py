"""Config validation a person can read: one line per problem, the key path, and a suggestion.

Snakemake's ``validate()`` stops at the first problem and prints the whole schema with it
(about 1,500 lines for one misspelled key). ``check_config`` runs first (common.smk) and
raises :class:`ConfigError` listing every problem as ``config <key path>: <what is wrong>``,
with ``did you mean`` for a misspelled key (difflib over the keys the schema allows there).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

MAX_MESSAGE = 160  # jsonschema quotes the whole offending value; a section would fill the screen


class ConfigError(ValueError):
    """The config breaks its schema; the message holds one line per problem."""


def _where(path: Any) -> str:
    keys = ".".join(str(p) for p in path)
    return f"config {keys}" if keys else "config (top level)"


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _unknown_keys(err: Any) -> list[str]:
    """One line per key that additionalProperties: false rejects, with the closest allowed key."""
    allowed = list((err.schema.get("properties") or {}))
    extra = sorted(k for k in err.instance if k not in allowed)
    lines = []
    for key in extra:
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(allowed)})"
        lines.append(f"{_where([*err.absolute_path, key])}: unknown key{hint}")
    return lines


def _line(err: Any) -> list[str]:
    if err.validator == "additionalProperties" and err.validator_value is False and isinstance(err.instance, Mapping):
        return _unknown_keys(err)
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return [f"{_where([*err.absolute_path, k])}: missing (required)" for k in missing]
    if err.validator in ("anyOf", "oneOf") and err.context:  # what the closest alternative wanted
        from jsonschema.exceptions import best_match

        best = best_match(err.context)
        return [f"{_where(best.absolute_path)}: {_short(best.message)}"]
    return [f"{_where(err.absolute_path)}: {_short(err.message)}"]


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every problem of ``config`` against ``schema``, one line each, in key order."""
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    errors = sorted(cls(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return list(dict.fromkeys(line for err in errors for line in _line(err)))


def check_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` (one line per problem) unless ``config`` satisfies the schema."""
    schema_path = Path(schema_path)
    schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    lines = config_errors(config, schema)
    if lines:
        n = len(lines)
        shown = schema_path.resolve()
        shown = shown.relative_to(Path.cwd()) if shown.is_relative_to(Path.cwd()) else shown
        raise ConfigError(f"{n} problem{'s' if n > 1 else ''} in the config (schema {shown}):\n  "
                          + "\n  ".join(lines))
