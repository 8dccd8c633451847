# Collect: sources and eval sets -> decontaminated, deduplicated pool (arXiv 2501.19393v3 §2.1).
# Hub sources are fetched once on the login node (localrule fetch, pinned by the lock);
# every other collect job reads only local files, with HF_HUB_OFFLINE=1.
# Helpers (manifest, eval_set_*, source_*) and HUB, HUB_DEST, HUB_LOCK are in common.smk.
import re
from pathlib import Path

SYNTHETIC_SOURCES = [s for s in SOURCES if source_kind(s) == "synthetic"]
HUB_NAMES = sorted(
    {s for s in SOURCES if source_kind(s) == "hub"} | {t for t in EVAL_SETS if source_kind(t, True) == "hub"}
)


if HUB_NAMES:

    rule fetch:
        localrule: True
        input:
            # the lock is an input once it exists, so moving a pin refetches
            lock=[HUB_LOCK] if Path(HUB_LOCK).exists() else [],
        output:
            [manifest(n) for n in HUB_NAMES],
        params:
            rule="fetch",
            names=verbatim(HUB_NAMES),
            lock=verbatim(HUB_LOCK),  # config values: verbatim(), never formatted by Snakemake
            dest=hub_dest,
            manifests=lambda wildcards, output: str(Path(output[0]).parent),
            mirror=verbatim(["--mirror", HUB["offline_mirror"]] if HUB.get("offline_mirror") else []),
        log:
            "logs/collect/fetch.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={params.rule} s1kit fetch --sources {params.names:q} --lock {params.lock:q} --dest {params.dest:q}"
            " --manifests {params.manifests:q} {params.mirror:q} > {log:q} 2>&1"


if OFFICIAL:

    rule fetch_official:
        # One official s1 file (config `official`) checked against its pinned sha256: downloaded
        # from GitHub at official.commit, or copied from official.mirror. A job per file, so a
        # stage fetches only what it reads.
        localrule: True
        output:
            f"{OFFICIAL_ROOT}/{{path}}",
        wildcard_constraints:
            path="|".join(re.escape(p) for p in OFFICIAL["files"]),
        params:
            rule="fetch_official",
            spec=json_param(OFFICIAL, "official"),
            dest=official_dest,
        log:
            "logs/collect/fetch_official/{path}.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={params.rule} s1kit fetch-official --config-json {params.spec:q} --file {wildcards.path:q}"
            " --dest {params.dest:q} > {log:q} 2>&1"


rule collect_eval_set:
    input:
        unpack(eval_set_inputs),
    output:
        eval="results/data/eval/{task}.jsonl",
        quarantine="results/data/quarantine/eval/{task}.jsonl",  # hub rows without a usable question
    params:
        rule="collect_eval_set",
        flags=eval_set_flags,
        seed=config["collect"]["eval_seed"],
    log:
        "logs/collect/eval_{task}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} HF_HUB_OFFLINE=1 s1kit collect-eval --task {wildcards.task:q} {params.flags:q}"
        " --seed {params.seed:q} --out {output.eval:q} --quarantine {output.quarantine:q} > {log:q} 2>&1"


rule collect_source:
    input:
        unpack(source_inputs),
    output:
        raw="results/data/raw/{source}.parquet",
        quarantine="results/data/quarantine/{source}.jsonl",
    params:
        rule="collect_source",
        flags=source_flags,
        seed=config["collect"]["seed"],
        max_chars=config["collect"].get("max_question_chars", 50000),
    log:
        "logs/collect/source_{source}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} HF_HUB_OFFLINE=1 s1kit collect-source --source {wildcards.source:q} {params.flags:q}"
        " --seed {params.seed:q} --max-chars {params.max_chars:q} --out {output.raw:q} --quarantine {output.quarantine:q}"
        " > {log:q} 2>&1"


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
        rule="collect_pool",
        flags=pool_flags,  # config collect (semantics, ngram, seed, sources); the official file if needed
    log:
        "logs/collect/pool.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit collect-pool --raw {input.raw:q} --quarantine {input.quarantine:q} --eval {input.eval:q}"
        " {params.flags:q} --out-pool {output.pool:q} --out-funnel {output.funnel:q}"
        " --out-contaminated {output.contaminated:q} --out-duplicates {output.duplicates:q} > {log:q} 2>&1"
