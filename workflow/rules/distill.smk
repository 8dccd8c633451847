# Distill: the teacher's thinking and attempt per question (arXiv 2501.19393v3 §2.1).


rule distill_traces:
    input:
        pool="results/data/pool.parquet",
    output:
        traces="results/distill/{teacher}/traces.parquet",
        ledger="results/distill/{teacher}/ledger.jsonl",
    params:
        rule="distill_traces",
        # config values through verbatim()/json_param(): Snakemake would format a plain string
        backend=verbatim(config["distill"]["backend"]),
        options=json_param(config["distill"].get("options", {}), "distill.options"),
        model=verbatim(["--model", config["distill"]["model"]] if config["distill"].get("model") else []),
        params=json_param(config["distill"].get("params", {}), "distill.params"),
        llm=json_param(config["distill"].get("llm", {}), "distill.llm"),
    log:
        "logs/distill/{teacher}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit distill --pool {input.pool:q} --teacher {wildcards.teacher:q} --backend {params.backend:q}"
        " --options-json {params.options:q} {params.model:q} --params-json {params.params:q}"
        " --llm-json {params.llm:q} --out-traces {output.traces:q} --out-ledger {output.ledger:q} > {log:q} 2>&1"


rule distill_grade:
    input:
        **grade_inputs(),
        traces="results/distill/{teacher}/traces.parquet",
        pool="results/data/pool.parquet",
    output:
        **grade_outputs("results/distill/{teacher}/grades"),
        grades="results/distill/{teacher}/grades.parquet",
    params:
        rule="distill_grade",
        flags=grade_flags,  # featurize.grader: math_verify (none) or the llm judge
    log:
        "logs/distill/{teacher}_grades.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit grade --attempts {input.traces:q} --pool {input.pool:q} --out {output.grades:q}"
        " {params.flags:q} > {log:q} 2>&1"
