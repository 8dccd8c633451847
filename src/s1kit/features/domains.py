"""Domain per question. Tiny default: the generator's label in metadata["domain"].

The paper's backend (``llm``): an LLM picks a Mathematics Subject Classification (MSC)
two-digit code from the official rubric (msc.json), as the official featurization does:
the official system prompt, the question and the rubric, "Explain your reasoning, and end
your response on a new line with two-digit code". The code must be one of the rubric's
61 codes; the domain is the code's title (as the official upload_domain). Anything else
(no code at the end, a code not in the rubric, a truncated response) is a recorded
failure: domain = null, ``reason`` says why.

Layout (``rubric_in``): the official code puts the ~5.5K-token rubric after the question in
the user turn, so nothing can be cached. ``system`` (default) moves it, unchanged, into
the system prompt after the official instructions, a shared prefix the anthropic backend
caches (about 10x cheaper per call); ``user`` keeps the official layout byte for byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from s1kit.features.llm_jobs import LLMJob, run_job
from s1kit.llm import Request, Response
from s1kit.llm.client import fingerprint
from s1kit.records import QUESTION_FIELDS, read_table, write_table

DOMAIN_SCHEMA = pa.schema([("id", pa.string()), ("domain", pa.string())])
LLM_DOMAIN_SCHEMA = pa.schema([("id", pa.string()), ("domain", pa.string()), ("domain_code", pa.string()),
                               ("reason", pa.string())])
BACKENDS = ("metadata", "llm")
# The official classifier's system prompt, data/featurization.py:35 (system_prompt).
SYSTEM_PROMPT = (
    "You are a helpful assistant that classifies questions into different subjects based on the provided "
    "classification rubrics. You will be given a question and a list of subjects. You need to classify the "
    "question into one of the subjects. If the question has multiple subjects, you should classify the question "
    "into the most relevant subject. Explain your reasoning, and end your response on a new line with two-digit "
    "code of the subject that the question belongs to."
)
RUBRIC_HEADER = "## Classification rubrics\n"
TEMPLATE_VERSION = fingerprint(SYSTEM_PROMPT + "|## Question\n{question}\n\n" + RUBRIC_HEADER)


def domains_from_metadata(rows: list[dict]) -> dict[str, str | None]:
    out = {}
    for r in rows:
        try:
            meta = json.loads(r["metadata"] or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"record {r['id']}: metadata is not valid JSON ({e.msg})") from None
        out[r["id"]] = meta.get("domain")
    return out


def load_msc(path: str | Path) -> list[dict[str, Any]]:
    """The official rubric: a list of {code (two digits), title, prompt, ...}; checked."""
    try:
        nodes = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the MSC rubric ({e})") from None
    if not isinstance(nodes, list) or not nodes:
        raise ValueError(f"{path}: the MSC rubric must be a non-empty JSON list")
    for i, n in enumerate(nodes):
        if not isinstance(n, dict) or not all(isinstance(n.get(k), str) for k in ("code", "title", "prompt")):
            raise ValueError(f"{path}: entry {i} lacks a string code, title or prompt")
        if not re.fullmatch(r"\d\d", n["code"]):
            raise ValueError(f"{path}: entry {i} code {n['code']!r} is not two digits")
    codes = [n["code"] for n in nodes]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{path}: duplicate codes in the MSC rubric")
    return nodes


def rubric_text(nodes: list[dict[str, Any]]) -> str:
    """The official rubric text: every code's prompt, separated by a blank line."""
    return "\n\n".join(n["prompt"] for n in nodes)


def classification_request(question: str, rubric: str, job: LLMJob) -> Request:
    if job.rubric_in == "user":  # the official layout, byte for byte
        system, user = SYSTEM_PROMPT, f"## Question\n{question}\n\n{RUBRIC_HEADER}{rubric}"
    else:  # same words, rubric moved into the shared (cacheable) prefix
        system, user = f"{SYSTEM_PROMPT}\n\n{RUBRIC_HEADER}{rubric}", f"## Question\n{question}"
    return Request(model=job.model, system=system, messages=({"role": "user", "content": user},),
                   params=dict(job.params), template_version=TEMPLATE_VERSION)


def parse_code(text: str, codes: set[str] | frozenset[str]) -> tuple[str | None, str | None]:
    """(code, None) when the response ends in a two-digit code of the rubric, else (None, reason).

    The official check takes the last two characters of the response if they are digits;
    here a trailing period, markdown emphasis or quotes are tolerated and a longer number
    ("123") is rejected rather than read as "23".
    """
    last = text.rstrip().split("\n")[-1].strip() if text.strip() else ""
    tail = last.strip("*_`\"' ").rstrip(".").strip("*_`\"' ")
    m = re.search(r"(?<!\d)(\d\d)$", tail)
    if not m:
        return None, f"no two-digit code at the end: last line {last[:80]!r}"
    if m.group(1) not in codes:
        return None, f"code {m.group(1)!r} is not in the MSC rubric"
    return m.group(1), None


def llm_domains(rows: list[dict], rubric_path: str | Path, job: LLMJob,
                ledger_out: str | Path | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = load_msc(rubric_path)
    titles = {n["code"]: n["title"] for n in nodes}
    codes = frozenset(titles)
    rubric = rubric_text(nodes)

    def validate(resp: Response) -> str | None:
        return parse_code(resp.text, codes)[1]

    requests = [classification_request(r["question"], rubric, job) for r in rows]
    responses, summary = run_job(job, [r["id"] for r in rows], requests, validate, ledger_out,
                                 "domains msc", "featurize.domains.llm")
    out = []
    for r, resp in zip(rows, responses):
        code, why = parse_code(resp.text, codes) if resp.ok else (None, resp.error or resp.finish_reason)
        out.append({"id": r["id"], "domain": titles.get(code) if code else None, "domain_code": code,
                    "reason": why})
    return out, summary


def classify_domains(pool_path: str | Path, out: str | Path, rubric_path: str | Path, job: LLMJob | None = None,
                     ledger_out: str | Path | None = None) -> dict[str, Any]:
    """The llm backend: MSC domains of every pool question; a summary of calls, cost and failures."""
    rows = read_table(pool_path, required=QUESTION_FIELDS).to_pylist()
    out_rows, summary = llm_domains(rows, rubric_path, job or LLMJob(), ledger_out)
    write_table(out, out_rows, schema=LLM_DOMAIN_SCHEMA)
    return {"questions": len(rows), "domains": sum(r["domain"] is not None for r in out_rows),
            "missing": sum(r["domain"] is None for r in out_rows), **summary}


def write_domains(pool_path: str | Path, out: str | Path, backend: str = "metadata",
                  rubric_path: str | Path | None = None, job: LLMJob | None = None,
                  ledger_out: str | Path | None = None) -> int:
    """Domains of every pool question (config ``featurize.domains.backend``); rows written."""
    if backend not in BACKENDS:
        raise ValueError(f"config featurize.domains.backend: {backend!r} is not one of {list(BACKENDS)}")
    if backend == "llm":
        if rubric_path is None:
            raise ValueError("featurize.domains.backend llm needs the official MSC rubric (--rubric)")
        return classify_domains(pool_path, out, rubric_path, job, ledger_out)["questions"]
    rows = read_table(pool_path, required=QUESTION_FIELDS).to_pylist()
    doms = domains_from_metadata(rows)
    write_table(out, [{"id": i, "domain": d} for i, d in doms.items()], schema=DOMAIN_SCHEMA)
    return len(doms)
