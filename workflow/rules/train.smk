# Train: SFT on a selection in the s1 format (PAPER.md step 5).


rule train_sft:
    input:
        base=get_run_base,
        data=get_run_data,
    output:
        model=directory("results/train/{run}/model"),
        metrics="results/train/{run}/metrics.json",
    params:
        hparams=lambda w: as_json(config["train"]["runs"][w.run].get("hparams", {})),
    threads: 2
    log:
        "logs/train/{run}.log",
    shell:
        "OMP_NUM_THREADS={threads} s1kit train --model {input.base} --data {input.data}"
        " --out-dir results/train/{wildcards.run} --config-json {params.hparams:q} > {log} 2>&1"
