# Train: SFT on a selection in the s1 format (arXiv 2501.19393v3 Appendix D; docs/train.md).
#
# One rule for every scale; train.runs.<run>.launch picks the launch line
# (s1kit.sft.launch): 1 process = plain `s1kit train` (the tiny default), N processes on one
# machine = torchrun --standalone, several nodes = srun + torchrun with c10d rendezvous
# (under Slurm: resources nodes/tasks/mpi/tasks_per_gpu/gres from the same config).
# No `container:` directive: under --sdm apptainer a rule-level container would wrap srun
# too, so the image (launch.container, else config containers.train) wraps torchrun
# inside srun instead.
import dataclasses

from s1kit.sft.launch import check_run, launch_command, rule_resources

# validated at DAG time: a world size that does not divide the global batch fails here
TRAIN_LAUNCH = {
    _run: check_run(_run, _spec.get("hparams", {}), _spec.get("launch"))
    for _run, _spec in config["train"]["runs"].items()
}
_APPTAINER = any(m.name == "APPTAINER" for m in workflow.deployment_settings.deployment_method)
if _APPTAINER:
    _exec = " ".join(["apptainer exec", workflow.deployment_settings.apptainer_args or "--nv"])
    TRAIN_LAUNCH = {
        r: c if c.container else dataclasses.replace(c, container=CONTAINERS["train"], container_exec=_exec)
        for r, c in TRAIN_LAUNCH.items()
    }


def train_command(wildcards, input):
    launch = TRAIN_LAUNCH[wildcards.run]
    argv = ["s1kit", "train", "--model", input.base, "--data", input.data, "--out-dir",
            f"results/train/{wildcards.run}", "--config-json",
            as_json(config["train"]["runs"][wildcards.run].get("hparams", {}))]
    return launch_command(launch, argv)


def _train_resource(key):
    return lambda wildcards: rule_resources(TRAIN_LAUNCH[wildcards.run])[key]


rule train_sft:
    input:
        base=get_run_base,
        data=get_run_data,
    output:
        model=directory("results/train/{run}/model"),
        metrics="results/train/{run}/metrics.json",
    params:
        cmd=train_command,
        nproc=lambda w: TRAIN_LAUNCH[w.run].nproc_per_node,
    threads: 2
    resources:
        nodes=_train_resource("nodes"),
        tasks=_train_resource("tasks"),
        mpi=_train_resource("mpi"),
        tasks_per_gpu=_train_resource("tasks_per_gpu"),
        gres=_train_resource("gres"),
    log:
        "logs/train/{run}.log",
    shell:
        # threads shared by the processes of a node (not in params: --cores must not force a rerun);
        # params.cmd is a shell line built with shlex by s1kit.sft.launch, every config value quoted
        "(export S1KIT_RULE={rule} OMP_NUM_THREADS=$(( {threads} > {params.nproc} ? {threads} / {params.nproc} : 1 ));"
        " {params.cmd}) > {log:q} 2>&1"
