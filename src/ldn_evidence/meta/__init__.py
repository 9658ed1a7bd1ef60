"""Meta-analysis statistics: tau^2 estimators, pooling, heterogeneity, intervals and the
analyses around the main estimate. Arrays in, frozen results out; no file IO.

Public entry points:

- :func:`pool` pools one analysis and returns a frozen :class:`PoolResult`;
- :func:`pool_many` pools many analyses of a DataFrame at once (vectorised);
- :func:`bayes_pool` / :func:`bayes_pool_many`: Bayesian normal-normal random-effects model with
  a prior on tau (half-normal, half-Cauchy, uniform, Turner et al. / Rhodes et al. empirical
  priors) by direct numerical integration, as R's bayesmeta; :func:`bayes_prob_above` gives
  P(mu > threshold);
- :func:`leave_one_out`, :func:`subgroup_analysis`, :func:`meta_regression` (via PyMARE),
  :func:`egger_test`, :func:`trim_and_fill` and :func:`mantel_haenszel`.
"""

from ldn_evidence.meta.batch import pool_many
from ldn_evidence.meta.bayes import (
    BAYES_FIELDS,
    BayesPoolResult,
    bayes_pool,
    bayes_pool_many,
    bayes_prob_above,
)
from ldn_evidence.meta.bias import (
    DEFAULT_MIN_K,
    EggerTestResult,
    TrimFillResult,
    egger_test,
    trim_and_fill,
)
from ldn_evidence.meta.influence import LeaveOneOutResult, LeaveOneOutRow, leave_one_out
from ldn_evidence.meta.mantel_haenszel import MantelHaenszelResult, mantel_haenszel
from ldn_evidence.meta.metareg import MetaRegressionResult, meta_regression, moderator_matrix
from ldn_evidence.meta.pooling import pool
from ldn_evidence.meta.results import POOL_FIELDS, PoolResult
from ldn_evidence.meta.subgroups import (
    SubgroupAnalysis,
    SubgroupDifferenceTest,
    SubgroupResult,
    subgroup_analysis,
)

__all__ = [
    "BAYES_FIELDS",
    "DEFAULT_MIN_K",
    "POOL_FIELDS",
    "BayesPoolResult",
    "EggerTestResult",
    "LeaveOneOutResult",
    "LeaveOneOutRow",
    "MantelHaenszelResult",
    "MetaRegressionResult",
    "PoolResult",
    "SubgroupAnalysis",
    "SubgroupDifferenceTest",
    "SubgroupResult",
    "TrimFillResult",
    "bayes_pool",
    "bayes_pool_many",
    "bayes_prob_above",
    "egger_test",
    "leave_one_out",
    "mantel_haenszel",
    "meta_regression",
    "moderator_matrix",
    "pool",
    "pool_many",
    "subgroup_analysis",
    "trim_and_fill",
]
