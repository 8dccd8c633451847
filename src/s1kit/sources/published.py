"""The paper's published artifacts, pinned like the raw sources: inputs of the review config.

config/review.yaml re-grades the published evaluation samples and reruns what selection
it can on the published pool (s1kit.review, docs/review.md). Each artifact is a HubSource
of kind "published", fetched by the same lock and manifests as the raw sources
(s1kit.sources.fetch), so a reviewer's numbers name the commit and checksums they came from.

The pool and s1K map to question records (they are question tables, so they could also be
collected); the evaluation logs and the tokenizer are not question sources and their
``load`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

# lm-eval's output layout: <run>/[<model_name_sanitized>/]results_<stamp>.json beside
# samples_<task>_<stamp>.jsonl (fnmatch's * also matches "/", so one pattern covers both depths).
RESULTS_FILES = ("*results_*.json", "*samples_*.jsonl")
QUESTION_FILES = ("data/train-*.parquet",)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")


def _question_rows(directory: Path) -> list[Row]:
    """question, solution, cot_type, source_type as published; the rest as metadata.

    The published ``metadata`` column is text (a Python repr in places); it is kept as text,
    never parsed or eval'd.
    """
    out: list[Row] = []
    for x in read_rows(directory, QUESTION_FILES):
        r = row(x.pop("question", None), x.pop("source_type", None), x.pop("cot_type", None),
                x.pop("solution", None))
        r["metadata"] = {k: v for k, v in x.items() if isinstance(v, (str, int, float, bool, list, type(None)))}
        out.append(r)
    return out


def _load_pool(paths: Mapping[str, Path], seed: int) -> list[Row]:
    return _question_rows(Path(paths["pool"]))


def _load_s1k(paths: Mapping[str, Path], seed: int) -> list[Row]:
    return _question_rows(Path(paths["s1k"]))


def _not_questions(name: str):
    def load(paths: Mapping[str, Path], seed: int) -> list[Row]:
        raise ValueError(f"{name} is a review input, not a question source: s1kit.review reads it "
                         "(s1kit review-grade / review-select); do not list it under collect.sources")

    return load


PUBLISHED_RESULTS = HubSource(
    name="published_results",
    kind="published",
    inputs={"results": HubInput("simplescaling/results", files=RESULTS_FILES)},
    load=_not_questions("published_results"),
    doc=(
        "The paper's evaluation logs, `simplescaling/results` (all eval logs): one folder per run, "
        "named by the official `--output_path`, eval/commands.sh:22 (--output_path nottc) and the "
        "other commands (e.g. `qwen`, `nottc`, `forcing500`, "
        "`forcingignore2wait`, `1kdiverse`, `59k`), holding lm-evaluation-harness 0.4 output either directly "
        "(`59k/results_full.json`) or under the model's sanitized name (`forcing500/qfq__1k_qr_bt_dm_po/"
        "results_2025-01-19T20-36-18.258524.json`): a `results_<stamp>.json` (per task `exact_match,none`, the "
        "configs, the model) and one `samples_<task>_<stamp>.jsonl` per task (aime24_figures, aime24_nofigures, "
        "openai_math, gpqa_diamond_openai; aime25_nofigures in later runs), one JSON record per question with "
        "doc_id, doc, target, arguments, resps, filtered_resps and the task's per-sample metrics (exact_match, "
        "extracted_answers). The fork graded with gpt-4o-mini; `s1kit review-grade` re-grades every sample with "
        "the kit's math-verify checking. Every results and samples file of the repository is fetched (all runs; "
        "LFS files of up to ~15 MB each); review.grade.runs picks what is graded. Layout read from the hub's "
        "file listings, not from a card (the repository has none describing it)."
    ),
)

PUBLISHED_POOL = HubSource(
    name="published_pool",
    kind="published",
    inputs={"pool": HubInput("simplescaling/data_ablation_full59K", files=QUESTION_FILES)},
    load=_load_pool,
    doc=(
        "The published 59K pool with teacher traces, `simplescaling/data_ablation_full59K` (19 parquet shards, "
        "about 5 GB): 58,986 rows with columns solution, question, cot_type, source_type, metadata (text), cot, "
        "thinking_trajectories (a list of strings), attempt and text (the SFT-formatted string). It carries none "
        "of the selection's other features (no MSC domain, no Qwen2.5-7B/32B grades, no teacher grade), so "
        "`s1kit review-select` reruns only what those are not needed for (the format filter and 1K-longest) and "
        "says which features are missing. Columns read from the card's dataset_info as mirrored on the hub "
        "(HeDy1/data_ablation_full59k_tokenized lists the same features and 58,986 rows); not opened offline."
    ),
)

PUBLISHED_S1K = HubSource(
    name="published_s1k",
    kind="published",
    inputs={"s1k": HubInput("simplescaling/s1K", files=QUESTION_FILES)},
    load=_load_s1k,
    doc=(
        "The published s1K, `simplescaling/s1K` (1,000 rows; columns solution, question, cot_type, source_type, "
        "metadata, cot, thinking_trajectories, attempt). It has no id column: the review hashes each question "
        "with `records.question_hash`, as `s1kit select-overlap` does, and compares the ids with the pool and "
        "with the kit's reruns."
    ),
)

QWEN_TOKENIZER = HubSource(
    name="qwen_tokenizer",
    kind="published",
    inputs={"tokenizer": HubInput("Qwen/Qwen2.5-32B-Instruct", files=TOKENIZER_FILES, repo_type="model")},
    load=_not_questions("qwen_tokenizer"),
    doc=(
        "The tokenizer files of `Qwen/Qwen2.5-32B-Instruct` (tokenizer.json, tokenizer_config.json, vocab.json, "
        "merges.txt; no weights), the paper's unit of thinking length. Fetched only when "
        "review.thinking_count is `tokenizer`; the count is then Qwen2.5 tokens, read offline with "
        "transformers' AutoTokenizer (no remote code). Otherwise the review counts words or characters and "
        "labels them so."
    ),
)
