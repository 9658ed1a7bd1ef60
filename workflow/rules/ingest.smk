# Stage 1: tabulate each condition's study files (validated again inside the job, so the
# library is safe outside Snakemake too; on any problem nothing is written).


rule ingest:
    input:
        studies=lambda wc: study_files(wc.condition),
    output:
        studies=PROCESSED_DIR / "{condition}" / "studies.parquet",
        studies_csv=PROCESSED_DIR / "{condition}" / "studies.csv",
        outcomes=PROCESSED_DIR / "{condition}" / "outcomes.parquet",
        outcomes_csv=PROCESSED_DIR / "{condition}" / "outcomes.csv",
    log:
        "logs/ingest/{condition}.log",
    # every condition's tables before any figures job, the long ones: they then run side by side
    priority: 1
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("io"),
        out_dir=lambda wc: PROCESSED_DIR / wc.condition,
    shell:
        ldn(
            "ingest {input.studies:q} --condition {wildcards.condition}"
            " --out-dir {params.out_dir:q} 2>&1 | tee {log:q}"
        )
