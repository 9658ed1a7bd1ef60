# Reference values for ldn_evidence.meta.bayes_pool from R's bayesmeta (Roever 2020, JSS 93(6)).
#
# Run from the project root:  Rscript tests/reference/bayesmeta/bayes_reference.R
# (about an hour; to use two cores run "... bayes_reference.R 1 2" and "... 2 2" side by side,
# then "... merge 2", which joins the parts into the one JSON file)
# Needs R packages bayesmeta (>= 3.4), metafor and jsonlite. Writes
#   tests/reference/bayesmeta/bayes_reference.json   (cases: yi, vi, prior, bayesmeta results)
# Data: crins = CrinsEtAl2014 (bayesmeta; Crins et al. 2014, Pediatr Transplant 18:839-850),
# log odds ratios of acute rejection; rubin = Rubin1981 (bayesmeta; Rubin 1981, J Educ Stat
# 6:377-401), the eight schools; bcg = metadat dat.bcg (log risk ratios); gibson = metadat
# dat.gibson2002 (SMDs). Each case stores the yi and vi it used.
#
# See "fits" below for how the references are computed from bayesmeta's posterior.

suppressPackageStartupMessages({
  library(bayesmeta)
  library(metafor)
  library(jsonlite)
})

outdir <- "tests/reference/bayesmeta"
datadir <- "tests/reference/data"

# ---- data -------------------------------------------------------------------------------
data("CrinsEtAl2014", package = "bayesmeta")
crins <- escalc(measure = "OR",
                ai = exp.AR.events, n1i = exp.total,
                ci = cont.AR.events, n2i = cont.total,
                slab = publication, data = CrinsEtAl2014)
crins <- data.frame(study = as.character(crins$publication),
                    yi = as.numeric(crins$yi), vi = as.numeric(crins$vi))

data("Rubin1981", package = "bayesmeta")
rubin <- data.frame(study = as.character(Rubin1981$school),
                    yi = Rubin1981$effect, vi = Rubin1981$stderr^2)

bcg <- read.csv(file.path(datadir, "dat.bcg.csv"))
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
bcg <- data.frame(study = paste(bcg$author, bcg$year),
                  yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi))

gib <- read.csv(file.path(datadir, "dat.gibson2002.csv"))
gib <- gib[!is.na(gib$m1i), ]
gib <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
              m2i = m2i, sd2i = sd2i, n2i = n2i, data = gib)
gib <- data.frame(study = paste(gib$author, gib$year),
                  yi = as.numeric(gib$yi), vi = as.numeric(gib$vi))

datasets <- list(crins = crins, rubin = rubin, bcg = bcg, gibson = gib)

# ---- priors -----------------------------------------------------------------------------
# Each prior: the Python spec (tau_prior, tau_scale) and the R density on tau.
hn <- function(s) list(py = list(tau_prior = "halfnormal", tau_scale = s), family = "hn",
                       r = function(t) dhalfnormal(t, scale = s))
hc <- function(s) list(py = list(tau_prior = "halfcauchy", tau_scale = s), family = "hc",
                       r = function(t) dhalfcauchy(t, scale = s))
un <- list(py = list(tau_prior = "uniform", tau_scale = NULL), r = "uniform", family = "un")
turner <- function(outcome_r, c1, c2, outcome_py, comp_py) {
  tp <- TurnerEtAlPrior(outcome_r, c1, c2)
  list(py = list(tau_prior = c("turner", outcome_py, comp_py), tau_scale = NULL), r = tp$dprior,
       family = "tn")
}
rhodes <- function(outcome_r, c1, c2, outcome_py, comp_py) {
  rp <- RhodesEtAlPrior(outcome_r, c1, c2)
  list(py = list(tau_prior = c("rhodes", outcome_py, comp_py), tau_scale = NULL), r = rp$dprior,
       family = "lt")
}
turner_any <- list(py = list(tau_prior = c("turner", "any"), tau_scale = NULL),
                   r = TurnerEtAlPrior(NA)$dprior, family = "tn")
rhodes_any <- list(py = list(tau_prior = c("rhodes", "any"), tau_scale = NULL),
                   r = RhodesEtAlPrior(NA)$dprior, family = "lt")

hn05 <- hn(0.5)
ts <- turner("surgical / device related success / failure", "pharmacological", "placebo / control",
             "surgical_device", "pharma_vs_placebo")
tsig <- turner("signs / symptoms reflecting continuation / end of condition",
               "pharmacological", "pharmacological", "signs_symptoms", "pharma_vs_pharma")
rg <- rhodes("general physical health and adverse event and pain and quality of life / functioning",
             "pharmacological", "placebo / control", "general_physical_health", "pharma_vs_placebo")
rm_ <- rhodes("mental health outcome", "non-pharmacological", "placebo / control",
              "mental_health", "nonpharma")

# (dataset, numbers of leading studies, priors[, prior on mu (mean, sd)])
plan <- list(  # (ordered so that odd and even items take about equally long)
  list("crins", c(2, 6), list(hn05, hc(0.5), ts, turner_any)),
  list("gibson", c(2, 5), list(hn05, hc(0.25), rg, rm_, rhodes_any)),
  list("crins", c(3, 6), list(un)),
  list("bcg", c(1, 4), list(hn(1.0), tsig)),
  list("crins", 2, list(hn05, un), c(0, 4)),
  list("bcg", 13, list(hn(1.0))),
  list("crins", 1, list(hn05, ts)),
  list("gibson", 5, list(un)),
  list("rubin", c(3, 8), list(hn(25), un)),
  list("gibson", 1, list(rg)),
  list("crins", 3, list(hc(0.5)), c(0, 4)),
  list("rubin", 2, list(hc(25)), c(0, 50)))

# ---- fits -------------------------------------------------------------------------------
# bayesmeta gives the marginal posterior of tau exactly (bm$dposterior, bm$pposterior,
# bm$qposterior: integrate() and uniroot() at rel.tol ~1.5e-11), and the conditional moments of
# mu (and of a new study's effect) given tau (bm$conditionalmoment). Its own summaries of mu
# come from the DIRECT mixture, whose error at the default delta = 0.01 is ~1e-4 and shrinks
# about in proportion to delta (1e-5 takes ~40 s per fit, 1e-7 ~6 minutes). The mu references
# are therefore computed here from bayesmeta's exact ingredients by one more integrate():
#   P(mu <= x) = int_0^Inf p(tau | y) Phi((x - E[mu | tau]) / sd[mu | tau]) dtau
# and uniroot() for its quantiles; bayesmeta's own DIRECT values (default delta) are stored
# alongside, for information.
RTOL <- 1e-10

fit <- function(y, s, prior, mu_prior) {
  mp <- if (is.null(mu_prior)) c("mean" = NA, "sd" = NA) else c("mean" = mu_prior[1], "sd" = mu_prior[2])
  # bayesmeta's integrate() at rel.tol ~1.5e-11 sometimes stops on heavy-tailed priors
  # ("extremely bad integrand behaviour"): retry at 1e-9
  for (tol in c(2^16 * .Machine$double.eps, 1e-9)) {
    bm <- tryCatch(bayesmeta(y = y, sigma = s, tau.prior = prior, mu.prior = mp,
                             interval.type = "central", rel.tol.integrate = tol,
                             tol.uniroot = tol),
                   error = function(e) NULL)
    if (!is.null(bm)) return(bm)
  }
  NULL
}

integrate_tau <- function(bm, f) {
  # int_0^Inf p(tau | y) f(tau) dtau, split at the posterior quartiles for robustness
  cuts <- c(0, bm$qposterior(tau.p = 0.5), Inf)
  total <- 0
  for (i in 1:(length(cuts) - 1))
    total <- total + integrate(function(t) bm$dposterior(tau = t) * f(t), cuts[i], cuts[i + 1],
                               rel.tol = RTOL, abs.tol = 0, subdivisions = 1000L)$value
  total
}

# conditional mean and sd of mu given tau, as 2 x length(t) (bayesmeta's cond.moment; with
# predict = TRUE those of a new study's effect)
condmoment <- function(bm, t, predict = FALSE) t(bm$cond.moment(tau = t, predict = predict))

cdf_mu <- function(bm, x, predict = FALSE) {
  integrate_tau(bm, function(t) {
    cm <- condmoment(bm, t, predict)
    pnorm(x, mean = cm[1, ], sd = cm[2, ])
  })
}

quantile_mu <- function(bm, p, predict = FALSE) {
  centre <- bm$summary["median", "mu"]
  width <- 10 * (bm$summary["95% upper", if (predict) "theta" else "mu"] - bm$summary["95% lower", if (predict) "theta" else "mu"]) + 1e-8
  uniroot(function(x) cdf_mu(bm, x, predict) - p, lower = centre - width, upper = centre + width,
          extendInt = "upX", tol = 1e-10 * (abs(centre) + width))$root
}

moment_mu <- function(bm) {
  m1 <- tryCatch(integrate_tau(bm, function(t) condmoment(bm, t)[1, ]), error = function(e) NA)
  m2 <- tryCatch(integrate_tau(bm, function(t) {
    cm <- condmoment(bm, t); cm[2, ]^2 + (cm[1, ] - m1)^2
  }), error = function(e) NA)
  c(m1, sqrt(m2))
}

summaries <- function(bm, mean_exists, sd_exists) {
  mom <- moment_mu(bm)
  list(
    tau_median = bm$qposterior(tau.p = 0.5),
    tau_upper95 = bm$qposterior(tau.p = 0.95),
    mu_median = quantile_mu(bm, 0.5),
    mu_ci_low = quantile_mu(bm, 0.025),
    mu_ci_high = quantile_mu(bm, 0.975),
    mu_mean = if (mean_exists) mom[1] else NULL,
    mu_sd = if (sd_exists) mom[2] else NULL,
    pred_low = quantile_mu(bm, 0.025, predict = TRUE),
    pred_high = quantile_mu(bm, 0.975, predict = TRUE),
    prob_mu_positive = 1 - cdf_mu(bm, 0),
    prob_mu_above_0.2 = 1 - cdf_mu(bm, 0.2),
    direct = list(
      mu_median = bm$qposterior(mu.p = 0.5),
      mu_ci_low = bm$summary["95% lower", "mu"],
      mu_ci_high = bm$summary["95% upper", "mu"],
      pred_low = bm$summary["95% lower", "theta"],
      pred_high = bm$summary["95% upper", "theta"],
      prob_mu_positive = 1 - bm$pposterior(mu = 0),
      n_support = nrow(bm$support)))
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) == 2 && args[1] == "merge") {
  parts <- lapply(seq_len(as.integer(args[2])), function(i)
    fromJSON(file.path(outdir, sprintf("part%d.json", i)), simplifyVector = FALSE))
  cases <- do.call(c, lapply(parts, function(p) p$cases))
  ids <- vapply(cases, function(x) x$id, "")
  cases <- cases[order(ids)]
  run_plan <- list()
} else if (length(args) == 2) {
  part <- as.integer(args[1]); nparts <- as.integer(args[2])
  run_plan <- plan[seq_along(plan) %% nparts == part %% nparts]
  cases <- list()
} else {
  run_plan <- plan
  cases <- list()
}

for (item in run_plan) {
  d <- datasets[[item[[1]]]]
  mp <- if (length(item) >= 4) item[[4]] else NULL
  for (k in item[[2]]) {
    y <- d$yi[1:k]
    s <- sqrt(d$vi[1:k])
    for (pr in item[[3]]) {
      # E|mu| and Var(mu) exist iff E tau and E tau^2 do (flat mu prior): tail power of the
      # tau posterior is (k - 1) + b (uniform b = 0, half-Cauchy 2, log-t 1 with log factor)
      b <- switch(pr$family, hn = Inf, tn = Inf, hc = 2, un = 0, lt = 1)
      a <- (k - 1) + b
      ex <- function(m) !is.null(mp) || is.infinite(b) || (if (pr$family == "lt") m <= a - 1 else m < a - 1)
      bm <- fit(y, s, pr$r, mp)
      res <- if (is.null(bm)) NULL else
        tryCatch(summaries(bm, ex(1), ex(2)), error = function(e) { print(e); NULL })
      if (is.null(res)) { cat("FAILED", item[[1]], k, "\n"); next }
      cases[[length(cases) + 1]] <- list(
        id = sprintf("%s_k%d_%s%s_%s", item[[1]], k,
                     paste(pr$py$tau_prior, collapse = ":"),
                     if (is.null(pr$py$tau_scale)) "" else sprintf("(%g)", pr$py$tau_scale),
                     if (is.null(mp)) "flat" else sprintf("normal(%g,%g)", mp[1], mp[2])),
        data = item[[1]], k = k, yi = y, vi = s^2,
        tau_prior = pr$py$tau_prior, tau_scale = pr$py$tau_scale,
        mu_prior = mp, bayesmeta = res)
      cat(cases[[length(cases)]]$id, "\n")
    }
  }
}

out <- list(
  generated_by = "tests/reference/bayesmeta/bayes_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  bayesmeta_version = as.character(packageVersion("bayesmeta")),
  metafor_version = as.character(packageVersion("metafor")),
  settings = list(rel.tol = RTOL, direct = "bayesmeta defaults (delta = 0.01, epsilon = 1e-4)",
                  interval.type = "central"),
  cases = cases)
target <- if (length(args) == 2 && args[1] != "merge") sprintf("part%s.json", args[1]) else "bayes_reference.json"
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           file.path(outdir, target))
