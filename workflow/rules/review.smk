# Review (config/review.yaml, docs/review.md): rebuild on CPU what the published artifacts
# allow. The artifacts are hub sources of kind "published" (s1kit.sources.published), pinned
# in the same lock and fetched by a localrule like the raw sources; the jobs read manifests
# only and run with HF_HUB_OFFLINE=1. Included by the Snakefile only when config has `review`.
# Uses manifest(), HUB_LOCK, HUB_DEST and HUB, and the review helpers (common.smk).
from pathlib import Path

REVIEW = config["review"]
REVIEW_DIR = "results/review"
REVIEW_COUNT = REVIEW.get("thinking_count", "words")
REVIEW_SOURCES = (
    (["published_results"] if "grade" in REVIEW else [])
    + (["published_pool", "published_s1k"] if "select" in REVIEW else [])
    + (["qwen_tokenizer"] if REVIEW_COUNT == "tokenizer" else [])
)
if not REVIEW_SOURCES:
    raise ValueError("config review: set review.grade and/or review.select (docs/review.md)")


rule review_fetch:
    localrule: True
    input:
        # the lock is an input once it exists, so moving a pin refetches
        lock=[HUB_LOCK] if Path(HUB_LOCK).exists() else [],
    output:
        [manifest(n) for n in REVIEW_SOURCES],
    params:
        rule="review_fetch",
        names=verbatim(REVIEW_SOURCES),
        lock=verbatim(HUB_LOCK),  # config values: verbatim(), never formatted by Snakemake
        dest=hub_dest,
        manifests=lambda wildcards, output: str(Path(output[0]).parent),
        mirror=verbatim(["--mirror", HUB["offline_mirror"]] if HUB.get("offline_mirror") else []),
    log:
        "logs/review/fetch.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit fetch --sources {params.names:q} --lock {params.lock:q} --dest {params.dest:q}"
        " --manifests {params.manifests:q} {params.mirror:q} > {log:q} 2>&1"


if "grade" in REVIEW:

    rule review_grade:
        input:
            unpack(lambda wildcards: review_tokenizer()),
            results=manifest("published_results"),
        output:
            csv=f"{REVIEW_DIR}/grade.csv",
            md=f"{REVIEW_DIR}/grade.md",
            disagreements=f"{REVIEW_DIR}/disagreements.csv",
        params:
            rule="review_grade",
            tasks=verbatim(REVIEW["grade"]["tasks"]),
            include=verbatim(["--include", *REVIEW["grade"]["include"]] if REVIEW["grade"].get("include") else []),
            claims=json_param(REVIEW["grade"].get("claims") or {}, "review.grade.claims"),
            unit=verbatim(REVIEW_COUNT),
            tokenizer=review_tokenizer_flag,
            out_dir=lambda wildcards, output: str(Path(output.csv).parent),
        log:
            "logs/review/grade.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={params.rule} HF_HUB_OFFLINE=1 s1kit review-grade --results-manifest {input.results:q} {params.tokenizer:q}"
            " --tasks {params.tasks:q} --thinking-count {params.unit:q} --claims-json {params.claims:q}"
            " {params.include:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


if "select" in REVIEW:

    rule review_select:
        input:
            unpack(lambda wildcards: review_tokenizer()),
            pool=manifest("published_pool"),
            s1k=manifest("published_s1k"),
        output:
            json=f"{REVIEW_DIR}/select/select.json",
            md=f"{REVIEW_DIR}/select/select.md",
            features=f"{REVIEW_DIR}/select/pool_features.parquet",
        params:
            rule="review_select",
            selections=verbatim(REVIEW["select"]["selections"]),
            config=json_param(REVIEW["select"].get("config") or {}, "review.select.config"),
            domain=verbatim(REVIEW["select"].get("domain_column", "cot_type")),
            unit=verbatim(REVIEW_COUNT),
            tokenizer=review_tokenizer_flag,
            out_dir=lambda wildcards, output: str(Path(output.json).parent),
        log:
            "logs/review/select.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={params.rule} HF_HUB_OFFLINE=1 s1kit review-select --pool-manifest {input.pool:q} --s1k-manifest {input.s1k:q}"
            " {params.tokenizer:q} --config-json {params.config:q} --selections {params.selections:q}"
            " --thinking-count {params.unit:q} --domain-column {params.domain:q}"
            " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule review:
    localrule: True
    input:
        get_review_output(),
