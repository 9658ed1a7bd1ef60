# Stage 3: the planned analyses of each condition (config/analyses.yaml): main results,
# sensitivity battery, narrative synthesis and the comparison with published meta-analyses.


rule analyses:
    input:
        effects=PROCESSED_DIR / "{condition}" / "effects.parquet",
        studies=PROCESSED_DIR / "{condition}" / "studies.parquet",
        outcomes=PROCESSED_DIR / "{condition}" / "outcomes.parquet",
        plan="config/analyses.yaml",
        published="data/reference/meta_analyses.csv",
    output:
        report(
            f"{RESULTS_DIR}/{{condition}}/analyses.csv",
            caption="../report/analyses.rst",
            category="Analyses",
            subcategory="{condition}",
        ),
        multiext(f"{RESULTS_DIR}/{{condition}}/analyses", ".parquet", ".json"),
        multiext(f"{RESULTS_DIR}/{{condition}}/analysis_members", ".parquet", ".csv"),
        multiext(f"{RESULTS_DIR}/{{condition}}/narrative", ".parquet", ".csv"),
        multiext(f"{RESULTS_DIR}/{{condition}}/vote_counts", ".parquet", ".csv"),
        multiext(f"{RESULTS_DIR}/{{condition}}/published_comparison", ".parquet", ".csv"),
    log:
        "logs/analyses/{condition}.log",
    # every condition's tables before any figures job, the long ones: they then run side by side
    priority: 1
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("analysis", "effects", "io", "meta"),
        effect_settings=config_json("effects"),
        pool_settings=config_json("analysis", {}),
        bayes_settings=config_json("bayes", {}),
        processed=lambda wc: PROCESSED_DIR / wc.condition,
        out_dir=lambda wc: f"{RESULTS_DIR}/{wc.condition}",
    shell:
        ldn(
            "analyses --condition {wildcards.condition} --plan {input.plan:q}"
            " --processed-dir {params.processed:q} --published {input.published:q}"
            " --effect-settings {params.effect_settings:q} --pool-settings {params.pool_settings:q}"
            " --bayes-settings {params.bayes_settings:q}"
            " --out-dir {params.out_dir:q} 2>&1 | tee {log:q}"
        )
