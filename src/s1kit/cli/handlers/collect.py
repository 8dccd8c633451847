"""Handlers of the collect stage: `s1kit collect-source`, `collect-eval` and `collect-pool`."""

from __future__ import annotations

import json

from s1kit.cli.args import CollectEvalArgs, CollectPoolArgs, CollectSourceArgs
from s1kit.collect import CollectConfig, build_pool, write_eval_set, write_source
from s1kit.settings import from_dict, load_json_arg


def collect_source_command(a: CollectSourceArgs) -> None:
    info = write_source(a.source, a.out, a.quarantine, n=a.n, seed=a.seed, eval_paths=a.eval or [],
                        manifest=a.manifest, options=load_json_arg(a.options_json, "--options-json"),
                        max_chars=a.max_chars, official_collect=a.official or None)
    print(f"{a.source}: {info['records']} records -> {a.out}; {info['quarantined']} quarantined -> {a.quarantine}")


def collect_eval_command(a: CollectEvalArgs) -> None:
    n = write_eval_set(a.task, a.out, n=a.n, seed=a.seed, manifest=a.manifest, quarantine_out=a.quarantine)
    print(f"{a.task}: {n} questions -> {a.out}")


def collect_pool_command(a: CollectPoolArgs) -> None:
    cfg = from_dict(CollectConfig, load_json_arg(a.config_json, "--config-json"), "collect")
    print(json.dumps(build_pool(a.raw, a.eval, a.out_pool, a.out_funnel, a.out_contaminated, a.out_duplicates,
                                a.quarantine or [], config=cfg, official_collect=a.official or None)))
