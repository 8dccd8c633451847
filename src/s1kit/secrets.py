"""Secrets never written: the values of secret environment variables, scrubbed from all output.

A secret is the value of an environment variable that either
- is named by an ``*_env`` option (``api_key_env: VLLM_TOKEN``): backends call
  :func:`register` when built, and the workflow lists every ``*_env`` value of the config
  in ``S1KIT_SECRET_ENV`` (comma-separated) for every job it starts; or
- has a name that looks secret (:data:`SECRET_NAME`: KEY, TOKEN, SECRET, PASSWORD,
  CREDENTIALS, AUTH, ... as a ``_``-separated word, e.g. ``HF_TOKEN``, ``DB_PASSWORD``).

:func:`scrub` replaces every such value (8 characters or more: shorter ones would also
match ordinary text) by ``[REDACTED]`` in a string, or in every string of a JSON-like
value. The kit calls it on what it writes that can carry text from outside: LLM responses
before the cache, the ledger, error messages and provenance records.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
MIN_LENGTH = 8
LIST_VAR = "S1KIT_SECRET_ENV"
# A secret-looking name: one of these words between underscores (or at either end), or
# ending in APIKEY/TOKEN. Not PWD (the working directory), not TOKENS (MAX_NEW_TOKENS).
SECRET_NAME = re.compile(
    r"(^|_)(KEY|API_?KEY|TOKEN|SECRETS?|PASSWORDS?|PASSWD|PASS|PASSPHRASE|CREDENTIALS?|CREDS?|AUTH|"
    r"BEARER|PRIVATE|COOKIE)(_|$)|(APIKEY|TOKEN)$", re.I)

_registered: set[str] = set()


def register(*names: str | None) -> None:
    """Mark environment variable names as secret for this process (``*_env`` options)."""
    _registered.update(n for n in names if n)


def env_option_names(obj: Any) -> list[str]:
    """Every string value of a key ending in ``_env`` inside a (config) mapping, recursively."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).endswith("_env") and isinstance(v, str) and v:
                out.append(v)
            else:
                out += env_option_names(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            out += env_option_names(v)
    return out


def secret_names(environ: dict[str, str] | None = None) -> set[str]:
    env = os.environ if environ is None else environ
    listed = {n.strip() for n in env.get(LIST_VAR, "").split(",") if n.strip()}
    return (_registered | listed | {n for n in env if SECRET_NAME.search(n)}) - {LIST_VAR}


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The values to scrub, longest first (so a secret containing another is replaced whole)."""
    env = os.environ if environ is None else environ
    values = {env.get(n) or "" for n in secret_names(env)}
    return sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)


def scrub(value: Any, values: Iterable[str] | None = None) -> Any:
    """``value`` with every secret replaced: a string, or the strings inside dicts/lists/tuples."""
    vals = secret_values() if values is None else list(values)
    if not vals:
        return value
    return _scrub(value, vals)


def _scrub(value: Any, vals: list[str]) -> Any:
    if isinstance(value, str):
        for v in vals:
            if v in value:
                value = value.replace(v, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(k, vals): _scrub(v, vals) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, vals) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, vals) for v in value)
    return value
