# Featurize: attempts by student-size models, grades, domains, thinking lengths (PAPER.md step 3).
FZ = config["featurize"]


rule featurize_attempts:
    input:
        model="results/models/{model}",
        pool="results/data/pool.parquet",
    output:
        "results/features/attempts/{model}.parquet",
    params:
        max_new_tokens=FZ["max_new_tokens"],
        batch_size=FZ["batch_size"],
        seed=FZ["seed"],
    threads: 2
    log:
        "logs/featurize/attempts_{model}.log",
    shell:
        "OMP_NUM_THREADS={threads} s1kit attempts --model {input.model} --name {wildcards.model}"
        " --pool {input.pool} --out {output} --max-new-tokens {params.max_new_tokens}"
        " --batch-size {params.batch_size} --seed {params.seed} > {log} 2>&1"


rule featurize_grade_attempts:
    input:
        attempts="results/features/attempts/{model}.parquet",
        pool="results/data/pool.parquet",
    output:
        "results/features/grades/{model}.parquet",
    log:
        "logs/featurize/grades_{model}.log",
    shell:
        "s1kit grade --attempts {input.attempts} --pool {input.pool} --out {output} > {log} 2>&1"


rule featurize_domains:
    input:
        pool="results/data/pool.parquet",
    output:
        "results/features/domains.parquet",
    params:
        backend=FZ["domains_backend"],
    log:
        "logs/featurize/domains.log",
    shell:
        "s1kit domains --pool {input.pool} --out {output} --backend {params.backend} > {log} 2>&1"


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
        grades=" ".join(f"{m}=results/features/grades/{m}.parquet" for m in FZ["attempt_models"]),
    log:
        "logs/featurize/merge.log",
    shell:
        "s1kit featurize --pool {input.pool} --traces {input.traces} --teacher-grades {input.teacher_grades}"
        " --attempt-grades {params.grades} --domains {input.domains} --length-tokenizer {input.length_tokenizer}"
        " --out {output} > {log} 2>&1"
