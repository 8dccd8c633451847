# Paper: tables, figures, claims.csv and the report, every number traced to a file target.
# report(): what `snakemake --report` (make report) shows, in categories that follow the
# paper (Data, Selection, Training, Test-time scaling, Claims), each with its own caption.
import hashlib
import json


rule paper_build:
    input:
        eval=get_eval_results(),
        funnel="results/select/funnel.csv",
        collect_funnel="results/data/funnel_collect.csv",
        select=get_select_outputs(),
        train=expand("results/train/{run}/metrics.json", run=RUNS),
    output:
        html=report("results/paper/report.html", caption="../report/paper_report.rst", category="Claims"),
        claims=report("results/paper/claims.csv", caption="../report/claims.rst", category="Claims"),
        report="results/paper/report.md",
        # what `make demo` prints last (s1kit.paper.verdict)
        verdict="results/paper/verdict.txt",
        # Table 3's claims read it (always written, empty without eval results)
        scaling=report(
            "results/paper/tables/scaling_methods.csv",
            caption="../report/scaling_methods.rst",
            category="Test-time scaling",
            subcategory="Tables",
        ),
        scaling_html=report(
            "results/paper/tables/scaling_methods.html",
            caption="../report/scaling_methods.rst",
            category="Test-time scaling",
            subcategory="Tables",
        ),
        results=report(
            "results/paper/tables/results.html",
            caption="../report/table_results.rst",
            category="Test-time scaling",
            subcategory="Tables",
        ),
        collect=report(
            "results/paper/tables/funnel_collect.html",
            caption="../report/table_collect.rst",
            category="Data",
            subcategory="Tables",
        ),
        funnel=report(
            "results/paper/tables/funnel.html",
            caption="../report/table_funnel.rst",
            category="Selection",
            subcategory="Tables",
        ),
        selections=report(
            "results/paper/tables/selections.html",
            caption="../report/table_selections.rst",
            category="Selection",
            subcategory="Tables",
        ),
        training=(
            report(
                "results/paper/tables/training.html",
                caption="../report/table_training.rst",
                category="Training",
                subcategory="Tables",
            )
            if RUNS
            else []
        ),
        figures=report(
            directory("results/paper/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category=paper_report_category,
            subcategory="Figures",
        ),
    params:
        rule="paper_build",
        mode=config["paper"]["mode"],
        # the run's config, named in the report's header (sha256 of its canonical JSON)
        config_hash=hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest(),
    log:
        "logs/paper/build.log",
    container:
        CONTAINERS["data"]
    shell:
        "S1KIT_RULE={params.rule} s1kit paper --results-dir results --out-dir results/paper --mode {params.mode:q} --config-hash {params.config_hash} > {log:q} 2>&1"
