# s1kit: "s1: Simple test-time scaling" as one workflow.
#
# results/
#   data/raw/{source}.parquet, data/eval/{task}.jsonl   collect: sources and eval sets
#   data/pool.parquet, data/funnel_collect.csv          decontaminated, deduplicated pool
#   models/{model}/                                     base models (tiny: built from a config)
#   distill/{teacher}/traces.parquet, ledger.jsonl      teacher thinking + attempt
#   features/{attempts,grades}/{model}.parquet          difficulty signals
#   features/domains.parquet, featurized.parquet        domains, lengths, all features
#   select/{selection}/dataset.parquet, ids.txt          s1K and the Table 2 ablations
#   select/funnel.csv                                    the selection funnel
#   train/{run}/model/, train/{run}/metrics.json         SFT runs
#   eval/{model}/{setting}/{task}/results.json           lm-eval + budget forcing
#   paper/{tables,figures}/, claims.csv, report.md       every number traced to its file
#   review/grade.{csv,md}, select/                      config/review.yaml: published artifacts re-checked
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# Before any config is walked (s1kit.config_check, docs/DESIGN.md "Config"):
# - a config file whose YAML aliases expand past a bound stops here, naming file and line
#   (Snakemake's merge of config/default.yaml would expand them, silently, for hours);
# - --config values are typed as a config file would type them: Snakemake passes nested ones
#   as strings (--config 'llm={max_cost_usd: 200}' gives '200').
from pathlib import Path
from s1kit.config_check import check_config_files, command_line_config

check_config_files(workflow.overwrite_configfiles or ["config/default.yaml"])
command_line_config(config, workflow.config_settings, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")


# A --configfile on the command line replaces the tiny default entirely (config/s1.yaml is a
# complete config); to change a few keys of the default, pass both files:
#   snakemake --configfile config/default.yaml mine.yaml
if not workflow.overwrite_configfiles:
    workflow.configfile("config/default.yaml")
else:
    # An overlay that switches a backend (distill.backend: oracle -> openai_compat) gets that
    # section's options from the switching file on, not merged with the old backend's.
    from snakemake.common.configfile import load_configfile
    from s1kit.settings import switch_backend_options

    switch_backend_options(
        config,
        [load_configfile(f) for f in workflow.overwrite_configfiles] + [dict(workflow.config_settings.config or {})],
    )


# Before any job (not in the jobs of a running workflow, which parse this file again):
# - a lock left by a Snakemake killed mid-run is cleared when its owner (this host) is dead
#   and no other Snakemake runs here, else the one command that clears it is printed;
# - result files that differ from their provenance sha256 (truncated, edited) stop the run
#   with the files named, before Snakemake deletes anything downstream (s1kit.integrity).
if workflow.exec_mode.name == "DEFAULT":
    import sys
    from s1kit import integrity, locks

    _lock_msg = locks.check(".", "the same snakemake command")
    if _lock_msg:
        print(_lock_msg, file=sys.stderr)
    if not locks.snakemake_processes("."):  # a running workflow may be writing results now
        _bad = integrity.verify(".")
        if _bad:
            raise integrity.CorruptResult(integrity.message(_bad))


# Once the DAG is known and before any job runs (a job deletes its old outputs first): the
# inputs of every job that will run over existing outputs are rehashed regardless of the
# (size, mtime) cache above, since Snakemake reruns a job for an input whose checksum changed
# at the same size and mtime (bit rot) and would delete its outputs before the job named the
# file (s1kit.integrity.inputs_of_reruns).
onstart:
    from s1kit import integrity as _integrity

    if workflow.exec_mode.name == "DEFAULT":  # not again in each job of a cluster run
        _bad = _integrity.verify_paths(_integrity.inputs_of_reruns(workflow.dag))
        if _bad:
            raise _integrity.CorruptResult(_integrity.message(_bad))


include: "workflow/rules/common.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/distill.smk"
include: "workflow/rules/featurize.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/paper.smk"


# Review mode (config/review.yaml, docs/review.md): only when the config has a `review`
# section; review.only makes its outputs the whole default target.
REVIEW_ONLY = bool((config.get("review") or {}).get("only"))
if "review" in config:

    include: "workflow/rules/review.smk"


rule all:
    default_target: True
    input:
        ([] if REVIEW_ONLY else get_final_output()) + (get_review_output() if "review" in config else []),
