# Select: s1K (arXiv 2501.19393v3 §2.2) and the Table 2 ablation sets, seeded (docs/select.md).
# Review mode (`s1kit select-overlap`, overlap with the published s1K) is run by hand:
# the published ids are not available offline.
SELECT_CFG = {k: v for k, v in config["select"].items() if k != "selections"} | {
    "attempt_models": config["featurize"]["attempt_models"]
}


rule select_s1k:
    # PYTHONHASHSEED fixed: select.semantics notebook orders domains as a Python set (docs/select.md).
    input:
        "results/features/featurized.parquet",
    output:
        dataset="results/select/s1K/dataset.parquet",
        ids="results/select/s1K/ids.txt",
        composition="results/select/s1K/composition.csv",
        sources="results/select/s1K/sources.csv",
        source_types="results/select/s1K/source_types.csv",
        summary="results/select/s1K/summary.json",
        funnel="results/select/funnel.csv",
    params:
        rule="select_s1k",
        cfg=json_param(SELECT_CFG, "select"),
    log:
        "logs/select/s1K.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} PYTHONHASHSEED=0 s1kit select --name s1K --featurized {input:q} --out-dir results/select/s1K"
        " --config-json {params.cfg:q} --funnel-out {output.funnel:q} > {log:q} 2>&1"


rule select_ablation:
    input:
        "results/features/featurized.parquet",
    output:
        dataset="results/select/{ablation}/dataset.parquet",
        ids="results/select/{ablation}/ids.txt",
        composition="results/select/{ablation}/composition.csv",
        sources="results/select/{ablation}/sources.csv",
        source_types="results/select/{ablation}/source_types.csv",
        summary="results/select/{ablation}/summary.json",
    params:
        rule="select_ablation",
        cfg=json_param(SELECT_CFG, "select"),
    log:
        "logs/select/{ablation}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit select --name {wildcards.ablation:q} --featurized {input:q}"
        " --out-dir results/select/{wildcards.ablation:q} --config-json {params.cfg:q} > {log:q} 2>&1"


# Retrace: a selection's questions with another teacher's traces (s1K-1.1: s1K + DeepSeek-R1).
rule select_retrace:
    input:
        base=lambda w: f"results/select/{config['retrace'][w.retrace]['selection']}/dataset.parquet",
        pool="results/data/pool.parquet",
        length_tokenizer=f"results/models/{config['featurize']['length_tokenizer']}",
    output:
        dataset="results/select/{retrace}/dataset.parquet",
        ids="results/select/{retrace}/ids.txt",
        composition="results/select/{retrace}/composition.csv",
        sources="results/select/{retrace}/sources.csv",
        source_types="results/select/{retrace}/source_types.csv",
        summary="results/select/{retrace}/summary.json",
        traces="results/retrace/{retrace}/traces.parquet",
        ledger="results/retrace/{retrace}/ledger.jsonl",
    params:
        rule="select_retrace",
        flags=lambda w: retrace_flags(w.retrace),
    log:
        "logs/select/retrace_{retrace}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit retrace --base {input.base:q} --pool {input.pool:q}"
        " --length-tokenizer {input.length_tokenizer:q} --out-dir results/select/{wildcards.retrace:q}"
        " --work-dir results/retrace/{wildcards.retrace:q} {params.flags:q} > {log:q} 2>&1"
