"""Containers on a machine without Apptainer: a recording stand-in `apptainer` on PATH.

Snakemake refuses `--sdm apptainer` without an apptainer binary, even for a dry run, and
CI has none. These tests check what the workflow itself decides: which image each rule
declares (config `containers:`), and the `apptainer exec` lines Snakemake generates from
it with the arguments of profiles/slurm (--nv, binds), through the stand-in
tests/slurm/standin/apptainer. The images themselves are built and checked on a cluster
(containers/README.md).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "slurm" / "standin"
# Rules that run their image in their own launch line under --sdm apptainer, where their
# `container:` is None: a rule-level container would wrap srun too, so the training rule
# runs `srun ... apptainer exec --nv <train image> torchrun ...` itself (s1kit.sft.launch).
OWN_LAUNCH = {"train_sft"}
# Rules that need no image: targets without a shell.
NO_SHELL = {"all"}


def expected_kind(rule: str) -> str:
    """The image kind a rule must run in: GPU model work in eval, training in train."""
    if rule.startswith("train_"):
        return "train"
    if rule in ("evaluate_run", "featurize_attempts"):
        return "eval"
    return "data"


def load_rules(config: dict | None = None, apptainer: bool = False) -> dict[str, str | None]:
    """Rule name -> declared container image, from the parsed workflow (--sdm apptainer or not)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DeploymentSettings, OutputSettings, ResourceSettings,
                                          StorageSettings)
    from snakemake_interface_executor_plugins.settings import DeploymentMethod

    methods = frozenset({DeploymentMethod.APPTAINER}) if apptainer else frozenset()
    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(config=config or {}),
            storage_settings=StorageSettings(),
            deployment_settings=DeploymentSettings(deployment_method=methods),
            snakefile=REPO / "Snakefile",
            workdir=REPO,
        )
        return {r.name: r.container_img for r in wf._workflow.rules}


@pytest.fixture(scope="module")
def rules() -> dict[str, str | None]:
    return load_rules()


def test_every_rule_declares_its_container(rules):
    defaults = yaml.safe_load((REPO / "config" / "default.yaml").read_text())["containers"]
    checked = [r for r in rules if r not in NO_SHELL]
    assert len(checked) >= 10, sorted(rules)
    wrong = {r: rules[r] for r in checked if rules[r] != defaults[expected_kind(r)]}
    assert not wrong, f"rules without their image (expected config containers.<kind>): {wrong}"


def test_train_rule_has_no_container_directive_under_apptainer():
    """Under --sdm apptainer a `container:` on train_sft would wrap srun in the image; its
    launch line runs the image instead, so the directive is off there (and only there)."""
    rules = load_rules(apptainer=True)
    assert not rules["train_sft"], rules["train_sft"]
    assert all(rules[r] for r in rules if r not in NO_SHELL | OWN_LAUNCH)


def test_config_containers_moves_every_rule_of_a_kind():
    rules = load_rules({"containers": {"eval": "oras://registry.example/s1kit/eval@sha256:" + "0" * 64}})
    evals = [r for r in rules if r not in OWN_LAUNCH | NO_SHELL and expected_kind(r) == "eval"]
    assert evals and all(rules[r].startswith("oras://") for r in evals)
    assert rules["paper_build"] == "containers/data.sif"


def slurm_apptainer_args() -> str:
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["software-deployment-method"] == "apptainer"
    assert "--nv" in profile["apptainer-args"].split()
    return profile["apptainer-args"]


def workdir_with_fake_inputs(tmp_path: Path) -> Path:
    """A working directory with the config and stand-ins for the train rule's inputs."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "results" / "models" / "tiny-base").mkdir(parents=True)
    (tmp_path / "results" / "select" / "s1K").mkdir(parents=True)
    (tmp_path / "results" / "select" / "s1K" / "dataset.parquet").touch()
    return tmp_path


def run_snakemake(tmp_path: Path, args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(PATH=os.pathsep.join([str(STANDIN), str(Path(sys.executable).parent), env.get("PATH", "")]))
    env.update(env_extra)
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
        "--workflow-profile", "none", "--cores", "1", "--sdm", "apptainer",
        f"--apptainer-args={slurm_apptainer_args()}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_standin_runs_rules_through_apptainer_with_the_slurm_profile_args(tmp_path):
    """A data rule really runs through the stand-in; the train and eval calls are recorded."""
    work = workdir_with_fake_inputs(tmp_path)
    train = work / "results" / "train" / "tiny-s1"
    out = work / "results" / "eval" / "tiny-s1" / "bf-0" / "tiny_chains"
    log = work / "apptainer_calls.jsonl"
    touch = [f"{train / 'model'}/", str(train / "metrics.json"), str(out / "results.json"), str(out / "samples.jsonl")]
    proc = run_snakemake(
        work,
        ["--allowed-rules", "collect_eval_set", "train_sft", "evaluate_run", "--",
         str(out.relative_to(work) / "results.json")],
        {"APPTAINER_STANDIN_LOG": str(log), "APPTAINER_STANDIN_EXEC": "data.sif",
         "APPTAINER_STANDIN_TOUCH": os.pathsep.join(touch)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    by_image = {c["image"]: c for c in calls}
    assert sorted(by_image) == ["containers/data.sif", "containers/eval.sif", "containers/train.sif"], calls
    # Snakemake wraps the data and eval rules (`sh -c '<shell>'`); the train rule's launch
    # line calls apptainer itself with the s1kit command as argv.
    assert "s1kit collect-eval" in by_image["containers/data.sif"]["command"][-1]
    assert "s1kit evaluate" in by_image["containers/eval.sif"]["command"][-1]
    assert by_image["containers/train.sif"]["command"][:2] == ["s1kit", "train"]
    for c in calls:
        opts = c["options"]
        assert "--nv" in opts
        binds = [opts[i + 1] for i, o in enumerate(opts) if o == "--bind"]
        assert "/tmp" in binds, opts
    for image in ("containers/data.sif", "containers/eval.sif"):
        # Snakemake makes the working directory the container's home, so results/ is inside.
        opts = by_image[image]["options"]
        assert opts[opts.index("--home") + 1] == str(work)
    # The data rule really ran on the host through the stand-in.
    lines = (work / "results" / "data" / "eval" / "tiny_chains.jsonl").read_text().splitlines()
    n = yaml.safe_load((REPO / "config" / "default.yaml").read_text())["collect"]["eval_sets"]["tiny_chains"]
    assert len(lines) == n


def test_two_node_train_line_runs_apptainer_inside_srun(tmp_path):
    """The paper's 2 x 8 GPU launch: srun on both nodes, each running the train image's torchrun."""
    work = workdir_with_fake_inputs(tmp_path)
    override = {"train": {"runs": {"tiny-s1": {
        "launch": {"nodes": 2, "nproc_per_node": 8},
        "hparams": {"global_batch_size": 32, "per_device_batch_size": 2},
    }}}}  # fmt: skip
    (work / "override.yaml").write_text(yaml.safe_dump(override))
    proc = run_snakemake(
        work,
        ["-n", "--printshellcmds", "--configfile", "config/default.yaml", "override.yaml",
         "--allowed-rules", "train_sft", "--", "results/train/tiny-s1/metrics.json"],
        {"APPTAINER_STANDIN_LOG": str(work / "calls.jsonl")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    shell = next(line for line in proc.stdout.splitlines() if "srun " in line)
    srun = shell[shell.index("srun ") :]
    assert srun.startswith("srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c ")
    inner = srun.split("bash -c ", 1)[1]
    args = slurm_apptainer_args()
    assert f"apptainer exec {args} containers/train.sif torchrun --nnodes=2 --nproc_per_node=8" in inner
    assert "resources:" in proc.stdout and "nodes=2" in proc.stdout and "gres=gpu:8" in proc.stdout
    assert not (work / "calls.jsonl").exists()  # a dry run calls no container
