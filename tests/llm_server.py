"""A local HTTP server standing in for the LLM providers' APIs (http.server in a thread;
nothing leaves the machine). Shared by the backend, featurization and rule tests.

Run by hand (docs/llm.md, "Running the paid stages locally"): ``python tests/llm_server.py
--port 8765`` serves canned Gemini, Anthropic and OpenAI-compatible replies (``canned``)
until interrupted: a teacher trace per question, "Yes" to every grading request, MSC code
11 to every classification request.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (path, body) -> (status, reply), or None for the default reply
Route = Callable[[str, dict], "tuple[int, dict] | None"]


# Transport faults a script entry may name instead of (status, reply): what a flaky network,
# proxy or overloaded server does (s1kit.llm.http must classify each, never crash on it).
FAULTS = {
    "truncate": "200 with a content-length the body never reaches (http.client.IncompleteRead)",
    "truncate_error": "503 whose error body is cut short",
    "reset": "the connection reset (RST) before any reply",
    "close": "the connection closed before any reply (RemoteDisconnected)",
    "bad_status": "a status line that is not HTTP (BadStatusLine)",
    "hang": "headers sent, then no body until the client times out",
    "trickle": "headers sent, then one byte every 50 ms (each read succeeds; the whole takes forever)",
    "bad_json": "200 with a body that is not JSON",
    "not_object": "200 with JSON that is not an object",
}


class FakeAPI:
    """Serves scripted replies in order, then ``route(path, body)`` when given (replies chosen
    by the request, for concurrent clients), then ``default``; records every request's path,
    headers and body in ``hits``. A script entry is (status, reply), (status, reply, headers)
    or the name of a transport fault (``FAULTS``). ``echo``: strings added to every reply's
    headers (``x-echo``) and to the body of every error reply, as a leaky proxy might."""

    def __init__(self, default: dict, route: Route | None = None, port: int = 0, hang_s: float = 2.0,
                 echo: list[str] | None = None):
        self.default = default
        self.route = route
        self.script: list = []
        self.hits: list[dict] = []
        self.lock = threading.Lock()
        self.hang_s = hang_s
        self.echo = list(echo or [])
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with api.lock:  # a ThreadingHTTPServer: requests may arrive together
                    api.hits.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body})
                    scripted = api.script.pop(0) if api.script else None
                if isinstance(scripted, str):
                    return self.fault(scripted)
                routed = None if scripted or api.route is None else api.route(self.path, body)
                status, reply, *extra = scripted or routed or (200, api.default)
                if status >= 400 and api.echo:
                    reply = {**reply, "echo": " ".join(api.echo)}
                self.reply(status, json.dumps(reply).encode(), extra[0] if extra else {})

            def reply(self, status: int, data: bytes, headers: dict | None = None, length: int | None = None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data) if length is None else length))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if api.echo:
                    self.send_header("x-echo", " ".join(api.echo))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def fault(self, kind: str) -> None:
                self.close_connection = True
                data = json.dumps(api.default).encode()
                if kind == "truncate":
                    self.reply(200, data[: len(data) // 2], length=len(data))
                elif kind == "truncate_error":
                    self.reply(503, b'{"error": "overloa', length=200)
                elif kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif kind == "close":
                    pass
                elif kind == "bad_status":
                    self.wfile.write(b"GARBAGE\r\n\r\n")
                elif kind in ("hang", "trickle"):
                    self.reply(200, b"", length=len(data))
                    end = time.monotonic() + api.hang_s
                    while time.monotonic() < end:
                        time.sleep(0.05)
                        if kind == "trickle":
                            try:
                                self.wfile.write(b" ")
                                self.wfile.flush()
                            except OSError:
                                return
                elif kind == "bad_json":
                    self.reply(200, b"<html>502 Bad Gateway</html>")
                elif kind == "not_object":
                    self.reply(200, b'["not", "an", "object"]')
                else:
                    raise ValueError(f"unknown fault {kind!r}; known: {sorted(FAULTS)}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True  # a hanging reply never blocks close()
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
