# metafor's results at its DEFAULT settings, as a user running rma() sees them printed.
#
# Regenerate (needs R with metafor and jsonlite), from the project root:
#
#     Rscript tests/reference/metafor/pool_defaults_reference.R
#
# pool_reference.R compares against metafor's converged values (tight iteration control);
# this file records what metafor prints with its defaults (threshold = 1e-5 for ML/REML/EB,
# uniroot tol = .Machine$double.eps^0.25 for PM and the Q-profile bounds), so that
# tests/reference/test_pool_metafor_defaults.py can check agreement to the printed digit.
# The extreme-weight datasets (planck, newton) are left out: metafor's default absolute
# threshold is meaningless there (see pool_reference.R). Written with 17 significant digits.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/metafor"
data_dir <- normalizePath(file.path(here, "..", "data"))
out_file <- file.path(here, "pool_defaults_reference.json")
rd <- function(name) read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
source(file.path(here, "pool_datasets.R"))
datasets <- datasets[!names(datasets) %in% c("planck_2017", "planck_all", "newton_G")]

num <- function(x) if (is.null(x) || length(x) == 0 || is.na(x[1])) NA_real_ else as.numeric(x[1])

rows <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  for (m in c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")) {
    for (tt in c("z", "knha")) {
      fit <- tryCatch(suppressWarnings(rma(d$yi, d$vi, method = m, test = tt)),
                      error = function(e) NULL)
      if (is.null(fit)) next
      row <- list(dataset = dname, method = m, test = tt, k = fit$k,
                  estimate = num(fit$beta), se = num(fit$se), stat = num(fit$zval),
                  pval = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
                  tau2 = num(fit$tau2), i2 = num(fit$I2), h2 = num(fit$H2), q = num(fit$QE),
                  q_pval = num(fit$QEp))
      if (fit$k > 1) {
        pr <- predict(fit)
        row$pi_low <- num(pr$pi.lb)
        row$pi_high <- num(pr$pi.ub)
      }
      if (fit$k > 2 && m != "EE") {
        ci <- tryCatch(suppressWarnings(confint(fit)), error = function(e) NULL)
        if (!is.null(ci)) {
          r <- ci$random
          row$tau2_ci_low <- num(r["tau^2", "ci.lb"])
          row$tau2_ci_high <- num(r["tau^2", "ci.ub"])
          row$i2_ci_low <- num(r["I^2(%)", "ci.lb"])
          row$i2_ci_high <- num(r["I^2(%)", "ci.ub"])
          # confint() caps its search at tau2.max = max(100, 10 tau2) and then prints ">"
          row$tau2_ci_high_capped <- isTRUE(r["tau^2", "ci.ub"] >= max(100, 10 * fit$tau2) - 1e-8)
        }
      }
      rows[[length(rows) + 1]] <- row
    }
  }
}

out <- list(generator = "tests/reference/metafor/pool_defaults_reference.R",
            r_version = R.version.string,
            metafor_version = as.character(packageVersion("metafor")),
            results = rows)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = TRUE), out_file)
