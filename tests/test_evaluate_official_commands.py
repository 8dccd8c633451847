"""Official command lines -> kit settings (``s1kit official-command``), and the fork's GPQA
choice order, both against the pinned official files (skipped when ../shared/official-s1 is
absent).

- Every ``lm_eval`` command of the official ``eval/commands.sh`` is parsed; each command the
  paper uses maps to a kit run of config/s1.yaml whose BudgetConfig (fork semantics, the
  kit task yaml's gen kwargs + ``evaluate.gen_kwargs`` + the setting's) equals the one the
  fork builds from the official task yaml's gen kwargs + the command's ``--gen_kwargs``.
- ``choice_order: fork`` gives the order of the fork's ``process_docs`` run after
  ``random.seed(0)`` (what lm-eval's ``simple_evaluate`` does first).
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from s1kit.evaluate import official_commands as oc
from s1kit.evaluate.settings import setting_names

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / ".." / "shared" / "official-s1"
COMMANDS = OFFICIAL / "eval" / "commands.sh"
TASKS = OFFICIAL / "eval" / "lm-evaluation-harness" / "lm_eval" / "tasks"
pytestmark = pytest.mark.skipif(not COMMANDS.is_file(), reason="../shared/official-s1 (the pinned official code) is absent")
# Official task -> its yaml (the paper evaluates the *_nofigures AIME sets; aime24_figures has the same kwargs).
OFFICIAL_TASK_YAML = {
    "aime24_figures": "aime/aime24_figures.yaml", "aime24_nofigures": "aime/aime24_nofigures.yaml",
    "aime25_nofigures": "aime/aime25_nofigures.yaml", "openai_math": "openai_math/openai_math.yaml",
    "gpqa_diamond_openai": "gpqa/openai/gpqa_diamond_openai.yaml",
    "aime24_figures_agg64": "aime/aime24_figures_agg64.yaml", "aime24_nofigures_agg64": "aime/aime24_nofigures_agg64.yaml",
    "openai_math_agg64": "openai_math/openai_math_agg64.yaml", "gpqa_diamond_openai_agg64": "gpqa/openai/gpqa_diamond_openai_agg64.yaml",
}


TABLE3_ONLY = {"tcc", "tccbf", "scc", "sccbf", "ccc"}  # arXiv 2501.19393v3 Table 3: AIME24


@pytest.fixture(scope="module")
def commands():
    return oc.parse_commands(COMMANDS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def s1_runs():
    """(model, setting, task) of every evaluation run of config/s1.yaml (as common.smk builds them)."""
    ev = yaml.safe_load((ROOT / "config" / "s1.yaml").read_text())["evaluate"]
    runs = {(m, s, t) for m in ev["models"] for s in setting_names(ev["budgets"], ev["wait"]) for t in ev["tasks"]}
    for group in ev.get("extra", []):
        runs |= {(m, s, t) for m in group.get("models", ev["models"]) for s in group["settings"]
                 for t in group.get("tasks", ev["tasks"])}
    return runs, ev


def test_every_command_is_parsed(commands):
    text = COMMANDS.read_text(encoding="utf-8")
    starts = [n for n, line in enumerate(text.splitlines(), 1) if re.search(r"\blm_eval --model", line)]
    assert [c.line for c in commands] == starts and len(commands) == 52
    multi = [c for c in commands if "\n" in c.gen_kwargs.get("thinking_end", "")]
    assert len(multi) == 4  # the quoted gen_kwargs spanning two lines (SCC + BF "Answer", not used in paper)
    nottc = next(c for c in commands if c.output_path == "nottc")
    assert nottc.gen_kwargs == {"max_gen_toks": 32768} and nottc.pretrained == "simplescaling/s1-32B"
    rs = next(c for c in commands if c.output_path == "rejection_sample3500")
    assert rs.gen_kwargs == {"max_gen_toks": 32768, "max_tokens_thinking": 3500, "rejection_sample": True, "temperature": 1}


def test_every_paper_command_maps_to_an_s1_run_with_the_same_budget_config(commands, s1_runs):
    runs, ev = s1_runs
    kit_tasks = set(ev["tasks"])
    mapped = unmapped = 0
    for cmd in commands:
        run = oc.kit_run(cmd)
        if run.setting is None:  # the dummy self-test and SCC+BF "Answer" (commands.sh: not used in paper)
            assert cmd.model_type == "dummy" or "not used in paper" in run.reason, cmd.line
            unmapped += 1
            continue
        assert run.setting.semantics is None  # a paper run: the config's semantics (fork)
        for task in cmd.tasks:
            fork_cfg, kit_cfg = oc.budget_configs(cmd, task, TASKS / OFFICIAL_TASK_YAML[task], ev["gen_kwargs"])
            assert fork_cfg == kit_cfg, (cmd.line, task)
            assert fork_cfg.semantics == "fork"
            # Table 3 reports the control methods on AIME24 only; their other official tasks are not in the paper
            in_paper = task == "aime24_nofigures" or run.setting.name.split("-")[0] not in TABLE3_ONLY
            if task in kit_tasks and in_paper:
                assert (run.model, run.setting.name, task) in runs, (cmd.line, run.model, run.setting.name, task)
            else:  # figures variant, majority voting (no claim yet) or a Table 3 method off AIME24
                assert task.endswith("_agg64") or task == "aime24_figures" or not in_paper, (cmd.line, task)
        mapped += 1
    assert (mapped, unmapped) == (47, 5)


def test_settings_of_known_commands(commands):
    by_path = {c.output_path: oc.kit_run(c) for c in commands}
    assert by_path["nottc"].setting.name == "plain" and by_path["nottc"].model == "s1-32B"
    assert by_path["forcingignore2"].setting.name == "ignore-2-none"
    assert by_path["forcingignore2hmm"].setting.name == "ignore-2-Hmm"
    assert by_path["prompttoken2k"].setting.name == "tcc-2048"
    assert by_path["prompttoken2k"].setting.task_metadata == {"control": "tcc", "budget": 2048}
    assert by_path["prompttoken2kforcing"].setting.name == "tccbf-2048"
    assert by_path["promptstep16forcing"].setting.name == "sccbf-16"
    assert by_path["promptlong"].setting.name == "ccc-long"
    assert by_path["rejection_sample16k"].setting.name == "rs-16000"
    assert by_path["s1.1forcingignore1wait"].model == "s1.1-32B"


def test_cli_prints_the_kit_setting(capsys):
    from s1kit.cli import main

    line = next(l for l in COMMANDS.read_text().splitlines() if "--output_path forcingignore2wait " in l)
    assert main(["official-command", line]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["model"], out["setting"]) == ("s1-32B", "wait-2")
    assert out["budget_config"]["thinking_n_ignore"] == 2 and out["budget_config"]["semantics"] == "fork"
    assert out["results"][0] == "results/eval/s1-32B/wait-2/aime24_figures/results.json"
    assert main(["official-command"]) == 2


# ---------------------------------------------------------------------------- GPQA choice order


def _fork_gpqa(monkeypatch) -> types.ModuleType:
    openai = types.ModuleType("openai")  # imported at the top of the fork's utils.py; not loadable here
    openai.OpenAI = object
    monkeypatch.setitem(sys.modules, "openai", openai)
    spec = importlib.util.spec_from_file_location("fork_gpqa_order_utils", TASKS / "gpqa" / "openai" / "utils.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpqa_fork_choice_order_equals_the_forks_process_docs(monkeypatch):
    import datasets

    from s1kit.evaluate.tasks.official import gpqa_docs

    rng = random.Random(7)
    rows = [{"Question": f"Question {i}?", "Correct Answer": f"right {i}",
             **{f"Incorrect Answer {k}": f"wrong {i}.{k}" for k in (1, 2, 3)}} for i in range(40)]
    rows[5]["Incorrect Answer 2"] = rows[5]["Correct Answer"]  # a distractor equal to the answer
    rng.shuffle(rows)
    fork = _fork_gpqa(monkeypatch)
    random.seed(0)  # lm-eval's simple_evaluate seeds the global RNG with random_seed=0 first
    ref = fork.process_docs(datasets.Dataset.from_list(rows))
    docs = gpqa_docs(rows, choice_order="fork", shuffle_seed=0)
    assert [[d[f"choice{k}"] for k in range(1, 5)] for d in docs] == [[r[f"choice{k}"] for k in range(1, 5)] for r in ref]
    assert [d["answer"] for d in docs] == list(ref["answer"])
    kit = gpqa_docs(rows, choice_order="kit")  # per-question seeds: another order
    assert [d["answer"] for d in kit] != [d["answer"] for d in docs]
    with pytest.raises(ValueError, match="choice_order"):
        gpqa_docs(rows, choice_order="global")


# ---------------------------------------------------------------------------- the official stack


def test_official_stack_lock_pins_the_official_requirements():
    """requirements/eval-official.lock holds the official requirements.txt's vllm, torch and
    transformers, hash-locked; results.json calls that stack "official"."""
    from s1kit.evaluate.run import OFFICIAL_STACK, stack_of

    official = dict(line.split("==") for line in (OFFICIAL / "requirements.txt").read_text().split()
                    if "==" in line)
    lock = (ROOT / "requirements" / "eval-official.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", lock, re.M))
    for name in ("vllm", "torch", "transformers"):
        assert pins[name] == official[name] == OFFICIAL_STACK[name]
        block = lock[lock.index(f"\n{name}=="):].split("\n    # via")[0]
        assert "--hash=sha256:" in block
    assert pins["lm-eval"] == "0.4.9"
    assert all("--hash=sha256:" in b for b in re.split(r"\n(?=[A-Za-z])", lock.split("\n", 7)[-1]) if "==" in b)
    assert stack_of({"vllm": "0.6.4.post1", "torch": "2.5.1+cu124", "transformers": "4.46.1"}) == "official"
    assert stack_of({"vllm": "0.33.0", "torch": "2.14.0", "transformers": "5.20.2"}) == "current"
    assert "requirements/eval-official.lock" in (ROOT / "containers" / "eval-official.def").read_text()
    s1 = yaml.safe_load((ROOT / "config" / "s1.yaml").read_text())
    assert s1["containers"]["eval"] == "containers/eval-official.sif"


def test_paper_config_batches_tasks_as_the_official_commands(commands, s1_runs):
    """Issue 24.1: under fork semantics each (model, setting) of config/s1.yaml that an official
    command reproduces runs that command's --tasks list as ONE lm-eval run, in its order
    (aime24_figures included; rejection sampling: the two AIME24 variants, 60 requests)."""
    from s1kit.evaluate.batches import plan_batches

    runs, ev = s1_runs
    plan = plan_batches(sorted(runs), ev["batches"], ev["semantics"])
    checked = 0
    for cmd in commands:
        run = oc.kit_run(cmd)
        if run.setting is None or not any((run.model, run.setting.name, t) in runs for t in cmd.tasks):
            continue  # not a run of the paper config (the _agg64 tasks, "not used in paper")
        batches = plan[(run.model, run.setting.name)]
        assert tuple(cmd.tasks) in batches, (cmd.line, cmd.output_path, batches)
        checked += 1
    assert checked >= 40  # every paper command of the file but the "not used in paper" ones
    rs = plan[("s1-32B", "rs-3500")]
    assert rs == [("aime24_figures", "aime24_nofigures")]
    # kit-semantics runs (kit.*) are not batched; a requested task of no official command runs alone
    assert not any(s.startswith("kit.") for _, s in plan)
    assert ("aime25_nofigures",) in plan[("s1-32B", "bf-auto")]
    # every requested fork run is in exactly one batch of its (model, setting)
    for m, s, t in runs:
        if (m, s) in plan:
            assert sum(t in b for b in plan[(m, s)]) == 1, (m, s, t)


def test_plan_batches_rules():
    from s1kit.evaluate.batches import plan_batches

    groups = [{"tasks": ["a", "b"], "settings": ["rs-10"]}, {"tasks": ["x", "b", "c"]}]
    runs = [("m", "rs-10", "b"), ("m", "bf-5", "b"), ("m", "bf-5", "z"), ("m", "kit.bf-5", "b")]
    assert plan_batches(runs, groups, "fork") == {("m", "rs-10"): [("a", "b")], ("m", "bf-5"): [("x", "b", "c"), ("z",)]}
    assert plan_batches(runs, groups, "kit") == {}  # the kit's semantics: one task per run
    with pytest.raises(ValueError, match="evaluate.batches"):
        plan_batches([("m", "bf-5", "a"), ("m", "bf-5", "b")], [{"tasks": ["a", "c"]}, {"tasks": ["b", "c"]}], "fork")
