# Train: SFT on a selection in the s1 format (arXiv 2501.19393v3 Appendix D; docs/train.md).
#
# One rule for every scale; train.runs.<run>.launch picks the launch line
# (s1kit.sft.launch): 1 process = plain `s1kit train` (the tiny default), N processes on one
# machine = torchrun --standalone, several nodes = srun + torchrun with c10d rendezvous
# (under Slurm: resources nodes/tasks/mpi/tasks_per_gpu/gres from the same config).
# Container: under --sdm apptainer a rule-level container would wrap srun too, so there the
# image (launch.container, else config containers.train) wraps torchrun inside srun instead
# (TRAIN_LAUNCH, common.smk) and the directive is None; otherwise it names the same image,
# which documents the rule's software as for every other rule (Snakemake runs no container
# then). TRAIN_LAUNCH, train_command and train_resource are in common.smk.


rule train_sft:
    input:
        base=get_run_base,
        data=get_run_data,
    output:
        model=directory("results/train/{run}/model"),
        metrics="results/train/{run}/metrics.json",
    params:
        rule="train_sft",
        cmd=train_command,
        nproc=lambda w: TRAIN_LAUNCH[w.run].nproc_per_node,
    threads: 2
    resources:
        nodes=train_resource("nodes"),
        tasks=train_resource("tasks"),
        mpi=train_resource("mpi"),
        tasks_per_gpu=train_resource("tasks_per_gpu"),
        gres=train_resource("gres"),
    log:
        "logs/train/{run}.log",
    container:
        None if APPTAINER else CONTAINERS["train"]
    shell:
        # threads shared by the processes of a node (not in params: --cores must not force a rerun);
        # params.cmd is a shell line built with shlex by s1kit.sft.launch, every config value quoted
        "(export S1KIT_RULE={params.rule} OMP_NUM_THREADS=$(( {threads} > {params.nproc} ? {threads} / {params.nproc} : 1 ));"
        " {params.cmd}) > {log:q} 2>&1"
