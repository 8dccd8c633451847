"""What each paper number needs, from the paper config's DAG: the tier of its cheapest route.

A claim's target is built under config/s1.yaml by a chain of rules; the most expensive rule
on that chain decides what a reviewer needs (tests/test_paper_commands.py checks these
tiers against ``snakemake -n`` of config/s1.yaml and config/review.yaml):

  cpu+network  the hub sources then CPU rules only (fetch, collect_*), or the published
               evaluation samples re-graded on a CPU (config/review.yaml, review_grade)
  gpu-eval     evaluate_run on a released checkpoint (hub models, or simplescaling/s1-32B
               and s1.1-32B put where train_sft would write them: docs/hpc.md), so that
               no training and no paid call is upstream
  gpu-train    train_sft upstream (a run no one released: the ablations, block 4096)
  api          distill_traces / featurize_* / select_retrace upstream: paid LLM calls
               (Gemini traces, Claude grading and domains, DeepSeek-R1) and the Qwen2.5
               attempts on GPUs

The printed commands run from the repository root as they are (a test dry-runs each).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from s1kit.paper.layout import paper_order
from s1kit.review.regrade import TASK_CLAIMS  # review.yaml's claim suffix per lm-eval task

TIERS = ("cpu+network", "gpu-eval", "gpu-train", "api")
TIER_LABELS = {"cpu+network": "CPU + network", "gpu-eval": "GPU evaluation", "gpu-train": "GPU training",
               "api": "paid API + GPUs"}
PAPER_CONFIG = "config/s1.yaml"
REVIEW_CONFIG = "config/review.yaml"
# Checkpoints on the hub: the models config/s1.yaml fetches (kind: hub) and the two the
# authors released (simplescaling/s1-32B, s1.1-32B; docs/hpc.md "Evaluation alone").
RELEASED = {"s1-32B": "simplescaling/s1-32B", "s1.1-32B": "simplescaling/s1.1-32B",
            "Qwen2.5-32B-Instruct": "Qwen/Qwen2.5-32B-Instruct",
            "token-conditional-control": "simplescaling/token-conditional-control",
            "step-conditional-control": "simplescaling/step-conditional-control"}
TRAINED_RELEASED = ("s1-32B", "s1.1-32B")  # released, but trained by train_sft under s1.yaml
# Rules that evaluate a released checkpoint without anything upstream that trains or pays.
EVAL_ONLY_RULES = ("fetch", "models_fetch_hub", "collect_eval_set", "evaluate_run")
# GPU-hours of training (arXiv 2501.19393v3 §4.1: 26 min on 16 H100 = 7 GPU-hours; §5.1: 59K-full 394).
TRAIN_GPU_HOURS = {"s1-59K-full": 394}
TRAIN_GPU_HOURS_DEFAULT = 7
# An evaluation run (one setting x one task) on one node of 8 GPUs: an upper-bound estimate,
# not a measurement (ARTIFACT.md "GPU evaluation" shows the arithmetic).
EVAL_GPU_HOURS_BOUND = 8
API_DOLLARS = "about $2,540 (s1kit cost, official prompt layout)"
_EVAL = re.compile(r"^results/eval/(?P<model>[^/]+)/(?P<setting>[^/]+)/(?P<task>[^/]+)/results\.json$")


@dataclass(frozen=True)
class Requirement:
    """``tier`` (TIERS), ``needs`` (one line a reviewer reads), ``commands`` (each runs as printed)."""

    tier: str
    needs: str
    commands: tuple[str, ...]


def rebuild_command(target: str, config: str | None = PAPER_CONFIG) -> str:
    """The whole-pipeline command for one target, from the repository root."""
    return f"snakemake --configfile {config} --cores all {target}" if config else f"snakemake --cores all {target}"


def eval_rules(path: str | Path = PAPER_CONFIG) -> tuple[str, ...]:
    """EVAL_ONLY_RULES plus the paper config's batch rules: under the fork's semantics each
    evaluate.batches entry is a rule ``evaluate_batch_<task>__<task>...`` (workflow/rules/evaluate.smk)."""
    path = Path(path)
    batches = []
    if path.exists():
        evaluate = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("evaluate") or {}
        batches = ["evaluate_batch_" + "__".join(b["tasks"]) for b in evaluate.get("batches") or [] if b.get("tasks")]
    return EVAL_ONLY_RULES + tuple(dict.fromkeys(batches))


def eval_only_command(target: str, rules: tuple[str, ...] = EVAL_ONLY_RULES) -> str:
    """A released checkpoint's evaluation alone: no training, no paid call (docs/hpc.md)."""
    return f"snakemake --configfile {PAPER_CONFIG} --cores all --allowed-rules {' '.join(rules)} -- {target}"


REVIEW_COMMAND = f"snakemake --configfile {REVIEW_CONFIG} --cores 2 results/review/grade.csv"


def review_claim_ids(path: str | Path = REVIEW_CONFIG) -> set[str]:
    """Claim ids that config/review.yaml re-grades from the published samples (<prefix>.<task suffix>)."""
    path = Path(path)
    if not path.exists():
        return set()
    review = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("review") or {}
    grade = review.get("grade") or {}
    suffixes = [TASK_CLAIMS[t] for t in grade.get("tasks", []) if t in TASK_CLAIMS]
    return {f"{prefix}.{s}" for prefix in (grade.get("claims") or {}).values() for s in suffixes}


def _train(model: str) -> str:
    hours = TRAIN_GPU_HOURS.get(model, TRAIN_GPU_HOURS_DEFAULT)
    return f"training {model} on 16 H100 (2 nodes x 8, about {hours} GPU-hours)"


def requirement(claim_id: str, target: str | None, reviewable: set[str] | frozenset[str] = frozenset(),
                rules: tuple[str, ...] = EVAL_ONLY_RULES) -> Requirement | None:
    """The cheapest route to a claim's target under config/s1.yaml; None for a cited claim (no target).
    ``rules``: the rules an evaluation alone may run (:func:`eval_rules`)."""
    if not target:
        return None
    full = rebuild_command(target)
    gpu_eval = (f"8 GPUs (one node, tensor parallel 8), at most about {EVAL_GPU_HOURS_BOUND} GPU-hours "
                "per run (estimate)")
    m = _EVAL.match(target)
    if m and claim_id in reviewable:
        return Requirement("cpu+network", "re-gradable on a CPU from the published samples (simplescaling/results, "
                           f"fetched once): {REVIEW_COMMAND}; its own run needs {gpu_eval}",
                           (REVIEW_COMMAND, full))
    if m and m["model"] in RELEASED:
        where = (f" put at results/train/{m['model']}/model (docs/hpc.md)" if m["model"] in TRAINED_RELEASED
                 else "")
        return Requirement("gpu-eval", f"GPU evaluation of the released {RELEASED[m['model']]}{where}: {gpu_eval}",
                           (eval_only_command(target, rules), full))
    if m:
        return Requirement("gpu-train", f"{_train(m['model'])} on its selection (paid API upstream), then {gpu_eval}",
                           (full,))
    if target == "results/paper/tables/scaling_methods.csv":
        return Requirement("gpu-eval", "GPU evaluation of the method's runs (released s1-32B and control models): "
                           f"{gpu_eval}", (full,))
    if target.startswith("results/train/"):
        run = target.split("/")[2]
        return Requirement("gpu-train", f"{_train(run)} on its selection (paid API upstream)", (full,))
    if target.startswith("results/data/"):
        return Requirement("cpu+network", "the 16 hub sources (network, fetched once) and collection on a CPU", (full,))
    if target.startswith("results/select/s1K-1.1/"):
        return Requirement("api", "DeepSeek-R1 traces of s1K (paid API) on top of the data pipeline", (full,))
    if target.startswith("results/select/"):
        return Requirement("api", f"the data pipeline: Gemini traces, Claude grading and domains ({API_DOLLARS}) "
                           "and Qwen2.5-7B/32B attempts on GPUs", (full,))
    return Requirement("api", "the whole pipeline", (full,))


def tier_counts(tiers: Mapping[str, str] | list[str]) -> dict[str, int]:
    """tier -> count, in TIERS order, tiers with none left out."""
    values = list(tiers.values()) if isinstance(tiers, Mapping) else list(tiers)
    return {t: values.count(t) for t in TIERS if values.count(t)}


def route(command: str) -> str:
    """Which of ARTIFACT.md's command forms a printed command is, and its target."""
    target = command.split()[-1]
    if REVIEW_CONFIG in command:
        return f"re-grade (review): `{target}`"
    if "--allowed-rules" in command:
        return f"evaluation alone: `{target}`"
    return f"whole pipeline: `{target}`"


def tier_table(frame) -> str:
    """ARTIFACT.md's table: per paper table (the paper's order), its claims by tier and one target
    of its cheapest tier with the command form (tests/test_paper_commands.py keeps ARTIFACT.md equal
    to this; claims.csv's ``command`` column has every claim's complete command)."""
    head = ["paper table", "claims", "cited", *(TIER_LABELS[t] for t in TIERS), "cheapest route, one example"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for table in paper_order(frame["table"]):
        sub = frame[frame["table"] == table]
        counts = [int((sub["requires"] == t).sum()) for t in TIERS]
        cheapest = next((t for t, n in zip(TIERS, counts) if n), None)
        example = route(sub.loc[sub["requires"] == cheapest, "command"].iloc[0]) if cheapest else "–"
        cells = [table, str(len(sub)), str(int((sub["kind"] == "cited").sum())),
                 *(str(n) if n else "–" for n in counts), example]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
