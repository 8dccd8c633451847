# Collect: sources and eval sets -> decontaminated, deduplicated pool (arXiv 2501.19393v3 §2.1).
# Hub sources are fetched once on the login node (localrule fetch, pinned by the lock);
# every other collect job reads only local files, with HF_HUB_OFFLINE=1.
from pathlib import Path

from s1kit.collect import source_kind

HUB = config["collect"].get("hub", {})
HUB_DEST = HUB.get("dest", "resources/hub")
HUB_LOCK = HUB.get("lock", "config/hub.lock.yaml")
SYNTHETIC_SOURCES = [s for s in SOURCES if source_kind(s) == "synthetic"]
HUB_NAMES = sorted({s for s in SOURCES if source_kind(s) == "hub"} | {t for t in EVAL_SETS if source_kind(t, True) == "hub"})


EXEMPT = [s for s, spec in config["collect"]["sources"].items()
          if isinstance(spec, dict) and spec.get("decontaminate") is False]


def manifest(name):
    return f"{HUB_DEST}/manifests/{name}.json"


if HUB_NAMES:

    rule fetch:
        localrule: True
        input:
            # the lock is an input once it exists, so moving a pin refetches
            lock=[HUB_LOCK] if Path(HUB_LOCK).exists() else [],
        output:
            [manifest(n) for n in HUB_NAMES],
        params:
            names=HUB_NAMES,
            lock=HUB_LOCK,
            dest=HUB_DEST,
            manifests=f"{HUB_DEST}/manifests",
            mirror=["--mirror", HUB["offline_mirror"]] if HUB.get("offline_mirror") else [],
        log:
            "logs/collect/fetch.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={rule} s1kit fetch --sources {params.names:q} --lock {params.lock:q} --dest {params.dest:q}"
            " --manifests {params.manifests:q} {params.mirror:q} > {log:q} 2>&1"


def eval_set_inputs(wildcards):
    return {"manifest": manifest(wildcards.task)} if source_kind(wildcards.task, True) == "hub" else {}


def eval_set_flags(wildcards):
    if source_kind(wildcards.task, True) == "hub":
        return ["--manifest", manifest(wildcards.task)]
    return ["--n", str(config["collect"]["eval_sets"][wildcards.task])]


rule collect_eval_set:
    input:
        unpack(eval_set_inputs),
    output:
        eval="results/data/eval/{task}.jsonl",
        quarantine="results/data/quarantine/eval/{task}.jsonl",  # hub rows without a usable question
    params:
        flags=eval_set_flags,
        seed=config["collect"]["eval_seed"],
    log:
        "logs/collect/eval_{task}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} HF_HUB_OFFLINE=1 s1kit collect-eval --task {wildcards.task:q} {params.flags:q}"
        " --seed {params.seed:q} --out {output.eval:q} --quarantine {output.quarantine:q} > {log:q} 2>&1"


def source_inputs(wildcards):
    if source_kind(wildcards.source) == "hub":
        return {"manifest": manifest(wildcards.source)}
    # synthetic sources plant copies of eval questions for decontamination to catch
    return {"eval": expand("results/data/eval/{task}.jsonl", task=EVAL_SETS)}


def source_flags(wildcards, input):
    spec = config["collect"]["sources"][wildcards.source]
    if source_kind(wildcards.source) == "hub":
        return ["--manifest", input.manifest, "--options-json", as_json(spec or {})]
    return ["--n", str(spec), "--eval", *input.eval]


rule collect_source:
    input:
        unpack(source_inputs),
    output:
        raw="results/data/raw/{source}.parquet",
        quarantine="results/data/quarantine/{source}.jsonl",
    params:
        flags=source_flags,
        seed=config["collect"]["seed"],
        max_chars=config["collect"].get("max_question_chars", 50000),
    log:
        "logs/collect/source_{source}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} HF_HUB_OFFLINE=1 s1kit collect-source --source {wildcards.source:q} {params.flags:q}"
        " --seed {params.seed:q} --max-chars {params.max_chars:q} --out {output.raw:q} --quarantine {output.quarantine:q}"
        " > {log:q} 2>&1"


rule collect_pool:
    input:
        raw=expand("results/data/raw/{source}.parquet", source=SOURCES),
        quarantine=expand("results/data/quarantine/{source}.jsonl", source=SOURCES),
        eval=expand("results/data/eval/{task}.jsonl", task=EVAL_SETS),
    output:
        pool="results/data/pool.parquet",
        funnel="results/data/funnel_collect.csv",
        contaminated="results/data/quarantine/contaminated.parquet",
        duplicates="results/data/quarantine/duplicates.parquet",
    params:
        ngram=config["collect"]["ngram"],
        exempt=["--no-decontaminate", *EXEMPT] if EXEMPT else [],
    log:
        "logs/collect/pool.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit collect-pool --raw {input.raw:q} --quarantine {input.quarantine:q} --eval {input.eval:q}"
        " --ngram {params.ngram:q} --out-pool {output.pool:q} --out-funnel {output.funnel:q}"
        " --out-contaminated {output.contaminated:q} --out-duplicates {output.duplicates:q} {params.exempt:q} > {log:q} 2>&1"
