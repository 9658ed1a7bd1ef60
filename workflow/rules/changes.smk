# What this run changed in the conclusions, against the results committed in git.


rule changes:
    input:
        expand(
            f"{RESULTS_DIR}/{{condition}}/{{table}}.parquet",
            condition=CONDITIONS,
            table=("analyses", "analysis_members", "certainty"),
        ),
    output:
        markdown=f"{RESULTS_DIR}/changes.md",
        json=f"{RESULTS_DIR}/changes.json",
    log:
        "logs/changes.log",
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code_version("changes"),
        conditions=" ".join(CONDITIONS),
        results=lambda wc, output: Path(output.markdown).parent,
    shell:
        ldn(
            "changes --conditions {params.conditions} --results-dir {params.results:q}"
            " --out-md {output.markdown:q} --out-json {output.json:q} 2>&1 | tee {log:q}"
        )
