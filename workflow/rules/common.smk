# Validation, wildcard constraints and config -> flags helpers. No data handling here.
import json

from snakemake.utils import validate

from s1kit.evaluate.run import setting_names

validate(config, schema="../schemas/config.schema.yaml")

SOURCES = sorted(config["collect"]["sources"])
EVAL_SETS = sorted(config["collect"]["eval_sets"])
MODELS = sorted(config["models"])
RUNS = sorted(config["train"]["runs"])
SELECTIONS = config["select"]["selections"]
ABLATIONS = [s for s in SELECTIONS if s != "s1K"]
EV = config["evaluate"]
SETTINGS = setting_names(EV["budgets"], EV["wait"])
TEACHER = config["distill"]["teacher"]


def _check(values, allowed, key, allowed_key):
    for v in values:
        if v not in allowed:
            raise ValueError(f"config {key}: {v!r} is not one of {allowed_key} ({', '.join(allowed) or 'none'})")


_check(config["featurize"]["attempt_models"], MODELS, "featurize.attempt_models", "models")
_check([config["featurize"]["length_tokenizer"]], MODELS, "featurize.length_tokenizer", "models")
for _run, _spec in config["train"]["runs"].items():
    _check([_spec["base"]], MODELS, f"train.runs.{_run}.base", "models")
    _check([_spec["selection"]], SELECTIONS, f"train.runs.{_run}.selection", "select.selections")
_check(EV["models"], RUNS, "evaluate.models", "train.runs")
_check(EV["tasks"], EVAL_SETS, "evaluate.tasks", "collect.eval_sets")


def _alt(values):
    import re

    return "|".join(re.escape(v) for v in values) or "^$"


wildcard_constraints:
    source=_alt(SOURCES),
    task=_alt(EVAL_SETS),
    model=_alt(MODELS + RUNS),
    run=_alt(RUNS),
    selection=_alt(SELECTIONS),
    ablation=_alt(ABLATIONS),
    setting=_alt(SETTINGS),
    teacher=_alt([TEACHER]),


def as_json(value):
    return json.dumps(value, sort_keys=True)


def get_run_base(wildcards):
    return f"results/models/{config['train']['runs'][wildcards.run]['base']}"


def get_run_data(wildcards):
    return f"results/select/{config['train']['runs'][wildcards.run]['selection']}/dataset.parquet"


def get_eval_results():
    return expand(
        "results/eval/{model}/{setting}/{task}/results.json", model=EV["models"], setting=SETTINGS, task=EV["tasks"]
    )


def get_select_outputs():
    return expand("results/select/{selection}/{file}", selection=SELECTIONS, file=["summary.json", "sources.csv"]) + [
        "results/select/funnel.csv"
    ]


def get_final_output():
    return (
        ["results/data/funnel_collect.csv"]
        + get_select_outputs()
        + expand("results/train/{run}/metrics.json", run=RUNS)
        + get_eval_results()
        + ["results/paper/claims.csv", "results/paper/report.md"]
    )
