"""OpenAI-compatible chat completions: DeepSeek-R1's API, OpenRouter, a local vLLM/sglang server.

POST ``{base_url}/chat/completions``. The reasoning is separated from the answer:
``message.reasoning_content`` (DeepSeek, vLLM/sglang with a reasoning parser),
``message.reasoning`` (OpenRouter), or a leading ``<think>...</think>`` in the content
(a server without a reasoning parser). The key comes from the environment variable named
by ``api_key_env`` (default OPENAI_API_KEY); a local server may need none
(``api_key_env: null``).
"""

from __future__ import annotations

import os
from typing import Any

from s1kit.llm.base import Request, Response
from s1kit.llm.http import PermanentError, env_key, post_json, snippet

FINISH = {"stop": "stop", "length": "length"}


class OpenAICompatBackend:
    name = "openai_compat"

    def __init__(self, base_url: str = "https://api.openai.com/v1", api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 600.0, extra_body: dict[str, Any] | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.extra_body = dict(extra_body or {})
        # Different servers may serve different weights under one model name.
        self.cache_id = f"{self.name}@{self.base_url}"

    def body(self, request: Request) -> dict[str, Any]:
        messages = ([{"role": "system", "content": request.system}] if request.system else []) \
            + [dict(m) for m in request.messages]
        # A None param is unset (a config overlay cannot delete a key), as in the cache key.
        params = {k: v for k, v in request.params.items() if v is not None}
        return {**self.extra_body, **params, "model": request.model, "messages": messages}

    def complete(self, request: Request) -> Response:
        headers = {}
        if self.api_key_env:
            if self.base_url.startswith(("http://127.0.0.1", "http://localhost")) and not os.environ.get(self.api_key_env):
                pass  # a local server without auth (a 401 then says that no key was sent)
            else:
                headers["authorization"] = f"Bearer {env_key(self.api_key_env)}"
        data = post_json(f"{self.base_url}/chat/completions", self.body(request), headers, self.timeout,
                         key_env=self.api_key_env, key_sent=bool(headers))
        return parse(data)


def parse(data: dict[str, Any]) -> Response:
    try:
        choice = data["choices"][0]
        msg = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise PermanentError(f"unexpected response shape: {snippet(str(data), 300)}") from None
    text = msg.get("content") or ""
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if reasoning is None and text.lstrip().startswith("<think>") and "</think>" in text:
        head, _, text = text.partition("</think>")
        reasoning = head.lstrip()[len("<think>"):].strip()
        text = text.strip()
    u = data.get("usage") or {}
    usage = {"input_tokens": int(u.get("prompt_tokens") or 0), "output_tokens": int(u.get("completion_tokens") or 0)}
    rt = (u.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if rt:
        usage["reasoning_tokens"] = int(rt)
    fr = choice.get("finish_reason") or "stop"
    finish = FINISH.get(fr, "error")
    return Response(text=text, reasoning=reasoning, finish_reason=finish, usage=usage,
                    error=None if finish != "error" else f"finish_reason {fr}")
