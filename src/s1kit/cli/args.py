"""The flags of each `s1kit` subcommand: one dataclass per command, its docstring the command's help.

A field is a flag: ``out_dir`` is ``--out-dir``, typed by its annotation (``int``; ``list[str]`` takes
several values), required unless it has a default, explained by ``metadata["help"]``. A flag that
several commands share is a ``*_flag`` here, so its help and default are stated once; a command
whose flag means something else there states its own field.
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from functools import partial
from typing import Any, ClassVar, TypeVar

from s1kit.features.semantics import DEFAULT_SEMANTICS as DEFAULT_FEATURIZE_SEMANTICS

T = TypeVar("T")

# kw_only: a required flag (no default) may follow an optional one, in the order --help lists them
command_flags = dataclass(frozen=True, kw_only=True)


def flag(help: str, default: Any = MISSING, **extra: Any) -> Any:
    """A flag's field: its help, its default (none: the flag is required), argparse ``nargs``/``positional``."""
    return field(default=default, metadata={"help": help, **extra})


# ---- flags several commands share (a call gives a command's field) -----------------------

seed_flag = partial(flag, "random seed (from the config)")
out_flag = partial(flag, "output file")
out_dir_flag = partial(flag, "output directory")
pool_flag = partial(flag, "the pool parquet (id, question, solution, ...)")
name_flag = partial(flag, "name of the model / selection")
options_json_flag = partial(flag, "JSON object of options (config collect.sources.<name> / distill.options)", "{}")
params_json_flag = partial(flag, "JSON object of generation parameters sent with each request", "{}")
llm_json_flag = partial(flag, "JSON object of the LLM client settings (rpm, workers, cache, prices, ...)", "{}")
semantics_flag = partial(flag, "config featurize.semantics: official (the official code's behaviour) or kit (the "
                         "kit's; docs/fidelity.md)", DEFAULT_FEATURIZE_SEMANTICS)
teacher_flag = partial(flag, "teacher name (config distill.teacher; e.g. gemini, r1, oracle, replay)")
teacher_model_flag = partial(flag, "the teacher's API model id (empty: the teacher's default)", "")
backend_flag = partial(flag, "backend of the stage (config); see docs/llm.md")
length_tokenizer_flag = partial(flag, "tokenizer that counts thinking tokens (the student's)")
lock_flag = partial(flag, "lock file of pinned hub commits and file sha256s; written on the first networked run",
                    "config/hub.lock.yaml")
mirror_flag = partial(flag, "a local mirror of the hub to read instead of the network "
                      "(collect.hub.offline_mirror)", None)
n_flag = partial(flag, "number of questions (synthetic sources and eval sets; hub sets ignore it)", None)
eval_flag = partial(flag, "eval set JSONL files to decontaminate against", None)
manifest_flag = partial(flag, "the source's fetch manifest (hub sources; files at locked commits)", None)
official_flag = partial(flag, "the fetched official collect script (collect.semantics official: its "
                        "TMP_QUESTIONS_TO_KEEP)", None)
ledger_flag = partial(flag, "ledger JSONL of the paid calls (llm backend)", None)
rubric_flag = partial(flag, "the official MSC rubric msc.json (llm backend; cost: prices the rubric prefix)", None)
tokenizer_manifest_flag = partial(flag, "fetch manifest of the Qwen tokenizer (counts thinking in tokens instead "
                                  "of words)", None)
thinking_count_flag = partial(flag, "how thinking length is counted: words, or tokens (needs --tokenizer-manifest)",
                              "words")


def config_json_flag(help: str = "JSON object of the stage's config section") -> Any:
    return flag(help, "{}")


def dest_flag(help: str = "where hub snapshots are stored") -> Any:
    return flag(help, "resources/hub")


# ---- one dataclass per command (s1kit.cli.commands.COMMANDS names and orders them) -------------


@command_flags
class SourcesArgs:
    """print the catalogue of question sources (docs/sources.md)"""


@command_flags
class RetraceArgs:
    """re-distill a finished selection with another teacher (s1K-1.1)"""

    base: str = flag("the selection's dataset.parquet to re-distill")
    pool: str = pool_flag()
    length_tokenizer: str = length_tokenizer_flag()
    out_dir: str = out_dir_flag()
    work_dir: str = flag("scratch directory for the re-distilled traces")
    teacher: str = teacher_flag()
    backend: str = backend_flag()
    options_json: str = options_json_flag()
    model: str = teacher_model_flag()
    params_json: str = params_json_flag()
    llm_json: str = llm_json_flag()


@command_flags
class FetchArgs:
    """download hub sources at their locked commits and write one manifest per source"""

    sources: list[str] = flag("hub source names to fetch (s1kit.sources.HUB_SOURCES)")
    lock: str = lock_flag()
    dest: str = dest_flag()
    manifests: str = flag("directory for one <source>.json manifest per source")
    mirror: str | None = mirror_flag()


@command_flags
class CollectSourceArgs:
    """load one question source (hub or synthetic), quarantining bad rows"""

    source: str = flag("source name (s1kit sources lists them)")
    n: int | None = n_flag()
    seed: int = seed_flag()
    out: str = out_flag()
    quarantine: str = flag("JSONL of rows rejected by the quality checks, with a reason")
    eval: list[str] | None = eval_flag()
    manifest: str | None = manifest_flag()
    options_json: str = options_json_flag()
    max_chars: int = flag("questions longer than this are quarantined as too_long", 50_000)
    official: str | None = official_flag()


@command_flags
class CollectEvalArgs:
    """write one eval set as JSONL (id, question, answer)"""

    task: str = flag("eval set name")
    n: int | None = n_flag()
    seed: int = seed_flag()
    out: str = out_flag()
    manifest: str | None = manifest_flag()
    quarantine: str | None = flag("JSONL of hub eval rows that cannot be read or have no question, with a reason",
                                  None)


@command_flags
class CollectPoolArgs:
    """decontaminate and select each source, then deduplicate them into the pool (collect.semantics)"""

    raw: list[str] = flag("the sources' parquet files, in config order (deduplication keeps the first copy)")
    eval: list[str] | None = eval_flag()
    config_json: str = config_json_flag("JSON object of config collect: semantics, ngram, seed, sources")
    out_pool: str = flag("the decontaminated, deduplicated pool (parquet)")
    out_funnel: str = flag("per-source counts: loaded, quarantined, contaminated, cross_source, unselected, "
                           "duplicates, kept (CSV)")
    out_contaminated: str = flag("dropped questions with the eval item each matched (parquet)")
    out_duplicates: str = flag("dropped duplicate questions (parquet)")
    quarantine: list[str] | None = flag("the sources' quarantine files (they add to each source's 'loaded' count)",
                                        None)
    official: str | None = official_flag()


@command_flags
class FetchModelArgs:
    """build a tiny base model from a config, or link a hub model at its locked commit"""

    kind: str = flag("tiny (build from --config-json) or hub (link --repo at its locked commit)")
    corpus: list[str] | None = flag("pool parquet(s) the tiny tokenizer is trained on", None, nargs="+")
    config_json: str = config_json_flag()
    out: str = out_flag()
    repo: str | None = flag("hub model repository (models.<name>.repo)", None)
    revision: str = flag("hub revision or commit to pin", "main")
    lock: str = lock_flag()
    dest: str = dest_flag()


@command_flags
class DistillArgs:
    """the teacher's thinking and attempt for every pool question, cached and ledgered"""

    pool: str = pool_flag()
    teacher: str = teacher_flag()
    backend: str = backend_flag()
    options_json: str = options_json_flag()
    model: str = teacher_model_flag()
    params_json: str = params_json_flag()
    llm_json: str = llm_json_flag()
    out_traces: str = flag("traces parquet (thinking, attempt, finish_reason per question)")
    out_ledger: str = flag("ledger JSONL of every paid call (tokens, dollars, cache hits)")


@command_flags
class AttemptsArgs:
    """a base model's attempts at every pool question, a difficulty signal"""

    model: str = flag("directory of the base model that attempts the questions")
    name: str = name_flag()
    pool: str = pool_flag()
    out: str = out_flag()
    max_new_tokens: int = flag("generation limit per attempt")
    batch_size: int = flag("questions per generation batch")
    seed: int = seed_flag()
    semantics: str = semantics_flag()


@command_flags
class GradeArgs:
    """grade attempts against the solutions (math-verify or an LLM judge)"""

    attempts: str = flag("attempts parquet to grade")
    pool: str = pool_flag()
    out: str = out_flag()
    text_field: str = flag("column of the attempt text", "attempt")
    backend: str = flag("math_verify (free, local) or llm (an LLM judge with the official grading prompt)",
                        "math_verify")
    prompt: str | None = flag("the official grading prompt file (llm backend)", None)
    llm_json: str = llm_json_flag()
    ledger: str | None = ledger_flag()
    agreement_out: str | None = flag("also write judge-vs-math-verify agreement (Cohen's kappa) here", None)
    semantics: str = semantics_flag()


@command_flags
class GradeAgreementArgs:
    """agreement (Cohen's kappa) between two gradings of the same attempts"""

    a: str = flag("first grades parquet")
    b: str = flag("second grades parquet")
    out: str = out_flag()


@command_flags
class DomainsArgs:
    """a domain (MSC class) for every pool question, from metadata or an LLM"""

    pool: str = pool_flag()
    out: str = out_flag()
    backend: str = flag("metadata (the sources' own labels) or llm (MSC classification)", "metadata")
    rubric: str | None = rubric_flag()
    llm_json: str = llm_json_flag()
    ledger: str | None = ledger_flag()


@command_flags
class FetchOfficialArgs:
    """the official s1 files of config `official`, each checked against its sha256"""

    config_json: str = config_json_flag("JSON object of config official: repo, commit, files (path -> sha256), "
                                        "mirror")
    dest: str = dest_flag("where the official files go (<dest>/<repo>/<commit>/<path>)")
    file: list[str] | None = flag("only these pinned files (paths in the repository; default: every pinned file)",
                                  None)


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


@command_flags
class CostArgs:
    """estimate tokens and dollars of a config's paid LLM calls before making any"""

    EPILOG: ClassVar[str] = COST_EPILOG

    config: str = flag("the workflow config whose distill/featurize sections are priced (e.g. config/s1.yaml)")
    pool: str | None = flag("a pool parquet to measure prompt lengths on (or --sample-jsonl)", None)
    sample_jsonl: str | None = flag("a JSONL sample of questions to measure prompt lengths on, e.g. MATH500", None)
    question_field: str = flag("the question's field in --sample-jsonl", "question")
    solution_field: str = flag("the solution's field in --sample-jsonl", "solution")
    questions: int | None = flag("scale the estimate to this many questions (default: the sample's size; the "
                                 "paper: 59029)", None)
    grading_prompt: str | None = flag("the official grading prompt: its length is part of every judge call "
                                      "(cached prefix)", None)
    rubric: str | None = rubric_flag()
    out: str | None = flag("also write the estimate as JSON here", None)


@command_flags
class FeaturizeArgs:
    """join traces, grades, domains and thinking lengths into featurized.parquet"""

    pool: str = pool_flag()
    traces: str = flag("the teacher's traces parquet")
    teacher_grades: str = flag("grades of the teacher's attempts")
    attempt_grades: list[str] | None = flag("model=path pairs: each model's attempt grades (a {model}_correct "
                                            "column each)", None)
    domains: str = flag("domains parquet")
    length_tokenizer: str = length_tokenizer_flag()
    out: str = out_flag()
    semantics: str = semantics_flag()


@command_flags
class SelectArgs:
    """one selection (s1K or an ablation) from the featurized pool"""

    name: str = name_flag()
    featurized: str = flag("featurized.parquet")
    out_dir: str = out_dir_flag()
    config_json: str = config_json_flag()
    funnel_out: str | None = flag("also write the selection funnel CSV here (s1K)", None)


@command_flags
class SelectOverlapArgs:
    """overlap of a selection's ids with the published s1K ids"""

    ids: str = flag("our selection's ids.txt")
    published: str = flag("the published s1K ids")
    featurized: str | None = flag("featurized.parquet, to break the overlap down by domain", None)
    out: str = out_flag()


@command_flags
class ReviewGradeArgs:
    """re-grade the published eval outputs (config/review.yaml)"""

    results_manifest: str = flag("fetch manifest of the published eval outputs")
    tokenizer_manifest: str | None = tokenizer_manifest_flag()
    tasks: list[str] = flag("tasks to grade")
    thinking_count: str = thinking_count_flag()
    claims_json: str = flag("JSON object claim id -> published value to check", "{}")
    include: list[str] | None = flag("only these runs", None)
    out_dir: str = out_dir_flag()


@command_flags
class ReviewSelectArgs:
    """rerun the selection on the published pool where its columns allow"""

    pool_manifest: str = flag("fetch manifest of the published pool")
    s1k_manifest: str = flag("fetch manifest of the published s1K")
    tokenizer_manifest: str | None = tokenizer_manifest_flag()
    config_json: str = config_json_flag()
    selections: list[str] = flag("selections to rerun")
    thinking_count: str = thinking_count_flag()
    domain_column: str = flag("the published pool's column standing in for the domain", "cot_type")
    out_dir: str = out_dir_flag()


@command_flags
class TrainArgs:
    """supervised fine-tuning of a base model on a selection"""

    model: str = flag("directory of the base model to fine-tune")
    data: str = flag("the selection's dataset.parquet")
    out_dir: str = out_dir_flag()
    config_json: str = config_json_flag()


@command_flags
class WhereArgs:
    """where the paper outputs of a results tree are (fails if the tree is absent)"""

    results: str = flag("the results tree", "results", positional=True)


# ---- dataclass <-> argparse -----------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One argument per field of ``cls``; a default worth showing is appended to the help."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        kind, many = _flag_type(hints[f.name])
        required = f.default is MISSING
        text = f.metadata["help"]
        if f.default not in (MISSING, None, "", "{}"):
            text += f" (default: {f.default})"
        if f.metadata.get("positional"):  # an operand that may be left out (where's results tree)
            parser.add_argument(f.name, nargs="?", default=f.default, help=text)
            continue
        kw: dict[str, Any] = {} if kind is str else {"type": kind}
        if many:  # one or more values when required, any number when not, unless the field says
            kw["nargs"] = f.metadata.get("nargs", "+" if required else "*")
        if not required:
            kw["default"] = f.default
        parser.add_argument("--" + f.name.replace("_", "-"), required=required, help=text, **kw)


def _flag_type(hint: Any) -> tuple[type, bool]:
    """(the type of one value, whether the flag takes a list) of an annotation like ``list[str] | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return hint, False


def parsed(cls: type[T], ns: argparse.Namespace) -> T:
    """The ``cls`` of the flags argparse parsed into ``ns``."""
    return cls(**{f.name: getattr(ns, f.name) for f in fields(cls)})
