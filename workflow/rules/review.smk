# Review (config/review.yaml, docs/review.md): rebuild on CPU what the published artifacts
# allow. The artifacts are hub sources of kind "published" (s1kit.sources.published), pinned
# in the same lock and fetched by a localrule like the raw sources; the jobs read manifests
# only and run with HF_HUB_OFFLINE=1. Included by the Snakefile only when config has `review`.
# Uses manifest(), HUB_LOCK, HUB_DEST and HUB (collect.smk).
import shlex
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


def get_review_output():
    out = []
    if "grade" in REVIEW:
        out += [f"{REVIEW_DIR}/{f}" for f in ("grade.csv", "grade.md", "disagreements.csv")]
    if "select" in REVIEW:
        out += [f"{REVIEW_DIR}/select/{f}" for f in ("select.json", "select.md")]
    return out


def review_tokenizer():
    return {"tokenizer": manifest("qwen_tokenizer")} if REVIEW_COUNT == "tokenizer" else {}


def review_tokenizer_flag(wildcards, input):
    return f"--tokenizer-manifest {input.tokenizer}" if "tokenizer" in input.keys() else ""


rule review_fetch:
    localrule: True
    input:
        # the lock is an input once it exists, so moving a pin refetches
        lock=[HUB_LOCK] if Path(HUB_LOCK).exists() else [],
    output:
        [manifest(n) for n in REVIEW_SOURCES],
    params:
        names=" ".join(REVIEW_SOURCES),
        mirror=f"--mirror {shlex.quote(HUB['offline_mirror'])}" if HUB.get("offline_mirror") else "",
    log:
        "logs/review/fetch.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit fetch --sources {params.names} --lock {HUB_LOCK} --dest {HUB_DEST}"
        " --manifests {HUB_DEST}/manifests {params.mirror} > {log} 2>&1"


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
            tasks=" ".join(REVIEW["grade"]["tasks"]),
            include=" ".join(["--include"] + [shlex.quote(p) for p in REVIEW["grade"]["include"]])
            if REVIEW["grade"].get("include") else "",
            claims=shlex.quote(as_json(REVIEW["grade"].get("claims") or {})),
            tokenizer=review_tokenizer_flag,
        log:
            "logs/review/grade.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={rule} HF_HUB_OFFLINE=1 s1kit review-grade --results-manifest {input.results} {params.tokenizer}"
            " --tasks {params.tasks} --thinking-count {REVIEW_COUNT} --claims-json {params.claims}"
            " {params.include} --out-dir {REVIEW_DIR} > {log} 2>&1"


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
            selections=" ".join(REVIEW["select"]["selections"]),
            config=shlex.quote(as_json(REVIEW["select"].get("config") or {})),
            domain=REVIEW["select"].get("domain_column", "cot_type"),
            tokenizer=review_tokenizer_flag,
        log:
            "logs/review/select.log",
        container:
            CONTAINERS["data"]
        shell:
            "S1KIT_RULE={rule} HF_HUB_OFFLINE=1 s1kit review-select --pool-manifest {input.pool} --s1k-manifest {input.s1k}"
            " {params.tokenizer} --config-json {params.config} --selections {params.selections}"
            " --thinking-count {REVIEW_COUNT} --domain-column {params.domain}"
            " --out-dir {REVIEW_DIR}/select > {log} 2>&1"


rule review:
    localrule: True
    input:
        get_review_output(),
