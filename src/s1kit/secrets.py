"""Secrets never written: the values of secret environment variables, scrubbed from all output.

A secret is the value of an environment variable that either
- is named by an ``*_env`` option (``api_key_env: VLLM_TOKEN``): backends call
  :func:`register` when built, and the workflow lists every ``*_env`` value of the config
  in ``S1KIT_SECRET_ENV`` (comma-separated) for every job it starts; or
- has a name that looks secret (:data:`SECRET_NAME`: KEY, TOKEN, SECRET, PASSWORD,
  CREDENTIALS, AUTH, ... as a ``_``-separated word, e.g. ``HF_TOKEN``, ``DB_PASSWORD``).

:func:`scrub` replaces every such value (8 characters or more: shorter ones would also
match ordinary text) by ``[REDACTED]`` in a string, or in every string of a JSON-like
value, in every encoding a server or an error message may give it (:func:`encodings`:
raw and stripped of surrounding whitespace, Python repr and ascii, JSON-escaped,
URL-encoded, HTML-escaped, base64 at any alignment, so also inside ``user:key`` Basic
auth, UTF-8 read as Latin-1), and a prefix of 8 or more characters of any of these
where a text ends (a key cut at the end of an error snippet). The kit calls it on what
it writes that can carry text from outside: LLM responses before the cache, the ledger,
error messages and provenance records.

:func:`key_problem` says why an API key value cannot be sent (whitespace, control or
other non-printable characters: a secrets file's trailing newline); the backends refuse
such a key before any request, naming the variable (s1kit.llm.http.env_key).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import re
import urllib.parse
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


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be an API key sent in an HTTP header, else None. Names the bad
    character by its escape and position only: the message must not carry the key."""
    for i, ch in enumerate(value, 1):
        if ch.isspace() or not ch.isprintable():
            return (f"it has {ascii(ch)} at character {i} of {len(value)} (whitespace or a control "
                    "character; a trailing newline from a secrets file?)")
        if ord(ch) > 0xFF:
            return f"character {i} of {len(value)} is outside Latin-1 and cannot be sent in an HTTP header"
    return None


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend only on ``raw``, at each of the three byte alignments
    it can have inside a longer encoded string (``user:key`` Basic auth, a JSON blob)."""
    out = set()
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw).decode()
        core = enc[-(-8 * pad // 6):(8 * (pad + len(raw))) // 6]
        out |= {core, core.replace("+", "-").replace("/", "_")}
    return out


@functools.lru_cache(maxsize=64)
def encodings(value: str) -> tuple[str, ...]:
    """Every form of ``value`` to scrub (longest first): as it is and stripped of surrounding
    whitespace, then each of those Python-repr'd, ascii()'d, as bytes repr, JSON-escaped
    (ASCII or not, ``\\/`` too), URL-encoded (either case of hex digits), HTML-escaped,
    base64 (standard and URL-safe) and UTF-8 misread as Latin-1; and each of these once more
    JSON-escaped or repr'd. Only forms of 8+ characters."""
    forms: set[str] = set()
    for v in {value, value.strip()}:
        if len(v) < MIN_LENGTH:
            continue
        utf8 = v.encode("utf-8", "surrogatepass")
        js = json.dumps(v)[1:-1]
        url = urllib.parse.quote(v, safe="")
        forms |= {v, repr(v)[1:-1], ascii(v)[1:-1], repr(utf8)[2:-1], js, json.dumps(v, ensure_ascii=False)[1:-1],
                  js.replace("/", "\\/"), url, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), url),
                  urllib.parse.quote(v), urllib.parse.quote_plus(v), html.escape(v),
                  utf8.decode("latin-1"), *_base64_cores(utf8)}
        try:
            forms.add(repr(v.encode("latin-1"))[2:-1])  # as urllib sends a header value
        except UnicodeEncodeError:
            pass
    # One level deeper: each of these inside a JSON string or a Python repr (a proxy's JSON
    # error quoting the upstream's JSON error; ``str(dict)`` of a reply).
    forms |= {g for f in forms for g in (json.dumps(f)[1:-1], json.dumps(f, ensure_ascii=False)[1:-1], repr(f)[1:-1])}
    return tuple(sorted((f for f in forms if len(f) >= MIN_LENGTH), key=lambda f: (-len(f), f)))


# What may follow a key cut at the end of a text: closing quotes and brackets, an ellipsis,
# a replacement character (a UTF-8 sequence cut in two), whitespace.
_CUT_TAIL = re.compile(r"""[\s'"`)\]}>.,;…\ufffd]*\Z""")


def _cut_prefix_end(text: str, form: str, start: int) -> int | None:
    """The end of the prefix of ``form`` found at ``start`` when that prefix is where ``text``
    ends (see _CUT_TAIL), else None."""
    end = start + MIN_LENGTH
    while end < len(text) and end - start < len(form) and text[end] == form[end - start]:
        end += 1
    return end if _CUT_TAIL.match(text, end) else None


def _scrub_cut(text: str, forms: tuple[str, ...]) -> str:
    for f in forms:
        head = f[:MIN_LENGTH]
        i = text.find(head)
        while i != -1:
            end = _cut_prefix_end(text, f, i)
            if end is not None:
                text = text[:i] + REDACTED + text[end:]
                break  # the text ends here: no later occurrence can be a cut one
            i = text.find(head, i + 1)
    return text


def scrub(value: Any, values: Iterable[str] | None = None) -> Any:
    """``value`` with every secret replaced: a string, or the strings inside dicts/lists/tuples."""
    vals = secret_values() if values is None else list(values)
    if not vals:
        return value
    forms = tuple(sorted({f for v in vals for f in encodings(v)}, key=lambda f: (-len(f), f)))
    return _scrub(value, forms)


def _scrub(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for f in forms:
            if f in value:
                value = value.replace(f, REDACTED)
        return _scrub_cut(value, forms)
    if isinstance(value, dict):
        return {_scrub(k, forms): _scrub(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, forms) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, forms) for v in value)
    return value
