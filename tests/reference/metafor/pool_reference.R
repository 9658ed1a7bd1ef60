# Reference values for ldn_evidence.meta.pool from R's metafor.
#
# Regenerate (needs R with metafor and jsonlite; Debian/Ubuntu: r-cran-metafor, r-cran-jsonlite),
# from the project root:
#
#     Rscript tests/reference/metafor/pool_reference.R
#
# It reads the datasets in tests/reference/data/, fits rma(yi, vi, method=, test=) for every
# dataset x estimator x test, and writes tests/reference/metafor/pool_reference.json with the
# fit (estimate, se, zval/tval, dfs, pval, ci.lb/ci.ub, tau2, se.tau2, I2, H2, QE, QEp),
# confint() (Q-profile bounds of tau2, I2, H2; ci.null) and predict() (pi.lb/pi.ub; and
# pi.type = "riley", i.e. t(k-2)), written with 17 significant digits together with the R and
# metafor versions. The regular test run (tests/reference/test_pool_metafor.py) reads only the
# JSON and never needs R.
#
# Iteration control: metafor stops ML/REML/EB when |change of tau2| <= threshold (1e-5 by
# default, absolute) and solves PM and the Q-profile bounds with uniroot(tol = 1.2e-4). Those
# defaults leave slack that is larger than the comparison tolerances for I2 (derived from
# tau2 through a steep map) and meaningless on data with tiny variances (planck: vi ~ 1e-15).
# The references are therefore computed with tight control, scaled to the data:
# threshold = tol = 1e-12 * s2, where s2 is the typical within-study variance, so that
# they are the converged values of metafor's estimators. The chosen control is stored per row.
#
# Two adjustments make confint() return the true Q-profile bounds (explained where they are
# made below): the upper end of its search interval (tau2.max) is widened, and it is run on the
# fit to the centred yi (ci_null_uncentred records what it says on the raw yi).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/metafor"
data_dir <- normalizePath(file.path(here, "..", "data"))
out_file <- file.path(here, "pool_reference.json")

rd <- function(name) read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)

source(file.path(here, "pool_datasets.R"))

methods <- c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
tests <- c("z", "knha")

# jsonlite prints at most 15 significant digits; numbers are therefore written verbatim with
# 17 significant digits (enough to round-trip a double), NA as null.
full <- function(x) {
  x <- as.numeric(x)
  structure(ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"),
                                            sprintf("%.17g", x))), class = "json")
}
fullvec <- function(x) structure(paste0("[", paste(unclass(full(x)), collapse = ","), "]"),
                                 class = "json")
num <- function(x) full(if (is.null(x) || length(x) == 0) NA_real_ else x[1])

typical_vi <- function(vi) {
  w <- 1 / vi
  k <- length(vi)
  if (k < 2) return(vi[1])
  (k - 1) / (sum(w) - sum(w^2) / sum(w))
}

rows <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  s2 <- typical_vi(d$vi)
  ctl <- 1e-12 * s2
  for (m in methods) for (tt in tests) {
    row <- list(dataset = dname, method = m, test = tt, k = length(d$yi),
                threshold = num(ctl), tol = num(ctl), error = NA_character_)
    fit <- tryCatch(
      suppressWarnings(rma(d$yi, d$vi, method = m, test = tt,
                           control = list(threshold = ctl, tol = ctl, maxiter = 10000))),
      error = function(e) e)
    if (inherits(fit, "error")) {
      row$error <- conditionMessage(fit)
      rows[[length(rows) + 1]] <- row
      next
    }
    row <- c(row, list(
      test_used = fit$test, estimate = num(fit$beta), se = num(fit$se), stat = num(fit$zval),
      df = num(fit$ddf), pval = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
      tau2 = num(fit$tau2), tau2_se = num(fit$se.tau2), i2 = num(fit$I2), h2 = num(fit$H2),
      q = num(fit$QE), q_pval = num(fit$QEp)))
    # confint() stops its search at tau2.max = max(100, 10 * tau2) and then reports that
    # value as the upper bound (">"); give it a bracket that certainly contains the root
    # (Q(tau2) <= sum((yi - mean(yi))^2) / tau2) so the reference is the true Q-profile bound.
    k <- length(d$yi)
    tmax <- if (k > 1) 10 * (100 + sum((d$yi - mean(d$yi))^2) / qchisq(0.025, k - 1)) else 100
    # confint() evaluates Q(tau2) as the quadratic form t(yi) P yi on the uncentred yi; with
    # yi ~ 6.6 and weights ~ 1e14 (planck) that loses every digit and reports a null-set CI.
    # The Q-profile is invariant to shifting yi, so it is computed on the fit to yi - mean(yi).
    fitc <- tryCatch(
      suppressWarnings(rma(d$yi - mean(d$yi), d$vi, method = m, test = tt,
                           control = list(threshold = ctl, tol = ctl, maxiter = 10000))),
      error = function(e) NULL)
    ci <- tryCatch(suppressWarnings(confint(fitc, control = list(tol = ctl, maxiter = 10000,
                                                                 tau2.max = tmax))),
                   error = function(e) NULL)
    ci_raw <- tryCatch(suppressWarnings(confint(fit, control = list(tol = ctl, maxiter = 10000,
                                                                    tau2.max = tmax))),
                       error = function(e) NULL)
    row$ci_null_uncentred <- if (is.null(ci_raw)) NA else isTRUE(ci_raw$ci.null)
    if (!is.null(ci)) {
      r <- ci$random
      row <- c(row, list(tau2_ci_low = num(r["tau^2", "ci.lb"]),
                         tau2_ci_high = num(r["tau^2", "ci.ub"]),
                         i2_ci_low = num(r["I^2(%)", "ci.lb"]), i2_ci_high = num(r["I^2(%)", "ci.ub"]),
                         h2_ci_low = num(r["H^2", "ci.lb"]), h2_ci_high = num(r["H^2", "ci.ub"]),
                         ci_null = isTRUE(ci$ci.null)))
    } else {
      row <- c(row, list(tau2_ci_low = num(NA), tau2_ci_high = num(NA), i2_ci_low = num(NA),
                         i2_ci_high = num(NA), h2_ci_low = num(NA), h2_ci_high = num(NA),
                         ci_null = NA))
    }
    p <- predict(fit)
    pr <- suppressWarnings(predict(fit, pi.type = "riley"))
    row <- c(row, list(pi_low = num(p$pi.lb), pi_high = num(p$pi.ub),
                       pi_riley_low = num(pr$pi.lb), pi_riley_high = num(pr$pi.ub)))
    rows[[length(rows) + 1]] <- row
  }
}

out <- list(
  generator = "tests/reference/metafor/pool_reference.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  methods = methods,
  tests = tests,
  datasets = lapply(datasets, function(d) list(yi = fullvec(d$yi), vi = fullvec(d$vi))),
  results = rows
)
write_json(out, out_file, auto_unbox = TRUE, na = "null", pretty = TRUE, json_verbatim = TRUE)
cat("wrote", out_file, "with", length(rows), "rows\n")
