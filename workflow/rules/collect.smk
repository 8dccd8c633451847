# Collect: sources and eval sets -> decontaminated, deduplicated pool (PAPER.md step 1).


rule collect_eval_set:
    output:
        "results/data/eval/{task}.jsonl",
    params:
        n=lambda w: config["collect"]["eval_sets"][w.task],
        seed=config["collect"]["eval_seed"],
    log:
        "logs/collect/eval_{task}.log",
    shell:
        "s1kit collect-eval --task {wildcards.task} --n {params.n} --seed {params.seed} --out {output} > {log} 2>&1"


rule collect_source:
    input:
        eval=expand("results/data/eval/{task}.jsonl", task=EVAL_SETS),
    output:
        "results/data/raw/{source}.parquet",
    params:
        n=lambda w: config["collect"]["sources"][w.source],
        seed=config["collect"]["seed"],
    log:
        "logs/collect/source_{source}.log",
    shell:
        "s1kit collect-source --source {wildcards.source} --n {params.n} --seed {params.seed}"
        " --eval {input.eval} --out {output} > {log} 2>&1"


rule collect_pool:
    input:
        raw=expand("results/data/raw/{source}.parquet", source=SOURCES),
        eval=expand("results/data/eval/{task}.jsonl", task=EVAL_SETS),
    output:
        pool="results/data/pool.parquet",
        funnel="results/data/funnel_collect.csv",
        quarantine=directory("results/data/quarantine"),
    params:
        ngram=config["collect"]["ngram"],
    log:
        "logs/collect/pool.log",
    shell:
        "s1kit collect-pool --raw {input.raw} --eval {input.eval} --ngram {params.ngram}"
        " --out-pool {output.pool} --out-funnel {output.funnel} --quarantine-dir {output.quarantine} > {log} 2>&1"
