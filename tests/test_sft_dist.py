"""s1kit.sft at scale, on CPU: torchrun with 2 gloo processes, kill + resume, the launch lines
(Slurm itself is faked: `scontrol`, `squeue`, `srun`, `apptainer` and `torchrun` are stub
scripts that show what the real ones would receive), the FSDP arguments (FSDP itself needs
CUDA: benchmarks/gpu_check_train.py), metrics.json and the cost model."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from s1kit.sft.config import TrainConfig
from s1kit.sft.distributed import fsdp_plugin_kwargs
from s1kit.sft.launch import LaunchConfig, check_run, launch_command, rule_resources
from s1kit.sft.train import KILL_AT_STEP_ENV

BIN = Path(sys.executable).parent
HP = {"lr": 3e-3, "max_steps": 8, "global_batch_size": 4, "per_device_batch_size": 2, "warmup_ratio": 0.1,
      "weight_decay": 0.0, "block_size": 64, "curriculum_fraction": 0.3, "log_every": 1, "seed": 0}


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", KILL_AT_STEP_ENV):
        env.pop(k, None)
    return env


def _train(root: Path, out: str, launch: LaunchConfig = LaunchConfig(), env_extra: dict | None = None,
           **hp) -> subprocess.CompletedProcess:
    argv = ["s1kit", "train", "--model", str(root / "base"), "--data", str(root / "data.parquet"),
            "--out-dir", str(root / out), "--config-json", json.dumps({**HP, **hp})]
    return subprocess.run(["bash", "-c", launch_command(launch, argv)], env={**_env(), **(env_extra or {})},
                          capture_output=True, text=True, timeout=180)


def _weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_tokenizer, chain_corpus, torch_one_thread):
    from s1kit.hf import save_model
    from s1kit.records import write_table
    from s1kit.tiny.student import StudentConfig, init_student

    root = tmp_path_factory.mktemp("sftdist")
    save_model(init_student(StudentConfig(), tiny_tokenizer), tiny_tokenizer, root / "base")
    chains = [c for c in chain_corpus if c.k <= 8][:40]
    write_table(root / "data.parquet", [{"id": str(i), "question": c.question(), "thinking": c.thinking(),
                                          "attempt": c.attempt()} for i, c in enumerate(chains)])
    ref = _train(root, "one")  # 1 process x 2 accumulated micro-batches of 2
    assert ref.returncode == 0, ref.stderr[-3000:]
    return root


def test_torchrun_two_gloo_processes_match_one_process_with_accumulation(setup):
    root = setup
    r = _train(root, "two", LaunchConfig(nproc_per_node=2))  # 2 processes x 1 micro-batch of 2
    assert r.returncode == 0, r.stderr[-3000:]
    one, two = (json.loads((root / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert (one["num_processes"], one["grad_accum"]) == (1, 2)
    assert (two["num_processes"], two["grad_accum"]) == (2, 1)
    assert one["tokens"] == two["tokens"] > 0  # the same examples were seen
    assert [p["step"] for p in two["loss_curve"]] == list(range(8))
    for a, b in zip(one["loss_curve"], two["loss_curve"]):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-4)
    assert one["loss_curve"][-1]["loss"] < one["loss_curve"][0]["loss"]
    assert _max_diff(_weights(root / "one" / "model"), _weights(root / "two" / "model")) < 1e-4
    # rank 0 alone writes: one model, no stray files from rank 1
    assert sorted(p.name for p in (root / "two").iterdir() if not p.name.startswith(".")) == ["metrics.json", "model"]


def test_kill_and_resume_matches_uninterrupted(setup):
    root = setup
    killed = _train(root, "resumed", env_extra={KILL_AT_STEP_ENV: "5"}, save_steps=2, save_total_limit=2)
    assert killed.returncode in (-9, 137), killed.stderr[-2000:]  # SIGKILLed at step 5
    ckpts = root / "resumed" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["s1kit_checkpoints.json", "step-000002", "step-000004"]
    assert not (root / "resumed" / "metrics.json").exists()
    # a checkpoint cut off mid-write is never resumed from
    (ckpts / "step-000006.tmp").mkdir()
    (ckpts / "step-000006.tmp" / "model.safetensors").write_bytes(b"partial")
    again = _train(root, "resumed", save_steps=2, save_total_limit=2, peak_flops=1e11)  # not part of the identity
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from" in again.stdout and "step-000004 at step 4/8" in again.stdout
    got = json.loads((root / "resumed" / "metrics.json").read_text())
    ref = json.loads((root / "one" / "metrics.json").read_text())
    assert got["resumed_from_steps"] == [4]
    assert [p["step"] for p in got["loss_curve"]] == list(range(8))  # the curve spans both segments
    for a, b in zip(ref["loss_curve"], got["loss_curve"]):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
    assert got["tokens"] == ref["tokens"]
    assert _max_diff(_weights(root / "one" / "model"), _weights(root / "resumed" / "model")) < 1e-5
    assert not ckpts.exists()  # removed once the final model is saved (keep_checkpoints: false)
    # MFU where a peak is configured; the runtime sums both segments
    # (train_runtime_s is rounded to 0.01 s: on a fast run that alone moves the quotient by several %)
    runtime = got["train_runtime_s"]
    low, high = (got["model_flops"] / ((runtime + d) * 1e11) for d in (0.005, -0.005))
    assert low * 0.99 - 1e-4 <= got["mfu"] <= high * 1.01 + 1e-4


def test_resume_refuses_a_checkpoint_of_another_run(setup):
    root = setup
    killed = _train(root, "other", env_extra={KILL_AT_STEP_ENV: "3"}, save_steps=2)
    assert killed.returncode in (-9, 137)
    r = _train(root, "other", save_steps=2, lr=1e-3)
    assert r.returncode == 2
    assert "belongs to another run (differs in: lr)" in r.stderr and "checkpoints to start over" in r.stderr
    assert (root / "other" / "checkpoints" / "step-000002" / "s1kit_resume.json").exists()  # left as it was
    # (settings outside the run's identity, e.g. peak_flops, do resume: test_kill_and_resume_...)


class _Evil:
    """Unpickled without weights_only, it runs a shell command."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_resume_loads_only_files_the_kit_wrote(setup, tmp_path):
    """Issue #16 item 8 and #21 item 9: the loop's state is JSON, not a pickle; every checkpoint
    file is checked against the sha256 recorded when it was written, and the record itself is
    signed with a key outside the checkpoint directory, before anything is unpickled. A swapped
    file with the sha256 in the marker updated is refused by the signature (it used to reach
    torch.load); only someone holding the key gets as far as torch's weights_only loading."""
    import torch

    from s1kit.sidecar import file_sha256
    from s1kit.sft.checkpoints import KEY_FILE, MARKER, STATE_FILE, marker_mac

    root = setup
    killed = _train(root, "tampered", env_extra={KILL_AT_STEP_ENV: "3"}, save_steps=2)
    assert killed.returncode in (-9, 137), killed.stderr[-2000:]
    ckpt = root / "tampered" / "checkpoints" / "step-000002"
    names = {p.name for p in ckpt.iterdir()}
    assert STATE_FILE in names and not any(n.startswith("custom_checkpoint") for n in names)
    assert json.loads((ckpt / STATE_FILE).read_text())["step"] == 2
    marker = json.loads((ckpt / MARKER).read_text())
    assert set(marker["files"]) == names - {MARKER}
    key_file = root / "tampered" / KEY_FILE
    assert key_file.is_file() and key_file.stat().st_mode & 0o077 == 0  # outside the checkpoint, owner-only
    pwned = tmp_path / "PWNED"
    # a swapped file: refused before loading, named
    victim = ckpt / "optimizer.bin"
    torch.save(_Evil(pwned), victim)
    r = _train(root, "tampered", save_steps=2)
    assert r.returncode == 2, r.stderr[-2000:]
    assert f"{victim} differ(s) from what s1kit wrote" in r.stderr
    assert not pwned.exists() and not (root / "tampered" / "metrics.json").exists()
    # the sha256 in the marker updated too: the signature no longer matches, refused before loading
    marker["files"]["optimizer.bin"] = file_sha256(victim)
    (ckpt / MARKER).write_text(json.dumps(marker))
    r = _train(root, "tampered", save_steps=2)
    assert r.returncode == 2 and f"{MARKER} is not signed with this run's key" in r.stderr, r.stderr[-2000:]
    assert "Weights only load failed" not in r.stderr and not pwned.exists()
    # a marker signed with another key (S1KIT_CHECKPOINT_KEY) is refused the same way
    marker["hmac"] = marker_mac(b"guessed", marker)
    (ckpt / MARKER).write_text(json.dumps(marker))
    r = _train(root, "tampered", save_steps=2)
    assert r.returncode == 2 and "is not signed with this run's key" in r.stderr, r.stderr[-2000:]
    # what remains (docs/train.md): whoever holds the key can sign; torch's weights_only loading
    # still refuses to run the pickle then
    marker["hmac"] = marker_mac(key_file.read_text().strip().encode(), marker)
    (ckpt / MARKER).write_text(json.dumps(marker))
    r = _train(root, "tampered", save_steps=2)
    assert r.returncode != 0 and "Weights only load failed" in r.stderr, r.stderr[-2000:]
    assert not pwned.exists()


def test_checkpoint_dir_of_someone_else_is_refused_and_left_alone(setup, tmp_path):
    """Issue #21 item 1: `checkpoint_dir` naming an existing directory the kit did not create
    is refused before training, and nothing in it is touched (it used to be rmtree'd after
    training, even with save_steps 0)."""
    from s1kit.sft.checkpoints import OWNER_FILE

    root = setup
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "precious.txt").write_text("keep me")
    for save_steps in (0, 2):
        r = _train(root, "foreign", checkpoint_dir=str(theirs), max_steps=4, save_steps=save_steps)
        assert r.returncode == 2, r.stderr[-2000:]
        assert f"checkpoint_dir {theirs} (train.runs.<run>.hparams.checkpoint_dir) exists, is not empty" in r.stderr
        assert sorted(p.name for p in theirs.iterdir()) == ["precious.txt"]
        assert (theirs / "precious.txt").read_text() == "keep me"
        assert not (root / "foreign" / "metrics.json").exists()
    # a new directory elsewhere (absolute: told so) is the kit's: marked, and removed when done
    mine = tmp_path / "scratch" / "ckpts"
    r = _train(root, "own", checkpoint_dir=str(mine), max_steps=4, save_steps=2, keep_checkpoints=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in mine.iterdir()) == [OWNER_FILE, "step-000002"]
    (mine / "notes.txt").write_text("someone's file dropped in later")  # not the kit's: kept
    r = _train(root, "own", checkpoint_dir=str(mine), max_steps=4, save_steps=2)  # resumes from step 2, cleans
    assert r.returncode == 0 and "resumed from" in r.stdout, r.stderr[-2000:]
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    (mine / "notes.txt").unlink()
    r = _train(root, "own2", checkpoint_dir=str(mine), max_steps=4, save_steps=2)  # empty: adopted, not created
    assert r.returncode == 0, r.stderr[-2000:]
    assert mine.is_dir() and list(mine.iterdir()) == []
    r = _train(root, "own3", checkpoint_dir=str(tmp_path / "fresh"), max_steps=4, save_steps=2)
    assert r.returncode == 0 and not (tmp_path / "fresh").exists(), r.stderr[-2000:]


def test_checkpoint_dir_outside_the_run_is_a_config_error():
    """`checkpoint_dir: "."` (or a parent, or a relative path outside results/train/<run>)
    fails at DAG time, naming the run and the key."""
    for bad in (".", "", "results/..", "/"):
        with pytest.raises(ValueError, match="checkpoint_dir"):
            TrainConfig(checkpoint_dir=bad, world_size=1)
        with pytest.raises(ValueError, match=r"config train.runs.r: .*checkpoint_dir"):
            check_run("r", {"checkpoint_dir": bad}, None)
    for bad in ("results/checkpoints/r", "results/train", "results/train/r", "results/train/r/model/ck", "/tmp/../"):
        with pytest.raises(ValueError, match=r"config train.runs.r: .*checkpoint_dir"):
            check_run("r", {"checkpoint_dir": bad}, None)
    for good in ("results/train/r/ckpt", "results/train/r/checkpoints", "/scratch/me/r-ckpt"):
        check_run("r", {"checkpoint_dir": good}, None)


def test_metrics_json_keys(setup):
    m = json.loads((setup / "one" / "metrics.json").read_text())
    # read by the paper stage (claims.yaml): steps, train_runtime_s, samples_cut_frac, gpu_hours
    for key in ("steps", "train_runtime_s", "samples_cut", "samples_cut_frac", "gpu_hours", "loss_curve",
                "tokens_per_s", "step_time_s", "peak_memory_gb", "peak_memory_kind", "mfu", "model_flops",
                "compute_params", "flops_per_token", "final_loss", "config"):
        assert key in m, key
    assert m["steps"] == 8 and m["gpu_hours"] is None and m["mfu"] is None  # CPU: no peak FLOPs known
    assert m["peak_memory_kind"] == "cpu_max_rss" and 0.05 < m["peak_memory_gb"] < 16
    assert m["tokens_per_s"] == pytest.approx(m["tokens"] / m["train_runtime_s"], rel=0.1)  # runtime rounded
    # 6 N per token plus the attention term: above 6 N, below 6 N + 12 L d x block size
    n, lay, d = m["compute_params"], 2, 64
    assert 6 * n < m["flops_per_token"] < 6 * n + 12 * lay * d * 64
    assert m["config"]["world_size"] == 1 and m["config"]["fsdp"] is False


# ---- config checks (no processes) ----------------------------------------------------


def test_batch_divisibility_error_and_world_size_from_env(monkeypatch):
    with pytest.raises(ValueError, match=r"global_batch_size 16 is not divisible by world_size x "
                                         r"per_device_batch_size = 3 x 2"):
        TrainConfig(global_batch_size=16, world_size=3, per_device_batch_size=2)
    monkeypatch.setenv("WORLD_SIZE", "16")
    paper = TrainConfig()
    assert (paper.world_size, paper.grad_accum) == (16, 1)  # the paper: 16 GPUs x 1, no accumulation
    monkeypatch.setenv("WORLD_SIZE", "6")
    with pytest.raises(ValueError, match="= 6 x 1"):
        TrainConfig()
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert TrainConfig().grad_accum == 2


def test_world_size_mismatch_with_launcher(tmp_path):
    from s1kit.sft.train import train

    with pytest.raises(ValueError, match="config world_size 2 but launched with 1 processes"):
        train(tmp_path / "no-model", tmp_path / "no-data", tmp_path / "out", TrainConfig(world_size=2))


def test_check_run_fails_at_dag_time():
    assert check_run("r", {"global_batch_size": 16}, {"nodes": 2, "nproc_per_node": 8}).world_size == 16
    with pytest.raises(ValueError, match=r"train.runs.r: global_batch_size 16 is not divisible .* = 12 x 1"):
        check_run("r", {}, {"nodes": 2, "nproc_per_node": 6})
    with pytest.raises(ValueError, match="hparams.world_size 4 but launch gives 1 x 2 = 2"):
        check_run("r", {"world_size": 4}, {"nproc_per_node": 2})
    with pytest.raises(ValueError, match=r"train.runs.r.launch: unknown key\(s\) \['gpu_count'\]"):
        check_run("r", {}, {"gpu_count": 8})
    with pytest.raises(ValueError, match="launch.nodes must be >= 1"):
        check_run("r", {}, {"nodes": 0})


def test_fsdp_arguments():
    assert fsdp_plugin_kwargs(TrainConfig()) is None
    v1 = fsdp_plugin_kwargs(TrainConfig(fsdp="full_shard", fsdp_version=1))
    assert v1["sharding_strategy"] == "FULL_SHARD" and v1["transformer_cls_names_to_wrap"] == ["Qwen2DecoderLayer"]
    assert v1["auto_wrap_policy"] == "transformer_based_wrap" and "sync_module_states" not in v1
    v2 = fsdp_plugin_kwargs(TrainConfig(fsdp=True, cpu_ram_efficient_loading=True))
    assert v2["fsdp_version"] == 2 and v2["reshard_after_forward"] is True
    assert v2["cpu_ram_efficient_loading"] is True and v2["sync_module_states"] is True
    assert fsdp_plugin_kwargs(TrainConfig(fsdp="shard_grad_op"))["reshard_after_forward"] is False
    with pytest.raises(ValueError, match="fsdp 'full'"):
        TrainConfig(fsdp="full")
    with pytest.raises(ValueError, match="hybrid_shard needs fsdp_version 1"):
        fsdp_plugin_kwargs(TrainConfig(fsdp="hybrid_shard"))


# ---- launch lines ---------------------------------------------------------------------

ARGV = ["s1kit", "train", "--model", "results/models/q", "--out-dir", "results/train/r",
        "--config-json", '{"bf16": true, "lr": 1e-05}']


def test_launch_local():
    assert launch_command(LaunchConfig(), ARGV) == \
        "s1kit train --model results/models/q --out-dir results/train/r --config-json '{\"bf16\": true, \"lr\": 1e-05}'"
    assert launch_command(LaunchConfig(nproc_per_node=8), ARGV).startswith(
        "torchrun --standalone --nproc_per_node=8 --no-python s1kit train --model results/models/q ")
    assert launch_command(LaunchConfig(nproc_per_node=8, container="img/s1.sif"), ARGV).startswith(
        "apptainer exec --nv img/s1.sif torchrun --standalone --nproc_per_node=8 --no-python s1kit train ")


def test_launch_two_nodes_string():
    cmd = launch_command(LaunchConfig(nodes=2, nproc_per_node=8, container="/images/s1 kit.sif"), ARGV)
    assert cmd.startswith('export HEAD=$(scontrol show hostnames "$(squeue -h -j "$SLURM_JOB_ID" -o %N)" | head -1)'
                          " PORT=29500; ")
    assert "srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c " in cmd
    inner = shlex.split(cmd.split("bash -c ", 1)[1])
    assert len(inner) == 1
    assert inner[0].startswith("apptainer exec --nv '/images/s1 kit.sif' torchrun --nnodes=2 --nproc_per_node=8 "
                               '--rdzv_backend=c10d --rdzv_endpoint="$HEAD:$PORT" --rdzv_id="$SLURM_JOB_ID" '
                               "--no-python s1kit train ")
    assert rule_resources(LaunchConfig(nodes=2, nproc_per_node=8)) == {
        "nodes": 2, "tasks": 2, "mpi": "srun", "tasks_per_gpu": 0, "gres": "gpu:8"}
    assert rule_resources(LaunchConfig(nodes=2, nproc_per_node=8, gpu_type="h100"))["gres"] == "gpu:h100:8"
    assert rule_resources(LaunchConfig(nproc_per_node=8)) == {
        "nodes": 1, "tasks": 1, "mpi": "", "tasks_per_gpu": 0, "gres": "gpu:8"}
    assert rule_resources(LaunchConfig())["gres"] == "" == rule_resources(LaunchConfig(nproc_per_node=2, gpus=False))["gres"]


def test_launch_two_nodes_runs_under_fake_slurm(tmp_path):
    """Real bash, stub Slurm tools: what torchrun would get on each node, quoting included."""
    stubs = {
        "squeue": 'echo "gpu[07-08]"',
        "scontrol": 'test "$1 $2 $3" = "show hostnames gpu[07-08]" && printf "gpu07\\ngpu08\\n"',
        # one task per node: run the command after srun's options twice, as Slurm would
        "srun": 'while [[ "$1" == --* ]]; do echo "srun $1" >> "$LOG"; shift; done;'
                ' for n in 0 1; do SLURM_NODEID=$n "$@" || exit 1; done',
        "apptainer": 'echo "apptainer $1 $2 $3" >> "$LOG"; shift 3; exec "$@"',
        "torchrun": 'echo "torchrun node $SLURM_NODEID" >> "$LOG"; printf "%s\\n" "$@" >> "$LOG"',
    }
    for name, body in stubs.items():
        (tmp_path / name).write_text(f"#!/bin/bash\n{body}\n")
        (tmp_path / name).chmod(0o755)
    log = tmp_path / "log"
    cmd = launch_command(LaunchConfig(nodes=2, nproc_per_node=8, container="s1.sif", rdzv_port=29401), ARGV)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", SLURM_JOB_ID="4242", LOG=str(log))
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert lines[:3] == ["srun --nodes=2", "srun --ntasks-per-node=1", "srun --kill-on-bad-exit=1"]
    node0 = lines[lines.index("torchrun node 0") + 1: lines.index("apptainer exec --nv s1.sif", 4)]
    assert node0 == ["--nnodes=2", "--nproc_per_node=8", "--rdzv_backend=c10d", "--rdzv_endpoint=gpu07:29401",
                     "--rdzv_id=4242", "--no-python", *ARGV]
    assert lines.count("apptainer exec --nv s1.sif") == 2 and "torchrun node 1" in lines


def test_launch_two_nodes_without_head_fails(tmp_path):
    for name in ("squeue", "scontrol"):
        (tmp_path / name).write_text("#!/bin/bash\ntrue\n")
        (tmp_path / name).chmod(0o755)
    cmd = launch_command(LaunchConfig(nodes=2, nproc_per_node=8), ARGV)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", SLURM_JOB_ID="7")
    r = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no head node for Slurm job 7" in r.stderr


# ---- cost model -----------------------------------------------------------------------


def test_cost_model():
    from s1kit.sft.cost import CostModel, mfu, peak_flops_for, sequence_flops

    assert sequence_flops([10, 20], n_params=100, n_layers=2, width=8) == 6 * 100 * 30 + 12 * 2 * 8 * (100 + 400)
    assert peak_flops_for("NVIDIA H100 80GB HBM3") == 989.4e12
    assert peak_flops_for("NVIDIA H100 PCIe") == 756e12
    assert peak_flops_for("NVIDIA A100-SXM4-80GB") == 312e12 and peak_flops_for("cpu") is None
    assert mfu(1e15, 10.0, 2, None) is None and mfu(1e15, 10.0, 2, 1e14) == pytest.approx(0.5)
    c = CostModel()
    flops = c.total_flops()
    dense = 5 * 6 * (32.8e9 - 152_064 * 5_120) * 5.7e6
    assert dense < flops < 1.2 * dense  # the attention term adds a few %-10%
    assert c.wall_seconds(0.5) == pytest.approx(c.wall_seconds(0.25) / 2)
    assert c.implied_mfu(c.wall_seconds(0.3)) == pytest.approx(0.3)
    assert 0.1 < c.implied_mfu(26 * 60) < 0.4  # the paper's 26 minutes on 16 H100
    with pytest.raises(ValueError, match="MFU must be in"):
        c.wall_seconds(0)


def test_compute_params_tied_and_untied():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from s1kit.sft.cost import compute_params

    kw = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    tied = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=True, **kw))
    untied = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=False, **kw))
    assert compute_params(tied) == sum(p.numel() for p in tied.parameters())
    assert compute_params(untied) == sum(p.numel() for p in untied.parameters()) - 50 * 16
    assert compute_params(tied) == compute_params(untied)


# ---- benchmarks: import-safe, and the GPU check runs its tiny size on CPU -----------------


def _bench(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_train_cost_prints_the_table(capsys):
    assert _bench("bench_train_cost").main(["--mfu", "0.25", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "| 25% |" in out and "| 50% |" in out and "The paper's 26 minutes imply MFU" in out


def test_gpu_check_train_cpu_smoke(tmp_path, torch_one_thread):
    """The GPU check's own code path on CPU (no FSDP without CUDA: it warns and runs unsharded)."""
    mod = _bench("gpu_check_train")
    assert mod.SIZES["1.5b"]["num_hidden_layers"] == 28 and mod.SIZES["7b"]["vocab_size"] == 152_064
    s = mod.main(["--size", "tiny", "--block-size", "64", "--steps", "2", "--no-bf16", "--workdir", str(tmp_path),
                  "--out", str(tmp_path / "summary.json")])
    assert s["steps"] == 2 and s["samples_cut"] == 16 and s["device"] == "cpu" and s["steady_mfu"] is None
    assert s["steady_tokens_per_s"] > 0 and len(s["losses"]) == 2
    assert json.loads((tmp_path / "summary.json").read_text())["size"] == "tiny"


def test_epoch_sampler_sees_every_example_once_per_epoch_and_resumes():
    from s1kit.sft.data import EpochSampler

    s = EpochSampler(10, batch_size=4, seed=3)
    drawn = [i for _ in range(5) for i in s.sample()]  # 20 = two epochs
    assert sorted(drawn[:10]) == list(range(10)) == sorted(drawn[10:])
    assert drawn[:10] != drawn[10:]  # reshuffled per epoch
    same, other = EpochSampler(10, 4, 3), EpochSampler(10, 4, 4)
    assert drawn == [i for _ in range(5) for i in same.sample()]  # seeded
    assert drawn != [i for _ in range(5) for i in other.sample()]
    a, b = EpochSampler(10, 4, 3), EpochSampler(10, 4, 3)
    for _ in range(3):
        a.sample()
    b.set_state(a.get_state())  # a fresh sampler restored from a checkpoint's position
    assert [a.sample() for _ in range(4)] == [b.sample() for _ in range(4)]
    with pytest.raises(ValueError, match="curriculum_fraction needs sampling: length_weighted"):
        TrainConfig(sampling="epoch", curriculum_fraction=0.2)
    with pytest.raises(ValueError, match="sampling 'random'"):
        TrainConfig(sampling="random")
