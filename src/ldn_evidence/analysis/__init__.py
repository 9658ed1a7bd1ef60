"""Which effects go into which analysis, and the review's pooled answers.

- :mod:`ldn_evidence.analysis.plan`: the analysis plan (``config/analyses.yaml``): reading,
  checking and writing a default one from the effects tables;
- :mod:`ldn_evidence.analysis.select`: one effect per study for each analysis, with the reason;
- :mod:`ldn_evidence.analysis.run`: the main analyses, the sensitivity battery, the narrative
  synthesis of what cannot be pooled and the comparison with published meta-analyses.

Statistics come from :mod:`ldn_evidence.meta`; nothing here pools by hand.
"""
