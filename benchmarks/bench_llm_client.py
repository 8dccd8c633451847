"""The cached LLM client against a rate-limited local server: throughput and cache-hit overhead.

A local OpenAI-compatible server (http.server in a thread, 127.0.0.1 only) enforces a rate
limit of --server-rpm with a token bucket (burst 1: requests closer than 60/rpm seconds get
429 with Retry-After) and answers after --latency seconds. The kit's CachedClient, with the
same rpm from its config and --workers threads, sends --requests distinct requests through
the real openai_compat backend; then the same requests again, all served from the cache.

Prints: sustained throughput as a share of the server's limit (issue #4: at least 95%),
429s seen, and the cache-hit overhead per call (at most 1 ms).

    .venv/bin/python benchmarks/bench_llm_client.py
    .venv/bin/python benchmarks/bench_llm_client.py --server-rpm 600 --requests 300 --workers 16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class LimitedServer:
    def __init__(self, rpm: float, latency: float):
        self.interval, self.latency = 60.0 / rpm, latency
        self.next_free = 0.0
        self.ok = self.rejected = 0
        self.lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                now = time.monotonic()
                with srv.lock:
                    # a small tolerance for scheduling jitter, as real limiters allow
                    allowed = now >= srv.next_free - 0.2 * srv.interval
                    if allowed:
                        srv.next_free = max(now, srv.next_free) + srv.interval
                        srv.ok += 1
                    else:
                        srv.rejected += 1
                        wait = srv.next_free - now
                if not allowed:
                    return self._send(429, {"error": {"message": "rate limited"}}, {"retry-after": f"{wait:.3f}"})
                time.sleep(srv.latency)
                text = body["messages"][-1]["content"]
                self._send(200, {"choices": [{"message": {"content": f"echo {text}"}, "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

            def _send(self, status, reply, headers=None):
                data = json.dumps(reply).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-rpm", type=float, default=600)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.3, help="server seconds per answered request")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["S1KIT_CACHE_DIR"] = str(Path(tmp) / "cache")
        from s1kit.llm import Request, make_client

        server = LimitedServer(a.server_rpm, a.latency)
        reqs = [Request(model="bench", messages=({"role": "user", "content": f"question {i}"},))
                for i in range(a.requests)]

        def client():
            return make_client("openai_compat", {"base_url": server.url, "api_key_env": None},
                               rpm=a.server_rpm, max_retries=5, ledger_path=Path(tmp) / "ledger.jsonl")

        c = client()
        t0 = time.perf_counter()
        out = c.complete_many(reqs, workers=a.workers, progress=False)
        elapsed = time.perf_counter() - t0
        assert all(r.ok for r in out), [r.error for r in out if not r.ok][:3]
        # n requests evenly spaced at the limit take (n - 1) intervals: the ideal span
        ideal = (a.requests - 1) * 60.0 / a.server_rpm + a.latency
        rpm = a.requests / elapsed * 60
        print(f"{a.requests} requests, {a.workers} workers, server limit {a.server_rpm:.0f} rpm, "
              f"latency {a.latency * 1000:.0f} ms")
        print(f"sustained: {rpm:.0f} rpm = {100 * ideal / elapsed:.1f}% of the limit "
              f"({elapsed:.1f} s; ideal {ideal:.1f} s); 429s from the server: {server.rejected}")

        c2 = client()
        per_call = []
        for r in reqs:
            t = time.perf_counter()
            resp = c2.complete(r)
            per_call.append(time.perf_counter() - t)
            assert resp.ok
        print(f"cache hits: {len(per_call)} calls, median {1000 * statistics.median(per_call):.3f} ms, "
              f"p95 {1000 * sorted(per_call)[int(0.95 * len(per_call))]:.3f} ms per call "
              f"(new client, cache read from disk; server calls during replay: {server.ok - a.requests})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
