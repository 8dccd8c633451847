"""Official command lines in, kit settings out (``s1kit official-command``).

The official command file of simplescaling/s1 at 77272c6 holds every ``lm_eval`` command
behind the paper's numbers (the first: eval/commands.sh:6 (lm_eval)). ``parse_commands`` reads that file (a quoted ``--gen_kwargs`` may span
lines); ``kit_run`` maps one command to the kit run that reproduces it: model, tasks,
setting name (docs/evaluate.md) and the budget config both sides build under
``semantics="fork"``. Gen kwargs are read as lm-eval 0.4.4's ``simple_parse_args_string``
reads them (comma-separated ``key=value``; true/false, integers and floats converted) and
merged over the task yaml's ``generation_kwargs`` as its ``simple_evaluate`` does.

    s1kit official-command "PROMPTTOKEN=2048 ... lm_eval --model vllm --model_args pretrained=... --gen_kwargs ..."
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from s1kit.evaluate.controller import BudgetConfig
from s1kit.evaluate.semantics import semantics_of
from s1kit.evaluate.settings import Setting, parse_setting
from s1kit.evaluate.tasks import TASKS_DIR

# Hub id of an official command's model -> the kit's model name (config/s1.yaml).
MODELS = {
    "simplescaling/s1-32B": "s1-32B",
    "simplescaling/s1.1-32B": "s1.1-32B",
    "Qwen/Qwen2.5-32B-Instruct": "Qwen2.5-32B-Instruct",
    "simplescaling/token-conditional-control": "token-conditional-control",
    "simplescaling/step-conditional-control": "step-conditional-control",
}
FORK = semantics_of("fork")  # every official command ran the fork's budget forcing
# The control prompts' environment variables (the fork's task utils) -> the kit's method.
CONTROL_ENV = {"PROMPTTOKEN": "tcc", "PROMPTSTEP": "scc", "PROMPTLONG": "ccc-long", "PROMPTSHORT": "ccc-short"}
SCC_FORCING_END = "<|im_start|>answer"  # the paper's SCC+BF; the "Final Answer" variant is "not used in paper"


@dataclass(frozen=True)
class OfficialCommand:
    """One ``lm_eval`` command of the official command file."""

    line: int  # 1-based line of the command file where it starts
    env: dict[str, str]
    model_type: str
    model_args: dict[str, str]
    tasks: list[str]
    output_path: str
    gen_kwargs: dict[str, Any]
    text: str = field(repr=False, default="")

    @property
    def pretrained(self) -> str:
        return self.model_args.get("pretrained", "")


@dataclass(frozen=True)
class KitRun:
    """The kit run reproducing an official command (setting None: none does; ``reason`` says why)."""

    model: str | None
    tasks: list[str]
    setting: Setting | None
    reason: str = ""


def parse_gen_kwargs(text: str) -> dict[str, Any]:
    """lm-eval 0.4.4's ``simple_parse_args_string`` + ``handle_arg_string``."""
    out: dict[str, Any] = {}
    for arg in (a for a in text.strip().split(",") if a):
        if arg.count("=") != 1:
            raise ValueError(f"gen kwarg {arg!r} is not key=value")
        key, value = arg.split("=")
        out[key] = _arg_value(value)
    return out


def _arg_value(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.isnumeric():
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def parse_command(text: str, line: int = 1) -> OfficialCommand:
    """One command line (environment assignments, ``lm_eval`` and its flags)."""
    words = shlex.split(text, comments=True)
    if "lm_eval" not in words:
        raise ValueError(f"line {line}: not an lm_eval command: {text[:80]!r}")
    at = words.index("lm_eval")
    env = dict(w.split("=", 1) for w in words[:at] if "=" in w)
    flags: dict[str, str] = {}
    rest = words[at + 1 :]
    for i, w in enumerate(rest):
        if w.startswith("--"):
            has_value = i + 1 < len(rest) and not rest[i + 1].startswith("--")
            flags[w[2:]] = rest[i + 1] if has_value else ""
    model_args = dict(a.split("=", 1) for a in flags.get("model_args", "").split(",") if a)
    return OfficialCommand(
        line=line,
        env=env,
        model_type=flags.get("model", ""),
        model_args=model_args,
        tasks=[t for t in flags.get("tasks", "").split(",") if t],
        output_path=flags.get("output_path", ""),
        gen_kwargs=parse_gen_kwargs(flags.get("gen_kwargs", "")),
        text=text,
    )


def parse_commands(text: str) -> list[OfficialCommand]:
    """Every ``lm_eval`` command of the official command file's text, in order."""
    out, buf, start = [], [], 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if not buf:
            start = n
        buf.append(raw)
        joined = "\n".join(buf)
        try:
            shlex.split(joined, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        out.append(parse_command(joined, start))
        buf = []
    if buf:
        raise ValueError(f"line {start}: unterminated quote")
    return out


def _setting_name(cmd: OfficialCommand) -> tuple[str | None, str]:
    """The kit setting of a command's gen kwargs and control environment, or (None, why)."""
    kw = cmd.gen_kwargs
    budget = kw.get("max_tokens_thinking")
    control = [(CONTROL_ENV[k], v) for k, v in cmd.env.items() if k in CONTROL_ENV]
    if kw.get("rejection_sample"):
        return f"rs-{budget}", ""
    if control:
        method, value = control[0]
        if method.startswith("ccc"):
            return method, ""
        if method == "scc" and "thinking_start" in kw:
            if kw.get("thinking_end") != SCC_FORCING_END:
                return None, "step-conditional control + forcing with 'Final Answer:' (the official command file: not used in paper)"
            return f"sccbf-{value}", ""
        if method == "tcc" and budget != "auto":
            return f"tccbf-{value}", ""
        return f"{method}-{value}", ""
    if "thinking_n_ignore" in kw:
        text = kw.get("thinking_n_ignore_str")
        n = kw["thinking_n_ignore"]
        return (f"wait-{n}" if text == "Wait" else f"ignore-{n}-{text if text else 'none'}"), ""
    if budget is not None:
        return f"bf-{budget}", ""
    return "plain", ""


def kit_run(cmd: OfficialCommand) -> KitRun:
    """The kit run (model, tasks, setting) that reproduces ``cmd`` under fork semantics."""
    if cmd.model_type != "vllm":
        return KitRun(None, cmd.tasks, None, f"--model {cmd.model_type}: a harness self-test, no model")
    model = MODELS.get(cmd.pretrained)
    if model is None:
        raise ValueError(f"line {cmd.line}: unknown model {cmd.pretrained!r}; known {sorted(MODELS)}")
    name, reason = _setting_name(cmd)
    return KitRun(model, cmd.tasks, parse_setting(name) if name else None, reason)


# ---------------------------------------------------------------------------- budget configs


def _read_yaml(path: Path) -> dict[str, Any]:
    """A task yaml; its ``!function`` tags become plain strings (their values are not needed)."""
    return yaml.safe_load(re.sub(r"!function\s+", "", path.read_text(encoding="utf-8"))) or {}


def task_gen_kwargs(path: Path) -> dict[str, Any]:
    """``generation_kwargs`` of a task yaml, following its ``include``s (lm-eval's merge:
    the including file wins)."""
    data = _read_yaml(path)
    merged: dict[str, Any] = {}
    includes = data.get("include") or []
    for inc in [includes] if isinstance(includes, str) else includes:
        merged.update(task_gen_kwargs(path.parent / inc))
    merged.update(data.get("generation_kwargs") or {})
    return merged


def kit_task_yaml(task: str) -> Path:
    """The kit's yaml of task ``task``."""
    for path in sorted(Path(TASKS_DIR).rglob("*.yaml")):
        if _read_yaml(path).get("task") == task:
            return path
    raise ValueError(f"no kit task {task!r} in {TASKS_DIR}")


def budget_configs(cmd: OfficialCommand, task: str, official_task_yaml: Path | None,
                   base_gen_kwargs: dict[str, Any], eos: str = "<|im_end|>") -> tuple[BudgetConfig, BudgetConfig]:
    """(the fork's, the kit run's) BudgetConfig for ``task`` under fork semantics: the task
    yaml's gen kwargs with the command's over them, and the kit task's with
    ``base_gen_kwargs`` (``evaluate.gen_kwargs``) and the setting's over them."""
    run = kit_run(cmd)
    if run.setting is None:
        raise ValueError(f"line {cmd.line}: no kit setting ({run.reason})")
    fork_base = task_gen_kwargs(official_task_yaml) if official_task_yaml else {}
    fork = FORK.budget_config({**fork_base, **cmd.gen_kwargs}, eos=eos)
    kit_kw = {**task_gen_kwargs(kit_task_yaml(task)), **base_gen_kwargs, **run.setting.gen_kwargs}
    kit = semantics_of(run.setting.semantics or FORK.name).budget_config(kit_kw, eos=eos)
    return fork, kit


# ---------------------------------------------------------------------------- CLI


def describe(cmd: OfficialCommand) -> dict[str, Any]:
    """What ``s1kit official-command`` prints for one command."""
    run = kit_run(cmd)
    out: dict[str, Any] = {"line": cmd.line, "output_path": cmd.output_path, "model": run.model,
                           "tasks": run.tasks, "setting": run.setting.name if run.setting else None}
    if run.setting is None:
        out["reason"] = run.reason
        return out
    out["task_metadata"] = run.setting.task_metadata
    out["gen_kwargs"] = run.setting.gen_kwargs
    budget = FORK.budget_config({**cmd.gen_kwargs}, eos="<|im_end|>")
    out["budget_config"] = {k: v for k, v in vars(budget).items() if k not in ("sampling", "sampling_thinking")}
    out["budget_config"]["sampling_thinking"] = dict(budget.sampling_thinking)
    out["results"] = [f"results/eval/{run.model}/{run.setting.name}/{t}/results.json" for t in run.tasks]
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("command_line", nargs="?", help="one lm_eval line of the official command file (quoted)")
    parser.add_argument("--file", default=None, help="map every command of this command file instead")


def main(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.command_line):
        print("s1kit official-command: error: give one command line or --file", file=sys.stderr)
        return 2
    if args.file:
        cmds = parse_commands(Path(args.file).read_text(encoding="utf-8"))
    else:
        cmds = [parse_command(args.command_line)]
    for cmd in cmds:
        print(json.dumps(describe(cmd), default=str))
    return 0
