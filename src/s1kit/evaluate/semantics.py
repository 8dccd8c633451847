"""Evaluation semantics (config ``evaluate.semantics``): where the kit's budget forcing and
the official fork's differ, as one record per semantics, chosen once (docs/fidelity.md,
docs/evaluate.md "Budget-forcing semantics").

``semantics_of(name)`` is read at the entry (the model adapters' ``__init__``, the task's
``choice_order`` metadata, the official-command mapping) and its record travels from there:

- ``run``: the budget-forcing runner (``budget.run_kit`` or ``fork.run_fork``);
- ``batches``: how an adapter's ``generate_until`` cuts a gen-kwargs group into runner calls;
- ``gen_defaults``: what an absent gen kwarg means and how ``do_sample`` is read;
- ``gpqa_order`` and ``shuffle_seed``: the GPQA choice order and its default seed.

The record's ``name`` is what reaches the outputs (``BudgetConfig.semantics``, results.json).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from s1kit.evaluate.budget import kit_batches, kit_sampling, run_kit
from s1kit.evaluate.controller import AUTO, DEFAULT_MAX_GEN_TOKS, BudgetConfig, GenDefaults, Runner
from s1kit.evaluate.fork import fork_batches, fork_sampling, run_fork
from s1kit.evaluate.tasks.gpqa_order import FORK_ENGINE_SEED, KIT_SHUFFLE_SEED, ChoiceShuffle, fork_order, kit_order

DEFAULT_SEMANTICS = "kit"  # config evaluate.semantics (workflow/schemas/config.schema.yaml)
KEY = "evaluate.semantics"

# (request indices, prompt ids, context texts, cfg, context length, batch size) -> [(indices, prompts)]
Batcher = Callable[[list[int], Sequence[list[int]], Sequence[str], BudgetConfig, int, int | None],
                   list[tuple[list[int], list[list[int]]]]]


@dataclass(frozen=True)
class Semantics:
    """Where the kit's evaluation and the fork's differ, as small functions and defaults."""

    name: str  # "kit" | "fork": BudgetConfig.semantics, the records' and results' "semantics"
    run: Runner  # budget forcing of one batch
    batches: Batcher  # one gen-kwargs group of requests -> runner calls
    gen_defaults: GenDefaults  # absent gen kwargs and the do_sample rule
    gpqa_order: Callable[[int], ChoiceShuffle]  # shuffle seed -> GPQA choice shuffle
    shuffle_seed: int  # the GPQA shuffle seed when task metadata gives none

    def budget_config(self, gen_kwargs: Mapping[str, Any], default_max_gen_toks: int = DEFAULT_MAX_GEN_TOKS,
                      eos: str | None = None) -> BudgetConfig:
        """``gen_kwargs`` read under this semantics (``controller.BudgetConfig.from_gen_kwargs``)."""
        return BudgetConfig.from_gen_kwargs(gen_kwargs, self.name, self.gen_defaults, default_max_gen_toks, eos)


# The fork's defaults where a gen kwarg is absent:
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:241 (thinking_n_ignore): None when unset;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:242 (thinking_n_ignore_str): no string;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:271 (sampling_params_thinking): no
# max_tokens_thinking means max_gen_toks;
# eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py:286 (rejection_sample): no cap, so
# the fork semantics keeps only a safety cap on rounds.
SEMANTICS: dict[str, Semantics] = {
    "kit": Semantics(
        name="kit", run=run_kit, batches=kit_batches,
        gen_defaults=GenDefaults(sampling=kit_sampling, budget=lambda max_gen_toks: AUTO, n_ignore=0,
                                 n_ignore_str="Wait", max_tries=64),
        gpqa_order=kit_order, shuffle_seed=KIT_SHUFFLE_SEED,
    ),
    "fork": Semantics(
        name="fork", run=run_fork, batches=fork_batches,
        gen_defaults=GenDefaults(sampling=fork_sampling, budget=lambda max_gen_toks: max_gen_toks, n_ignore=None,
                                 n_ignore_str="", max_tries=100_000),
        gpqa_order=fork_order, shuffle_seed=FORK_ENGINE_SEED,
    ),
}


def semantics_of(name: str, key: str = KEY) -> Semantics:
    """The record of semantics ``name``; ValueError names the setting it came from (``key``)."""
    if name not in SEMANTICS:
        raise ValueError(f"{key}={name!r}: expected one of {list(SEMANTICS)}")
    return SEMANTICS[name]
