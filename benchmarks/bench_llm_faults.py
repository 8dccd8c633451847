"""The cached LLM client against a local server that injects transport faults, with a spend cap.

A local OpenAI-compatible server (http.server in a thread, 127.0.0.1 only) answers each
try with a fault drawn from a seeded generator (``--fault-rate``, spread evenly over the
kinds below) or a good reply (100 input, 200 output tokens). Faults: a body cut short
(IncompleteRead), a connection reset, a connection closed without reply, a non-HTTP status
line, headers then silence (the client's timeout), a body that is not JSON, JSON that is
not an object, HTTP 408 / 425 / 429 / 500 / 503. The kit's CachedClient (real
openai_compat backend and urllib, ``--max-retries``, short backoff) sends ``--prompts``
unique prompts plus ``--duplicates`` repeated ones, in three runs on one cache:

1. with ``max_cost_usd`` at ``--cap-share`` of the expected dollars: it stops with
   SpendCapReached (the message is printed);
2. the same command with the cap raised: only the rest is sent;
3. again: everything comes from the cache, successes and recorded failures alike.

Prints the server's view (requests, completed replies, faults by kind) and the client's
(unique prompts, retries, failures recorded with their reasons, dollars), and the number
of prompts whose completed reply was served more than once (must be 0).

    .venv/bin/python benchmarks/bench_llm_faults.py
    .venv/bin/python benchmarks/bench_llm_faults.py --prompts 400 --fault-rate 0.3 --workers 8
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import socket
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAULTS = ("truncate", "reset", "close", "bad_status", "hang", "bad_json", "not_object",
          "408", "425", "429", "500", "503")
REPLY_USAGE = {"prompt_tokens": 100, "completion_tokens": 200}
PRICES = {"bench-model": {"input": 1.0, "output": 2.0}}  # USD per 1M tokens: $0.0005 a reply


class FaultyServer:
    def __init__(self, fault_rate: float, seed: int, hang_s: float):
        self.fault_rate, self.hang_s = fault_rate, hang_s
        self.rng = random.Random(seed)
        self.requests = 0
        self.faults: collections.Counter = collections.Counter()
        self.completed: collections.Counter = collections.Counter()  # prompt -> full 200 replies sent
        self.lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                prompt = body["messages"][-1]["content"]
                with srv.lock:
                    srv.requests += 1
                    fault = srv.rng.choice(FAULTS) if srv.rng.random() < srv.fault_rate else None
                    if fault:
                        srv.faults[fault] += 1
                reply = {"choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": f"Answer to {prompt}"}}],
                         "usage": REPLY_USAGE}
                data = json.dumps(reply).encode()
                if fault is None:
                    self._send(200, data)
                    with srv.lock:
                        srv.completed[prompt] += 1
                    return
                self.close_connection = True
                if fault.isdigit():
                    self._send(int(fault), json.dumps({"error": f"injected {fault}"}).encode(),
                               {"retry-after": "0.01"})
                elif fault == "truncate":
                    self._send(200, data[: len(data) // 2], length=len(data))
                elif fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif fault == "bad_status":
                    self.wfile.write(b"GARBAGE\r\n\r\n")
                elif fault == "hang":
                    self._send(200, b"", length=len(data))
                    time.sleep(srv.hang_s)
                elif fault == "bad_json":
                    self._send(200, b"<html>502 Bad Gateway</html>")
                elif fault == "not_object":
                    self._send(200, b"[1, 2, 3]")
                # "close": nothing at all

            def _send(self, status, data, headers=None, length=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data) if length is None else length))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=300, help="unique prompts")
    ap.add_argument("--duplicates", type=int, default=30, help="extra requests repeating earlier prompts")
    ap.add_argument("--fault-rate", type=float, default=0.3, help="share of tries answered with a fault")
    ap.add_argument("--max-retries", type=int, default=3)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=0.5, help="the backend's timeout (a hang costs this much)")
    ap.add_argument("--cap-share", type=float, default=0.4, help="first run's cap, as a share of the expected dollars")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from s1kit.llm import Request
    from s1kit.llm.cache import ResponseCache
    from s1kit.llm.client import CachedClient
    from s1kit.llm.openai_compat import OpenAICompatBackend
    from s1kit.llm.spend import SpendCapReached

    rng = random.Random(args.seed)
    prompts = [f"question {i}: what is {i} + {i}?" for i in range(args.prompts)]
    order = prompts + [rng.choice(prompts) for _ in range(args.duplicates)]
    rng.shuffle(order)
    requests = [Request(model="bench-model", messages=({"role": "user", "content": p},)) for p in order]
    expected = args.prompts * 0.0005
    server = FaultyServer(args.fault_rate, args.seed, hang_s=args.timeout * 2)
    tmp = Path(tempfile.mkdtemp(prefix="bench_llm_faults_"))
    os.environ.pop("S1KIT_LLM_MAX_COST_USD", None)

    def run(cap: float | None) -> tuple[CachedClient, list, str | None, float]:
        client = CachedClient(OpenAICompatBackend(base_url=server.url, api_key_env=None, timeout=args.timeout),
                              ResponseCache(tmp / "cache"), max_retries=args.max_retries, prices=PRICES,
                              ledger_path=tmp / "results" / "ledger.jsonl.partial", backoff_base=0.02,
                              backoff_cap=0.2, seed=args.seed, max_cost_usd=cap, where="bench.llm")
        t0 = time.perf_counter()
        try:
            out, msg = client.complete_many(requests, workers=args.workers, progress=False), None
        except SpendCapReached as e:
            out, msg = None, str(e)
        return client, out, msg, time.perf_counter() - t0

    rows = []
    try:
        for name, cap in (("1: capped", round(args.cap_share * expected, 6)), ("2: cap raised", 10 * expected),
                          ("3: rerun", 10 * expected)):
            before = server.requests
            client, out, msg, wall = run(cap)
            t = client.totals
            rows.append({"run": name, "cap_usd": cap, "http_requests": server.requests - before,
                         "answered": t["requests"], "cached": t["cached"], "new_calls": t["calls"],
                         "retries": t["retries"], "failed": t["failed"], "not_sent": t["not_sent"],
                         "new_usd": round(t["cost_usd"], 6), "wall_s": round(wall, 2)})
            if msg:
                print(f"run {name}: {msg}\n")
            last = out
    finally:
        server.close()

    def reason(error: str) -> str:  # "gave up after 4 tries: HTTP 503 from http://..." -> "HTTP 503"
        last_error = error.split(": ", 1)[-1]
        return re.split(r" (?:from|to) http| after \d", last_error)[0]

    reasons = collections.Counter(reason(r.error) for r in last if not r.ok)
    header = list(rows[0])
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(str(r[h]) for h in header))
    repeated = sum(1 for n in server.completed.values() if n > 1)
    total_usd = sum(r["new_usd"] for r in rows)
    print(f"\nunique prompts {len(set(order))} in {len(order)} requests; HTTP requests {server.requests}; "
          f"completed replies {sum(server.completed.values())}; faults injected {sum(server.faults.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(server.faults.items()))})")
    print(f"failures recorded {sum(1 for r in last if not r.ok)} of {len(last)} responses: "
          f"{', '.join(f'{k} x{v}' for k, v in sorted(reasons.items()))}")
    print(f"dollars paid {total_usd:.4f} (every unique prompt answered once: {len(server.completed) * 0.0005:.4f}); "
          f"prompts whose completed reply was served twice: {repeated}")
    return 1 if repeated else 0


if __name__ == "__main__":
    sys.exit(main())
