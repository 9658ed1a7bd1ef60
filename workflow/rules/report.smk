# Stage 6: the evidence summary for reviewers: one self-contained HTML page and a Markdown
# summary, from the result tables and figures of every condition (no statistics computed here).


rule report:
    input:
        report_inputs,
        config="config/config.yaml",
        changes=f"{RESULTS_DIR}/changes.json",
        claims=f"{RESULTS_DIR}/claims.parquet",
        claims_source="data/reference/claims.csv",
    output:
        html=report(
            f"{RESULTS_DIR}/report/index.html",
            caption="../report/report.rst",
            category="Evidence summary",
        ),
        markdown=report(
            f"{RESULTS_DIR}/report/summary.md",
            caption="../report/summary.rst",
            category="Evidence summary",
        ),
    log:
        "logs/report.log",
    conda:
        "../envs/ldn-evidence.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("report"),
        conditions=" ".join(CONDITIONS),
        results=lambda wc, output: Path(output.html).parent.parent,
        processed=lambda wc, input: Path(input.config).parent.parent / PROCESSED_DIR,
        out_dir=lambda wc, output: Path(output.html).parent,
    shell:
        ldn(
            "report --conditions {params.conditions} --results-dir {params.results:q}"
            " --processed-dir {params.processed:q} --config {input.config:q}"
            " --changes {input.changes:q} --claims {input.claims:q}"
            " --claims-source {input.claims_source:q} --out-dir {params.out_dir:q} 2>&1"
            " | tee {log:q}"
        )
