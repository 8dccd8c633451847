"""A small JSON-over-HTTP helper (stdlib urllib) shared by the API backends.

429, 5xx, timeouts and connection errors raise :class:`TransientError` (the client retries
them with capped backoff); other HTTP errors raise :class:`PermanentError`. Messages carry
the status and a snippet of the body, never the request headers (where the key lives).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from typing import Any


class TransientError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    pass


def env_key(*names: str) -> str:
    """The first non-empty environment variable among names; a clear error if none is set."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    raise PermanentError(f"no API key: set the environment variable {' or '.join(names)}")


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        snippet = e.read()[:500].decode("utf-8", "replace")
        msg = f"HTTP {e.code} from {url.split('?')[0]}: {snippet}"
        if e.code == 429 or e.code >= 500:
            retry_after = e.headers.get("retry-after") if e.headers else None
            try:
                ra = float(retry_after) if retry_after else None
            except ValueError:
                ra = None
            raise TransientError(msg, ra) from None
        raise PermanentError(msg) from None
    except (TimeoutError, socket.timeout) as e:
        raise TransientError(f"timeout after {timeout}s from {url.split('?')[0]}: {e}") from None
    except urllib.error.URLError as e:
        raise TransientError(f"connection error to {url.split('?')[0]}: {e.reason}") from None
    except (ConnectionError, OSError) as e:
        raise TransientError(f"connection error to {url.split('?')[0]}: {e}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise TransientError(f"unparsable JSON from {url.split('?')[0]}: {raw[:200]!r}") from None
