# Stage 5: every figure of a condition (forest and funnel plots, evidence map, effect
# direction, risk of bias, study flow) as PNG and SVG, from the result tables only.


rule figures:
    input:
        analyses=f"{RESULTS_DIR}/{{condition}}/analyses.parquet",
        members=f"{RESULTS_DIR}/{{condition}}/analysis_members.parquet",
        narrative=f"{RESULTS_DIR}/{{condition}}/narrative.parquet",
        certainty=f"{RESULTS_DIR}/{{condition}}/certainty.parquet",
        studies=PROCESSED_DIR / "{condition}" / "studies.parquet",
    output:
        index=f"{RESULTS_DIR}/{{condition}}/figures/index.json",
    log:
        "logs/figures/{condition}.log",
    conda:
        "../envs/ldn-evidence.yaml"
    # the drawing processes of a condition's figures: its share of --cores (common.smk)
    threads: figure_threads()
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        code=code_version("plots"),
        results=lambda wc: f"{RESULTS_DIR}/{wc.condition}",
        processed=lambda wc: PROCESSED_DIR / wc.condition,
        out_dir=lambda wc: f"{RESULTS_DIR}/{wc.condition}/figures",
    shell:
        ldn(
            "figures --condition {wildcards.condition} --results-dir {params.results:q}"
            " --processed-dir {params.processed:q} --out-dir {params.out_dir:q}"
            " --workers {threads} 2>&1 | tee {log:q}"
        )
