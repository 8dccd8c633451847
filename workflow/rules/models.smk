# Base models. kind tiny: a Qwen2-architecture student from a config, tokenizer trained on the pool.


rule models_build_tiny:
    input:
        corpus="results/data/pool.parquet",
    output:
        directory("results/models/{model}"),
    params:
        kind=lambda w: config["models"][w.model]["kind"],
        cfg=lambda w: as_json(config["models"][w.model].get("tiny", {})),
    log:
        "logs/models/{model}.log",
    shell:
        "s1kit fetch-model --kind {params.kind} --corpus {input.corpus} --config-json {params.cfg:q}"
        " --out {output} > {log} 2>&1"
