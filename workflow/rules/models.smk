# Base models. kind tiny: a Qwen2-architecture student from a config, tokenizer trained on the pool.
# kind hub: downloaded once on the login node (localrule), at a pinned revision.
TINY_MODELS = [m for m, spec in config["models"].items() if spec["kind"] == "tiny"]
HUB_MODELS = [m for m, spec in config["models"].items() if spec["kind"] == "hub"]


rule models_build_tiny:
    input:
        corpus="results/data/pool.parquet",
    output:
        directory("results/models/{model}"),
    wildcard_constraints:
        model=_alt(TINY_MODELS),
    params:
        rule="models_build_tiny",
        kind=lambda w: config["models"][w.model]["kind"],
        cfg=lambda w: as_json(config["models"][w.model].get("tiny", {}), f"models.{w.model}.tiny"),
    log:
        "logs/models/{model}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit fetch-model --kind {params.kind:q} --corpus {input.corpus:q} --config-json {params.cfg:q}"
        " --out {output:q} > {log:q} 2>&1"


rule models_fetch_hub:
    localrule: True
    output:
        directory("results/models/{model}"),
    wildcard_constraints:
        model=_alt(HUB_MODELS),
    params:
        rule="models_fetch_hub",
        repo=lambda w: config["models"][w.model]["repo"],
        revision=lambda w: config["models"][w.model].get("revision", "main"),
        lock=verbatim(HUB_LOCK),
    log:
        "logs/models/{model}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit fetch-model --kind hub --repo {params.repo:q} --revision {params.revision:q}"
        " --lock {params.lock:q} --out {output:q} > {log:q} 2>&1"
