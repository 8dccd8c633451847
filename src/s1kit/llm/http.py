"""A small JSON-over-HTTP helper (stdlib urllib) shared by the API backends.

Every transport failure is classified, never raised as anything else:
:class:`TransientError` (the client retries it with capped backoff, then records a
failure) for HTTP 408, 409, 425, 429 and 5xx, timeouts (also a server that sends its
headers and then hangs or trickles: ``timeout`` bounds the whole body), connection resets
and refusals, TLS and DNS errors, bodies cut short (``http.client.IncompleteRead``) and
replies that are not a JSON object; :class:`PermanentError` for the other HTTP errors
(400, 404, ...); :class:`CredentialError` for HTTP 401 and 403 and for a key that is
missing or malformed (:func:`env_key`): the client stops the stage on it and never caches
it. Messages carry the status and a snippet of the body, never the request headers (where
the key lives); the body is scrubbed of secrets (s1kit.secrets) before it is cut, so no
key is kept as a prefix.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from s1kit.secrets import key_problem, register, scrub

RETRY_STATUS = frozenset({408, 409, 425, 429})  # and every 5xx
AUTH_STATUS = frozenset({401, 403})  # the key is refused: no other request can do better
CHUNK = 1 << 16
SNIPPET_READ = 1 << 20  # at most this much of an error body is read (and scrubbed whole, then cut)


class TransientError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    pass


class CredentialError(ValueError):
    """The key is missing, malformed or refused (HTTP 401/403): every other request would fail
    the same way, so the client stops the stage at once and caches nothing. A ValueError, so
    the CLI reports it as a one-line error naming the variable (exit status 2)."""


def env_key_named(*names: str) -> tuple[str, str]:
    """(variable, value) of the first non-empty environment variable among names. A missing
    key, or one with whitespace or control characters (a secrets file's trailing newline),
    is a CredentialError naming the variable, raised before any request. The names become
    secrets of this process (s1kit.secrets): their values are never written."""
    register(*names)
    for name in names:
        value = os.environ.get(name)
        if value:
            problem = key_problem(value)
            if problem:
                raise CredentialError(f"environment variable {name}: not a usable API key: {problem}; "
                                      "set it to the key alone")
            return name, value
    raise CredentialError(f"no API key: set the environment variable {' or '.join(names)}")


def env_key(*names: str) -> str:
    """The value of :func:`env_key_named`."""
    return env_key_named(*names)[1]


def snippet(text: str, limit: int) -> str:
    """``text`` scrubbed of secrets, then cut to ``limit`` characters: a key is never kept cut."""
    return scrub(text)[:limit]


def transient_status(code: int) -> bool:
    return code in RETRY_STATUS or code >= 500


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _read_body(resp: Any, deadline: float, where: str, timeout: float) -> bytes:
    """The whole body, in chunks, before ``deadline`` (request start + timeout): a server that
    sends its headers and then trickles bytes cannot hold the client forever."""
    chunks = []
    while True:
        if time.monotonic() > deadline:
            raise TransientError(f"timeout after {timeout}s reading the body from {where}")
        chunk = resp.read1(CHUNK)  # what has arrived: the deadline is checked between reads
        if not chunk:
            break
        chunks.append(chunk)
    body = b"".join(chunks)
    # read1 returns what came before the connection closed without raising IncompleteRead: check
    expected = resp.headers.get("content-length") if resp.headers else None
    if expected and expected.isdigit() and len(body) < int(expected):
        raise http.client.IncompleteRead(body, int(expected) - len(body))
    return body


def _error_snippet(e: urllib.error.HTTPError) -> str:
    try:
        return snippet(e.read(SNIPPET_READ).decode("utf-8", "replace"), 500)
    except Exception as exc:  # noqa: BLE001 - the error body itself may be cut short or time out
        return f"(body unreadable: {type(exc).__name__})"


def _refused(code: int, where: str, key_env: str | None, key_sent: bool, body: str) -> CredentialError:
    if key_env and key_sent:
        who = f"the key in {key_env} was refused"
    elif key_env:
        who = f"the server wants a key and none was sent: set the environment variable {key_env}"
    else:
        who = "the server wants a key and none was sent: set the backend's api_key_env option (and that variable)"
    return CredentialError(f"HTTP {code} from {where}: {who}; no further request is sent "
                           f"and nothing is cached. Server said: {body}")


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float,
              key_env: str | None = None, key_sent: bool = True) -> dict[str, Any]:
    """POST ``body`` as JSON; the reply as a JSON object, or TransientError / PermanentError /
    CredentialError (HTTP 401 or 403; ``key_env`` is the variable the key comes from, and
    ``key_sent`` whether it was sent: the message says which to fix)."""
    where = url.split("?")[0]
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"content-type": "application/json", **headers})
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = _read_body(resp, deadline, where, timeout)
    except urllib.error.HTTPError as e:
        body_snippet = _error_snippet(e)
        if e.code in AUTH_STATUS:
            raise _refused(e.code, where, key_env, key_sent, body_snippet) from None
        msg = f"HTTP {e.code} from {where}: {body_snippet}"
        if transient_status(e.code):
            raise TransientError(msg, _retry_after(e.headers)) from None
        raise PermanentError(msg) from None
    except http.client.IncompleteRead as e:
        raise TransientError(f"truncated body from {where}: {len(e.partial)} bytes read, "
                             f"{e.expected if e.expected is not None else 'more'} missing") from None
    except (TimeoutError, socket.timeout) as e:
        raise TransientError(f"timeout after {timeout}s from {where}: {e}") from None
    except urllib.error.URLError as e:  # DNS, TLS, refused: urllib wraps them
        raise TransientError(f"connection error to {where}: {type(e.reason).__name__}: {e.reason}") from None
    except (http.client.HTTPException, OSError) as e:  # resets, bad status lines, TLS errors mid-read
        raise TransientError(f"connection error to {where}: {type(e).__name__}: {e}") from None
    try:
        reply = json.loads(raw)
    except ValueError:
        text = raw[:SNIPPET_READ].decode("utf-8", "replace")
        raise TransientError(f"unparsable JSON from {where}: {snippet(text, 200)!r}") from None
    if not isinstance(reply, dict):
        raise TransientError(f"unexpected JSON from {where}: a {type(reply).__name__}, not an object")
    return reply
