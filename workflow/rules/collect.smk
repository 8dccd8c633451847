# Collect: sources and eval sets -> decontaminated, deduplicated pool (arXiv 2501.19393v3 §2.1).
# Hub sources are fetched once on the login node (localrule fetch, pinned by the lock);
# every other collect job reads only local files, with HF_HUB_OFFLINE=1.
from pathlib import Path

from s1kit.collect import source_kind
from s1kit.sources import HUB_SOURCES

HUB = config["collect"].get("hub", {})
HUB_DEST = HUB.get("dest", "resources/hub")
HUB_LOCK = HUB.get("lock", "config/hub.lock.yaml")
SYNTHETIC_SOURCES = [s for s in SOURCES if source_kind(s) == "synthetic"]
HUB_NAMES = sorted({s for s in SOURCES if source_kind(s) == "hub"} | {t for t in EVAL_SETS if source_kind(t, True) == "hub"})
# collect.semantics (official | kit; docs/fidelity.md): official reads the list of
# data/collect_data.py:18 (TMP_QUESTIONS_TO_KEEP) from the pinned file (config official).
COLLECT_SEMANTICS = config["collect"].get("semantics", "kit")
DECONTAMINATE = config["collect"].get("decontaminate_against") or EVAL_SETS
_check(DECONTAMINATE, EVAL_SETS, "collect.decontaminate_against", "collect.eval_sets")
POOL_CONFIG = {k: config["collect"][k] for k in ("ngram", "seed", "sources")} | {"semantics": COLLECT_SEMANTICS}


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


if OFFICIAL:

    rule fetch_official:
        # The official s1 files (config `official`), each checked against its pinned sha256:
        # downloaded from GitHub at official.commit, or copied from official.mirror.
        localrule: True
        output:
            [official(p) for p in OFFICIAL["files"]],
        params:
            spec=as_json(OFFICIAL),
            dest="resources/official",
        log:
            "logs/collect/fetch_official.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={rule} s1kit fetch-official --config-json {params.spec:q} --dest {params.dest:q} > {log:q} 2>&1"


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
        "results/data/eval/{task}.jsonl",
    params:
        flags=eval_set_flags,
        seed=config["collect"]["eval_seed"],
    log:
        "logs/collect/eval_{task}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} HF_HUB_OFFLINE=1 s1kit collect-eval --task {wildcards.task:q} {params.flags:q}"
        " --seed {params.seed:q} --out {output:q} > {log:q} 2>&1"


def keeps_list(source):
    """A hub source that reads TMP_QUESTIONS_TO_KEEP under official semantics (NuminaMath)."""
    return COLLECT_SEMANTICS == "official" and source_kind(source) == "hub" and "keep_list" in HUB_SOURCES.get(source).options


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
        return ["--manifest", input.manifest, "--options-json", as_json(spec or {}), *official_flag]
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


def pool_inputs(wildcards):
    return {"official": official("data/collect_data.py")} if COLLECT_SEMANTICS == "official" else {}


rule collect_pool:
    input:
        unpack(pool_inputs),
        raw=expand("results/data/raw/{source}.parquet", source=SOURCES),
        quarantine=expand("results/data/quarantine/{source}.jsonl", source=SOURCES),
        eval=expand("results/data/eval/{task}.jsonl", task=DECONTAMINATE),
    output:
        pool="results/data/pool.parquet",
        funnel="results/data/funnel_collect.csv",
        contaminated="results/data/quarantine/contaminated.parquet",
        duplicates="results/data/quarantine/duplicates.parquet",
    params:
        config=as_json(POOL_CONFIG),
        official=lambda wildcards, input: ["--official", input.official] if COLLECT_SEMANTICS == "official" else [],
    log:
        "logs/collect/pool.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit collect-pool --raw {input.raw:q} --quarantine {input.quarantine:q} --eval {input.eval:q}"
        " --config-json {params.config:q} {params.official:q} --out-pool {output.pool:q} --out-funnel {output.funnel:q}"
        " --out-contaminated {output.contaminated:q} --out-duplicates {output.duplicates:q} > {log:q} 2>&1"
