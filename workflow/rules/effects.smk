# Stage 2: effect sizes for each condition, with the derivation and assumptions of each.


rule effects:
    input:
        studies=PROCESSED_DIR / "{condition}" / "studies.parquet",
        outcomes=PROCESSED_DIR / "{condition}" / "outcomes.parquet",
    output:
        effects=PROCESSED_DIR / "{condition}" / "effects.parquet",
        effects_csv=PROCESSED_DIR / "{condition}" / "effects.csv",
        method=PROCESSED_DIR / "{condition}" / "effects_method.json",
    log:
        "logs/effects/{condition}.log",
    # every condition's tables before any figures job, the long ones: they then run side by side
    priority: 1
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("effects", "io"),
        settings=config_json("effects"),
        out_dir=lambda wc: PROCESSED_DIR / wc.condition,
    shell:
        ldn(
            "effects --studies {input.studies:q} --outcomes {input.outcomes:q}"
            " --settings {params.settings:q} --out-dir {params.out_dir:q} 2>&1 | tee {log:q}"
        )
