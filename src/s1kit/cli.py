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
                        max_chars=a.max_chars)
    print(f"{a.source}: {info['records']} records -> {a.out}; {info['quarantined']} quarantined -> {a.quarantine}")


def _collect_eval(a: argparse.Namespace) -> None:
    from s1kit.collect import write_eval_set

    n = write_eval_set(a.task, a.out, n=a.n, seed=a.seed, manifest=a.manifest, quarantine_out=a.quarantine)
    print(f"{a.task}: {n} questions -> {a.out}")


def _collect_pool(a: argparse.Namespace) -> None:
    from s1kit.collect import build_pool

    print(json.dumps(build_pool(a.raw, a.eval, a.ngram, a.out_pool, a.out_funnel, a.out_contaminated,
                                a.out_duplicates, a.quarantine or [], exempt=a.no_decontaminate or [])))


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
    from s1kit.features.llm_jobs import fetch_official

    print(f"{a.name} sha256 {fetch_official(a.name, a.revision, a.sha256, a.out, a.local_dir or None)} -> {a.out}")


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
    print(f"{merge(a.pool, a.traces, a.teacher_grades, grades, a.domains, a.length_tokenizer, a.out)} rows -> {a.out}")


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
    for label, rel in [("scaling figure", "paper/figures"), ("tables", "paper/tables"),
                       ("claims", "paper/claims.csv"), ("report", "paper/report.md"),
                       ("selection funnel", "select/funnel.csv"), ("eval runs", "eval")]:
        print(f"{label:>17}: {root / rel}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s1kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[Callable, list[tuple]]] = {
        "sources": (_sources, []),
        "retrace": (_retrace, [("--base",), ("--pool",), ("--length-tokenizer",), ("--out-dir",), ("--work-dir",),
                               ("--teacher",), ("--backend",), ("--options-json",), ("--model",), ("--params-json",),
                               ("--llm-json",)]),
        "fetch": (_fetch, [("--sources", None, "+"), ("--lock",), ("--dest",), ("--manifests",), ("--mirror",)]),
        "collect-source": (_collect_source, [("--source",), ("--n", int), ("--seed", int), ("--out",),
                                             ("--quarantine",), ("--eval", None, "*"), ("--manifest",),
                                             ("--options-json",), ("--max-chars", int)]),
        "collect-eval": (_collect_eval, [("--task",), ("--n", int), ("--seed", int), ("--out",), ("--manifest",),
                                         ("--quarantine",)]),
        "collect-pool": (_collect_pool, [("--raw", None, "+"), ("--eval", None, "*"), ("--ngram", int),
                                         ("--out-pool",), ("--out-funnel",), ("--out-contaminated",),
                                         ("--out-duplicates",), ("--quarantine", None, "*"),
                                         ("--no-decontaminate", None, "*")]),
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
        "fetch-official": (_fetch_official, [("--name",), ("--revision",), ("--sha256",), ("--local-dir",),
                                             ("--out",)]),
        "cost": (_cost, [("--config",), ("--pool",), ("--sample-jsonl",), ("--question-field",),
                         ("--solution-field",), ("--questions", int), ("--grading-prompt",), ("--rubric",),
                         ("--out",)]),
        "featurize": (_featurize, [("--pool",), ("--traces",), ("--teacher-grades",), ("--attempt-grades", None, "*"),
                                   ("--domains",), ("--length-tokenizer",), ("--out",)]),
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
        "where": (_where, [("results",)]),
    }
    # keys are a flag, or "command --flag" where it differs from the same flag elsewhere
    optional = {"--eval", "--funnel-out", "--attempt-grades", "select-overlap --featurized", "--manifest", "--n",
                "collect-pool --quarantine", "collect-eval --quarantine", "--mirror", "--corpus", "--repo", "--no-decontaminate",
                # featurize (llm grading / domains, cost)
                "--prompt", "--ledger", "--agreement-out", "--rubric", "--local-dir", "cost --pool",
                "--sample-jsonl", "--questions", "--grading-prompt", "cost --out",
                # review (docs/review.md)
                "--tokenizer-manifest", "--include"}
    defaults = {"--max-chars": 50_000, "--revision": "main", "--lock": "config/hub.lock.yaml",
                "--dest": "resources/hub", "--text-field": "attempt", "domains --backend": "metadata", "--config-json": "{}",
                "--options-json": "{}", "--params-json": "{}", "--llm-json": "{}", "distill --model": "", "retrace --model": "",
                "grade --backend": "math_verify", "--question-field": "question", "--solution-field": "solution",
                "--thinking-count": "words", "--claims-json": "{}", "--domain-column": "cot_type",
                "--semantics": "kit"}
    for name, (fn, flags) in commands.items():
        p = sub.add_parser(name)
        for spec in flags:
            flag, typ, nargs = (spec + (None, None))[:3]
            kw = {"type": typ} if typ else {}
            if nargs:
                kw["nargs"] = nargs
            if flag.startswith("--"):
                default = defaults.get(f"{name} {flag}", defaults.get(flag))
                kw["required"] = not optional & {flag, f"{name} {flag}"} and default is None
                if default is not None:
                    kw["default"] = default
            p.add_argument(flag, **kw)
        p.set_defaults(func=fn)
    from s1kit.provenance import add_trace_arguments, trace_main

    p = sub.add_parser("trace", help="the provenance chain of a claim's target file, down to raw sources")
    add_trace_arguments(p)
    p.set_defaults(func=trace_main)
    for name, module in [("evaluate", "s1kit.evaluate.run"), ("paper", "s1kit.paper.build")]:
        if command in (name, None, "-h", "--help"):
            # imported only when asked for: their modules are heavy, and every rule starts this CLI
            mod = importlib.import_module(module)
            p = sub.add_parser(name)
            mod.add_arguments(p)
            p.set_defaults(func=mod.main)
        else:
            sub.add_parser(name, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
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
