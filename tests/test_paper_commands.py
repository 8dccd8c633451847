"""Every command the claims report prints runs, and every claim's tier is what the DAG says.

claims.csv and report.html print, per claim, the whole pipeline's command (``rebuild``), the
cheapest route's (``command``: an evaluation alone with --allowed-rules, or the review
config's re-grading) and the tiny run's (``tiny_rebuild``); ARTIFACT.md prints more. Each is
dry-run here exactly as printed (plus ``-n``), from a copy of the repository root, the
distinct commands batched by their flags into a few Snakemake calls (a target without a
rule fails the whole batch, naming it). The same dry runs check the tiers of
s1kit.paper.requires against the jobs Snakemake plans. No network, no GPU.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from s1kit.paper.claims import load_claims
from s1kit.paper.report import claims_frame
from s1kit.paper.requires import TRAINED_RELEASED, eval_rules, review_claim_ids

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Rules of the cheap tiers (s1kit.paper.requires): the hub and CPU collection; the review.
CPU_NETWORK_RULES = {"fetch", "fetch_official", "collect_source", "collect_eval_set", "collect_pool"}
REVIEW_RULES = {"review_fetch", "review_grade"}


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The files a reviewer's checkout has that Snakemake reads (no results, no .snakemake)."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copy2(REPO / "Snakefile", root / "Snakefile")
    for d in ("workflow", "config", "profiles", "containers"):
        shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("*.sif", "__pycache__"))
    return root


@pytest.fixture(scope="module")
def frame():
    return claims_frame(load_claims(), None, None, reviewable=review_claim_ids(REPO / "config/review.yaml"),
                        eval_rules=eval_rules(REPO / "config/s1.yaml"))


def split(command: str) -> tuple[tuple[str, ...], list[str]]:
    """``snakemake <flags> [--] <targets>`` -> (flags, targets); targets are the results/ paths."""
    tokens = shlex.split(command)
    assert tokens[0] == "snakemake", command
    first = next(i for i, t in enumerate(tokens) if t.startswith("results/"))
    return tuple(tokens[1:first]), tokens[first:]


def dry_run(cwd: Path, flags: tuple[str, ...], targets: list[str]) -> Counter:
    """``snakemake -n <flags> <targets>`` as printed; the planned jobs per rule."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    exe = shutil.which("snakemake", path=str(BIN)) or "snakemake"
    proc = subprocess.run([exe, "-n", *flags, *targets], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, f"snakemake -n {' '.join(flags)} ... fails:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    out = proc.stdout + proc.stderr
    if "Job stats:" not in out:
        return Counter()
    table = out[out.index("Job stats:"):].split("\n\n")[0]
    return Counter({m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)})


def artifact_commands() -> list[str]:
    """The `snakemake ... results/...` lines of ARTIFACT.md's code blocks."""
    text = (REPO / "ARTIFACT.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", text, re.S)
    lines = [ln.split("#", 1)[0].strip() for b in blocks for ln in b.replace("\\\n", " ").splitlines()]
    return [re.sub(r"^\.venv/bin/", "", ln) for ln in lines
            if re.match(r"^(\.venv/bin/)?snakemake\b.*\bresults/", ln) and "--profile" not in ln]


def test_commands_are_complete(frame):
    reproduced = frame[frame["kind"] == "reproduced"]
    assert (reproduced["rebuild"] != "").all() and (reproduced["command"] != "").all()
    assert reproduced["rebuild"].str.startswith("snakemake --configfile config/s1.yaml --cores all results/").all()
    assert (frame.loc[frame["kind"] == "cited", ["rebuild", "command", "requires"]] == "").all().all()
    tiny = frame[frame["tiny_target"] != ""]
    assert tiny["tiny_rebuild"].str.startswith("snakemake --cores all results/").all()
    # every reproduced claim says what it needs; the review config's claims are re-gradable on a CPU
    assert set(reproduced["requires"]) == {"cpu+network", "gpu-eval", "gpu-train", "api"}
    regrade = reproduced[reproduced["command"].str.contains("config/review.yaml")]
    assert len(regrade) >= 30 and (regrade["requires"] == "cpu+network").all()
    assert set(regrade["claim_id"]) <= review_claim_ids(REPO / "config/review.yaml")
    # the band a one-run accuracy is judged by: one AIME question is 3.3 points
    aime = frame.loc["table1.s1-32B.aime24" == frame["claim_id"]].iloc[0]
    assert aime["n"] == 30 and aime["band"].startswith("one question = 3.3 points; binomial SE at 56.7% = 9.0")


def test_every_printed_command_dry_runs_and_the_dag_agrees_with_the_tiers(frame, repo_copy):
    reproduced = frame[frame["kind"] == "reproduced"]
    printed = set(reproduced["rebuild"]) | set(reproduced["command"]) | set(frame["tiny_rebuild"]) - {""}
    printed |= set(artifact_commands())
    batches: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for command in sorted(printed - {""}):
        flags, targets = split(command)
        batches[flags] += [t for t in targets if t not in batches[flags]]
    # the tier checks need the rebuild batch split by tier: the jobs a tier's targets bring along
    rebuild = batches.pop(("--configfile", "config/s1.yaml", "--cores", "all"))
    by_tier = defaultdict(list)
    for rec in reproduced.itertuples():
        if rec.requires != "cpu+network" or "review.yaml" not in rec.command:
            by_tier[rec.requires].append(split(rec.rebuild)[1][0])
    flags = ("--configfile", "config/s1.yaml", "--cores", "all")
    cpu = dry_run(repo_copy, flags, sorted(set(by_tier["cpu+network"])))
    assert set(cpu) - {"total"} <= CPU_NETWORK_RULES and cpu["collect_source"] == 16
    train_targets = sorted(set(by_tier["gpu-train"]))
    train = dry_run(repo_copy, flags, train_targets)
    runs = {t.split("/")[2] for t in train_targets}
    assert train["train_sft"] == len(runs), (train, runs)  # each gpu-train claim trains its own run
    api = dry_run(repo_copy, flags, sorted(set(by_tier["api"])))
    assert api["distill_traces"] == 1 and api["select_retrace"] == 1 and api["featurize_attempts"] >= 1
    rest = sorted(set(rebuild) - set(by_tier["cpu+network"]) - set(train_targets) - set(by_tier["api"]))
    assert dry_run(repo_copy, flags, rest)["evaluate_run"] >= 1
    # the released checkpoints where the docs say to put them: then an evaluation needs nothing else
    for model in TRAINED_RELEASED:
        (repo_copy / "results/train" / model / "model").mkdir(parents=True, exist_ok=True)
    try:
        for flags, targets in batches.items():
            jobs = dry_run(repo_copy, flags, targets)
            if "--allowed-rules" in flags:
                # a released checkpoint's evaluation plans evaluations and their inputs, nothing upstream
                assert set(jobs) - {"total"} <= set(eval_rules(REPO / "config/s1.yaml")), jobs
                assert sum(n for r, n in jobs.items() if r.startswith("evaluate_")) >= 1
            elif "config/review.yaml" in flags:
                assert set(jobs) - {"total"} <= REVIEW_RULES and jobs["review_grade"] == 1
            else:
                assert flags == ("--cores", "all"), flags  # the tiny default: the config by default
                assert jobs["evaluate_run"] >= 1
    finally:
        shutil.rmtree(repo_copy / "results", ignore_errors=True)


def test_artifact_tier_table_is_current(frame):
    """ARTIFACT.md's per-table tiers are generated (s1kit.paper.requires.tier_table): they never drift."""
    from s1kit.paper.requires import tier_table

    text = (REPO / "ARTIFACT.md").read_text(encoding="utf-8")
    block = text.split("<!-- tiers:start", 1)[1].split("-->", 1)[1].split("<!-- tiers:end -->", 1)[0]
    assert block.strip() == tier_table(frame).strip(), "regenerate ARTIFACT.md's table with tier_table()"
    # the tier summary at the top counts the same claims
    counts = frame["requires"].value_counts()
    for tier, label in (("cpu+network", "CPU + network"), ("gpu-eval", "GPU evaluation"),
                        ("gpu-train", "GPU training"), ("api", "paid API + GPUs")):
        assert re.search(rf"^\| {re.escape(label)} \|.*\| {int(counts[tier])} \|$", text, re.M), (label, counts[tier])
