"""Anthropic Messages API, with prompt caching of the shared system prefix.

POST ``{base_url}/v1/messages``. ``Request.system`` (the grading prompt, the MSC rubric)
is sent as a list of one text block with ``cache_control: {"type": "ephemeral"}``, so
that thousands of calls sharing it pay full price for it once per cache lifetime.
``thinking`` blocks (extended thinking) become the reasoning; ``text`` blocks the answer.
``max_tokens`` is required by the API: ``params["max_tokens"]`` or ``max_tokens`` here.
Key: ANTHROPIC_API_KEY (or ``api_key_env``). A base URL other than Anthropic's (a proxy, a
local test server) is part of the cache key.
"""

from __future__ import annotations

from typing import Any

from s1kit.llm.base import Request, Response
from s1kit.llm.http import PermanentError, env_key, post_json, snippet

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
DEFAULT_URL = "https://api.anthropic.com"


class AnthropicBackend:
    name = "anthropic"

    def __init__(self, base_url: str = DEFAULT_URL, api_key_env: str = "ANTHROPIC_API_KEY",
                 max_tokens: int = 4096, timeout: float = 600.0, cache_system: bool = True,
                 version: str = "2023-06-01"):
        self.base_url = base_url.rstrip("/")
        # Another base URL (a proxy, the local test server) gets its own cache keys (see gemini.py).
        self.cache_id = self.name if self.base_url == DEFAULT_URL else f"{self.name}@{self.base_url}"
        self.api_key_env = api_key_env
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.cache_system = cache_system
        self.version = version

    def body(self, request: Request) -> dict[str, Any]:
        # A None param is unset (a config overlay cannot delete a key), as in the cache key.
        params = {k: v for k, v in request.params.items() if v is not None}
        body: dict[str, Any] = {"max_tokens": self.max_tokens, **params, "model": request.model,
                                "messages": [dict(m) for m in request.messages]}
        if request.system:
            block: dict[str, Any] = {"type": "text", "text": request.system}
            if self.cache_system:
                block["cache_control"] = {"type": "ephemeral"}
            body["system"] = [block]
        return body

    def complete(self, request: Request) -> Response:
        headers = {"x-api-key": env_key(self.api_key_env), "anthropic-version": self.version}
        return parse(post_json(f"{self.base_url}/v1/messages", self.body(request), headers, self.timeout,
                               key_env=self.api_key_env))


def parse(data: dict[str, Any]) -> Response:
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise PermanentError(f"unexpected response shape: {snippet(str(data), 300)}")
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    thinking = [b.get("thinking", "") for b in blocks if b.get("type") == "thinking"]
    u = data.get("usage") or {}
    usage = {k: int(u[k]) for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                                    "cache_read_input_tokens") if u.get(k)}
    sr = data.get("stop_reason") or "end_turn"
    finish = FINISH.get(sr, "error")
    return Response(text=text, reasoning="\n".join(thinking) if thinking else None, finish_reason=finish,
                    usage=usage, error=None if finish != "error" else f"stop_reason {sr}")
