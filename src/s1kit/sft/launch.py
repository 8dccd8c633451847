"""The shell line that starts `s1kit train`: one process, torchrun on one machine, or
2 x 8 GPUs under Slurm (issue #6 "Slurm facts", snakemake-executor-plugin-slurm 2.8.0).

Built here, not in the rule, so that it is tested without Slurm:

- 1 process: the command as is (the tiny CPU default);
- 1 node, N processes: ``torchrun --standalone --nproc_per_node=N --no-python s1kit train ...``;
- several nodes: the rule's shell runs in the batch script (``mpi="srun"``) and must call
  srun itself, one task per node, each running torchrun with c10d rendezvous on the first
  node. The plugin strips SLURM_* from the job step, so the head node comes from squeue.
  A container wraps torchrun inside srun (a rule-level ``container:`` would wrap srun too).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.settings import from_dict
from s1kit.sft.checkpoints import checkpoint_root
from s1kit.sft.config import TrainConfig


@dataclass(frozen=True)
class LaunchConfig:
    nodes: int = field(default=1, metadata={"help": "machines; > 1 = the Slurm multi-node rule"})
    nproc_per_node: int = field(default=1, metadata={"help": "processes (GPUs) per machine; 1 = plain python"})
    rdzv_backend: str = field(default="c10d", metadata={"help": "torchrun rendezvous backend (multi-node)"})
    rdzv_port: int = field(default=29500, metadata={"help": "rendezvous port on the head node"})
    container: str | None = field(default=None, metadata={"help": "image run with `container_exec IMAGE`"})
    container_exec: str = field(default="apptainer exec --nv", metadata={"help": "container runner"})
    gpus: bool = field(default=True, metadata={"help": "processes are GPUs: Slurm gets gres gpu:<nproc_per_node>"})
    gpu_type: str | None = field(default=None, metadata={"help": "Slurm GPU type in gres (e.g. h100); None = any"})

    def __post_init__(self) -> None:
        for key in ("nodes", "nproc_per_node", "rdzv_port"):
            if getattr(self, key) < 1:
                raise ValueError(f"launch.{key} must be >= 1, got {getattr(self, key)}")

    @property
    def world_size(self) -> int:
        return self.nodes * self.nproc_per_node

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1


HEAD_NODE = 'scontrol show hostnames "$(squeue -h -j "$SLURM_JOB_ID" -o %N)" | head -1'


def _container(cfg: LaunchConfig) -> list[str]:
    return [*shlex.split(cfg.container_exec), cfg.container] if cfg.container else []


def launch_command(cfg: LaunchConfig, argv: list[str]) -> str:
    """The shell line that runs ``argv`` (e.g. ``["s1kit", "train", ...]``) as configured."""
    if not argv:
        raise ValueError("launch_command: empty command")
    if cfg.world_size == 1:
        return shlex.join([*_container(cfg), *argv])
    if not cfg.multi_node:
        return shlex.join([*_container(cfg), "torchrun", "--standalone", f"--nproc_per_node={cfg.nproc_per_node}",
                           "--no-python", *argv])
    # Inside the srun task: $HEAD and $PORT come from the batch script (srun exports the
    # environment), $SLURM_JOB_ID from srun; double quotes so that this inner bash expands them.
    torchrun = shlex.join([*_container(cfg), "torchrun", f"--nnodes={cfg.nodes}",
                           f"--nproc_per_node={cfg.nproc_per_node}", f"--rdzv_backend={cfg.rdzv_backend}"])
    inner = (f'{torchrun} --rdzv_endpoint="$HEAD:$PORT" --rdzv_id="$SLURM_JOB_ID" --no-python '
             f"{shlex.join(argv)}")
    return (f"export HEAD=$({HEAD_NODE}) PORT={cfg.rdzv_port}; "
            f'test -n "$HEAD" || {{ echo "s1kit: no head node for Slurm job $SLURM_JOB_ID" >&2; exit 1; }}; '
            f"srun --nodes={cfg.nodes} --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c {shlex.quote(inner)}")


def rule_resources(cfg: LaunchConfig) -> dict[str, object]:
    """Resources of the train rule. Several nodes: what worked with the Slurm plugin (issue
    #6; without tasks_per_gpu=0 it adds --ntasks-per-gpu and the job never starts; mpi makes
    the shell call srun itself). One node: one task with its GPUs. Empty strings are "unset"
    to the plugin; wall time, memory and CPUs come from the profile (runtime, mem_mb, threads)."""
    gres = ""
    if cfg.gpus and cfg.world_size > 1:
        gres = f"gpu:{cfg.gpu_type}:{cfg.nproc_per_node}" if cfg.gpu_type else f"gpu:{cfg.nproc_per_node}"
    return {
        "nodes": cfg.nodes,
        "tasks": cfg.nodes,
        "mpi": "srun" if cfg.multi_node else "",
        "tasks_per_gpu": 0,
        "gres": gres,
    }


def check_run(run: str, hparams: dict, launch: dict | None) -> LaunchConfig:
    """Validate train.runs.<run>.launch and that its world size divides the global batch, so
    that a bad config fails at DAG time rather than after the job has queued."""
    cfg = from_dict(LaunchConfig, launch, f"train.runs.{run}.launch")
    hp = dict(hparams or {})
    declared = hp.get("world_size", 0)
    if declared and declared != cfg.world_size:
        raise ValueError(f"config train.runs.{run}: hparams.world_size {declared} but launch gives "
                         f"{cfg.nodes} x {cfg.nproc_per_node} = {cfg.world_size} processes")
    hp["world_size"] = cfg.world_size
    try:
        checkpoint_root(from_dict(TrainConfig, hp, f"train.runs.{run}.hparams"), Path("results/train") / run)
    except ValueError as e:
        raise ValueError(f"config train.runs.{run}: {e}") from None
    return cfg
