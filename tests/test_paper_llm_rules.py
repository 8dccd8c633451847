"""The paper config's paid stages through the real Snakemake rules, against a local server.

config/s1.yaml as it is, plus an override that points every backend's ``base_url`` at a
local HTTP server speaking Gemini's and Anthropic's wire formats (``llm_server.FakeAPI``;
nothing leaves the machine) and takes the official prompt files from
../shared/data/s1-official. Rules run: distill_traces (Gemini teacher), fetch_official,
distill_grade (Claude grader with the official prompt, math-verify agreement) and
featurize_domains (Claude MSC classifier): the same CLI, client and HTTP code as against
the real APIs. The providers' own behaviour (their tokenizers, prompt-cache hits, real
rate limits) cannot be tested here, only our side of the wire.

The server-backed tests are marked ``e2e`` (two Snakemake runs, about 20 s; `make test-fast`
skips them); the replay tests are fast. Not run: the Qwen2.5-7B/32B attempts
(featurize_attempts, featurize_grade_attempts) and featurize_merge, which need the models
on vLLM and a GPU.

Also: the replay teacher on fixtures in the published formats (simplescaling/s1K:
``thinking_trajectories`` as a list of strings, ``attempt``; simplescaling/s1K-1.1:
``gemini_*`` / ``deepseek_*`` columns), through ``s1kit distill`` and the distill rule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from llm_server import FakeAPI, canned

from s1kit.distill import TRACE_SCHEMA
from s1kit.features.domains import SYSTEM_PROMPT
from s1kit.records import QUESTION_SCHEMA, make_question, read_jsonl, read_table, write_table

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO.parent / "shared" / "data" / "s1-official"
OFFICIAL_REPO = REPO.parent / "shared" / "official-s1"  # the offline mirror of config `official`
COMMIT = "77272c6e925d610257a50b520bad15330b513389"

TEACHER = "gemini-2.0-flash-thinking"  # config/s1.yaml distill.teacher
GEMINI_MODEL = "gemini-2.0-flash-thinking-exp-1219"
JUDGE = "claude-3-5-sonnet-20241022"
GEMINI_KEY = "AIza-SENTINEL-gemini-0123456789"
ANTHROPIC_KEY = "sk-ant-SENTINEL-0123456789abcdef"

# Pool questions and the server's scripted answers: the teacher's thinking and attempt (None:
# cut off by MAX_TOKENS with thoughts only), the judge's verdict, the classifier's reply.
CASES = [
    {"question": "Find the remainder when $2^{100}$ is divided by $7$.", "solution": "2",
     "thinking": "2^3 = 8 = 1 (mod 7), so 2^100 = (2^3)^33 * 2 = 2 (mod 7).",
     "attempt": "The remainder is $\\boxed{2}$.", "verdict": "The attempt's answer 2 matches.\nYes",
     "msc": "Modular arithmetic.\n11", "correct": True, "code": "11", "domain": "Number theory"},
    {"question": "In how many ways can 5 distinct books be arranged on a shelf?", "solution": "120",
     "thinking": "Permutations of 5 objects: 5! = 120.", "attempt": "There are $\\boxed{120}$ arrangements.",
     "verdict": "5! = 120, as the answer.\nYes", "msc": "Counting arrangements.\n**05**",
     "correct": True, "code": "05", "domain": "Combinatorics"},
    {"question": "Evaluate $\\int_0^3 x^2 \\, dx$.", "solution": "9",
     "thinking": "The antiderivative is x^3/3... I will take x^3 at 3.", "attempt": "$\\boxed{27}$",
     "verdict": "The attempt forgot to divide by 3.\nNo", "msc": "A definite integral of a real function.\n26",
     "correct": False, "code": "26", "domain": "Real functions"},
    {"question": "A stone is dropped from rest from a height of 20 m. Taking g = 10 m/s^2, how long does it "
                 "take to reach the ground?", "solution": "2 s",
     "thinking": "h = g t^2 / 2, so t = sqrt(2h/g) = 2.", "attempt": "It takes $\\boxed{2}$ seconds.",
     "verdict": "The units are missing, I cannot decide.\nMaybe", "msc": "Free fall.\n70",
     "correct": None, "code": "70", "domain": "Mechanics of particles and systems"},
    {"question": "Prove that there are infinitely many primes of the form 4k+3.", "solution": None,
     "thinking": "Suppose finitely many, p_1..p_n; consider N = 4 p_1 ... p_n - 1.",
     "attempt": "N has a prime factor 3 mod 4 outside the list: a contradiction.", "verdict": None,
     "msc": "Primes in progressions.\n11", "correct": None, "code": "11", "domain": "Number theory"},
    {"question": "Find all real x with x^4 - 4x^3 + 6x^2 - 4x + 1 = 0.", "solution": "x = 1",
     "thinking": "This is (x-1)^4 ... let me expand it again, and again, and", "attempt": None,
     "verdict": None, "msc": "Polynomial equations.\n99", "correct": None, "code": None, "domain": None},
]
RETRIED = 1  # the teacher's first try on CASES[1] gets a 503 (echoing the key), then succeeds


def find_case(text: str) -> dict:
    for case in CASES:
        if case["question"] in text:
            return case
    raise AssertionError(f"unexpected prompt: {text[:200]}")


def route(grading_prompt: str):
    """The server's replies, chosen by the request (the rules' clients send concurrently)."""
    failed_once: set[int] = set()

    def reply(path: str, body: dict) -> tuple[int, dict]:
        if path == f"/v1beta/models/{GEMINI_MODEL}:generateContent":
            case = find_case(body["contents"][-1]["parts"][0]["text"])
            i = CASES.index(case)
            if i == RETRIED and i not in failed_once:
                failed_once.add(i)
                return 503, {"error": {"code": 503, "message": f"overloaded (key {GEMINI_KEY})"}}
            parts = [{"text": case["thinking"], "thought": True}]
            if case["attempt"] is not None:
                parts.append({"text": case["attempt"]})
            return 200, {"candidates": [{"content": {"role": "model", "parts": parts},
                                         "finishReason": "STOP" if case["attempt"] is not None else "MAX_TOKENS"}],
                         "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10,
                                           "thoughtsTokenCount": 50 + i}}
        if path == "/v1/messages":
            system = body["system"][0]["text"]
            user = body["messages"][-1]["content"]
            case = find_case(user)
            if system == grading_prompt:
                text = case["verdict"]
            elif system.startswith(SYSTEM_PROMPT):
                text = case["msc"]
            else:
                raise AssertionError(f"unexpected system prompt: {system[:200]}")
            return 200, {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                         "usage": {"input_tokens": 300, "output_tokens": 20, "cache_read_input_tokens": 1500}}
        return 404, {"error": f"no route {path}"}

    return reply


def snakemake(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The paper config, then the test's override (Snakemake merges them key by key)."""
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    # targets before --configfile, which takes every word after it
    cmd = [exe, *args, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "1",
           "--configfile", str(REPO / "config" / "s1.yaml"), str(workdir / "override.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted((workdir / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{proc.stderr[-4000:]}\n{logs}")
    return proc


def base_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env["S1KIT_CACHE_DIR"] = str(workdir / "llm-cache")  # outside results/, inside the scanned workdir
    return env


def write_pool(workdir: Path, cases: list[dict]) -> list[dict]:
    qs = [make_question(c["question"], "test/paper-rules", "math", "math", solution=c["solution"]) for c in cases]
    write_table(workdir / "results" / "data" / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    return qs


DISTILL = f"results/distill/{TEACHER}"
TARGETS = [f"{DISTILL}/traces.parquet", f"{DISTILL}/grades.parquet", "results/features/domains.parquet"]
OUTPUTS = [f"{DISTILL}/{f}" for f in ("traces.parquet", "ledger.jsonl", "grades.parquet", "grades.ledger.jsonl",
                                      "grades.agreement.json")] + \
          ["results/features/domains.parquet", "results/features/domains.ledger.jsonl"]


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """Both runs: the first against the server, the second (outputs deleted, cache kept) from the cache."""
    if not (OFFICIAL / "msc.json").exists() or not (OFFICIAL_REPO / "data/msc.json").exists():
        pytest.skip("../shared/data/s1-official or ../shared/official-s1 absent")
    wd = tmp_path_factory.mktemp("paper_llm")
    qs = write_pool(wd, CASES)
    api = FakeAPI(default={}, route=route((OFFICIAL / "grading.txt").read_text(encoding="utf-8")))
    override = {
        "distill": {"options": {"base_url": api.url}},
        "featurize": {
            "grader": {"llm": {"options": {"base_url": api.url}}},
            "domains": {"llm": {"options": {"base_url": api.url}}},
        },
        "official": {"mirror": str(OFFICIAL_REPO)},
    }
    (wd / "override.yaml").write_text(yaml.safe_dump(override))
    env = dict(base_env(wd), GEMINI_API_KEY=GEMINI_KEY, ANTHROPIC_API_KEY=ANTHROPIC_KEY)
    try:
        snakemake(wd, *TARGETS, env=env)
        first = {p: (wd / p).read_bytes() for p in OUTPUTS}
        hits_first = list(api.hits)
        for p in OUTPUTS:
            (wd / p).unlink()
        rerun = snakemake(wd, *TARGETS, env=env)
        yield {"wd": wd, "qs": qs, "api": api, "hits": hits_first, "first": first, "rerun": rerun}
    finally:
        api.close()


def hits_to(hits: list[dict], path_part: str) -> list[dict]:
    return [h for h in hits if path_part in h["path"]]


def io_bytes(data: bytes) -> pa.BufferReader:
    return pa.BufferReader(data)


# The five tests below share two Snakemake runs of the paper config (about 20 s on 2 cores).
paper = pytest.mark.e2e


@paper
def test_distill_traces_from_the_gemini_wire_format(paper_run):
    qs = paper_run["qs"]
    traces = pq.read_table(io_bytes(paper_run["first"][f"{DISTILL}/traces.parquet"]))
    assert traces.schema.names == TRACE_SCHEMA.names
    rows = traces.to_pylist()
    assert [r["id"] for r in rows] == [q["id"] for q in qs] and {r["teacher"] for r in rows} == {TEACHER}
    for r, case in zip(rows, CASES):
        assert r["thinking"] == case["thinking"]
        if case["attempt"] is None:  # MAX_TOKENS: recorded as a truncated failure, thoughts kept
            assert r["finish_reason"] == "length" and r["error"].startswith("truncated") and r["attempt"] == ""
        else:
            assert (r["attempt"], r["finish_reason"], r["error"]) == (case["attempt"], "stop", None)
        assert json.loads(r["usage"])["reasoning_tokens"] == 50 + CASES.index(case)
    gem = hits_to(paper_run["hits"], ":generateContent")
    assert len(gem) == len(CASES) + 1  # one 503, retried
    for h in gem:
        assert h["headers"]["x-goog-api-key"] == GEMINI_KEY
        # distill.params {}: no generation settings, as data/gemini.py:24 (generate_content) sends none
        # (includeThoughts is how the REST API returns the thinking part the SDK's model gave)
        assert h["body"]["generationConfig"] == {"thinkingConfig": {"includeThoughts": True}}
        assert h["body"]["contents"][0]["role"] == "user" and "systemInstruction" not in h["body"]
    ledger = [json.loads(line) for line in paper_run["first"][f"{DISTILL}/ledger.jsonl"].decode().splitlines()]
    assert [x["id"] for x in ledger] == [q["id"] for q in qs]
    assert [x["tries"] for x in ledger] == [2 if i == RETRIED else 1 for i in range(len(CASES))]
    assert not any(x["cached"] for x in ledger) and [x["ok"] for x in ledger] == [c["attempt"] is not None
                                                                               for c in CASES]
    assert {x["backend"] for x in ledger} == {f"gemini@{paper_run['api'].url}"}  # never the real API's cache keys


@paper
def test_teacher_grades_with_the_official_prompt(paper_run):
    qs = paper_run["qs"]
    grades = pq.read_table(io_bytes(paper_run["first"][f"{DISTILL}/grades.parquet"]))
    assert grades.schema.names == ["id", "model", "correct", "reason"]
    rows = grades.to_pylist()
    assert [r["id"] for r in rows] == [q["id"] for q in qs] and {r["model"] for r in rows} == {TEACHER}
    assert [r["correct"] for r in rows] == [c["correct"] for c in CASES]
    reasons = [r["reason"] for r in rows]
    assert reasons[:3] == [None] * 3
    assert reasons[3].startswith("invalid: unparsable verdict") and "Maybe" in reasons[3]
    assert reasons[4].startswith("no solution") and reasons[5] == "attempt unfinished (length): not sent"
    official = (OFFICIAL / "grading.txt").read_text(encoding="utf-8")
    sent = [h for h in hits_to(paper_run["hits"], "/v1/messages") if h["body"]["system"][0]["text"] == official]
    assert len(sent) == 4  # no solution / truncated attempt: not sent
    for h in sent:
        case = find_case(h["body"]["messages"][0]["content"])
        assert h["headers"]["x-api-key"] == ANTHROPIC_KEY and h["headers"]["anthropic-version"] == "2023-06-01"
        assert h["body"]["model"] == JUDGE and h["body"]["max_tokens"] == 8192
        assert h["body"]["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert h["body"]["messages"][0]["content"] == (f"## Problem\n{case['question']}\n\n## Attempt\n"
                                                       f"{case['attempt']}\n\n## Correct answer\n{case['solution']}")
    ledger = [json.loads(x) for x in paper_run["first"][f"{DISTILL}/grades.ledger.jsonl"].decode().splitlines()]
    assert [x["id"] for x in ledger] == [q["id"] for q in qs[:4]]
    assert [x["ok"] for x in ledger] == [True, True, True, False]
    assert all(x["usage"]["cache_read_input_tokens"] == 1500 for x in ledger)
    # math-verify beside the judge: both say yes on 2, no on 1 (27 vs 9)
    rep = json.loads(paper_run["first"][f"{DISTILL}/grades.agreement.json"])
    assert (rep["rows"], rep["compared"], rep["both_yes"], rep["both_no"], rep["disagree"]) == (6, 3, 2, 1, 0)


@paper
def test_msc_domains_with_the_official_rubric(paper_run):
    qs = paper_run["qs"]
    dom = pq.read_table(io_bytes(paper_run["first"]["results/features/domains.parquet"]))
    assert dom.schema.names == ["id", "domain", "domain_code", "reason"]
    rows = dom.to_pylist()
    assert [r["id"] for r in rows] == [q["id"] for q in qs]
    assert [r["domain_code"] for r in rows] == [c["code"] for c in CASES]
    assert [r["domain"] for r in rows] == [c["domain"] for c in CASES]
    assert rows[-1]["reason"] == "invalid: code '99' is not in the MSC rubric"
    sent = [h for h in hits_to(paper_run["hits"], "/v1/messages")
            if h["body"]["system"][0]["text"].startswith(SYSTEM_PROMPT)]
    assert len(sent) == len(CASES)
    systems = {h["body"]["system"][0]["text"] for h in sent}
    assert systems == {SYSTEM_PROMPT}  # config/s1.yaml rubric_in: user, the official layout
    users = sorted(h["body"]["messages"][0]["content"] for h in sent)
    assert [u.split("\n\n## Classification rubrics\n")[0] for u in users] == sorted(
        f"## Question\n{c['question']}" for c in CASES)
    assert len({u.split("\n\n## Classification rubrics\n")[1] for u in users}) == 1  # the 61-code rubric
    ledger = [json.loads(x) for x in paper_run["first"]["results/features/domains.ledger.jsonl"].decode().splitlines()]
    assert [x["id"] for x in ledger] == [q["id"] for q in qs] and [x["ok"] for x in ledger] == [True] * 5 + [False]
    wd = paper_run["wd"]
    for name in ("grading.txt", "msc.json"):  # fetch_official: copied from official.mirror, checksum verified
        got = wd / "resources/official/simplescaling/s1" / COMMIT / "data" / name
        assert got.read_bytes() == (OFFICIAL_REPO / "data" / name).read_bytes()


@paper
def test_rerun_without_outputs_is_free(paper_run):
    """Outputs deleted, cache kept: the rules run again and the server sees no request."""
    wd = paper_run["wd"]
    out = paper_run["rerun"].stdout + paper_run["rerun"].stderr
    for rule in ("distill_traces", "distill_grade", "featurize_domains"):
        assert f"rule {rule}" in out or f"localrule {rule}" in out
    assert len(paper_run["api"].hits) == len(paper_run["hits"])
    for p in OUTPUTS:
        if p.endswith(".parquet"):
            assert read_table(wd / p).equals(pq.read_table(io_bytes(paper_run["first"][p]))), p
        elif p.endswith(".jsonl"):
            again = read_jsonl(wd / p)
            assert again and all(x["cached"] and x["cost_usd"] == 0 for x in again), p
        else:
            assert (wd / p).read_bytes() == paper_run["first"][p]


@paper
def test_no_api_key_in_any_file(paper_run):
    """The server echoed the Gemini key in a 503 body; neither key is in any file written."""
    wd = paper_run["wd"]
    files = [p for p in wd.rglob("*") if p.is_file()]
    assert any(p.parent.name == "llm-cache" for p in files) and any(".snakemake" in p.parts for p in files)
    for p in files:
        data = p.read_bytes()
        assert GEMINI_KEY.encode() not in data and ANTHROPIC_KEY.encode() not in data, p


# ---- a local OpenAI-compatible server (vLLM / sglang) for every paid stage -------------


@paper
def test_paper_stages_on_a_local_openai_compatible_server(tmp_path):
    """docs/llm.md's overlay for a local vLLM/sglang server (here: the canned test server speaking
    the OpenAI chat format): teacher, grader and classifier all on it, no key sent."""
    if not (OFFICIAL / "msc.json").exists() or not (OFFICIAL_REPO / "data/msc.json").exists():
        pytest.skip("../shared/data/s1-official or ../shared/official-s1 absent")
    qs = write_pool(tmp_path, CASES)
    api = FakeAPI(default={}, route=canned)
    local = {"base_url": f"{api.url}/v1", "api_key_env": None}
    override = {
        "distill": {"teacher": "r1-local", "backend": "openai_compat", "model": "deepseek-ai/DeepSeek-R1",
                    "options": local, "params": {"max_output_tokens": None, "max_tokens": 32768},
                    "llm": {"rpm": None}},
        "featurize": {
            "grader": {"llm": {"backend": "openai_compat", "model": "Qwen/Qwen2.5-72B-Instruct", "options": local}},
            "domains": {"llm": {"backend": "openai_compat", "model": "Qwen/Qwen2.5-72B-Instruct", "options": local}},
        },
        "official": {"mirror": str(OFFICIAL_REPO)},
    }
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))
    env = dict(base_env(tmp_path), OPENAI_API_KEY=ANTHROPIC_KEY)  # set, yet never sent to a local server
    try:
        snakemake(tmp_path, "results/distill/r1-local/grades.parquet", "results/features/domains.parquet", env=env)
    finally:
        api.close()
    assert {h["path"] for h in api.hits} == {"/v1/chat/completions"}
    assert not any("authorization" in h["headers"] for h in api.hits)
    teacher = [h for h in api.hits if h["body"]["model"] == "deepseek-ai/DeepSeek-R1"]
    assert len(teacher) == len(CASES)
    for h in teacher:  # the overlay's null removed the Gemini-only parameter
        assert set(h["body"]) == {"model", "messages", "max_tokens"} and h["body"]["max_tokens"] == 32768
    traces = read_table(tmp_path / "results/distill/r1-local/traces.parquet").to_pylist()
    assert [r["thinking"] for r in traces] == [f"Let me think about: {c['question'][:80]}" for c in CASES]
    assert {r["attempt"] for r in traces} == {"Answer: 42"}
    grades = read_table(tmp_path / "results/distill/r1-local/grades.parquet").to_pylist()
    assert [r["correct"] for r in grades] == [c["solution"] is not None or None for c in CASES]
    dom = read_table(tmp_path / "results/features/domains.parquet").to_pylist()
    assert [r["domain_code"] for r in dom] == ["11"] * len(CASES) and [r["id"] for r in dom] == [q["id"] for q in qs]
    assert len(api.hits) == len(CASES) + 5 + len(CASES)  # 5 questions have a solution


# ---- replay: the published traces as a teacher ------------------------------------------


def s1k_11_fixture(path: Path, cases: list[dict]) -> None:
    """A few rows in simplescaling/s1K-1.1's schema (its dataset card's columns, all strings)."""
    cols = ["solution", "question", "cot_type", "source_type", "metadata", "gemini_thinking_trajectory",
            "gemini_attempt", "deepseek_thinking_trajectory", "deepseek_attempt", "gemini_grade",
            "gemini_grade_reason", "deepseek_grade", "deepseek_grade_reason"]
    rows = [{"solution": c["solution"], "question": c["question"], "cot_type": "math",
             "source_type": "qfq/openaimath/Number Theory", "metadata": "{'level': 5}",
             "gemini_thinking_trajectory": f"gemini: {c['thinking']}", "gemini_attempt": f"gemini: {c['attempt']}",
             "deepseek_thinking_trajectory": f"r1: {c['thinking']}", "deepseek_attempt": f"r1: {c['attempt']}",
             "gemini_grade": "Yes", "gemini_grade_reason": "ok", "deepseek_grade": "Yes",
             "deepseek_grade_reason": "ok"} for c in cases]
    pq.write_table(pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in cols}), path)


def test_replay_s1k_format_through_cli(tmp_path, monkeypatch):
    """simplescaling/s1K's layout (thinking_trajectories: list of str) -> traces, via `s1kit distill`."""
    from s1kit.cli import main

    cases = CASES[:3]
    qs = write_pool(tmp_path, cases + [{"question": "Not in the published set?", "solution": "1"}])
    fixture = tmp_path / "s1K.parquet"
    pq.write_table(pa.table({
        "solution": pa.array([c["solution"] for c in cases], pa.string()),
        # the second published question carries a trailing newline: matched without it
        "question": pa.array([c["question"] + ("\n" if i == 1 else "") for i, c in enumerate(cases)], pa.string()),
        "cot_type": pa.array(["math"] * 3, pa.string()),
        "source_type": pa.array(["qfq/openaimath/Algebra"] * 3, pa.string()),
        "metadata": pa.array(["{}"] * 3, pa.string()),
        "cot": pa.array([None] * 3, pa.null()),
        "thinking_trajectories": pa.array([[c["thinking"], "Second part."] for c in cases], pa.list_(pa.string())),
        "attempt": pa.array([c["attempt"] for c in cases], pa.string()),
    }), fixture)
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "cache"))
    out, ledger = tmp_path / "traces.parquet", tmp_path / "ledger.jsonl"
    assert main(["distill", "--pool", str(tmp_path / "results/data/pool.parquet"), "--teacher", "s1K",
                 "--backend", "replay", "--options-json", json.dumps({"path": str(fixture)}),
                 "--out-traces", str(out), "--out-ledger", str(ledger)]) == 0
    rows = read_table(out).to_pylist()
    assert [r["id"] for r in rows] == [q["id"] for q in qs]
    for r, c in zip(rows, cases):
        assert (r["thinking"], r["attempt"], r["finish_reason"]) == (f"{c['thinking']}\nSecond part.", c["attempt"],
                                                                     "stop")
    assert (rows[3]["finish_reason"], rows[3]["error"]) == ("error", "not in replay set")
    assert [x["ok"] for x in read_jsonl(ledger)] == [True, True, True, False]
    assert not (tmp_path / "cache").exists()  # replay is free and local: never cached


def test_replay_s1k_11_format_through_the_distill_rule(tmp_path):
    """simplescaling/s1K-1.1's DeepSeek columns as the teacher, through Snakemake's distill rule
    under the paper config (no server, no key: replay never touches the network)."""
    cases = CASES[:4]
    qs = write_pool(tmp_path, cases)
    fixture = tmp_path / "s1K-1.1.parquet"
    s1k_11_fixture(fixture, cases[:3])
    override = {"distill": {"teacher": "s1K-1.1-r1", "backend": "replay", "model": None, "params": {},
                            "options": {"path": str(fixture), "thinking_column": "deepseek_thinking_trajectory",
                                        "attempt_column": "deepseek_attempt"}}}
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))
    snakemake(tmp_path, "results/distill/s1K-1.1-r1/traces.parquet", env=base_env(tmp_path))
    rows = read_table(tmp_path / "results/distill/s1K-1.1-r1/traces.parquet").to_pylist()
    assert [r["id"] for r in rows] == [q["id"] for q in qs] and {r["teacher"] for r in rows} == {"s1K-1.1-r1"}
    for r, c in zip(rows[:3], cases):
        assert (r["thinking"], r["attempt"], r["finish_reason"]) == (f"r1: {c['thinking']}", f"r1: {c['attempt']}",
                                                                     "stop")
    assert (rows[3]["finish_reason"], rows[3]["error"]) == ("error", "not in replay set")
    ledger = read_jsonl(tmp_path / "results/distill/s1K-1.1-r1/ledger.jsonl")
    assert [x["backend"] for x in ledger] == ["replay"] * 4 and not (tmp_path / "llm-cache").exists()


def test_replay_list_attempts_and_empty_rows(tmp_path):
    """DeepSeek's columns were lists in an early s1K-1.1 revision; a row with no trace is a failure."""
    from s1kit.llm import Request
    from s1kit.llm.replay import ReplayBackend

    path = tmp_path / "early.parquet"
    pq.write_table(pa.table({"question": ["Q1", "Q2"],
                             "deepseek_thinking_trajectory": [["a", "b"], None],
                             "deepseek_attempt": [["A"], None]}), path)
    be = ReplayBackend(str(path), thinking_column="deepseek_thinking_trajectory", attempt_column="deepseek_attempt")
    r = be.complete(Request(model="m", messages=({"role": "user", "content": "Q1"},)))
    assert (r.reasoning, r.text, r.ok) == ("a\nb", "A", True)
    empty = be.complete(Request(model="m", messages=({"role": "user", "content": " Q2 "},)))
    assert (empty.ok, empty.error) == (False, "empty in replay set")


def test_cache_ids_follow_the_base_url():
    """A test server or proxy must never answer from (or into) the real API's cache entries."""
    from s1kit.llm.anthropic import AnthropicBackend
    from s1kit.llm.gemini import GeminiBackend

    assert GeminiBackend().cache_id == "gemini" and AnthropicBackend().cache_id == "anthropic"
    assert GeminiBackend(base_url="http://127.0.0.1:9/").cache_id == "gemini@http://127.0.0.1:9"
    assert AnthropicBackend(base_url="http://127.0.0.1:9").cache_id == "anthropic@http://127.0.0.1:9"
