# Featurize: attempts by student-size models, grades, domains, thinking lengths (arXiv 2501.19393v3 §2.2).
# Grader and domain backends (math_verify | llm, metadata | llm) come from config
# featurize.grader / featurize.domains; the helpers live in common.smk (docs/llm.md).

FZ = config["featurize"]


rule featurize_attempts:
    input:
        model="results/models/{model}",
        pool="results/data/pool.parquet",
    output:
        "results/features/attempts/{model}.parquet",
    params:
        rule="featurize_attempts",
        max_new_tokens=FZ["max_new_tokens"],
        batch_size=FZ["batch_size"],
        seed=FZ["seed"],
        semantics=FZ["semantics"],  # official: temperature 0.05 sampling; kit: greedy
    threads: 2
    log:
        "logs/featurize/attempts_{model}.log",
    container:
        CONTAINERS["eval"]
    shell:
        "S1KIT_RULE={params.rule} OMP_NUM_THREADS={threads} s1kit attempts --model {input.model:q} --name {wildcards.model:q}"
        " --pool {input.pool:q} --out {output:q} --max-new-tokens {params.max_new_tokens:q}"
        " --batch-size {params.batch_size:q} --seed {params.seed:q} --semantics {params.semantics:q} > {log:q} 2>&1"


rule featurize_grade_attempts:
    input:
        **grade_inputs(),
        attempts="results/features/attempts/{model}.parquet",
        pool="results/data/pool.parquet",
    output:
        **grade_outputs("results/features/grades/{model}"),
        grades="results/features/grades/{model}.parquet",
    params:
        rule="featurize_grade_attempts",
        flags=grade_flags,  # featurize.grader: math_verify (none) or the llm judge
        semantics=FZ["semantics"],  # official: unfinished attempts graded too
    log:
        "logs/featurize/grades_{model}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit grade --attempts {input.attempts:q} --pool {input.pool:q} --out {output.grades:q}"
        " {params.flags:q} --semantics {params.semantics:q} > {log:q} 2>&1"


rule featurize_domains:
    input:
        **({"rubric": official("data/msc.json")} if DOMAINS_LLM else {}),
        pool="results/data/pool.parquet",
    output:
        **({"ledger": "results/features/domains.ledger.jsonl"} if DOMAINS_LLM else {}),
        domains="results/features/domains.parquet",
    params:
        rule="featurize_domains",
        backend=FZ_DOMAINS.get("backend", "metadata"),
        flags=domains_flags,  # featurize.domains: metadata (none) or the llm classifier
    log:
        "logs/featurize/domains.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit domains --pool {input.pool:q} --out {output.domains:q} --backend {params.backend:q}"
        " {params.flags:q} > {log:q} 2>&1"


rule featurize_merge:
    input:
        pool="results/data/pool.parquet",
        traces=f"results/distill/{TEACHER}/traces.parquet",
        teacher_grades=f"results/distill/{TEACHER}/grades.parquet",
        grades=expand("results/features/grades/{model}.parquet", model=FZ["attempt_models"]),
        domains="results/features/domains.parquet",
        length_tokenizer=f"results/models/{FZ['length_tokenizer']}",
    output:
        "results/features/featurized.parquet",
    params:
        rule="featurize_merge",
        grades=[f"{m}=results/features/grades/{m}.parquet" for m in FZ["attempt_models"]],
        semantics=FZ["semantics"],  # official: teacher traces kept whatever their finish
    log:
        "logs/featurize/merge.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit featurize --pool {input.pool:q} --traces {input.traces:q}"
        " --teacher-grades {input.teacher_grades:q} --attempt-grades {params.grades:q} --domains {input.domains:q}"
        " --length-tokenizer {input.length_tokenizer:q} --out {output:q} --semantics {params.semantics:q}"
        " > {log:q} 2>&1"
