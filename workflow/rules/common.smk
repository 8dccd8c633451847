# Validation, wildcard constraints and config -> flags helpers. No data handling here.
import dataclasses
import json
import os
from pathlib import Path

from snakemake.utils import validate

from s1kit.collect import source_kind
from s1kit.sources import HUB_SOURCES
from s1kit.config_check import check_config
from s1kit.evaluate.batches import plan_batches
from s1kit.evaluate.settings import parse_setting, semantics_of_setting, setting_names
from s1kit.secrets import env_option_names
from s1kit.sft.launch import check_run, launch_command, rule_resources

# one line per problem with its key path first (Snakemake's validate prints the whole schema);
# validate then fills the schema's defaults (each declared once there, e.g. every stage's
# semantics), so the rules read those keys as config[...][key]
check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
validate(config, schema="../schemas/config.schema.yaml")

# Every job inherits these (s1kit.secrets, s1kit.llm.spend): the variables named by *_env
# options are scrubbed from all a job writes; llm.max_cost_usd caps the run's LLM spend.
# (update(), not item assignment: snakemake --lint reads os.environ[...] with a quoted name
# as a variable the workflow needs and asks for an `envvars:` directive.)
os.environ.update(S1KIT_SECRET_ENV=",".join(sorted(set(env_option_names(config)))))
if (config.get("llm") or {}).get("max_cost_usd") is not None:
    os.environ.update(S1KIT_LLM_MAX_COST_USD=str(config["llm"]["max_cost_usd"]))

SOURCES = list(config["collect"]["sources"])  # config order: dedup keeps the first copy
EVAL_SETS = sorted(config["collect"]["eval_sets"])
MODELS = sorted(config["models"])
RUNS = sorted(config["train"]["runs"])
SELECTIONS = config["select"]["selections"]
RETRACES = sorted(config.get("retrace", {}))  # selections re-distilled by another teacher (s1K-1.1)
ABLATIONS = [s for s in SELECTIONS if s != "s1K"]
EV = config["evaluate"]
SWEEP = setting_names(EV["budgets"], EV["wait"])  # every evaluate.models x evaluate.tasks runs these
# evaluate.extra: the Table 3/4 runs (rejection sampling, conditional control, other strings)
EXTRA_RUNS = [
    (model, setting, task)
    for group in EV.get("extra", [])
    for model in group.get("models", EV["models"])
    for setting in group["settings"]
    for task in group.get("tasks", EV["tasks"])
]
for _model, _setting, _task in EXTRA_RUNS:
    parse_setting(_setting)  # a bad name fails here, naming itself, before any job runs
SETTINGS = SWEEP + [s for s in dict.fromkeys(s for _, s, _ in EXTRA_RUNS) if s not in SWEEP]
TEACHER = config["distill"]["teacher"]
# Apptainer image of each kind of rule (containers/README.md); used only under
# `--sdm apptainer` (profiles/slurm). A local .sif path or a URI, from config `containers:`.
CONTAINERS = {
    "data": "containers/data.sif",
    "train": "containers/train.sif",
    "eval": "containers/eval.sif",
} | config.get("containers", {})


def _check(values, allowed, key, allowed_key):
    for v in values:
        if v not in allowed:
            raise ValueError(f"config {key}: {v!r} is not one of {allowed_key} ({', '.join(allowed) or 'none'})")


_check(config["featurize"]["attempt_models"], MODELS, "featurize.attempt_models", "models")
_check([config["featurize"]["length_tokenizer"]], MODELS, "featurize.length_tokenizer", "models")
for _name, _model in config["models"].items():
    _check([_model["tokenizer"]] if _model.get("tokenizer") else [], MODELS, f"models.{_name}.tokenizer", "models")
for _run, _spec in config["train"]["runs"].items():
    _check([_spec["base"]], MODELS, f"train.runs.{_run}.base", "models")
    _check([_spec["selection"]], SELECTIONS + RETRACES, f"train.runs.{_run}.selection", "select.selections or retrace")
_check(EV["models"], RUNS, "evaluate.models", "train.runs")
_check([m for m, _, _ in EXTRA_RUNS], RUNS + MODELS, "evaluate.extra[].models", "train.runs or models")
_check([t for _, _, t in EXTRA_RUNS], EV["tasks"], "evaluate.extra[].tasks", "evaluate.tasks")
# evaluate.data: lm-eval task -> the collected eval set holding its questions (default: same name)
EVAL_DATA = EV.get("data") or {}
_check(EVAL_DATA, EV["tasks"], "evaluate.data", "evaluate.tasks")
_check([EVAL_DATA.get(t, t) for t in EV["tasks"]], EVAL_SETS, "evaluate.tasks (their data)", "collect.eval_sets")


def _alt(values):
    import re

    return "|".join(re.escape(v) for v in values) or "^$"


wildcard_constraints:
    source=_alt(SOURCES),
    task=_alt(sorted(set(EVAL_SETS) | set(EV["tasks"]))),
    model=_alt(MODELS + RUNS),
    run=_alt(RUNS),
    selection=_alt(SELECTIONS),
    ablation=_alt(ABLATIONS),
    retrace=_alt(RETRACES),
    setting=_alt(SETTINGS),
    teacher=_alt([TEACHER]),


# One command-line argument holds at most 128 KiB on Linux (MAX_ARG_STRLEN) and all of them
# about 2 MiB: a config value that would not fit stops the DAG here, naming its key, instead of
# failing as "Argument list too long" after Snakemake has removed the job's old outputs.
MAX_ARG_BYTES = 100_000


def as_json(value, key="(a value)"):
    """A config value as one JSON command-line argument, at most MAX_ARG_BYTES long."""
    text = json.dumps(value, sort_keys=True)
    if len(text.encode()) > MAX_ARG_BYTES:
        raise ValueError(
            f"config {key}: {len(text.encode()):,} bytes as JSON, over the {MAX_ARG_BYTES:,} a job's "
            "command-line argument may hold; put large values in a file and give its path"
        )
    return text


def verbatim(value):
    """A params value that reaches the job as it is. Snakemake formats a plain string param (and
    each string of a list) with the job's wildcards: "{task}" in a config value would become the
    task's name and a regex's {4} a WildcardError. What a function returns is not formatted."""
    return lambda wildcards: value


def json_param(value, key):
    """A config section as a verbatim JSON argument (checked for size when the DAG is built)."""
    return verbatim(as_json(value, key))


def get_run_base(wildcards):
    return f"results/models/{config['train']['runs'][wildcards.run]['base']}"


def get_run_data(wildcards):
    return f"results/select/{config['train']['runs'][wildcards.run]['selection']}/dataset.parquet"


def get_eval_results():
    return expand(
        "results/eval/{model}/{setting}/{task}/results.json", model=EV["models"], setting=SWEEP, task=EV["tasks"]
    ) + [f"results/eval/{m}/{s}/{t}/results.json" for m, s, t in EXTRA_RUNS]


# evaluate.batches: under fork semantics the tasks of one official command run in ONE lm-eval
# run (s1kit.evaluate.batches.plan_batches); evaluate.smk makes one rule per task tuple, its
# {pair} wildcard "<model>/<setting>" limited to the pairs that run that tuple. Kit-semantics
# settings keep one task per run (evaluate_run).
EVAL_SEMANTICS = EV["semantics"]
EVAL_BATCHES = plan_batches(
    [(m, s, t) for m in EV["models"] for s in SWEEP for t in EV["tasks"]] + EXTRA_RUNS,
    EV.get("batches", []),
    EVAL_SEMANTICS,
)
BATCH_PAIRS = {}  # task tuple -> ["<model>/<setting>", ...]
for (_model, _setting), _batches in EVAL_BATCHES.items():
    for _batch in _batches:
        BATCH_PAIRS.setdefault(_batch, []).append(f"{_model}/{_setting}")
KIT_SETTINGS = [s for s in SETTINGS if semantics_of_setting(s, EVAL_SEMANTICS) == "kit"]
_check(
    [EVAL_DATA.get(t, t) for g in EV.get("batches", []) for t in g["tasks"]],
    EVAL_SETS,
    "evaluate.batches[].tasks (their data)",
    "collect.eval_sets",
)


def pair_wildcards(wildcards):
    """{pair} ("<model>/<setting>") of a batch rule as model and setting wildcards."""
    from types import SimpleNamespace

    model, setting = wildcards.pair.split("/", 1)
    return SimpleNamespace(model=model, setting=setting)


def eval_tokenizer(wildcards):
    """models.<name>.tokenizer: another model whose tokenizer this one is evaluated with
    (the official commands pass Qwen2.5's to s1-32B and the control models)."""
    spec = config["models"].get(wildcards.model) or {}
    return [f"results/models/{spec['tokenizer']}"] if spec.get("tokenizer") else []


def eval_model_args(wildcards, input):
    args = dict(EV.get("model_args") or {})
    if input.tokenizer:
        args["tokenizer"] = str(input.tokenizer)
    return as_json(args, "evaluate.model_args")


def eval_model_dir(wildcards):
    """A train run's final model, or a base model evaluated as it is (Qwen2.5-32B-Instruct, plain)."""
    m = wildcards.model
    return f"results/train/{m}/model" if m in RUNS else f"results/models/{m}"


def get_select_outputs():
    return expand(
        "results/select/{selection}/{file}", selection=SELECTIONS + RETRACES, file=["summary.json", "sources.csv"]
    ) + ["results/select/funnel.csv"]


def retrace_flags(name):
    """`s1kit retrace` arguments of one retrace entry (a teacher like distill's), as a list
    (each quoted with :q by its rule)."""
    spec = config["retrace"][name]
    flags = [
        "--teacher",
        spec["teacher"],
        "--backend",
        spec["backend"],
        "--options-json",
        as_json(spec.get("options", {}), f"retrace.{name}.options"),
        "--params-json",
        as_json(spec.get("params", {}), f"retrace.{name}.params"),
        "--llm-json",
        as_json(spec.get("llm", {}), f"retrace.{name}.llm"),
    ]
    if spec.get("model"):
        flags += ["--model", spec["model"]]
    return flags


def get_final_output():
    return (
        ["results/data/funnel_collect.csv"]
        + get_select_outputs()
        + expand("results/train/{run}/metrics.json", run=RUNS)
        + get_eval_results()
        + ["results/paper/claims.csv", "results/paper/report.md", "results/paper/report.html"]
    )


def paper_report_category(wildcards):
    """Category of a paper figure in `snakemake --report`, following the paper's sections."""
    return "Test-time scaling" if wildcards.name == "scaling" else "Selection"


# ---- featurize: grader and domain classifier backends (config featurize.grader / .domains) ----
# Used by distill_grade (teacher attempts) and featurize_grade_attempts alike; with the
# default math_verify / metadata backends they add no inputs, outputs or flags.
FZ_GRADER = config["featurize"].get("grader") or {}
FZ_DOMAINS = config["featurize"].get("domains") or {}
GRADER_LLM = FZ_GRADER.get("backend", "math_verify") == "llm"
DOMAINS_LLM = FZ_DOMAINS.get("backend", "metadata") == "llm"
# The official s1 code (config `official`): one repository commit, files pinned by sha256,
# fetched by the fetch_official rule (collect.smk) from GitHub or official.mirror.
OFFICIAL = config.get("official") or {}
OFFICIAL_ROOT = f"resources/official/{OFFICIAL.get('repo', 'none')}/{OFFICIAL.get('commit', 'none')}"


def official(path):
    """The fetched copy of an official file; it must be pinned in config official.files."""
    if path not in OFFICIAL.get("files", {}):
        raise ValueError(
            f"config official.files: {path!r} is needed (pin it with its sha256 from the "
            "official repository at official.commit)"
        )
    return f"{OFFICIAL_ROOT}/{path}"


def official_dest(wildcards, output):
    """The root the fetched official files go under (resources/official), from the output's path."""
    depth = len(Path(wildcards.path).parts) + len(Path(OFFICIAL["repo"]).parts)
    return str(Path(output[0]).parents[depth])  # <dest>/<repo>/<commit>/<path>


def grade_inputs():
    return {"prompt": official("data/grading.txt")} if GRADER_LLM else {}


def grade_outputs(stem):
    """The llm grader's ledger (and agreement report) beside the grades file `stem`.parquet."""
    if not GRADER_LLM:
        return {}
    out = {"ledger": f"{stem}.ledger.jsonl"}
    if FZ_GRADER.get("agreement"):
        out["agreement"] = f"{stem}.agreement.json"
    return out


def grade_flags(wildcards, input, output):
    """`s1kit grade` arguments of the llm judge, as a list (the rules quote each with :q)."""
    if not GRADER_LLM:
        return []
    flags = [
        "--backend",
        "llm",
        "--prompt",
        input.prompt,
        "--ledger",
        output.ledger,
        "--llm-json",
        as_json(FZ_GRADER.get("llm") or {}, "featurize.grader.llm"),
    ]
    if "agreement" in output.keys():
        flags += ["--agreement-out", output.agreement]
    return flags


def domains_flags(wildcards, input, output):
    if not DOMAINS_LLM:
        return []
    return [
        "--rubric",
        input.rubric,
        "--ledger",
        output.ledger,
        "--llm-json",
        as_json(FZ_DOMAINS.get("llm") or {}, "featurize.domains.llm"),
    ]


# ---- collect: hub sources and eval sets (config collect.hub; collect.smk, review.smk) ----
HUB = config["collect"].get("hub", {})
HUB_DEST = HUB.get("dest", "resources/hub")
HUB_LOCK = HUB.get("lock", "config/hub.lock.yaml")


def manifest(name):
    return f"{HUB_DEST}/manifests/{name}.json"


def hub_dest(wildcards, output):
    """HUB_DEST from the manifests' path (--lint flags an output prefix passed as a string)."""
    return str(Path(output[0]).parents[1])


def eval_set_inputs(wildcards):
    return {"manifest": manifest(wildcards.task)} if source_kind(wildcards.task, True) == "hub" else {}


def eval_set_flags(wildcards):
    if source_kind(wildcards.task, True) == "hub":
        return ["--manifest", manifest(wildcards.task)]
    return ["--n", str(config["collect"]["eval_sets"][wildcards.task])]


# collect.semantics (official | kit; docs/fidelity.md): official reads the list of
# data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP) from the pinned file (config official).
COLLECT_SEMANTICS = config["collect"]["semantics"]
DECONTAMINATE = config["collect"].get("decontaminate_against") or EVAL_SETS
_check(DECONTAMINATE, EVAL_SETS, "collect.decontaminate_against", "collect.eval_sets")
# collect.official_loop has no schema default: unset, s1kit.collect.CollectConfig's applies
# (a filled default would change the config the paper report hashes)
POOL_CONFIG = {
    k: config["collect"][k]
    for k in ("ngram", "seed", "sources", "semantics", "official_loop")
    if k in config["collect"]
}


def keeps_list(source):
    """A hub source that reads TMP_QUESTIONS_TO_KEEP under official semantics (NuminaMath)."""
    return (
        COLLECT_SEMANTICS == "official"
        and source_kind(source) == "hub"
        and "keep_list" in HUB_SOURCES.get(source).options
    )


def source_inputs(wildcards):
    if source_kind(wildcards.source) == "hub":
        official_file = {"official": official("data/collect_data.py")} if keeps_list(wildcards.source) else {}
        return {"manifest": manifest(wildcards.source)} | official_file
    # synthetic sources plant copies of eval questions for decontamination to catch
    return {"eval": expand("results/data/eval/{task}.jsonl", task=EVAL_SETS)}


def source_flags(wildcards, input):
    spec = config["collect"]["sources"][wildcards.source]
    if source_kind(wildcards.source) == "hub":
        official_flag = ["--official", input.official] if keeps_list(wildcards.source) else []
        return [
            "--manifest",
            input.manifest,
            "--options-json",
            as_json(spec or {}, f"collect.sources.{wildcards.source}"),
            *official_flag,
        ]
    return ["--n", str(spec), "--eval", *input.eval]


def pool_inputs(wildcards):
    return {"official": official("data/collect_data.py")} if COLLECT_SEMANTICS == "official" else {}


def pool_flags(wildcards, input):
    official_flag = ["--official", input.official] if COLLECT_SEMANTICS == "official" else []
    return ["--config-json", as_json(POOL_CONFIG, "collect"), *official_flag]


# ---- train: launch lines per run (config train.runs.<run>.launch; train.smk) ----
# validated at DAG time: a world size that does not divide the global batch fails here
TRAIN_LAUNCH = {
    _run: check_run(_run, _spec.get("hparams", {}), _spec.get("launch"))
    for _run, _spec in config["train"]["runs"].items()
}
APPTAINER = any(m.name == "APPTAINER" for m in workflow.deployment_settings.deployment_method)
if APPTAINER:
    _exec = " ".join(["apptainer exec", workflow.deployment_settings.apptainer_args or "--nv"])
    TRAIN_LAUNCH = {
        r: c if c.container else dataclasses.replace(c, container=CONTAINERS["train"], container_exec=_exec)
        for r, c in TRAIN_LAUNCH.items()
    }


def train_command(wildcards, input):
    launch = TRAIN_LAUNCH[wildcards.run]
    argv = [
        "s1kit",
        "train",
        "--model",
        input.base,
        "--data",
        input.data,
        "--out-dir",
        f"results/train/{wildcards.run}",
        "--config-json",
        as_json(config["train"]["runs"][wildcards.run].get("hparams", {}), f"train.runs.{wildcards.run}.hparams"),
    ]
    return launch_command(launch, argv)


def train_resource(key):
    return lambda wildcards: rule_resources(TRAIN_LAUNCH[wildcards.run])[key]


# ---- review mode (config review:; review.smk sets REVIEW, REVIEW_DIR, REVIEW_COUNT) ----
def get_review_output():
    out = []
    if "grade" in REVIEW:
        out += [f"{REVIEW_DIR}/{f}" for f in ("grade.csv", "grade.md", "disagreements.csv")]
    if "select" in REVIEW:
        out += [f"{REVIEW_DIR}/select/{f}" for f in ("select.json", "select.md")]
    return out


def review_tokenizer():
    return {"tokenizer": manifest("qwen_tokenizer")} if REVIEW_COUNT == "tokenizer" else {}


def review_tokenizer_flag(wildcards, input):
    return ["--tokenizer-manifest", input.tokenizer] if "tokenizer" in input.keys() else []
