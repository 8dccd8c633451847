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
    if err.validator == "maxLength" and isinstance(err.instance, str):  # the message would quote it all
        return [f"{_where(err.absolute_path)}: {len(err.instance):,} characters (limit {err.validator_value:,})"]
    if err.validator in ("anyOf", "oneOf") and err.context:  # what the closest alternative wanted
        from jsonschema.exceptions import best_match  # heavy: jsonschema, only to explain a config error

        best = best_match(err.context)
        return [f"{_where(best.absolute_path)}: {_short(best.message)}"]
    return [f"{_where(err.absolute_path)}: {_short(err.message)}"]


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every problem of ``config`` against ``schema``, one line each, in key order (first the
    sizes: an alias bomb is reported alone, before anything walks it)."""
    from jsonschema.validators import validator_for  # heavy: jsonschema, only when a config is validated

    bomb = alias_errors(config)
    if bomb:  # validation would walk it too
        return bomb
    cls = validator_for(schema)
    errors = sorted(cls(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return list(dict.fromkeys(size_errors(config) + [line for err in errors for line in _line(err)]))


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


# ---- sizes: alias bombs and giant values (issue #21, item 8) ----------------------------------
# YAML aliases are legitimate (one llm block shared by two stages), but each one is expanded
# wherever the config is walked (Snakemake's merge, validation, JSON for a job): nine levels
# of nine aliases are 387 million values and a silent hang. Strings are bounded so a value
# can never outgrow a job's command line (Linux: 128 KiB per argument, about 2 MiB in all).
MAX_VALUES = 100_000  # values of the config with every alias expanded (config/s1.yaml: ~1,700)
MAX_STRING_CHARS = 65_536  # one string value or key


def expanded_size(node: Any, _memo: dict[int, int] | None = None) -> int:
    """Values in ``node`` with shared (aliased) containers counted at every place they occur;
    linear in the distinct containers (memoized by identity), however far aliases expand."""
    memo = {} if _memo is None else _memo
    if not isinstance(node, (dict, list)):
        return 1
    if id(node) not in memo:
        memo[id(node)] = 0  # a cycle (not possible from YAML mappings Snakemake merges) counts once
        children = node.values() if isinstance(node, dict) else node
        memo[id(node)] = 1 + sum(expanded_size(c, memo) for c in children)
    return memo[id(node)]


def _biggest(node: Any, path: tuple = ()) -> tuple:
    """Key path of the innermost container that still holds more than MAX_VALUES expanded values."""
    memo: dict[int, int] = {}
    while isinstance(node, (dict, list)):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        big = next(((k, v) for k, v in items if expanded_size(v, memo) > MAX_VALUES), None)
        if big is None:
            break
        path, node = (*path, big[0]), big[1]
    return path


def alias_errors(config: Any) -> list[str]:
    """Alias expansion over MAX_VALUES, one line naming the innermost key over it."""
    total = expanded_size(config)
    if total <= MAX_VALUES:
        return []
    return [f"{_where(_biggest(config))}: YAML aliases expand to {total:,} values (limit {MAX_VALUES:,}); "
            "an alias bomb? write the values out or share fewer levels"]


def size_errors(config: Mapping[str, Any]) -> list[str]:
    """Strings (values or keys) over MAX_STRING_CHARS; walks every value, so only for a config
    that alias_errors passed."""
    lines: list[str] = []

    def walk(node: Any, path: tuple) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(key, str) and len(key) > MAX_STRING_CHARS:
                lines.append(f"{_where(path)}: a key of {len(key):,} characters (limit {MAX_STRING_CHARS:,})")
                continue
            if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
                lines.append(f"{_where((*path, key))}: {len(value):,} characters (limit {MAX_STRING_CHARS:,}; "
                             "pass a large text as a file path)")
            walk(value, (*path, key))

    walk(config, ())
    return lines


def yaml_file_errors(path: str | Path) -> list[str]:
    """Alias expansion of a config file, measured on its YAML node graph (yaml.compose shares an
    aliased node, so this is linear) before Snakemake merges the file, which expands every alias
    of a mapping. A file that is not YAML is left to Snakemake's own message."""
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"))  # nodes only: no object is built
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return []
    memo: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if isinstance(node, yaml.ScalarNode):
            return 1
        if id(node) not in memo:
            memo[id(node)] = 0
            kids = [v for kv in node.value for v in kv] if isinstance(node, yaml.MappingNode) else node.value
            memo[id(node)] = 1 + sum(size(k) for k in kids)
        return memo[id(node)]

    total = size(root) if root is not None else 0
    if total <= MAX_VALUES:
        return []
    keys, node = [], root  # descend to the innermost node still over the limit: where the bomb is
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        pairs = node.value if isinstance(node, yaml.MappingNode) else list(enumerate(node.value))
        big = next(((k, v) for k, v in pairs if size(v) > MAX_VALUES), None)
        if big is None:
            break
        keys.append(big[0].value if isinstance(big[0], yaml.ScalarNode) else str(big[0]))
        node = big[1]
    where = ".".join(keys) or "(top level)"
    return [f"config file {path}, line {node.start_mark.line + 1} ({where}): YAML aliases expand to {total:,} "
            f"values (limit {MAX_VALUES:,}); an alias bomb? write the values out or share fewer levels"]


def check_config_files(paths: list[str | Path]) -> None:
    """Raise :class:`ConfigError` for a config file whose aliases expand past MAX_VALUES."""
    lines = [line for p in paths for line in yaml_file_errors(p)]
    if lines:
        raise ConfigError("\n".join(lines))


# ---- --config values typed as in a config file (issue #21, item 5) ---------------------------
# Snakemake reads a nested --config value with YAML's base loader: every scalar is a string, so
# `--config 'llm={max_cost_usd: 200}'` gave '200' and the schema refused it. The workflow reads
# each KEY=VALUE argument again as a config file is read (quotes respected: "3" stays a
# string), then types a string the schema refuses where it accepts the typed value.


def _resolve(node: Any, root: Mapping[str, Any]) -> dict:
    """A subschema with a local ``$ref`` (#/$defs/x) merged in; {} (anything) for a missing one."""
    node = dict(node) if isinstance(node, Mapping) else {}
    ref = node.pop("$ref", None)
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node = {**_resolve(target, root), **node}
    return node


def _branches(node: dict, root: Mapping[str, Any]) -> list[dict]:
    alts = node.get("anyOf") or node.get("oneOf") or []
    return [node] + [_resolve(a, root) for a in alts]


def _child(node: dict, key: Any, root: Mapping[str, Any]) -> dict:
    for branch in _branches(node, root):
        props = branch.get("properties") or {}
        if key in props:
            return _resolve(props[key], root)
        if isinstance(branch.get("additionalProperties"), Mapping):
            return _resolve(branch["additionalProperties"], root)
    return {}


def _items(node: dict, root: Mapping[str, Any]) -> dict:
    for branch in _branches(node, root):
        if isinstance(branch.get("items"), Mapping):
            return _resolve(branch["items"], root)
    return {}


def _yaml_scalar(text: str) -> Any:
    """What ``text`` means as a YAML scalar in a config file: int, float, bool, None, or itself."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if value is None or isinstance(value, (bool, int, float)) else text


def coerce_strings(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """``value`` with each string that ``schema`` (at that key path) refuses typed as a YAML
    scalar (int, float, bool, null), where the schema accepts that. Returns a new structure."""
    from jsonschema.validators import validator_for  # heavy: jsonschema, only when a config is validated

    root = schema if root is None else root
    node = _resolve(schema, root)
    if isinstance(value, dict):
        return {k: coerce_strings(v, _child(node, k, root), root) for k, v in value.items()}
    if isinstance(value, list):
        item = _items(node, root)
        return [coerce_strings(v, item, root) for v in value]
    if not isinstance(value, str):
        return value
    typed = _yaml_scalar(value)
    if isinstance(typed, str):
        return value
    check = validator_for(root)({**node, "$defs": root.get("$defs", {})})
    return value if check.is_valid(value) else typed  # an invalid typed value: its error reads better (-5 < 0)


def command_line_values(args: list[str], parsed: Mapping[str, Any]) -> dict:
    """The --config KEY=VALUE ``args`` read as YAML is read from a config file, merged in order
    as Snakemake merges them; an argument YAML cannot read keeps Snakemake's value (``parsed``)."""
    from snakemake.utils import update_config  # heavy: snakemake, only when the Snakefile types --config values

    out: dict = {}
    for arg in args:
        key, _, text = str(arg).partition("=")
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            value = parsed.get(key)
        update_config(out, {key: value})
    return out


def command_line_config(config: dict, settings: Any, schema_path: str | Path) -> None:
    """Type the --config values in place (Snakemake's ``settings.config``), and in ``config`` and
    ``settings.overwrite_config``, which Snakemake merges again after each config file. Jobs
    that parse the Snakefile again get the same raw arguments, hence the same values."""
    from snakemake.utils import update_config  # heavy: snakemake, only when the Snakefile types --config values

    cli = getattr(settings, "config", None)
    if not cli:
        return
    bomb = alias_errors(cli)
    if bomb:  # what follows walks every value
        raise ConfigError("--config: " + bomb[0])
    values = command_line_values(list(getattr(settings, "config_args", None) or []), cli)
    if set(values) != set(cli) or alias_errors(values):  # arguments not as expected: Snakemake's reading
        values = dict(cli)
    typed = coerce_strings(values, yaml.safe_load(Path(schema_path).read_text(encoding="utf-8")))
    cli.clear()
    cli.update(typed)
    for target in (getattr(settings, "overwrite_config", None), config):
        if target is not None:
            update_config(target, typed)
