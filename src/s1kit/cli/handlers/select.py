"""Handlers of the select stage: `s1kit select`, `select-overlap` and `retrace`."""

from __future__ import annotations

import json

from s1kit.cli.args import RetraceArgs, SelectArgs, SelectOverlapArgs
from s1kit.retrace import retrace
from s1kit.select import BenchmarkSource, SelectConfig, run_overlap
from s1kit.select import run as run_selection
from s1kit.settings import from_dict, load_json_arg


def select_command(a: SelectArgs) -> None:
    raw = load_json_arg(a.config_json, "--config-json")
    raw["benchmark_sources"] = {
        k: from_dict(BenchmarkSource, v, f"select.benchmark_sources.{k}")
        for k, v in (raw.get("benchmark_sources") or {}).items()
    }
    if not isinstance(raw.get("attempt_models", []), list):
        raise ValueError("config select.attempt_models must be a list of model names")
    raw["attempt_models"] = tuple(raw.get("attempt_models") or ())
    cfg = from_dict(SelectConfig, raw, "select")
    print(json.dumps(run_selection(a.name, a.featurized, a.out_dir, cfg, a.funnel_out)))


def select_overlap_command(a: SelectOverlapArgs) -> None:
    info = run_overlap(a.ids, a.published, a.out, a.featurized)
    print(json.dumps({k: info[k] for k in ("ours", "published", "intersection", "jaccard")}))


def retrace_command(a: RetraceArgs) -> None:
    info = retrace(a.base, a.pool, a.length_tokenizer, a.out_dir, a.work_dir, a.teacher, a.backend,
                   load_json_arg(a.options_json, "--options-json"), model=a.model or None,
                   params=load_json_arg(a.params_json, "--params-json"), llm=load_json_arg(a.llm_json, "--llm-json"))
    print(json.dumps({k: info[k] for k in ("questions", "failed_traces", "teacher_correct_frac")}))
