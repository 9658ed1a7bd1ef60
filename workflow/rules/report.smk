# Stage 6: the evidence summary for reviewers: one self-contained HTML page and a Markdown
# summary, from the result tables and figures of every condition (no statistics computed here).


def report_inputs(wildcards):
    tables = ("analyses", "analysis_members", "narrative", "vote_counts", "published_comparison")
    inputs = [f"{RESULTS_DIR}/{c}/{t}.parquet" for c in CONDITIONS for t in tables]
    inputs += [
        f"{PROCESSED_DIR}/{c}/{t}.parquet" for c in CONDITIONS for t in ("studies", "effects")
    ]
    inputs += [f"{RESULTS_DIR}/{c}/certainty.parquet" for c in CONDITIONS]
    inputs += [f"{RESULTS_DIR}/{c}/figures/index.json" for c in CONDITIONS]
    return inputs


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
        results=RESULTS_DIR,
        processed=PROCESSED_DIR,
        out_dir=f"{RESULTS_DIR}/report",
    shell:
        ldn(
            "report --conditions {params.conditions} --results-dir {params.results:q}"
            " --processed-dir {params.processed:q} --config {input.config:q}"
            " --changes {input.changes:q} --claims {input.claims:q}"
            " --claims-source {input.claims_source:q} --out-dir {params.out_dir:q} 2>&1"
            " | tee {log:q}"
        )
