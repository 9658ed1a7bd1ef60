"""New data in CI: a clearly synthetic study added to one condition is pooled, its effect and
the pooled estimate equal an independent calculation, and changes.md reports it."""

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymare import Dataset
from pymare.estimators import VarianceBasedLikelihoodEstimator
from scipy import special, stats

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]

SYNTHETIC = """\
# SYNTHETIC TEST STUDY: made up by tests/workflow/test_new_data.py; never real data.
schema_version: 1
id: Synthetic2099
condition: fibromyalgia
title: SYNTHETIC study for the workflow test (not a real trial)
year: 2099
design: parallel_rct
blinding: double-blind
comparator: placebo
sample_size:
  randomized: 120
  ldn: 60
  control: 60
dose:
  mg_per_day: 4.5
inclusion:
  status: include
risk_of_bias:
  overall: low
  reason: synthetic
source:
  url: https://example.org/synthetic
  quote: synthetic
outcomes:
- id: pain_nrs
  name: pain NRS 0-10 at 12 weeks (synthetic)
  domain: pain
  better_direction: lower
  timepoint:
    weeks: 12
  statistics:
    n_ldn: 60
    n_ctl: 60
    mean_ldn: 4.0
    sd_ldn: 2.0
    mean_ctl: 5.0
    sd_ctl: 2.0
  source_quality: primary_full_text
  source:
    url: https://example.org/synthetic
    quote: synthetic
"""


def run(cmd, cwd):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result


def git(cwd, *args):
    return run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org", *args], cwd)


def test_a_synthetic_study_is_pooled_and_reported(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "Snakefile", work)
    for folder in ("workflow", "config", "data/raw", "data/reference"):
        shutil.copytree(ROOT / folder, work / folder)
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "2"]
    run(snakemake, work)
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "baseline results")

    (work / "data" / "raw" / "fibromyalgia" / "Synthetic2099.yaml").write_text(SYNTHETIC)
    run(snakemake, work)

    members = pd.read_parquet(work / "results" / "fibromyalgia" / "analysis_members.parquet")
    main = members[(members.analysis_id == "fm_pain_rct_smd") & (members.scenario == "main")]
    assert "Synthetic2099" in set(main.study_id)
    # Hedges' g by hand: d = (4 - 5) / 2, J(118), lower is better so +; v = 2/60 + g^2/240
    m = 118
    j = math.exp(special.gammaln(m / 2) - math.log(math.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    g = j * 0.5
    new = main[main.study_id == "Synthetic2099"].iloc[0]
    assert new.yi == pytest.approx(g, rel=1e-12)
    assert new.vi == pytest.approx(1 / 60 + 1 / 60 + g**2 / (2 * 120), rel=1e-12)
    # REML (PyMARE, an independent implementation) and the Hartung-Knapp interval by hand
    fit = VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(
        Dataset(y=main.yi.to_numpy(), v=main.vi.to_numpy())
    )
    tau2 = float(fit.params_["tau2"][0, 0])
    w = 1 / (main.vi.to_numpy() + tau2)
    mu = float(np.sum(w * main.yi) / np.sum(w))
    analyses = pd.read_parquet(work / "results" / "fibromyalgia" / "analyses.parquet")
    row = analyses[(analyses.analysis_id == "fm_pain_rct_smd") & (analyses.scenario == "main")]
    row = row.iloc[0]
    assert row.k == 5
    assert row.tau2 == pytest.approx(tau2, rel=1e-3, abs=1e-5)
    assert row.estimate == pytest.approx(mu, rel=1e-4, abs=1e-5)
    q = float(np.sum(w * (main.yi - mu) ** 2)) / 4
    half = stats.t.isf(0.025, 4) * math.sqrt(q / w.sum())
    assert row.ci_high - row.ci_low == pytest.approx(2 * half, rel=1e-3)

    changes = (work / "results" / "changes.md").read_text()
    assert "Compared with: the results committed at HEAD" in changes
    line = next(x for x in changes.splitlines() if "| fm_pain_rct_smd |" in x)
    assert "Synthetic2099" in line
    assert "| fibromyalgia |" in line
    # nothing in the other conditions moved
    assert "| crohns_disease |" not in changes and "| long_covid |" not in changes
