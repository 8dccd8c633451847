"""LLM featurization: grading with the official prompt, MSC domains, agreement, cost.

The LLM calls go through the real client code path (make_client -> CachedClient ->
AnthropicBackend / OpenAICompatBackend -> HTTP) against a local server standing in for the
API (``FakeAPI`` from test_llm_backends; nothing leaves the machine). No real provider is
reachable here, so the providers' own behaviour (their tokenizer, prompt-cache hits) is not
tested, only our side of the wire format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_llm_backends import FAKE_KEY, FakeAPI, api  # noqa: F401  (api is a fixture)

from s1kit.features.cost import CallGroup, estimate, group_usd
from s1kit.features.domains import (SYSTEM_PROMPT, classification_request, classify_domains, load_msc, parse_code,
                                    rubric_text, write_domains)
from s1kit.features.grading import agreement, agreement_files, grade, grading_request, parse_verdict
from s1kit.features.llm_jobs import LLMJob, job_from_dict
from s1kit.records import QUESTION_SCHEMA, make_question, read_jsonl, read_table, write_table

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "s1-official"
needs_official = pytest.mark.skipif(not (OFFICIAL / "msc.json").exists(), reason="../shared/data/s1-official absent")


def reply(text: str, stop: str = "end_turn", cache_read: int = 0) -> dict:
    """An Anthropic Messages API response body."""
    return {"content": [{"type": "text", "text": text}], "stop_reason": stop,
            "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": cache_read}}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("S1KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    return tmp_path


def anthropic_job(url: str, **kw) -> LLMJob:
    # workers=1: requests reach the server in input order, so scripted replies line up.
    return LLMJob(backend="anthropic", model="claude-3-5-sonnet-20241022", options={"base_url": url},
                  params={"max_tokens": 8192}, client={"workers": 1, "max_retries": 0}, **kw)


def no_secret_in(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            assert FAKE_KEY.encode() not in p.read_bytes(), p


# ---- grading ------------------------------------------------------------------------


def test_parse_verdict_last_line():
    assert parse_verdict("The attempt matches.\nYes") == (True, None)
    assert parse_verdict("Wrong value.\nNo\n") == (False, None)
    assert parse_verdict("Reasoning...\n**Yes**") == (True, None)
    assert parse_verdict("Reasoning...\nNo.") == (False, None)
    for bad in ("Yes, I think the attempt is right", "The answer: Yes\nmaybe", "", "yes\n", "Yes or No"):
        ok, why = parse_verdict(bad)
        assert ok is None and why.startswith("unparsable verdict"), bad


@needs_official
def test_grading_request_is_the_official_layout():
    prompt = (OFFICIAL / "grading.txt").read_text()
    r = grading_request("Q?", "A.", "S.", prompt, LLMJob())
    assert r.system == prompt and r.model == "claude-3-5-sonnet-20241022" and r.params == {"max_tokens": 8192}
    assert r.messages == ({"role": "user", "content": "## Problem\nQ?\n\n## Attempt\nA.\n\n## Correct answer\nS."},)


@pytest.fixture
def grading_inputs(env):
    """Pool of 6 questions (one without a solution) and 6 attempts (one empty)."""
    qs = [make_question(f"What is {i}+1?", "s", "t", "math", solution=str(i + 1)) for i in range(5)]
    qs.append(make_question("Prove it.", "s", "t", "math", solution=None))
    write_table(env / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    attempts = [f"Answer: {i + 1}" for i in range(3)] + ["Answer: 99", ""] + ["Answer: 1"]
    rows = [{"id": q["id"], "model": "qwen7b", "attempt": a} for q, a in zip(qs, attempts)]
    write_table(env / "att.parquet", rows)
    prompt = env / "grading.txt"
    prompt.write_text("Grade it. End with a line Yes or No.")
    return env, qs, prompt


def test_llm_grading_through_http_records_failures_and_resumes_free(grading_inputs, api):  # noqa: F811
    """Through CachedClient + AnthropicBackend against a local server standing in for the API."""
    d, qs, prompt = grading_inputs
    s = api(reply("fallback\nYes"))
    s.script = [(200, reply("Same value.\nYes")), (200, reply("Mismatch.\nNo")),
                (200, reply("I am not sure.\nMaybe")),  # malformed verdict
                (200, reply("It goes on and on", stop="max_tokens"))]  # truncated
    job = anthropic_job(s.url)
    info = grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet", backend="llm", prompt_path=prompt,
                 job=job, ledger_out=d / "g.ledger.jsonl", agreement_out=d / "g.agreement.json")
    # 4 sent: the empty attempt and the question without a solution are not.
    assert len(s.hits) == 4
    hit = s.hits[0]
    assert hit["path"] == "/v1/messages" and hit["body"]["max_tokens"] == 8192
    assert hit["body"]["system"] == [{"type": "text", "text": prompt.read_text(),
                                      "cache_control": {"type": "ephemeral"}}]
    assert hit["body"]["messages"][0]["content"] == \
        "## Problem\nWhat is 0+1?\n\n## Attempt\nAnswer: 1\n\n## Correct answer\n1"
    rows = read_table(d / "g.parquet").to_pylist()
    assert [r["correct"] for r in rows] == [True, False, None, None, False, None]
    reasons = [r["reason"] for r in rows]
    assert reasons[:2] == [None, None]
    assert reasons[2].startswith("invalid: unparsable verdict") and "Maybe" in reasons[2]
    assert reasons[3].startswith("truncated")
    assert reasons[4].startswith("empty attempt") and reasons[5].startswith("no solution")
    assert info["graded"] == 3 and info["missing"] == 3 and info["calls"] == 4 and info["failed"] == 2
    assert info["failures"] == {"invalid: unparsable verdict": 1, "truncated": 1}
    ledger = read_jsonl(d / "g.ledger.jsonl")
    assert [x["id"] for x in ledger] == [q["id"] for q in qs[:4]] and [x["ok"] for x in ledger] == [True, True,
                                                                                                    False, False]
    # Agreement with math-verify over the 5 rows both graded (row 3 is null for the LLM):
    # math-verify says [T, T, T, F, F, F]; LLM [T, F, None, None, F, None].
    rep = json.loads((d / "g.agreement.json").read_text())
    assert (rep["compared"], rep["both_yes"], rep["both_no"], rep["a_no_b_yes"], rep["a_yes_b_no"]) == (3, 1, 1, 1, 0)
    # Rerun: every request is answered from the cache (failures included): zero server hits.
    again = grade(d / "att.parquet", d / "pool.parquet", d / "g2.parquet", backend="llm", prompt_path=prompt,
                  job=job, ledger_out=d / "g2.ledger.jsonl")
    assert len(s.hits) == 4 and again["calls"] == 0 and again["cached"] == 4
    assert read_table(d / "g2.parquet").to_pylist() == rows
    no_secret_in(d)


def test_llm_grading_any_backend_openai_compat(grading_inputs, api):  # noqa: F811
    """The same grader through the openai-compatible backend (e.g. a local vLLM judge), local server."""
    d, _, prompt = grading_inputs
    s = api({"choices": [{"finish_reason": "stop", "message": {"content": "ok\nYes"}}],
             "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
    job = LLMJob(backend="openai_compat", model="judge", options={"base_url": s.url, "api_key_env": None},
                 client={"workers": 2})
    info = grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet", backend="llm", prompt_path=prompt, job=job)
    assert info["graded"] == 5 and info["correct"] == 4 and len(s.hits) == 4
    assert s.hits[0]["body"]["messages"][0] == {"role": "system", "content": prompt.read_text()}


def test_grade_backend_errors(grading_inputs):
    d, _, prompt = grading_inputs
    with pytest.raises(ValueError, match="featurize.grader.backend"):
        grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet", backend="claude")
    with pytest.raises(ValueError, match="--prompt"):
        grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet", backend="llm")
    with pytest.raises(ValueError, match="agreement"):
        grade(d / "att.parquet", d / "pool.parquet", d / "g.parquet", agreement_out=d / "a.json")
    with pytest.raises(ValueError, match="featurize.grader.llm.*bogus"):
        job_from_dict({"bogus": 1}, "featurize.grader.llm")
    with pytest.raises(ValueError, match="rubric_in"):
        job_from_dict({"rubric_in": "middle"}, "featurize.domains.llm")


def test_agreement_arithmetic(tmp_path):
    a = [True, True, False, False, True, None]
    b = [True, False, False, False, True, True]
    rep = agreement(a, b)
    # 5 compared: 2 both-yes, 2 both-no, 1 yes/no. p_o = 0.8; p_e = 0.6*0.4 + 0.4*0.6 = 0.48.
    assert (rep["compared"], rep["both_yes"], rep["both_no"], rep["a_yes_b_no"], rep["disagree"]) == (5, 2, 2, 1, 1)
    assert rep["observed_agreement"] == pytest.approx(0.8)
    assert rep["cohen_kappa"] == pytest.approx((0.8 - 0.48) / 0.52)
    assert agreement([True, True], [True, True])["cohen_kappa"] is None  # p_e = 1: undefined
    assert agreement([True, False], [False, True])["cohen_kappa"] == pytest.approx(-1.0)
    assert agreement([None], [True])["compared"] == 0
    write_table(tmp_path / "a.parquet", [{"id": i, "model": "m", "correct": c} for i, c in zip("uvwxyz", a)])
    write_table(tmp_path / "b.parquet", [{"id": i, "model": "m", "correct": c} for i, c in zip("uvwxyq", b)])
    rep = agreement_files(tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "r.json")
    assert rep["compared"] == 5 and rep["only_a"] == 1 and rep["only_b"] == 1
    assert json.loads((tmp_path / "r.json").read_text())["cohen_kappa"] == pytest.approx(rep["cohen_kappa"])


# ---- MSC domains --------------------------------------------------------------------

MINI_MSC = [{"code": "05", "title": "Combinatorics", "descriptions": [], "prompt": "### Combinatorics\n* Code: 05"},
            {"code": "11", "title": "Number theory", "descriptions": [], "prompt": "### Number theory\n* Code: 11"},
            {"code": "81", "title": "Quantum theory", "descriptions": [], "prompt": "### Quantum theory\n* Code: 81"}]


def test_parse_code():
    codes = {"05", "11"}
    assert parse_code("It counts paths.\n05", codes) == ("05", None)
    assert parse_code("Number theory.\n**11**\n", codes) == ("11", None)
    assert parse_code("Reasoning\nCode: 11.", codes) == ("11", None)
    code, why = parse_code("Reasoning\n99", codes)
    assert code is None and why == "code '99' is not in the MSC rubric"
    for bad in ("Reasoning\n123", "Combinatorics", "", "05 is my answer"):
        code, why = parse_code(bad, codes)
        assert code is None and why.startswith("no two-digit code"), bad


@needs_official
def test_official_rubric_and_layouts():
    nodes = load_msc(OFFICIAL / "msc.json")
    assert len(nodes) == 61 and nodes[0]["code"] == "03"
    rubric = rubric_text(nodes)
    official = classification_request("Q?", rubric, LLMJob(rubric_in="user"))
    assert official.system == SYSTEM_PROMPT
    assert official.messages[0]["content"] == f"## Question\nQ?\n\n## Classification rubrics\n{rubric}"
    cached = classification_request("Q?", rubric, LLMJob())
    assert cached.system == f"{SYSTEM_PROMPT}\n\n## Classification rubrics\n{rubric}"
    assert cached.messages[0]["content"] == "## Question\nQ?"
    # Two questions share the system prefix byte for byte (what the provider caches).
    assert classification_request("Other?", rubric, LLMJob()).system == cached.system


def test_load_msc_rejects_bad_rubric(tmp_path):
    p = tmp_path / "msc.json"
    p.write_text(json.dumps([{**MINI_MSC[0], "code": "5"}]))
    with pytest.raises(ValueError, match="not two digits"):
        load_msc(p)
    p.write_text(json.dumps(MINI_MSC + MINI_MSC[:1]))
    with pytest.raises(ValueError, match="duplicate"):
        load_msc(p)


def test_msc_domains_through_http(env, api):  # noqa: F811
    """Through CachedClient + AnthropicBackend against a local server standing in for the API."""
    rubric = env / "msc.json"
    rubric.write_text(json.dumps(MINI_MSC))
    qs = [make_question(f"Question {i}", "s", "t", "math", metadata={"domain": "x"}) for i in range(4)]
    write_table(env / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    s = api(reply("x\n05"))
    s.script = [(200, reply("Counting.\n05")), (200, reply("Not listed.\n99")),
                (200, reply("Primes.\n11", cache_read=5000)), (200, reply("Long", stop="max_tokens"))]
    job = anthropic_job(s.url)
    info = classify_domains(env / "pool.parquet", env / "dom.parquet", rubric, job, env / "dom.ledger.jsonl")
    rows = read_table(env / "dom.parquet").to_pylist()
    assert [r["domain"] for r in rows] == ["Combinatorics", None, "Number theory", None]
    assert [r["domain_code"] for r in rows] == ["05", None, "11", None]
    assert rows[1]["reason"] == "invalid: code '99' is not in the MSC rubric"
    assert rows[3]["reason"].startswith("truncated") and rows[0]["reason"] is None
    assert info["domains"] == 2 and info["missing"] == 2 and info["calls"] == 4
    # The rubric is sent as the cached system block; the question alone in the user turn.
    system = f"{SYSTEM_PROMPT}\n\n## Classification rubrics\n{rubric_text(MINI_MSC)}"
    for hit, q in zip(s.hits, qs):
        assert hit["body"]["system"] == [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        assert hit["body"]["messages"] == [{"role": "user", "content": f"## Question\n{q['question']}"}]
    assert len(read_jsonl(env / "dom.ledger.jsonl")) == 4
    # Rerun through write_domains (the CLI path): all from the cache, zero server hits.
    assert write_domains(env / "pool.parquet", env / "dom2.parquet", "llm", rubric, job) == 4
    assert len(s.hits) == 4
    assert read_table(env / "dom2.parquet").to_pylist() == rows
    no_secret_in(env)


def test_metadata_domains_unchanged(tmp_path):
    qs = [make_question("q", "s", "t", "c", metadata={"domain": "d"})]
    write_table(tmp_path / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    assert write_domains(tmp_path / "pool.parquet", tmp_path / "dom.parquet") == 1
    table = read_table(tmp_path / "dom.parquet")
    assert table.column_names == ["id", "domain"] and table.to_pylist()[0]["domain"] == "d"
    with pytest.raises(ValueError, match="--rubric"):
        write_domains(tmp_path / "pool.parquet", tmp_path / "d2.parquet", "llm")


# ---- cost ---------------------------------------------------------------------------


def test_group_usd_arithmetic():
    price = {"input": 3.0, "output": 15.0}  # cached_input 0.30, cache_write 3.75 by default
    g = CallGroup("domains", "anthropic", "m", calls=1000, prefix_tokens=5000, input_tokens=200_000,
                  output_tokens=100_000, workers=4)
    no_cache = (5000 * 1000 * 3.0 + 200_000 * 3.0 + 100_000 * 15.0) / 1e6
    assert group_usd(g, price, caching=False, min_cacheable=1024) == pytest.approx(no_cache)
    cached = (5000 * (4 * 3.75 + 996 * 0.30) + 200_000 * 3.0 + 100_000 * 15.0) / 1e6
    assert group_usd(g, price, caching=True, min_cacheable=1024) == pytest.approx(cached)
    # A prefix shorter than the provider's minimum is never cached.
    assert group_usd(g, price, caching=True, min_cacheable=6000) == pytest.approx(no_cache)
    assert group_usd(g, {**price, "cached_input": 0.0, "cache_write": 3.0}, True, 1024) == pytest.approx(
        (5000 * 4 * 3.0 + 200_000 * 3.0 + 100_000 * 15.0) / 1e6)
    assert group_usd(CallGroup("d", "oracle", "m", 10, 0, 10, 10, free=True), price, False, 0) == 0.0


def test_cost_estimate_counts_calls_and_caching(tmp_path):
    rubric = tmp_path / "msc.json"
    rubric.write_text(json.dumps([dict(n, prompt=n["prompt"] + " x" * 2000) for n in MINI_MSC]))  # ~3K tokens
    sample = [{"question": "q" * 400, "solution": "s" * 800}, {"question": "q" * 400, "solution": None}]
    judge = {"backend": "anthropic", "model": "claude-3-5-sonnet-20241022"}
    config = {"distill": {"teacher": "gemini", "backend": "gemini", "model": "gemini-2.0-flash-thinking-exp"},
              "featurize": {"attempt_models": ["qwen7b", "qwen32b"],
                            "grader": {"backend": "llm", "llm": judge}, "domains": {"backend": "llm", "llm": judge},
                            "cost": {"assumptions": {"attempt_tokens": 1000, "teacher_attempt_tokens": 500,
                                                     "grader_output_tokens": 300, "classifier_output_tokens": 200}}}}
    rep = estimate(config, sample, n_questions=1000, grading_prompt="p" * 800, rubric_path=rubric)
    by = {g["stage"]: g for g in rep["groups"]}
    assert set(by) == {"distill", "grade teacher", "grade qwen7b", "grade qwen32b", "domains msc"}
    assert by["distill"]["calls"] == 1000 and by["distill"]["usd_no_cache"] == 0.0  # free experimental model
    g = by["grade qwen7b"]
    # Half the sample has a solution -> 500 graded; prefix 800/4 = 200 tokens (< 1024: no caching).
    assert g["calls"] == 500 and g["prefix_tokens"] == 200 and not g["prefix_cached"]
    body = len("## Problem\n" + "q" * 400 + "\n\n## Attempt\n\n\n## Correct answer\n" + "s" * 800)
    assert g["input_tokens"] == 500 * (-(-body // 4)) + 500 * 1000
    assert g["usd_no_cache"] == g["usd_cache"] == pytest.approx(
        round((200 * 500 * 3 + g["input_tokens"] * 3 + 500 * 300 * 15) / 1e6, 2))
    dm = by["domains msc"]
    assert dm["calls"] == 1000 and dm["prefix_cached"] and dm["usd_cache"] < dm["usd_no_cache"] / 2
    assert rep["calls"] == 1000 + 3 * 500 + 1000 and rep["usd_cache"] < rep["usd_no_cache"]
    # The official layout (rubric after the question) leaves nothing to cache.
    config["featurize"]["domains"]["llm"] = {**judge, "rubric_in": "user"}
    rep2 = estimate(config, sample, n_questions=1000, grading_prompt="p" * 800, rubric_path=rubric)
    dm2 = {g["stage"]: g for g in rep2["groups"]}["domains msc"]
    assert not dm2["prefix_cached"] and dm2["usd_cache"] == dm2["usd_no_cache"]


def test_cost_of_tiny_default_is_zero_and_cli_runs(tmp_path, capsys):
    import yaml

    from s1kit.cli import main

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "default.yaml").read_text())
    rep = estimate(cfg, [{"question": "a b c", "solution": "1"}], n_questions=100)
    assert rep["usd_no_cache"] == rep["usd_cache"] == 0.0 and rep["calls"] == 0
    assert [g["stage"] for g in rep["groups"]] == ["distill"] and rep["groups"][0]["free"]
    sample = tmp_path / "s.jsonl"
    sample.write_text(json.dumps({"problem": "What is 1+1?", "solution": "2"}) + "\n")
    cfg["featurize"]["grader"] = {"backend": "llm", "llm": {"backend": "anthropic",
                                                            "model": "claude-3-5-sonnet-20241022"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "g.txt").write_text("Grade. Yes or No.")
    assert main(["cost", "--config", str(tmp_path / "c.yaml"), "--sample-jsonl", str(sample), "--question-field",
                 "problem", "--questions", "59029", "--grading-prompt", str(tmp_path / "g.txt"),
                 "--out", str(tmp_path / "cost.json")]) == 0
    out = json.loads((tmp_path / "cost.json").read_text())
    assert out["questions"] == 59029 and out["calls"] == 2 * 59029 and out["usd_no_cache"] > 0
    assert "grade tiny-base" in capsys.readouterr().out


def test_cli_grade_domains_fetch_llm(env, api, capsys):  # noqa: F811
    """The CLI path the Snakemake rules run, against a local server standing in for the API."""
    from s1kit.cli import main

    qs = [make_question(f"What is {i}+1?", "s", "t", "math", solution=str(i + 1)) for i in range(3)]
    write_table(env / "pool.parquet", qs, schema=QUESTION_SCHEMA)
    write_table(env / "att.parquet", [{"id": q["id"], "model": "m", "attempt": f"Answer: {i + 1}"}
                                      for i, q in enumerate(qs)])
    (env / "grading.txt").write_text("Say Yes or No.")
    (env / "msc.json").write_text(json.dumps(MINI_MSC))
    s = api(reply("Fine.\nYes"))
    job = json.dumps({"backend": "anthropic", "model": "claude-3-5-sonnet-20241022",
                      "options": {"base_url": s.url}, "client": {"workers": 2}})
    assert main(["grade", "--attempts", str(env / "att.parquet"), "--pool", str(env / "pool.parquet"),
                 "--out", str(env / "g.parquet"), "--backend", "llm", "--prompt", str(env / "grading.txt"),
                 "--llm-json", job, "--ledger", str(env / "g.ledger.jsonl"),
                 "--agreement-out", str(env / "g.agreement.json")]) == 0
    assert [r["correct"] for r in read_table(env / "g.parquet").to_pylist()] == [True] * 3
    assert json.loads((env / "g.agreement.json").read_text())["both_yes"] == 3
    s.default = reply("Counting.\n05")
    assert main(["domains", "--pool", str(env / "pool.parquet"), "--out", str(env / "d.parquet"), "--backend", "llm",
                 "--rubric", str(env / "msc.json"), "--llm-json", job, "--ledger", str(env / "d.ledger.jsonl")]) == 0
    assert {r["domain"] for r in read_table(env / "d.parquet").to_pylist()} == {"Combinatorics"}
    assert len(s.hits) == 6
    # A bad judge setting is a clear error naming the config key (exit code 2).
    assert main(["grade", "--attempts", str(env / "att.parquet"), "--pool", str(env / "pool.parquet"),
                 "--out", str(env / "x.parquet"), "--backend", "llm", "--prompt", str(env / "grading.txt"),
                 "--llm-json", json.dumps({"modle": "x"})]) == 2
    assert "featurize.grader.llm" in capsys.readouterr().err
    no_secret_in(env)


def test_client_cost_uses_cached_input_prices():
    """The ledger's per-call dollars honour the same price keys as `s1kit cost`."""
    from s1kit.llm.client import cost_usd

    usage = {"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 1000,
             "cache_read_input_tokens": 5000}
    assert cost_usd("m", usage, {"m": {"input": 3.0, "output": 15.0}}) == pytest.approx(
        (100 * 3 + 1000 * 3.75 + 5000 * 0.3 + 10 * 15) / 1e6)
    assert cost_usd("m", usage, {"m": {"input": 3.0, "output": 15.0, "cached_input": 0.0, "cache_write": 6.0}}) == \
        pytest.approx((100 * 3 + 1000 * 6 + 10 * 15) / 1e6)
