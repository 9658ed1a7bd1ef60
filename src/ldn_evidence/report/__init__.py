"""The evidence summary: one self-contained HTML report and a Markdown summary.

Everything shown comes from the result tables and figures of the earlier stages; nothing is
recomputed here except formatting (ratios shown on their natural scale, proportions from
their logits, risks per 1,000 from a ratio and an assumed control risk).
"""
