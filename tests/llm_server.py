"""A local HTTP server standing in for the LLM providers' APIs (http.server in a thread;
nothing leaves the machine). Shared by the backend, featurization and rule tests.

Run by hand (docs/llm.md, "Running the paid stages locally"): ``python tests/llm_server.py
--port 8765`` serves canned Gemini, Anthropic and OpenAI-compatible replies (``canned``)
until interrupted: a teacher trace per question, "Yes" to every grading request, MSC code
11 to every classification request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (path, body) -> (status, reply), or None for the default reply
Route = Callable[[str, dict], "tuple[int, dict] | None"]


class FakeAPI:
    """Serves scripted (status, json) replies in order, then ``route(path, body)`` when given
    (replies chosen by the request, for concurrent clients), then ``default``; records every
    request's path, headers and body in ``hits``."""

    def __init__(self, default: dict, route: Route | None = None, port: int = 0):
        self.default = default
        self.route = route
        self.script: list[tuple[int, dict]] = []
        self.hits: list[dict] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with api.lock:  # a ThreadingHTTPServer: requests may arrive together
                    api.hits.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body})
                    scripted = api.script.pop(0) if api.script else None
                routed = None if scripted or api.route is None else api.route(self.path, body)
                status, reply = scripted or routed or (200, api.default)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def canned(path: str, body: dict) -> tuple[int, dict]:
    """Replies by wire format: Gemini (``:generateContent``), Anthropic (``/v1/messages``),
    OpenAI-compatible (``/chat/completions``). Graders get "Yes", classifiers "11" (the MSC
    instructions ask for a two-digit code), anything else a short thinking and answer."""
    if path.endswith(":generateContent"):
        prompt = (body.get("systemInstruction") or {"parts": [{"text": ""}]})["parts"][0]["text"]
        user = body["contents"][-1]["parts"][0]["text"]
    else:
        system = body.get("system") or ""
        if isinstance(system, list):
            system = system[0]["text"]
        msgs = body.get("messages") or [{"content": ""}]
        prompt = system or "".join(m["content"] for m in msgs if m.get("role") == "system")
        user = msgs[-1]["content"]
    if "two-digit code" in prompt:
        thinking, answer = None, "A question about integers.\n11"
    elif '"Yes" or "No"' in prompt or "Yes or No" in prompt:
        thinking, answer = None, "The attempt matches the correct answer.\nYes"
    else:
        thinking, answer = f"Let me think about: {user[:80]}", "Answer: 42"
    if path.endswith(":generateContent"):
        parts = ([{"text": thinking, "thought": True}] if thinking else []) + [{"text": answer}]
        return 200, {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
                     "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 20}}
    if path.endswith("/v1/messages"):
        return 200, {"content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                     "usage": {"input_tokens": 10, "output_tokens": 5}}
    if path.endswith("/chat/completions"):
        return 200, {"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": answer, "reasoning_content": thinking}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 25}}
    return 404, {"error": f"no such endpoint: {path}"}


def main() -> None:
    import argparse
    import time

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    api = FakeAPI(default={}, route=canned, port=args.port)
    print(f"serving canned Gemini / Anthropic / OpenAI-compatible replies on {api.url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        api.close()


if __name__ == "__main__":
    main()
