"""Handlers of the featurize stage: `s1kit attempts`, `grade`, `grade-agreement`, `domains`, `cost` and
`featurize`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from s1kit.cli.args import AttemptsArgs, CostArgs, DomainsArgs, FeaturizeArgs, GradeAgreementArgs, GradeArgs
from s1kit.features.attempts import generate_attempts
from s1kit.features.cost import estimate, format_report
from s1kit.features.domains import classify_domains, write_domains
from s1kit.features.grading import agreement_files, grade
from s1kit.features.llm_jobs import job_from_dict
from s1kit.features.merge import merge
from s1kit.records import QUESTION_FIELDS, atomic_write_text, read_jsonl, read_table
from s1kit.settings import load_json_arg


def attempts_command(a: AttemptsArgs) -> None:
    n = generate_attempts(a.model, a.name, a.pool, a.out, a.max_new_tokens, a.batch_size, a.seed, a.semantics)
    print(f"{a.name}: {n} attempts -> {a.out}")


def grade_command(a: GradeArgs) -> None:
    job = job_from_dict(load_json_arg(a.llm_json, "--llm-json"), "featurize.grader.llm")
    print(json.dumps(grade(a.attempts, a.pool, a.out, text_field=a.text_field, backend=a.backend,
                           prompt_path=a.prompt, job=job, ledger_out=a.ledger, agreement_out=a.agreement_out,
                           semantics=a.semantics)))


def grade_agreement_command(a: GradeAgreementArgs) -> None:
    print(json.dumps(agreement_files(a.a, a.b, a.out)))


def domains_command(a: DomainsArgs) -> None:
    if a.backend == "llm":
        if not a.rubric:
            raise ValueError("domains --backend llm needs --rubric (the official msc.json)")
        job = job_from_dict(load_json_arg(a.llm_json, "--llm-json"), "featurize.domains.llm")
        print(json.dumps(classify_domains(a.pool, a.out, a.rubric, job, a.ledger)))
    else:
        print(f"{write_domains(a.pool, a.out, a.backend)} domains -> {a.out}")


def cost_command(a: CostArgs) -> None:
    config = yaml.safe_load(Path(a.config).read_text(encoding="utf-8")) or {}
    if a.pool:
        sample = read_table(a.pool, required=QUESTION_FIELDS).to_pylist()
    elif a.sample_jsonl:
        sample = [{"question": r.get(a.question_field), "solution": r.get(a.solution_field)}
                  for r in read_jsonl(a.sample_jsonl)]
        for n, r in enumerate(sample, 1):
            if not isinstance(r["question"], str):
                raise ValueError(f"{a.sample_jsonl}:{n}: no text in field {a.question_field!r} "
                                 "(name the question field with --question-field)")
    else:
        raise ValueError("cost needs --pool or --sample-jsonl (rows to measure prompt lengths on)")
    prompt = Path(a.grading_prompt).read_text(encoding="utf-8") if a.grading_prompt else None
    rep = estimate(config, sample, a.questions, grading_prompt=prompt, rubric_path=a.rubric or None)
    print(format_report(rep))
    if a.out:
        atomic_write_text(a.out, json.dumps(rep, indent=2, sort_keys=True) + "\n")


def featurize_command(a: FeaturizeArgs) -> None:
    grades = {}
    for item in a.attempt_grades:
        name, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"--attempt-grades expects model=path, got {item!r}")
        grades[name] = path
    n = merge(a.pool, a.traces, a.teacher_grades, grades, a.domains, a.length_tokenizer, a.out, a.semantics)
    print(f"{n} rows -> {a.out}")
