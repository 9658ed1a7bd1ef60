"""One tolerance table for every comparison against metafor, by quantity type.

metafor's iterative estimators (ML, REML, EB, PM, SJ-iterated) stop when successive tau^2
values differ by less than ``threshold = 1e-5`` (``rma(..., control=list(threshold=...))``),
and its profile-likelihood / Q-profile bounds are found with ``uniroot`` at a similar
tolerance. Closed-form quantities (DL, HE, HS, fixed effects, ``escalc``) agree to floating
point. Each entry says how far apart our value and metafor's may be; see
``tests/reference/README.md`` for where each reference value comes from.
"""

#: Closed-form effect sizes and sampling variances (escalc): exact up to rounding of the
#: reference file (metafor values are stored with 17 significant digits).
ESCALC = {"rtol": 1e-8, "atol": 1e-10}

#: Estimates, SEs, test statistics and CI bounds of the mean from closed-form tau^2 estimators.
CLOSED_FORM = {"rtol": 1e-8, "atol": 1e-10}

#: tau^2 and everything derived from it when tau^2 comes from an iterative estimator: metafor
#: stops at |delta tau^2| < 1e-5, so quantities that depend on tau^2 carry that slack.
ITERATIVE_TAU2 = {"rtol": 1e-4, "atol": 1e-5}
ITERATIVE_DERIVED = {"rtol": 1e-4, "atol": 1e-5}

#: Q-profile and profile-likelihood bounds (root finding in both programs).
PROFILE_BOUNDS = {"rtol": 1e-3, "atol": 1e-4}

#: p-values: compared on the absolute scale, small p-values are resolved by the statistic.
PVALUE = {"rtol": 1e-6, "atol": 1e-8}

#: I^2 (percent) and H^2, derived from tau^2.
HETEROGENEITY_PERCENT = {"rtol": 1e-4, "atol": 1e-3}

#: Against metafor at its DEFAULT settings (what a user sees printed): closed-form estimators
#: agree to floating point (CLOSED_FORM). Iterative estimators and Q-profile bounds carry
#: metafor's default convergence slack: uniroot's tol = .Machine$double.eps^0.25 = 1.22e-4 in
#: tau^2 (PM, confint) and threshold = 1e-5 in tau^2 (ML/REML/EB), propagated to what depends
#: on tau^2. Our values are the converged ones (see ITERATIVE_* against tight metafor runs).
METAFOR_DEFAULT_TAU2 = {"rtol": 0.0, "atol": 1.22e-4}
METAFOR_DEFAULT_DERIVED = {"rtol": 5e-4, "atol": 5e-4}
METAFOR_DEFAULT_I2 = {"rtol": 0.0, "atol": 0.05}
