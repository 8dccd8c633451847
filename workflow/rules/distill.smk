# Distill: the teacher's thinking and attempt per question (arXiv 2501.19393v3 §2.1).
import shlex


rule distill_traces:
    input:
        pool="results/data/pool.parquet",
    output:
        traces="results/distill/{teacher}/traces.parquet",
        ledger="results/distill/{teacher}/ledger.jsonl",
    params:
        backend=config["distill"]["backend"],
        options=as_json(config["distill"].get("options", {})),
        model=f"--model {shlex.quote(config['distill']['model'])}" if config["distill"].get("model") else "",
        params=as_json(config["distill"].get("params", {})),
        llm=as_json(config["distill"].get("llm", {})),
    log:
        "logs/distill/{teacher}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit distill --pool {input.pool} --teacher {wildcards.teacher} --backend {params.backend}"
        " --options-json {params.options:q} {params.model} --params-json {params.params:q}"
        " --llm-json {params.llm:q} --out-traces {output.traces} --out-ledger {output.ledger} > {log} 2>&1"


rule distill_grade:
    input:
        traces="results/distill/{teacher}/traces.parquet",
        pool="results/data/pool.parquet",
        **grade_inputs(),
    output:
        grades="results/distill/{teacher}/grades.parquet",
        **grade_outputs("results/distill/{teacher}/grades"),
    params:
        flags=grade_flags,  # featurize.grader: math_verify (none) or the llm judge
    log:
        "logs/distill/{teacher}_grades.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit grade --attempts {input.traces} --pool {input.pool} --out {output.grades} {params.flags} > {log} 2>&1"
