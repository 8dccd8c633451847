# Paper: tables, figures, claims.csv and the report, every number traced to a file target.


rule paper_build:
    input:
        eval=get_eval_results(),
        funnel="results/select/funnel.csv",
        collect_funnel="results/data/funnel_collect.csv",
        select=get_select_outputs(),
        train=expand("results/train/{run}/metrics.json", run=RUNS),
    output:
        # report(): these also make up `snakemake --report` (make report)
        claims=report("results/paper/claims.csv", caption="../report/claims.rst", category="Paper"),
        report=report("results/paper/report.md", caption="../report/paper_report.rst", category="Paper"),
        # Table 3's claims read it (always written, empty without eval results)
        scaling=report("results/paper/tables/scaling_methods.csv", caption="../report/scaling_methods.rst",
                       category="Tables"),
        figures=report(directory("results/paper/figures"), patterns=["{name}.png"],
                       caption="../report/figures.rst", category="Figures"),
    params:
        mode=config["paper"]["mode"],
    log:
        "logs/paper/build.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={rule} s1kit paper --results-dir results --out-dir results/paper --mode {params.mode:q} > {log:q} 2>&1"
