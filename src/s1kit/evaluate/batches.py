"""Which requested evaluations share ONE lm-eval run (config ``evaluate.batches``;
docs/evaluate.md, "The official batch")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from s1kit.evaluate.settings import semantics_of_setting


def plan_batches(
    runs: Iterable[tuple[str, str, str]], groups: Sequence[Mapping[str, Any]], semantics: str
) -> dict[tuple[str, str], list[tuple[str, ...]]]:
    """The lm-eval runs of the fork-semantics settings: (model, setting) -> task tuples, each
    tuple ONE run, as the official commands put several tasks in one ``--tasks`` list
    (eval/commands.sh:25 (--tasks)). Under ``--batch_size auto`` the fork's vLLM model then
    gets every request with equal gen kwargs in one batch, so its "auto" budget is the one of
    the longest prompt of all those tasks (fork.thinking_budget) and rejection sampling's spare
    slots span them.

    ``runs`` are the requested (model, setting, task); ``groups`` is config
    ``evaluate.batches``: ``{tasks, models?, settings?}`` (absent: every model / setting). A
    requested task joins the first group that holds it and the (model, setting); that run
    has all of the group's tasks, in the group's order (a task no claim reads, such as
    aime24_figures, included). A task in no group runs alone. Settings under the kit's
    semantics are left out: the kit runs one task per run (its results do not depend on the
    batch)."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for model, setting, task in runs:
        if semantics_of_setting(setting, semantics) == "fork":
            tasks = wanted.setdefault((model, setting), [])
            if task not in tasks:
                tasks.append(task)
    plan: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for (model, setting), tasks in wanted.items():
        batches: list[tuple[str, ...]] = []
        for task in tasks:
            group = next((tuple(g["tasks"]) for g in groups if task in g["tasks"]
                          and model in g.get("models", [model]) and setting in g.get("settings", [setting])),
                         (task,))
            if group not in batches:
                batches.append(group)
        seen = [t for b in batches for t in b]
        if len(seen) != len(set(seen)):
            raise ValueError(f"config evaluate.batches: {model} {setting} would run a task in two batches "
                             f"({batches}); a task may be in one group per model and setting")
        plan[(model, setting)] = batches
    return plan
