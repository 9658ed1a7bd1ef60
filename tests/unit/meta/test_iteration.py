"""Fisher scoring and the root finders: accelerated paths, same solutions.

Acceleration (Aitken extrapolation of linearly converging Fisher-scoring steps) and the
array kernels' shortcuts change how many evaluations an estimate takes, never which fixed
point it converges to: each test compares against plain metafor-style iteration or against a
converged-to-rounding solution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from ldn_evidence.meta import estimators, pool, pool_many
from ldn_evidence.meta._kernels import by_unique

#: Plain Fisher scoring with alternating steps (ratio about -0.5): 16 iterations unaccelerated.
ALTERNATING_YI = [0.475, -0.488, 0.426, 0.236, -0.092, 0.94, 0.542, -0.283]
ALTERNATING_VI = [0.011, 0.168, 0.039, 0.061, 0.177, 0.107, 0.171, 0.132]


def _batch(n: int, seed: int) -> pd.DataFrame:
    """Analyses with k = 2..25, variances spanning two orders of magnitude, some outliers."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 26, n)
    g = np.repeat(np.arange(n), k)
    vi = np.exp(rng.uniform(np.log(0.005), np.log(0.5), g.size))
    tau2 = rng.choice([0.0, 0.01, 0.05, 0.3], n)[g]
    yi = rng.normal(0.1, np.sqrt(vi + tau2))
    yi[rng.random(g.size) < 0.03] += 2.0
    return pd.DataFrame({"g": g, "yi": yi, "vi": vi})


@pytest.fixture
def plain_fisher_scoring(monkeypatch):
    """metafor's iteration: no extrapolation (the damping of oscillations stays)."""
    monkeypatch.setattr(estimators, "ACCEL_AFTER", 10**9)


def test_alternating_steps_are_extrapolated(monkeypatch):
    accelerated = pool(ALTERNATING_YI, ALTERNATING_VI, method="REML")
    monkeypatch.setattr(estimators, "ACCEL_AFTER", 10**9)
    plain = pool(ALTERNATING_YI, ALTERNATING_VI, method="REML")
    tight = pool(ALTERNATING_YI, ALTERNATING_VI, method="REML", threshold=1e-12, maxiter=1000)
    assert plain.iterations == 16
    assert accelerated.iterations <= 8
    # both stop within the convergence slack of the same fixed point
    slack = 1e-5 * accelerated.s2
    assert abs(accelerated.tau2 - tight.tau2) < slack
    assert abs(plain.tau2 - tight.tau2) < slack
    assert not any("oscillated" in note for note in accelerated.notes)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_acceleration_keeps_the_fixed_point(method, monkeypatch):
    frame = _batch(400, seed=11)
    fast = pool_many(frame, "g", method=method)
    tight = pool_many(frame, "g", method=method, threshold=1e-11, maxiter=5000)
    monkeypatch.setattr(estimators, "ACCEL_AFTER", 10**9)
    plain = pool_many(frame, "g", method=method)
    ok = fast["converged"] & tight["converged"] & plain["converged"]
    assert ok.mean() > 0.99
    scale = fast["s2"][ok]
    # within a few thresholds (1e-5 * s2) of the converged solution, like plain iteration
    assert (np.abs(fast["tau2"] - tight["tau2"])[ok] <= 1e-4 * scale).all()
    assert (np.abs(plain["tau2"] - tight["tau2"])[ok] <= 1e-4 * scale).all()
    assert fast["iterations"][ok].sum() < 0.9 * plain["iterations"][ok].sum()


def test_by_unique_table_and_sort_paths_agree():
    whole = np.array([4.0, 1.0, 4.0, 19.0, 2.0, 1.0])
    expected = special.stdtrit(whole, 0.975)
    np.testing.assert_array_equal(by_unique(special.stdtrit, whole, 0.975), expected)
    fractional = whole + 0.5  # not whole numbers: the sorting path
    np.testing.assert_array_equal(
        by_unique(special.chdtri, fractional, 0.025), special.chdtri(fractional, 0.025)
    )
    huge = np.array([3.0, 1e6])  # beyond the table
    np.testing.assert_array_equal(by_unique(special.chdtri, huge, 0.5), special.chdtri(huge, 0.5))
