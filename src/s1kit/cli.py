"""`s1kit <stage>`: one subcommand per Snakemake rule; flags map onto the stage functions."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from s1kit.settings import from_dict, load_json_arg

SPEND_CAP_EXIT = 3  # a stage stopped at its spend cap (s1kit.llm.spend): raise the cap and rerun


def _collect_source(a: argparse.Namespace) -> None:
    from s1kit.collect import write_source

    info = write_source(a.source, a.out, a.quarantine, n=a.n, seed=a.seed, eval_paths=a.eval or [],
                        manifest=a.manifest, options=load_json_arg(a.options_json, "--options-json"),
                        max_chars=a.max_chars, official_collect=a.official or None)
    print(f"{a.source}: {info['records']} records -> {a.out}; {info['quarantined']} quarantined -> {a.quarantine}")


def _collect_eval(a: argparse.Namespace) -> None:
    from s1kit.collect import write_eval_set

    n = write_eval_set(a.task, a.out, n=a.n, seed=a.seed, manifest=a.manifest, quarantine_out=a.quarantine)
    print(f"{a.task}: {n} questions -> {a.out}")


def _collect_pool(a: argparse.Namespace) -> None:
    from s1kit.collect import CollectConfig, build_pool

    cfg = from_dict(CollectConfig, load_json_arg(a.config_json, "--config-json"), "collect")
    print(json.dumps(build_pool(a.raw, a.eval, a.out_pool, a.out_funnel, a.out_contaminated, a.out_duplicates,
                                a.quarantine or [], config=cfg, official_collect=a.official or None)))


def _retrace(a: argparse.Namespace) -> None:
    from s1kit.retrace import retrace

    info = retrace(a.base, a.pool, a.length_tokenizer, a.out_dir, a.work_dir, a.teacher, a.backend,
                   load_json_arg(a.options_json, "--options-json"), model=a.model or None,
                   params=load_json_arg(a.params_json, "--params-json"), llm=load_json_arg(a.llm_json, "--llm-json"))
    print(json.dumps({k: info[k] for k in ("questions", "failed_traces", "teacher_correct_frac")}))


def _sources(a: argparse.Namespace) -> None:
    from s1kit.sources.catalog import catalog_markdown

    print(catalog_markdown(), end="")


def _fetch(a: argparse.Namespace) -> None:
    from s1kit.sources import HUB_SOURCES
    from s1kit.sources.fetch import fetch

    sources = {name: HUB_SOURCES.get(name) for name in a.sources}
    print(json.dumps(fetch(sources, a.lock, a.dest, a.manifests, mirror=a.mirror or None)))


def _fetch_model(a: argparse.Namespace) -> None:
    if a.kind == "hub":
        from s1kit.sources.fetch import fetch_model

        if not a.repo:
            raise ValueError("models.<name>.repo is required for kind 'hub'")
        src = fetch_model(a.repo, a.revision, a.lock, a.dest, a.out, mirror=a.mirror or None)
        print(f"{a.repo}@{a.revision}: {src} -> {a.out}")
        return
    if a.kind != "tiny":
        raise ValueError(f"models.<name>.kind {a.kind!r}: expected tiny or hub")
    if not a.corpus:
        raise ValueError("fetch-model --kind tiny needs --corpus (the pool its tokenizer is trained on)")
    from s1kit.tiny.student import StudentConfig, build_base

    cfg = from_dict(StudentConfig, load_json_arg(a.config_json, "--config-json"), "models.<name>.tiny")
    print(f"tiny student: {build_base(a.corpus, a.out, cfg)} parameters -> {a.out}")


def _distill(a: argparse.Namespace) -> None:
    from s1kit.distill import distill

    print(json.dumps(distill(a.pool, a.out_traces, a.out_ledger, a.teacher, a.backend,
                             load_json_arg(a.options_json, "--options-json"), model=a.model or None,
                             params=load_json_arg(a.params_json, "--params-json"),
                             llm=load_json_arg(a.llm_json, "--llm-json"))))


def _attempts(a: argparse.Namespace) -> None:
    from s1kit.features.attempts import generate_attempts

    n = generate_attempts(a.model, a.name, a.pool, a.out, a.max_new_tokens, a.batch_size, a.seed, a.semantics)
    print(f"{a.name}: {n} attempts -> {a.out}")


def _grade(a: argparse.Namespace) -> None:
    from s1kit.features.grading import grade
    from s1kit.features.llm_jobs import job_from_dict

    job = job_from_dict(load_json_arg(a.llm_json, "--llm-json"), "featurize.grader.llm")
    print(json.dumps(grade(a.attempts, a.pool, a.out, text_field=a.text_field, backend=a.backend,
                           prompt_path=a.prompt, job=job, ledger_out=a.ledger, agreement_out=a.agreement_out,
                           semantics=a.semantics)))


def _grade_agreement(a: argparse.Namespace) -> None:
    from s1kit.features.grading import agreement_files

    print(json.dumps(agreement_files(a.a, a.b, a.out)))


def _domains(a: argparse.Namespace) -> None:
    from s1kit.features.domains import classify_domains, write_domains
    from s1kit.features.llm_jobs import job_from_dict

    if a.backend == "llm":
        if not a.rubric:
            raise ValueError("domains --backend llm needs --rubric (the official msc.json)")
        job = job_from_dict(load_json_arg(a.llm_json, "--llm-json"), "featurize.domains.llm")
        print(json.dumps(classify_domains(a.pool, a.out, a.rubric, job, a.ledger)))
    else:
        print(f"{write_domains(a.pool, a.out, a.backend)} domains -> {a.out}")


def _fetch_official(a: argparse.Namespace) -> None:
    from s1kit.sources.fetch import fetch_official

    spec = load_json_arg(a.config_json, "--config-json")
    missing = sorted({"repo", "commit", "files"} - set(spec))
    if missing:
        raise ValueError(f"config official: missing key(s) {missing}")
    files = spec["files"]
    if a.file:
        unknown = sorted(set(a.file) - set(files))
        if unknown:
            raise ValueError(f"fetch-official --file {unknown}: not pinned in config official.files")
        files = {p: files[p] for p in a.file}
    root = fetch_official(spec["repo"], spec["commit"], files, a.dest, mirror=spec.get("mirror") or None)
    print(f"{spec['repo']}@{spec['commit'][:12]}: {len(files)} file(s) verified -> {root}")


def _cost(a: argparse.Namespace) -> None:
    import yaml

    from s1kit.features.cost import estimate, format_report
    from s1kit.records import QUESTION_FIELDS, atomic_write_text, read_jsonl, read_table

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


def _featurize(a: argparse.Namespace) -> None:
    from s1kit.features.merge import merge

    grades = {}
    for item in a.attempt_grades:
        name, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"--attempt-grades expects model=path, got {item!r}")
        grades[name] = path
    n = merge(a.pool, a.traces, a.teacher_grades, grades, a.domains, a.length_tokenizer, a.out, a.semantics)
    print(f"{n} rows -> {a.out}")


def _select(a: argparse.Namespace) -> None:
    from s1kit.select import BenchmarkSource, SelectConfig, run

    raw = load_json_arg(a.config_json, "--config-json")
    raw["benchmark_sources"] = {
        k: from_dict(BenchmarkSource, v, f"select.benchmark_sources.{k}")
        for k, v in (raw.get("benchmark_sources") or {}).items()
    }
    if not isinstance(raw.get("attempt_models", []), list):
        raise ValueError("config select.attempt_models must be a list of model names")
    raw["attempt_models"] = tuple(raw.get("attempt_models") or ())
    cfg = from_dict(SelectConfig, raw, "select")
    print(json.dumps(run(a.name, a.featurized, a.out_dir, cfg, a.funnel_out)))


def _select_overlap(a: argparse.Namespace) -> None:
    from s1kit.select import run_overlap

    info = run_overlap(a.ids, a.published, a.out, a.featurized)
    print(json.dumps({k: info[k] for k in ("ours", "published", "intersection", "jaccard")}))


def _review_grade(a: argparse.Namespace) -> None:
    from s1kit.review import manifest_dir, run_grade

    tok = manifest_dir(a.tokenizer_manifest, "qwen_tokenizer") if a.tokenizer_manifest else None
    print(json.dumps(run_grade(manifest_dir(a.results_manifest, "published_results"), a.out_dir, a.tasks,
                               a.thinking_count, tok, load_json_arg(a.claims_json, "--claims-json"),
                               a.include or None)))


def _review_select(a: argparse.Namespace) -> None:
    from s1kit.review import manifest_dir, run_select

    tok = manifest_dir(a.tokenizer_manifest, "qwen_tokenizer") if a.tokenizer_manifest else None
    info = run_select(manifest_dir(a.pool_manifest, "published_pool"), manifest_dir(a.s1k_manifest, "published_s1k"),
                      a.out_dir, load_json_arg(a.config_json, "--config-json"), a.selections, a.thinking_count, tok,
                      a.domain_column)
    print(json.dumps({k: info[k] for k in ("pool_rows", "thinking_unit", "missing_s1k_features")}))


def _train(a: argparse.Namespace) -> None:
    from s1kit.sft.train import TrainConfig, train

    cfg = from_dict(TrainConfig, load_json_arg(a.config_json, "--config-json"), "train")
    m = train(a.model, a.data, a.out_dir, cfg)
    if os.environ.get("RANK", "0") == "0":  # under torchrun every rank returns here
        print(f"trained {m['steps']} steps in {m['train_runtime_s']} s, final loss {m['final_loss']}")


def _where(a: argparse.Namespace) -> None:
    root = Path(a.results)
    if not root.is_dir():
        raise ValueError(f"{root}: no such results tree (run `make demo` or snakemake first, or name the tree: "
                         "s1kit where <dir>)")
    for label, rel in [("scaling figure", "paper/figures"), ("tables", "paper/tables"),
                       ("claims", "paper/claims.csv"), ("claims report", "paper/report.html"),
                       ("report (Markdown)", "paper/report.md"),
                       ("selection funnel", "select/funnel.csv"), ("eval runs", "eval")]:
        print(f"{label:>17}: {root / rel}")


# One line per subcommand for `s1kit --help`.
COMMAND_HELP = {
    "sources": "print the catalogue of question sources (docs/sources.md)",
    "fetch": "download hub sources at their locked commits and write one manifest per source",
    "collect-source": "load one question source (hub or synthetic), quarantining bad rows",
    "collect-eval": "write one eval set as JSONL (id, question, answer)",
    "collect-pool": "decontaminate and select each source, then deduplicate them into the pool (collect.semantics)",
    "fetch-model": "build a tiny base model from a config, or link a hub model at its locked commit",
    "distill": "the teacher's thinking and attempt for every pool question, cached and ledgered",
    "retrace": "re-distill a finished selection with another teacher (s1K-1.1)",
    "attempts": "a base model's attempts at every pool question, a difficulty signal",
    "grade": "grade attempts against the solutions (math-verify or an LLM judge)",
    "grade-agreement": "agreement (Cohen's kappa) between two gradings of the same attempts",
    "domains": "a domain (MSC class) for every pool question, from metadata or an LLM",
    "fetch-official": "the official s1 files of config `official`, each checked against its sha256",
    "cost": "estimate tokens and dollars of a config's paid LLM calls before making any",
    "featurize": "join traces, grades, domains and thinking lengths into featurized.parquet",
    "select": "one selection (s1K or an ablation) from the featurized pool",
    "select-overlap": "overlap of a selection's ids with the published s1K ids",
    "review-grade": "re-grade the published eval outputs (config/review.yaml)",
    "review-select": "rerun the selection on the published pool where its columns allow",
    "train": "supervised fine-tuning of a base model on a selection",
    "evaluate": "one model x setting x task through lm-eval with budget forcing",
    "paper": "tables, figures, claims.csv and the claims report from whatever results exist",
    "official-command": "the kit run (model, setting, budget config) that reproduces an official lm_eval command line",
    "trace": "the provenance chain of a claim's target file, down to the raw sources",
    "where": "where the paper outputs of a results tree are (fails if the tree is absent)",
}
# Help of each flag: "--flag", or "command --flag" where it means something else there.
FLAG_HELP = {
    "--sources": "hub source names to fetch (s1kit.sources.HUB_SOURCES)",
    "--lock": "lock file of pinned hub commits and file sha256s; written on the first networked run",
    "--dest": "where hub snapshots are stored",
    "--manifests": "directory for one <source>.json manifest per source",
    "--mirror": "a local mirror of the hub to read instead of the network (collect.hub.offline_mirror)",
    "--source": "source name (s1kit sources lists them)",
    "--n": "number of questions (synthetic sources and eval sets; hub sets ignore it)",
    "--seed": "random seed (from the config)",
    "--out": "output file",
    "collect-source --quarantine": "JSONL of rows rejected by the quality checks, with a reason",
    "collect-eval --quarantine": "JSONL of hub eval rows that cannot be read or have no question, with a reason",
    "collect-pool --quarantine": "the sources' quarantine files (they add to each source's 'loaded' count)",
    "--eval": "eval set JSONL files to decontaminate against",
    "--manifest": "the source's fetch manifest (hub sources; files at locked commits)",
    "--options-json": "JSON object of options (config collect.sources.<name> / distill.options)",
    "--max-chars": "questions longer than this are quarantined as too_long",
    "--task": "eval set name",
    "--raw": "the sources' parquet files, in config order (deduplication keeps the first copy)",
    "--out-pool": "the decontaminated, deduplicated pool (parquet)",
    "--out-funnel": "per-source counts: loaded, quarantined, contaminated, cross_source, unselected, duplicates, "
                    "kept (CSV)",
    "--out-contaminated": "dropped questions with the eval item each matched (parquet)",
    "--out-duplicates": "dropped duplicate questions (parquet)",
    "--official": "the fetched official collect script (collect.semantics official: its TMP_QUESTIONS_TO_KEEP)",
    "collect-pool --config-json": "JSON object of config collect: semantics, ngram, seed, sources",
    "fetch-official --config-json": "JSON object of config official: repo, commit, files (path -> sha256), mirror",
    "fetch-official --dest": "where the official files go (<dest>/<repo>/<commit>/<path>)",
    "--file": "only these pinned files (paths in the repository; default: every pinned file)",
    "--kind": "tiny (build from --config-json) or hub (link --repo at its locked commit)",
    "--corpus": "pool parquet(s) the tiny tokenizer is trained on",
    "--config-json": "JSON object of the stage's config section",
    "--repo": "hub model repository (models.<name>.repo)",
    "--revision": "hub revision or commit to pin",
    "--pool": "the pool parquet (id, question, solution, ...)",
    "--teacher": "teacher name (config distill.teacher; e.g. gemini, r1, oracle, replay)",
    "--backend": "backend of the stage (config); see docs/llm.md",
    "grade --backend": "math_verify (free, local) or llm (an LLM judge with the official grading prompt)",
    "domains --backend": "metadata (the sources' own labels) or llm (MSC classification)",
    "--model": "model name or directory",
    "distill --model": "the teacher's API model id (empty: the teacher's default)",
    "retrace --model": "the teacher's API model id (empty: the teacher's default)",
    "attempts --model": "directory of the base model that attempts the questions",
    "train --model": "directory of the base model to fine-tune",
    "--params-json": "JSON object of generation parameters sent with each request",
    "--llm-json": "JSON object of the LLM client settings (rpm, workers, cache, prices, ...)",
    "--out-traces": "traces parquet (thinking, attempt, finish_reason per question)",
    "--out-ledger": "ledger JSONL of every paid call (tokens, dollars, cache hits)",
    "--base": "the selection's dataset.parquet to re-distill",
    "--length-tokenizer": "tokenizer that counts thinking tokens (the student's)",
    "--out-dir": "output directory",
    "--work-dir": "scratch directory for the re-distilled traces",
    "--name": "name of the model / selection",
    "--max-new-tokens": "generation limit per attempt",
    "--batch-size": "questions per generation batch",
    "--attempts": "attempts parquet to grade",
    "--text-field": "column of the attempt text",
    "--prompt": "the official grading prompt file (llm backend)",
    "--ledger": "ledger JSONL of the paid calls (llm backend)",
    "--agreement-out": "also write judge-vs-math-verify agreement (Cohen's kappa) here",
    "--a": "first grades parquet",
    "--b": "second grades parquet",
    "--rubric": "the official MSC rubric msc.json (llm backend; cost: prices the rubric prefix)",
    "cost --config": "the workflow config whose distill/featurize sections are priced (e.g. config/s1.yaml)",
    "cost --pool": "a pool parquet to measure prompt lengths on (or --sample-jsonl)",
    "--sample-jsonl": "a JSONL sample of questions to measure prompt lengths on, e.g. MATH500",
    "--question-field": "the question's field in --sample-jsonl",
    "--solution-field": "the solution's field in --sample-jsonl",
    "--questions": "scale the estimate to this many questions (default: the sample's size; the paper: 59029)",
    "--grading-prompt": "the official grading prompt: its length is part of every judge call (cached prefix)",
    "cost --out": "also write the estimate as JSON here",
    "--traces": "the teacher's traces parquet",
    "--teacher-grades": "grades of the teacher's attempts",
    "--attempt-grades": "model=path pairs: each model's attempt grades (a {model}_correct column each)",
    "--domains": "domains parquet",
    "--featurized": "featurized.parquet",
    "select-overlap --featurized": "featurized.parquet, to break the overlap down by domain",
    "--funnel-out": "also write the selection funnel CSV here (s1K)",
    "--ids": "our selection's ids.txt",
    "--published": "the published s1K ids",
    "--results-manifest": "fetch manifest of the published eval outputs",
    "--tokenizer-manifest": "fetch manifest of the Qwen tokenizer (counts thinking in tokens instead of words)",
    "--tasks": "tasks to grade",
    "--thinking-count": "how thinking length is counted: words, or tokens (needs --tokenizer-manifest)",
    "--claims-json": "JSON object claim id -> published value to check",
    "--include": "only these runs",
    "--pool-manifest": "fetch manifest of the published pool",
    "--s1k-manifest": "fetch manifest of the published s1K",
    "--selections": "selections to rerun",
    "--domain-column": "the published pool's column standing in for the domain",
    "--data": "the selection's dataset.parquet",
    "--semantics": "config featurize.semantics: official (the official code's behaviour) or kit (the kit's; "
                   "docs/fidelity.md)",
}
COST_EPILOG = """What the flags change:
  --config picks the calls that are priced: distill (teacher: one call per question), featurize.grader
  with backend llm (judge: the teacher's attempt plus one per featurize.attempt_models), featurize.domains
  with backend llm (MSC classifier: one per question). Free backends (oracle, replay, math_verify,
  metadata) cost 0. --pool / --sample-jsonl give real questions to build the prompts from (their
  lengths are measured); --questions scales the sample to the run's size; --grading-prompt and --rubric
  add the official prompt and rubric, sent as a cached prefix. Lengths only known after a call (the
  teacher's output, judges' explanations) come from featurize.cost.assumptions.
Prices: US$ per million input/output tokens from s1kit.llm.client.PRICES, overridden by the config's
  distill.llm.prices and featurize.cost.prices; a model with no price is listed as unpriced. Tokens are
  chars/4 unless featurize.cost.tokenizer names a local tokenizer. Nothing is called: no API key needed."""


def _flag_help(command: str, flag: str, default: object) -> str:
    text = FLAG_HELP.get(f"{command} {flag}") or FLAG_HELP.get(flag, "")
    if default not in (None, "", "{}"):
        text += f" (default: {default})"
    return text


class _Parser(argparse.ArgumentParser):
    """An unknown subcommand gets the closest one suggested instead of the list of all 24."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if "invalid choice" in message and self.prog == "s1kit":
            import difflib
            import re

            m = re.search(r"invalid choice: '([^']*)'", message)
            wrong = m.group(1) if m else ""
            close = difflib.get_close_matches(wrong, list(COMMAND_HELP), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            self.exit(2, f"s1kit: unknown command {wrong!r}{hint} (s1kit --help lists them)\n")
        super().error(message)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="s1kit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="s1kit <command> --help describes each command's flags.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    commands: dict[str, tuple[Callable, list[tuple]]] = {
        "sources": (_sources, []),
        "retrace": (_retrace, [("--base",), ("--pool",), ("--length-tokenizer",), ("--out-dir",), ("--work-dir",),
                               ("--teacher",), ("--backend",), ("--options-json",), ("--model",), ("--params-json",),
                               ("--llm-json",)]),
        "fetch": (_fetch, [("--sources", None, "+"), ("--lock",), ("--dest",), ("--manifests",), ("--mirror",)]),
        "collect-source": (_collect_source, [("--source",), ("--n", int), ("--seed", int), ("--out",),
                                             ("--quarantine",), ("--eval", None, "*"), ("--manifest",),
                                             ("--options-json",), ("--max-chars", int), ("--official",)]),
        "collect-eval": (_collect_eval, [("--task",), ("--n", int), ("--seed", int), ("--out",), ("--manifest",),
                                         ("--quarantine",)]),
        "collect-pool": (_collect_pool, [("--raw", None, "+"), ("--eval", None, "*"), ("--config-json",),
                                         ("--out-pool",), ("--out-funnel",), ("--out-contaminated",),
                                         ("--out-duplicates",), ("--quarantine", None, "*"), ("--official",)]),
        "fetch-model": (_fetch_model, [("--kind",), ("--corpus", None, "+"), ("--config-json",), ("--out",),
                                       ("--repo",), ("--revision",), ("--lock",), ("--dest",)]),
        "distill": (_distill, [("--pool",), ("--teacher",), ("--backend",), ("--options-json",), ("--model",),
                               ("--params-json",), ("--llm-json",), ("--out-traces",), ("--out-ledger",)]),
        "attempts": (_attempts, [("--model",), ("--name",), ("--pool",), ("--out",), ("--max-new-tokens", int),
                                 ("--batch-size", int), ("--seed", int), ("--semantics",)]),
        "grade": (_grade, [("--attempts",), ("--pool",), ("--out",), ("--text-field",), ("--backend",),
                           ("--prompt",), ("--llm-json",), ("--ledger",), ("--agreement-out",), ("--semantics",)]),
        "grade-agreement": (_grade_agreement, [("--a",), ("--b",), ("--out",)]),
        "domains": (_domains, [("--pool",), ("--out",), ("--backend",), ("--rubric",), ("--llm-json",),
                               ("--ledger",)]),
        "fetch-official": (_fetch_official, [("--config-json",), ("--dest",), ("--file", None, "*")]),
        "cost": (_cost, [("--config",), ("--pool",), ("--sample-jsonl",), ("--question-field",),
                         ("--solution-field",), ("--questions", int), ("--grading-prompt",), ("--rubric",),
                         ("--out",)]),
        "featurize": (_featurize, [("--pool",), ("--traces",), ("--teacher-grades",), ("--attempt-grades", None, "*"),
                                   ("--domains",), ("--length-tokenizer",), ("--out",), ("--semantics",)]),
        "select": (_select, [("--name",), ("--featurized",), ("--out-dir",), ("--config-json",),
                             ("--funnel-out",)]),
        "select-overlap": (_select_overlap, [("--ids",), ("--published",), ("--featurized",), ("--out",)]),
        "review-grade": (_review_grade, [("--results-manifest",), ("--tokenizer-manifest",), ("--tasks", None, "+"),
                                         ("--thinking-count",), ("--claims-json",), ("--include", None, "*"),
                                         ("--out-dir",)]),
        "review-select": (_review_select, [("--pool-manifest",), ("--s1k-manifest",), ("--tokenizer-manifest",),
                                           ("--config-json",), ("--selections", None, "+"), ("--thinking-count",),
                                           ("--domain-column",), ("--out-dir",)]),
        "train": (_train, [("--model",), ("--data",), ("--out-dir",), ("--config-json",)]),
        "where": (_where, []),
    }
    # keys are a flag, or "command --flag" where it differs from the same flag elsewhere
    optional = {"--eval", "--funnel-out", "--attempt-grades", "select-overlap --featurized", "--manifest", "--n",
                "collect-pool --quarantine", "collect-eval --quarantine", "--mirror", "--corpus", "--repo",
                "--official", "--file",
                # featurize (llm grading / domains, cost)
                "--prompt", "--ledger", "--agreement-out", "--rubric", "cost --pool",
                "--sample-jsonl", "--questions", "--grading-prompt", "cost --out",
                # review (docs/review.md)
                "--tokenizer-manifest", "--include"}
    defaults = {"--max-chars": 50_000, "--revision": "main", "--lock": "config/hub.lock.yaml",
                "--dest": "resources/hub", "--text-field": "attempt", "domains --backend": "metadata", "--config-json": "{}",
                "--options-json": "{}", "--params-json": "{}", "--llm-json": "{}", "distill --model": "", "retrace --model": "",
                "grade --backend": "math_verify", "--question-field": "question", "--solution-field": "solution",
                "--thinking-count": "words", "--claims-json": "{}", "--domain-column": "cot_type",
                "--semantics": "kit"}
    parsers = {}
    for name, (fn, flags) in commands.items():
        extra = {"epilog": COST_EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter} if name == "cost" else {}
        p = parsers[name] = sub.add_parser(name, help=COMMAND_HELP[name], description=COMMAND_HELP[name], **extra)
        for spec in flags:
            flag, typ, nargs = (spec + (None, None))[:3]
            kw = {"type": typ} if typ else {}
            if nargs:
                kw["nargs"] = nargs
            default = defaults.get(f"{name} {flag}", defaults.get(flag))
            kw["required"] = not optional & {flag, f"{name} {flag}"} and default is None
            if default is not None:
                kw["default"] = default
            p.add_argument(flag, help=_flag_help(name, flag, default), **kw)
        p.set_defaults(func=fn)
    parsers["where"].add_argument("results", nargs="?", default="results",
                                  help="the results tree (default: results)")
    from s1kit.provenance import add_trace_arguments, trace_main

    p = sub.add_parser("trace", help=COMMAND_HELP["trace"], description=COMMAND_HELP["trace"])
    add_trace_arguments(p)
    p.set_defaults(func=trace_main)
    for name, module in [("evaluate", "s1kit.evaluate.run"), ("paper", "s1kit.paper.build"),
                         ("official-command", "s1kit.evaluate.official_commands")]:
        if command in (name, None, "-h", "--help"):
            # imported only when asked for: their modules are heavy, and every rule starts this CLI
            mod = importlib.import_module(module)
            p = sub.add_parser(name, help=COMMAND_HELP[name], description=COMMAND_HELP[name])
            mod.add_arguments(p)
            p.set_defaults(func=mod.main)
        else:
            sub.add_parser(name, add_help=False, help=COMMAND_HELP[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    from s1kit.progress import configure_tqdm

    configure_tqdm()  # progress bars as clean lines when stderr is a log file, live on a terminal
    from s1kit.provenance import record

    from s1kit.llm.spend import SpendCapReached
    from s1kit.secrets import scrub

    try:
        # every subcommand leaves a provenance record beside each output (s1kit/provenance.py)
        rc = record(argv, args, lambda: args.func(args))
    except SpendCapReached as e:
        print(f"s1kit {args.command}: {scrub(str(e))}", file=sys.stderr)
        return SPEND_CAP_EXIT
    except (ValueError, KeyError, OSError) as e:
        print(f"s1kit {args.command}: error: {scrub(str(e))}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - a bug: the traceback, without any secret in it
        import traceback

        print(scrub(traceback.format_exc()), file=sys.stderr, end="")
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
