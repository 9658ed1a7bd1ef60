"""Benchmark: ldn_evidence.meta.pool_many against per-analysis loops.

Run on demand (not part of the test suite)::

    python benchmarks/bench_pool_many.py            # all competitors
    python benchmarks/bench_pool_many.py --no-r     # skip metafor

One synthetic batch of 10,000 analyses with k = 5..20 studies each (fixed seed) is pooled with
REML + Hartung-Knapp, including the Q-profile CIs of tau^2 / I^2 / H^2 and the prediction
interval. The competitors run on the same data, in the same run:

- PyMARE 0.0.13: its batched REML estimator (it batches analyses of equal k, so one call
  per distinct k) and a per-analysis loop with its Q-profile CI (``get_re_stats``);
- statsmodels ``combine_effects`` per analysis (it has no REML; ``method_re="iterated"``,
  i.e. Paule-Mandel, is timed);
- metafor ``rma`` + ``confint`` + ``predict`` per analysis in R (timed inside R), when
  ``Rscript`` is available.

Loops run on a subset of the analyses (``--loop-n``) and are reported per analysis. Every
contender runs once per round, in turn, for ``--repeat`` rounds, and its best round is
reported, so that all of them meet the same spells of a busy machine.

For one-core figures, pin the thread pools, e.g.
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/...``; the
header prints these variables (and OpenBLAS' core-type overrides, if set) so that a figure
can be traced to its settings. The last lines check the goals: at least 100,000 analyses/s
and at least 100 times faster than every per-analysis loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ldn_evidence.meta import pool_many

SEED = 20260101
N_ANALYSES = 10_000

#: Goals of pool_many: analyses per second, and speed-up over every per-analysis loop.
GOAL_RATE = 100_000
GOAL_LOOP_RATIO = 100.0

#: Environment variables that decide how many threads / which kernels numpy's BLAS uses.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)


def make_batch(n: int = N_ANALYSES, seed: int = SEED) -> pd.DataFrame:
    """Synthetic analyses: k ~ U{5..20}, vi ~ U(0.01, 0.2), tau^2 in {0, 0.02, 0.1, 0.3}."""
    rng = np.random.default_rng(seed)
    k = rng.integers(5, 21, n)
    g = np.repeat(np.arange(n), k)
    vi = rng.uniform(0.01, 0.2, g.size)
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.3], n)[g]
    yi = rng.normal(0.2, np.sqrt(vi + tau2))
    return pd.DataFrame({"analysis": g, "yi": yi, "vi": vi})


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ours(frame: pd.DataFrame):
    """pool_many on the whole batch (10,000 analyses)."""
    return lambda: pool_many(frame, "analysis", method="REML", test="knha")


def pymare_batched(groups: list[tuple[np.ndarray, np.ndarray]]):
    """PyMARE's REML on stacks of analyses of equal k (its batch shape), whole batch."""
    from pymare.estimators import VarianceBasedLikelihoodEstimator

    by_k: dict[int, list[int]] = {}
    for i, (y, _) in enumerate(groups):
        by_k.setdefault(y.size, []).append(i)
    stacks = [
        (
            np.column_stack([groups[i][0] for i in idx]),
            np.column_stack([groups[i][1] for i in idx]),
        )
        for idx in by_k.values()
    ]

    def run():
        for y, v in stacks:
            est = VarianceBasedLikelihoodEstimator(method="REML")
            est.fit(y=y, v=v, X=np.ones((y.shape[0], 1)))
            est.summary().get_fe_stats()

    return run


def pymare_loop(groups):
    import pymare
    from pymare.estimators import VarianceBasedLikelihoodEstimator

    def run():
        for y, v in groups:
            est = VarianceBasedLikelihoodEstimator(method="REML")
            est.fit_dataset(pymare.Dataset(y=y, v=v))
            res = est.summary()
            res.get_fe_stats()
            res.get_re_stats()
            res.get_heterogeneity_stats()

    return run


def statsmodels_loop(groups):
    from statsmodels.stats.meta_analysis import combine_effects

    def run():
        for y, v in groups:
            res = combine_effects(y, v, method_re="iterated")
            res.summary_frame()

    return run


def interleaved_best(contenders: dict[str, object], rounds: int) -> dict[str, float]:
    """Best time of each contender over ``rounds`` rounds that run every contender once.

    Each contender runs once first as a warm-up (imports, caches). Running them in turn
    within every round, rather than one contender's repeats back to back, exposes all of
    them to the same spells of a noisy machine, so the best times (and their ratios) do not
    depend on when a slow spell happened.
    """
    for fn in contenders.values():
        fn()
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            best[name] = min(best[name], timed(fn))
    return best


R_LOOP = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
ids <- unique(d$analysis)
t0 <- proc.time()[["elapsed"]]
for (i in ids) {
  s <- d[d$analysis == i, ]
  fit <- rma(s$yi, s$vi, method = "REML", test = "knha")
  ci <- confint(fit)
  pr <- predict(fit)
}
el <- proc.time()[["elapsed"]] - t0
cat(sprintf("%.6f %d\n", el, length(ids)))
"""


def bench_metafor_loop(frame: pd.DataFrame) -> float | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "batch.csv"
        script = Path(tmp) / "loop.R"
        frame.to_csv(data, index=False, float_format="%.17g")
        script.write_text(R_LOOP)
        # metafor errors when Fisher scoring does not converge; keep going like the others
        script.write_text(
            R_LOOP.replace(
                'fit <- rma(s$yi, s$vi, method = "REML", test = "knha")',
                'fit <- tryCatch(rma(s$yi, s$vi, method = "REML", test = "knha"), '
                "error = function(e) NULL)\n  if (is.null(fit)) next",
            )
        )
        out = subprocess.run(
            [rscript, str(script), str(data)], capture_output=True, text=True, check=True
        )
    elapsed, n = out.stdout.split()
    return float(elapsed) / int(n)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-n", type=int, default=300, help="analyses timed in loops")
    parser.add_argument(
        "--repeat", type=int, default=10, help="rounds; each method's best round is reported"
    )
    parser.add_argument("--no-r", action="store_true", help="skip metafor")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    frame = make_batch()
    groups = [
        (g["yi"].to_numpy(), g["vi"].to_numpy()) for _, g in frame.groupby("analysis", sort=True)
    ]
    loop_groups = groups[: args.loop_n]
    loop_frame = frame[frame["analysis"] < args.loop_n]
    print(f"batch: {N_ANALYSES} analyses, k = 5..20, {len(frame)} rows, seed {SEED}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpu count {os.cpu_count()}")
    print("env: " + ", ".join(f"{v}={os.environ.get(v, '(unset)')}" for v in THREAD_VARS))

    # name -> (function, analyses it pools per call)
    contenders = {
        "ldn_evidence pool_many (REML, knha, Q-profile CIs, PI)": (ours(frame), N_ANALYSES)
    }
    try:
        contenders["PyMARE batched REML, one call per k (estimate + FE stats)"] = (
            pymare_batched(groups),
            N_ANALYSES,
        )
        contenders["PyMARE loop (REML, Q-profile CI)"] = (
            pymare_loop(loop_groups),
            len(loop_groups),
        )
    except ImportError:
        print("PyMARE not installed: skipped")
    try:
        contenders["statsmodels combine_effects loop (PM)"] = (
            statsmodels_loop(loop_groups),
            len(loop_groups),
        )
    except ImportError:
        print("statsmodels not installed: skipped")
    best = interleaved_best({name: fn for name, (fn, _) in contenders.items()}, args.repeat)
    rows = [(name, best[name] / n) for name, (_, n) in contenders.items()]
    if not args.no_r:
        per = bench_metafor_loop(loop_frame)
        if per is None:
            print("Rscript not found: metafor skipped")
        else:
            rows.append(("metafor rma+confint+predict loop in R (REML, knha)", per))

    ours_per = rows[0][1]
    print(f"\nbest of {args.repeat} interleaved rounds")
    print(f"{'method':<62} {'us/analysis':>12} {'analyses/s':>12} {'x ours':>9}")
    for name, per in rows:
        print(f"{name:<62} {per * 1e6:12.2f} {1 / per:12.0f} {per / ours_per:9.1f}")
    loops = [(name, per) for name, per in rows[1:] if "loop" in name]
    rate = 1 / ours_per
    print(f"\ngoal >= {GOAL_RATE:,} analyses/s: {rate:,.0f} -> {_verdict(rate >= GOAL_RATE)}")
    if loops:
        name, per = min(loops, key=lambda row: row[1])
        ratio = per / ours_per
        print(
            f"goal >= {GOAL_LOOP_RATIO:.0f}x every loop: fastest loop is {name!r}, "
            f"{ratio:.1f}x -> {_verdict(ratio >= GOAL_LOOP_RATIO)}"
        )


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
