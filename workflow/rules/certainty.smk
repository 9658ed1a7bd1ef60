# Stage 4: GRADE certainty per analysis (config/certainty.yaml), and the claims check.


rule certainty:
    input:
        analyses=f"{RESULTS_DIR}/{{condition}}/analyses.parquet",
        members=f"{RESULTS_DIR}/{{condition}}/analysis_members.parquet",
        effects=PROCESSED_DIR / "{condition}" / "effects.parquet",
        rules="config/certainty.yaml",
        overrides="config/certainty_overrides.yaml",
    output:
        multiext(f"{RESULTS_DIR}/{{condition}}/certainty", ".parquet", ".csv"),
    log:
        "logs/certainty/{condition}.log",
    # every condition's tables before any figures job, the long ones: they then run side by side
    priority: 1
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("certainty"),
        results=lambda wc, input: Path(input.analyses).parent.parent,
        processed=lambda wc, input: Path(input.effects).parent.parent,
    shell:
        ldn(
            "certainty --condition {wildcards.condition} --results-dir {params.results:q}"
            " --processed-dir {params.processed:q} --config {input.rules:q}"
            " --overrides {input.overrides:q} 2>&1 | tee {log:q}"
        )


rule claims:
    input:
        expand(
            f"{RESULTS_DIR}/{{condition}}/{{table}}.parquet",
            condition=CONDITIONS,
            table=("analyses", "certainty", "narrative", "vote_counts"),
        ),
        claims="data/reference/claims.csv",
        rules="config/certainty.yaml",
    output:
        multiext(f"{RESULTS_DIR}/claims", ".parquet", ".csv"),
    log:
        "logs/claims.log",
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("certainty"),
        conditions=" ".join(CONDITIONS),
        results=lambda wc, output: Path(output[0]).parent,
    shell:
        ldn(
            "claims --conditions {params.conditions} --claims {input.claims:q}"
            " --results-dir {params.results:q} --config {input.rules:q} 2>&1 | tee {log:q}"
        )
