"""Handler of the distill stage: `s1kit distill`."""

from __future__ import annotations

import json

from s1kit.cli.args import DistillArgs
from s1kit.distill import distill
from s1kit.settings import load_json_arg


def distill_command(a: DistillArgs) -> None:
    print(json.dumps(distill(a.pool, a.out_traces, a.out_ledger, a.teacher, a.backend,
                             load_json_arg(a.options_json, "--options-json"), model=a.model or None,
                             params=load_json_arg(a.params_json, "--params-json"),
                             llm=load_json_arg(a.llm_json, "--llm-json"))))
