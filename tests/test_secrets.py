"""Secrets never written, whatever their name (s1kit.secrets).

The end-to-end test runs the paper config's LLM stages (distill_traces, distill_grade,
featurize_domains, fetch_official) through the real Snakemake rules against a local
server standing in for the providers (tests/llm_server.FakeAPI; nothing leaves the
machine). Five sentinel keys sit in five differently named variables: three named by
``api_key_env`` options (one with a name that does not look secret at all), two unused
by the kit but secret by name. The server echoes all five in every reply: in the headers,
in error bodies and inside the answers' text. Then every file under results/, logs/,
the LLM cache and .snakemake/ is searched for them.
"""

from __future__ import annotations

import os

import pytest
import yaml
from llm_server import FakeAPI, canned
from test_paper_llm_rules import CASES, OFFICIAL, OFFICIAL_REPO, base_env, snakemake, write_pool

from s1kit import secrets
from s1kit.cli import main

SENTINELS = {
    "VLLM_TOKEN": "vllm-SENTINEL-4f1d2c3b5a697887",  # the teacher's api_key_env (issue #16's example)
    "JUDGE_ACCESS": "judge-SENTINEL-0a9b8c7d6e5f4433",  # the grader's api_key_env: no secret-looking word
    "MSC_CLASSIFIER_ID": "msc-SENTINEL-1122334455667788",  # the classifier's api_key_env
    "HF_TOKEN": "hf_SENTINEL_aBcDeFgHiJkLmNoPqRsT",  # secret by name, never used by these stages
    "DB_PASSWORD": "db-SENTINEL-correct-horse-battery",  # secret by name
}


def test_secret_names_and_scrub(monkeypatch):
    env = {"HF_TOKEN": "x" * 20, "DB_PASSWORD": "p" * 12, "MY_APIKEY": "k" * 9, "PWD": "/home/someone/work",
           "MAX_NEW_TOKENS": "123456789", "KEYBOARD_LAYOUT": "us-international", "SSH_AUTH_SOCK": "/tmp/agent.sock",
           "SHORT_KEY": "abc", "S1KIT_SECRET_ENV": "PLAIN_NAME", "PLAIN_NAME": "plain-value-123"}
    names = secrets.secret_names(env)
    assert {"HF_TOKEN", "DB_PASSWORD", "MY_APIKEY", "SSH_AUTH_SOCK", "PLAIN_NAME"} <= names
    assert not names & {"PWD", "MAX_NEW_TOKENS", "KEYBOARD_LAYOUT"}
    values = secrets.secret_values(env)
    assert "abc" not in values  # too short to scrub without mangling ordinary text
    monkeypatch.setattr(os, "environ", env)
    out = secrets.scrub({"a": ["key plain-value-123 and " + "x" * 20], "b": ("p" * 12, 3)})
    assert out == {"a": ["key [REDACTED] and [REDACTED]"], "b": ("[REDACTED]", 3)}


def test_env_options_are_registered_by_make_client(monkeypatch):
    from s1kit.llm import make_client

    monkeypatch.setenv("CUSTOM_VAR_NAME", "custom-secret-value-42")
    assert "custom-secret-value-42" not in secrets.secret_values()
    make_client("openai_compat", {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "CUSTOM_VAR_NAME"})
    assert secrets.scrub("echo custom-secret-value-42") == "echo [REDACTED]"
    assert secrets.env_option_names({"a": {"api_key_env": "X"}, "b": [{"token_env": "Y"}], "c_env": None}) == ["X", "Y"]


def test_error_messages_are_scrubbed(tmp_path, monkeypatch, capsys):
    """An error naming a path that holds a secret (any text from outside could) prints it redacted."""
    monkeypatch.setenv("HF_TOKEN", SENTINELS["HF_TOKEN"])
    bad = tmp_path / SENTINELS["HF_TOKEN"] / "pool.parquet"
    rc = main(["distill", "--pool", str(bad), "--teacher", "t", "--backend", "oracle",
               "--out-traces", str(tmp_path / "t.parquet"), "--out-ledger", str(tmp_path / "l.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2 and "[REDACTED]" in err and SENTINELS["HF_TOKEN"] not in err


def echoing(route, leaked: str):
    """``route``'s replies with ``leaked`` put into every text the kit keeps (a leaky server)."""

    def reply(path: str, body: dict):
        status, data = route(path, body)
        if path.endswith(":generateContent"):
            for part in data["candidates"][0]["content"]["parts"]:
                part["text"] = f"[{leaked}]\n{part['text']}"
        elif path.endswith("/v1/messages"):
            data["content"][0]["text"] = f"[{leaked}]\n{data['content'][0]['text']}"
        else:
            msg = data["choices"][0]["message"]
            msg["content"] = f"[{leaked}]\n{msg['content']}"
            msg["reasoning_content"] = f"[{leaked}] {msg.get('reasoning_content') or ''}"
        return status, data

    return reply


@pytest.mark.e2e
def test_no_sentinel_in_any_file_the_stages_write(tmp_path):
    if not (OFFICIAL / "msc.json").exists() or not (OFFICIAL_REPO / "data/msc.json").exists():
        pytest.skip("../shared/data/s1-official or ../shared/official-s1 absent")
    write_pool(tmp_path, CASES)
    leaked = " ".join(SENTINELS.values())
    api = FakeAPI(default={}, route=echoing(canned, leaked), echo=list(SENTINELS.values()))
    # the first three replies are errors echoing every key (retried; one question gives up)
    # (a 400, not a 401: a refused key stops the stage, issue #21.4)
    api.script = [(503, {"error": "overloaded"}), (400, {"error": "bad request"}), (503, {"error": "overloaded"})]
    client = {"max_retries": 1, "workers": 1}
    override = {
        "distill": {"teacher": "leaky", "backend": "openai_compat", "model": "r1",
                    "options": {"base_url": f"{api.url}/v1", "api_key_env": "VLLM_TOKEN"},
                    "params": {"max_output_tokens": None}, "llm": {**client, "rpm": None}},
        "featurize": {
            "grader": {"llm": {"backend": "anthropic", "options": {"base_url": api.url, "api_key_env": "JUDGE_ACCESS"},
                               "client": client}},
            "domains": {"llm": {"backend": "gemini", "model": "gemini-2.5-flash", "client": client,
                                "options": {"base_url": api.url, "api_key_env": "MSC_CLASSIFIER_ID"}}},
        },
        "official": {"mirror": str(OFFICIAL_REPO)},
    }
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))
    env = dict(base_env(tmp_path), **SENTINELS)
    try:
        snakemake(tmp_path, "results/distill/leaky/grades.parquet", "results/features/domains.parquet", env=env)
    finally:
        api.close()
    # the keys went out, and came back in every reply
    sent = {h["headers"].get("authorization", "").removeprefix("Bearer ") for h in api.hits} | \
           {h["headers"].get("x-api-key") for h in api.hits} | {h["headers"].get("x-goog-api-key") for h in api.hits}
    assert {SENTINELS["VLLM_TOKEN"], SENTINELS["JUDGE_ACCESS"], SENTINELS["MSC_CLASSIFIER_ID"]} <= sent
    assert len(api.hits) >= 3 * len(CASES)
    scanned = [p for d in ("results", "logs", "llm-cache", ".snakemake") for p in (tmp_path / d).rglob("*")
               if p.is_file()]
    assert any(p.name.endswith(".jsonl") and "llm-cache" in p.parts for p in scanned)
    assert any(p.suffix == ".log" and "logs" in p.parts for p in scanned)
    assert any("REDACTED" in p.read_text(errors="replace") for p in scanned if p.suffix in (".jsonl", ".log"))
    for p in scanned:
        data = p.read_bytes()
        for name, value in SENTINELS.items():
            assert value.encode() not in data, f"{name}'s value in {p}"
