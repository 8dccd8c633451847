"""Google Gemini ``generateContent`` (REST, no SDK), thinking separated from the answer.

POST ``{base_url}/v1beta/models/{model}:generateContent`` with the key in the
``x-goog-api-key`` header (never in the URL, so it cannot leak into an error message).
Parts with ``thought: true`` are the reasoning, the other text parts the answer; thoughts
are requested with ``thinkingConfig.includeThoughts``. Params: ``max_tokens`` (or the
SDK's ``max_output_tokens``) -> ``maxOutputTokens``, ``temperature``, ``top_p`` -> ``topP``,
``seed``, ``thinking_budget`` -> ``thinkingConfig.thinkingBudget``; others pass into
``generationConfig`` unchanged. Key: GEMINI_API_KEY or GOOGLE_API_KEY. A base URL other
than Google's (a proxy, a local test server) is part of the cache key.
"""

from __future__ import annotations

from typing import Any

from s1kit.llm.base import Request, Response
from s1kit.llm.http import PermanentError, env_key_named, post_json, snippet

FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
RENAME = {"max_tokens": "maxOutputTokens", "max_output_tokens": "maxOutputTokens", "top_p": "topP", "top_k": "topK",
          "stop": "stopSequences"}
DEFAULT_URL = "https://generativelanguage.googleapis.com"


class GeminiBackend:
    name = "gemini"

    def __init__(self, base_url: str = DEFAULT_URL,
                 api_key_env: str | None = None, timeout: float = 600.0, include_thoughts: bool = True):
        self.base_url = base_url.rstrip("/")
        # Another base URL (a proxy, the local test server) is another teacher: its answers must
        # never be served from the cache for the real API. The default keeps the plain name.
        self.cache_id = self.name if self.base_url == DEFAULT_URL else f"{self.name}@{self.base_url}"
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.include_thoughts = include_thoughts

    def body(self, request: Request) -> dict[str, Any]:
        # A None param is unset (a config overlay cannot delete a key), as in the cache key.
        params = {k: v for k, v in request.params.items() if v is not None}
        thinking: dict[str, Any] = {"includeThoughts": True} if self.include_thoughts else {}
        if "thinking_budget" in params:
            thinking["thinkingBudget"] = params.pop("thinking_budget")
        gen = {RENAME.get(k, k): v for k, v in params.items()}
        if thinking:
            gen["thinkingConfig"] = thinking
        contents = [{"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
                    for m in request.messages]
        body: dict[str, Any] = {"contents": contents, "generationConfig": gen}
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        return body

    def complete(self, request: Request) -> Response:
        names = (self.api_key_env,) if self.api_key_env else ("GEMINI_API_KEY", "GOOGLE_API_KEY")
        key_env, key = env_key_named(*names)
        url = f"{self.base_url}/v1beta/models/{request.model}:generateContent"
        return parse(post_json(url, self.body(request), {"x-goog-api-key": key}, self.timeout, key_env=key_env))


def parse(data: dict[str, Any]) -> Response:
    u = data.get("usageMetadata") or {}
    usage = {"input_tokens": int(u.get("promptTokenCount") or 0),
             "output_tokens": int(u.get("candidatesTokenCount") or 0) + int(u.get("thoughtsTokenCount") or 0)}
    if u.get("thoughtsTokenCount"):
        usage["reasoning_tokens"] = int(u["thoughtsTokenCount"])
    cands = data.get("candidates")
    if not cands:
        block = (data.get("promptFeedback") or {}).get("blockReason")
        if block:
            return Response(text="", reasoning=None, finish_reason="error", usage=usage, error=f"blocked: {block}")
        raise PermanentError(f"unexpected response shape: {snippet(str(data), 300)}")
    cand = cands[0]
    parts = (cand.get("content") or {}).get("parts") or []
    thoughts = [p.get("text", "") for p in parts if p.get("thought")]
    text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    fr = cand.get("finishReason") or "STOP"
    finish = FINISH.get(fr, "error")
    return Response(text=text, reasoning="".join(thoughts) if thoughts else None, finish_reason=finish,
                    usage=usage, error=None if finish != "error" else f"finishReason {fr}")
