# Featurize: attempts by student-size models, grades, domains, thinking lengths (arXiv 2501.19393v3 §2.2).
# Grader and domain backends (math_verify | llm, metadata | llm) come from config
# featurize.grader / featurize.domains; the helpers live in common.smk (docs/llm.md).
import shlex

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
        semantics=FZ.get("semantics", "kit"),  # official: temperature 0.05 sampling; kit: greedy
    threads: 2
    log:
        "logs/featurize/attempts_{model}.log",
    container:
        CONTAINERS["eval"]
    shell:
        "S1KIT_RULE={rule} OMP_NUM_THREADS={threads} s1kit attempts --model {input.model} --name {wildcards.model}"
        " --pool {input.pool} --out {output} --max-new-tokens {params.max_new_tokens}"
        " --batch-size {params.batch_size} --seed {params.seed} --semantics {params.semantics} > {log} 2>&1"


rule featurize_grade_attempts:
    input:
        attempts="results/features/attempts/{model}.parquet",
        pool="results/data/pool.parquet",
        **grade_inputs(),
    output:
        grades="results/features/grades/{model}.parquet",
        **grade_outputs("results/features/grades/{model}"),
    params:
        flags=grade_flags,  # featurize.grader: math_verify (none) or the llm judge
        semantics=FZ.get("semantics", "kit"),  # official: unfinished attempts graded too
    log:
        "logs/featurize/grades_{model}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit grade --attempts {input.attempts} --pool {input.pool} --out {output.grades} {params.flags}"
        " --semantics {params.semantics} > {log} 2>&1"


rule featurize_official:
    # The official prompt files (simplescaling/s1 data/<file>) at a pinned revision, checksummed.
    output:
        f"{OFFICIAL_DIR}/{{file}}",
    wildcard_constraints:
        file="grading\\.txt|msc\\.json",
    params:
        revision=FZ.get("official", {}).get("revision", ""),
        sha256=lambda wildcards: FZ.get("official", {}).get("files", {}).get(wildcards.file, ""),
        local=(
            f"--local-dir {shlex.quote(str(FZ['official']['local_dir']))}"
            if (FZ.get("official") or {}).get("local_dir")
            else ""
        ),
    log:
        "logs/featurize/official_{file}.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit fetch-official --name {wildcards.file} --revision {params.revision} --sha256 {params.sha256}"
        " {params.local} --out {output} > {log} 2>&1"


def domains_flags(wildcards, input, output):
    if not DOMAINS_LLM:
        return ""
    job = shlex.quote(as_json(FZ_DOMAINS.get("llm") or {}))
    return f"--rubric {input.rubric} --ledger {output.ledger} --llm-json {job}"


rule featurize_domains:
    input:
        pool="results/data/pool.parquet",
        **({"rubric": f"{OFFICIAL_DIR}/msc.json"} if DOMAINS_LLM else {}),
    output:
        domains="results/features/domains.parquet",
        **({"ledger": "results/features/domains.ledger.jsonl"} if DOMAINS_LLM else {}),
    params:
        backend=FZ_DOMAINS.get("backend", "metadata"),
        flags=domains_flags,  # featurize.domains: metadata (none) or the llm classifier
    log:
        "logs/featurize/domains.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit domains --pool {input.pool} --out {output.domains} --backend {params.backend} {params.flags}"
        " > {log} 2>&1"


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
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit featurize --pool {input.pool} --traces {input.traces} --teacher-grades {input.teacher_grades}"
        " --attempt-grades {params.grades} --domains {input.domains} --length-tokenizer {input.length_tokenizer}"
        " --out {output} > {log} 2>&1"
