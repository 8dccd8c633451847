# Paper: tables, figures, claims.csv and the report, every number traced to a file target.


rule paper_build:
    input:
        eval=get_eval_results(),
        funnel="results/select/funnel.csv",
        collect_funnel="results/data/funnel_collect.csv",
        select=get_select_outputs(),
        train=expand("results/train/{run}/metrics.json", run=RUNS),
    output:
        claims="results/paper/claims.csv",
        report="results/paper/report.md",
        # Table 3's claims read it (always written, empty without eval results)
        scaling="results/paper/tables/scaling_methods.csv",
    params:
        mode=config["paper"]["mode"],
    log:
        "logs/paper/build.log",
    container:
        CONTAINERS["data"]
    shell:
        "s1kit paper --results-dir results --out-dir results/paper --mode {params.mode} > {log} 2>&1"
