# ldn-evidence: evidence synthesis of low-dose naltrexone (LDN) trials.
# Table of contents only; each stage lives in workflow/rules/, all logic in src/ldn_evidence/.
#   snakemake                  run what is out of date (settings: profiles/default/)
#   snakemake -n               show what would run, and why (a file, the code, the config)
#   snakemake --sdm conda      the same in the conda environment of workflow/envs/


from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# ---- setup: config validation, study-file discovery, helpers ---------------------------------
include: "workflow/rules/common.smk"
# ---- stages, in pipeline order ----------------------------------------------------------------
include: "workflow/rules/ingest.smk"
include: "workflow/rules/effects.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/certainty.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/changes.smk"
include: "workflow/rules/report.smk"


# ---- target -----------------------------------------------------------------------------------
rule all:
    default_target: True
    input:
        get_final_output(),
