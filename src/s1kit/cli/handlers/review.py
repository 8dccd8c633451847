"""Handlers of the review stage: `s1kit review-grade` and `review-select`."""

from __future__ import annotations

import json

from s1kit.cli.args import ReviewGradeArgs, ReviewSelectArgs
from s1kit.review.inputs import manifest_dir
from s1kit.review.regrade import run_grade
from s1kit.review.reselect import run_select
from s1kit.settings import load_json_arg


def review_grade_command(a: ReviewGradeArgs) -> None:
    tok = manifest_dir(a.tokenizer_manifest, "qwen_tokenizer") if a.tokenizer_manifest else None
    print(json.dumps(run_grade(manifest_dir(a.results_manifest, "published_results"), a.out_dir, a.tasks,
                               a.thinking_count, tok, load_json_arg(a.claims_json, "--claims-json"),
                               a.include or None)))


def review_select_command(a: ReviewSelectArgs) -> None:
    tok = manifest_dir(a.tokenizer_manifest, "qwen_tokenizer") if a.tokenizer_manifest else None
    info = run_select(manifest_dir(a.pool_manifest, "published_pool"), manifest_dir(a.s1k_manifest, "published_s1k"),
                      a.out_dir, load_json_arg(a.config_json, "--config-json"), a.selections, a.thinking_count, tok,
                      a.domain_column)
    print(json.dumps({k: info[k] for k in ("pool_rows", "thinking_unit", "missing_s1k_features")}))
