# Reference values for the analyses around the main estimate (ldn_evidence.meta.influence,
# .subgroups, .metareg, .bias, .mantel_haenszel), computed with R's metafor.
#
# Regenerate (needs R with metafor and jsonlite; the regular test run never needs R):
#
#     cd tests/reference/metafor && Rscript extras_reference.R
#
# Reads  ../data/dat.*.csv          (metadat datasets as CSV; see ../data/README.md)
# Writes extras_reference.json      (every number with 17 significant digits, R and metafor
#                                    versions recorded under "meta")
#
# Iterative tau^2 estimators are run with control = list(threshold = 1e-10, tol = 1e-12,
# maxiter = 1000) instead of metafor's default threshold of 1e-5, so that the references sit
# at the optimum rather than within 1e-5 of it; the comparison tolerances in
# tests/tolerances.py are therefore conservative for them.
#
# The grid of cases is enumerated in tests/reference/test_extras_metafor.py, which fails if a
# case listed there is missing here (and vice versa).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

data_dir <- file.path("..", "data")
out_file <- "extras_reference.json"
ctl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)

read_dat <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")))

# ---------------------------------------------------------------------------------------------
# JSON with full double precision: numbers are written with "%.17g" and spliced in verbatim.
# ---------------------------------------------------------------------------------------------
num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"),
                                       sprintf("%.17g", x)))
  structure(s, class = "json")
}
numv <- function(x) structure(paste0("[", paste(unclass(num(x)), collapse = ","), "]"),
                              class = "json")
prep <- function(x) {
  if (is.list(x)) return(lapply(x, prep))
  if (is.numeric(x) && !is.null(attr(x, "vector"))) return(numv(x))
  if (is.numeric(x) && length(x) == 1) return(num(x))
  if (is.numeric(x)) return(numv(x))
  if (is.logical(x) && length(x) == 1 && is.na(x)) return(structure("null", class = "json"))
  x
}
vec <- function(x) { x <- as.numeric(x); attr(x, "vector") <- TRUE; x }

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = read_dat("dat.bcg"))
hack <- read_dat("dat.hackshaw1998")
egger_counts <- read_dat("dat.egger2001")
egger <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = egger_counts)
yi_vi <- list(
  bcg = list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), labels = bcg$author),
  hackshaw1998 = list(yi = hack$yi, vi = hack$vi, labels = hack$author),
  egger2001 = list(yi = as.numeric(egger$yi), vi = as.numeric(egger$vi), labels = egger$study)
)

fit <- function(d, method, test, ...) rma(d$yi, d$vi, method = method, test = test,
                                          control = ctl, ...)

# ---------------------------------------------------------------------------------------------
# leave1out
# ---------------------------------------------------------------------------------------------
loo_cases <- list(
  list("bcg", "REML", "knha"), list("bcg", "DL", "z"), list("bcg", "EE", "z"),
  list("egger2001", "REML", "knha"), list("hackshaw1998", "REML", "knha"),
  list("hackshaw1998", "PM", "z")
)
leave1out_out <- lapply(loo_cases, function(cs) {
  d <- yi_vi[[cs[[1]]]]
  l <- leave1out(fit(d, cs[[2]], cs[[3]]))
  list(dataset = cs[[1]], method = cs[[2]], test = cs[[3]], labels = as.character(d$labels),
       estimate = vec(l$estimate), se = vec(l$se), stat = vec(if (is.null(l$zval)) l$tval else l$zval), pval = vec(l$pval),
       ci_low = vec(l$ci.lb), ci_high = vec(l$ci.ub), q = vec(l$Q), q_pval = vec(l$Qp),
       tau2 = vec(l$tau2), i2 = vec(l$I2), h2 = vec(l$H2))
})

# ---------------------------------------------------------------------------------------------
# Subgroups: separate tau^2 per subgroup + Q-between on the subgroup estimates, and the
# pooled-tau^2 variant (meta-regression on the factor, QM).
# ---------------------------------------------------------------------------------------------
bcg_era <- ifelse(bcg$year < 1950, "early", ifelse(bcg$year < 1970, "middle", "late"))
sub_cases <- list(
  list("bcg", "alloc", bcg$alloc, "REML", "knha"),
  list("bcg", "alloc", bcg$alloc, "DL", "z"),
  list("bcg", "alloc", bcg$alloc, "REML", "z"),
  list("bcg", "era", bcg_era, "REML", "knha")
)
subgroups_out <- lapply(sub_cases, function(cs) {
  d <- yi_vi[[cs[[1]]]]
  g <- cs[[3]]
  levels <- sort(unique(g))
  per <- lapply(levels, function(lv) {
    r <- rma(d$yi[g == lv], d$vi[g == lv], method = cs[[4]], test = cs[[5]], control = ctl)
    list(k = r$k, estimate = c(r$beta), se = r$se, stat = r$zval, pval = r$pval,
         ci_low = r$ci.lb, ci_high = r$ci.ub, tau2 = r$tau2, i2 = r$I2, q = r$QE,
         q_pval = r$QEp)
  })
  names(per) <- levels
  est <- sapply(per, function(p) p$estimate)
  se <- sapply(per, function(p) p$se)
  between <- rma(est, sei = se, method = "FE")
  pooled <- rma(d$yi, d$vi, mods = ~ factor(g), method = cs[[4]], test = cs[[5]],
                control = ctl)
  list(dataset = cs[[1]], grouping = cs[[2]], groups = as.character(g), method = cs[[4]],
       test = cs[[5]], subgroups = per,
       between = list(q = between$QE, df = between$k - 1, pval = between$QEp),
       pooled_tau2 = list(qm = pooled$QM, qm_df = vec(pooled$QMdf[!is.na(pooled$QMdf)]),
                          qm_pval = pooled$QMp, tau2 = pooled$tau2, qe = pooled$QE,
                          qe_pval = pooled$QEp))
})

# ---------------------------------------------------------------------------------------------
# Meta-regression
# ---------------------------------------------------------------------------------------------
mr_cases <- list(
  list("bcg", c("ablat"), "REML", "knha"), list("bcg", c("ablat"), "REML", "z"),
  list("bcg", c("ablat"), "ML", "z"), list("bcg", c("ablat"), "DL", "knha"),
  list("bcg", c("ablat"), "HE", "z"), list("bcg", c("ablat"), "FE", "z"),
  list("bcg", c("ablat", "year"), "REML", "knha"), list("bcg", c("ablat", "year"), "ML", "knha")
)
metareg_out <- lapply(mr_cases, function(cs) {
  mods <- as.matrix(as.data.frame(bcg)[, cs[[2]], drop = FALSE])
  r <- rma(bcg$yi, bcg$vi, mods = mods, method = cs[[3]], test = cs[[4]], control = ctl)
  list(dataset = cs[[1]], moderators = cs[[2]], method = cs[[3]], test = cs[[4]],
       names = c("intercept", cs[[2]]), coef = vec(r$beta), se = vec(r$se),
       stat = vec(r$zval), pval = vec(r$pval), ci_low = vec(r$ci.lb), ci_high = vec(r$ci.ub),
       tau2 = r$tau2, tau2_se = r$se.tau2, i2 = r$I2, h2 = r$H2,
       r2 = if (is.null(r$R2)) NA else r$R2, qm = r$QM, qm_df = vec(r$QMdf[!is.na(r$QMdf)]),
       qm_pval = r$QMp, qe = r$QE, qe_df = r$k - r$p, qe_pval = r$QEp)
})

# ---------------------------------------------------------------------------------------------
# regtest (Egger): model = "rma" (the test of the fitted model) and model = "lm" (classical)
# ---------------------------------------------------------------------------------------------
rt_cases <- list(
  list("bcg", "rma", "REML", "knha"), list("bcg", "rma", "REML", "z"), list("bcg", "lm", NA, NA),
  list("hackshaw1998", "rma", "REML", "knha"), list("hackshaw1998", "rma", "DL", "z"),
  list("hackshaw1998", "lm", NA, NA),
  list("egger2001", "rma", "REML", "knha"), list("egger2001", "rma", "EE", "z"),
  list("egger2001", "lm", NA, NA)
)
regtest_out <- lapply(rt_cases, function(cs) {
  d <- yi_vi[[cs[[1]]]]
  if (cs[[2]] == "rma") {
    t <- regtest(fit(d, cs[[3]], cs[[4]]), model = "rma", predictor = "sei")
  } else {
    t <- regtest(d$yi, d$vi, model = "lm", predictor = "sei")
  }
  list(dataset = cs[[1]], model = cs[[2]], method = cs[[3]], test = cs[[4]],
       predictor = "sei", stat = t$zval, pval = t$pval, df = t$dfs, limit = t$est,
       limit_ci_low = t$ci.lb, limit_ci_high = t$ci.ub)
})

# ---------------------------------------------------------------------------------------------
# trimfill
# ---------------------------------------------------------------------------------------------
tf_cases <- list(
  list("hackshaw1998", "EE", "z", "L0"), list("hackshaw1998", "REML", "knha", "L0"),
  list("hackshaw1998", "REML", "z", "R0"), list("hackshaw1998", "DL", "z", "L0"),
  list("egger2001", "REML", "knha", "L0"), list("egger2001", "EE", "z", "R0"),
  list("egger2001", "DL", "z", "L0"),
  list("bcg", "REML", "knha", "L0"), list("bcg", "REML", "z", "R0")
)
trimfill_out <- lapply(tf_cases, function(cs) {
  d <- yi_vi[[cs[[1]]]]
  r <- fit(d, cs[[2]], cs[[3]])
  # trimfill() passes '...' to every rma.uni() call it makes: the test of the filled model and
  # the convergence control are handed through explicitly (metafor 3.8 does not copy them).
  tf <- trimfill(r, estimator = cs[[4]], test = cs[[3]], control = ctl)
  filled <- if (tf$k0 > 0) tf$fill else rep(FALSE, length(d$yi))
  list(dataset = cs[[1]], method = cs[[2]], test = cs[[3]], estimator = cs[[4]],
       k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side, p_k0 = tf$p.k0,
       k = tf$k, estimate = c(tf$beta), se = tf$se, stat = tf$zval, pval = tf$pval,
       ci_low = tf$ci.lb, ci_high = tf$ci.ub, tau2 = tf$tau2,
       filled_yi = vec(tf$yi[filled]), filled_vi = vec(tf$vi[filled]))
})

# ---------------------------------------------------------------------------------------------
# Mantel-Haenszel (rma.mh defaults: add = c(1/2, 0), to = c("only0", "none"),
# drop00 = c(TRUE, FALSE))
# ---------------------------------------------------------------------------------------------
collins <- read_dat("dat.collins1985b")
niel <- read_dat("dat.nielweise2007")
yusuf <- read_dat("dat.yusuf1985")
yusuf9 <- yusuf[!is.na(yusuf$ai) & yusuf$table == "9", ]
tables <- list(
  egger2001 = with(egger_counts, list(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  collins1985b = with(collins, list(ai = pre.xti, bi = pre.nti - pre.xti, ci = pre.xci,
                                    di = pre.nci - pre.xci)),
  nielweise2007 = with(niel, list(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  yusuf1985_t9 = with(yusuf9, list(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci))
)
mh_cases <- list()
for (ds in names(tables)) for (ms in c("OR", "RR", "RD")) {
  mh_cases[[length(mh_cases) + 1]] <- list(ds, ms, TRUE)
}
mh_cases[[length(mh_cases) + 1]] <- list("collins1985b", "OR", FALSE)
mh_cases[[length(mh_cases) + 1]] <- list("nielweise2007", "OR", FALSE)
rma_mh_out <- lapply(mh_cases, function(cs) {
  tb <- tables[[cs[[1]]]]
  r <- rma.mh(ai = tb$ai, bi = tb$bi, ci = tb$ci, di = tb$di, measure = cs[[2]],
              correct = cs[[3]])
  list(dataset = cs[[1]], measure = cs[[2]], correct = cs[[3]],
       ai = vec(tb$ai), bi = vec(tb$bi), ci = vec(tb$ci), di = vec(tb$di),
       estimate = c(r$beta), se = r$se, stat = r$zval, pval = r$pval, ci_low = r$ci.lb,
       ci_high = r$ci.ub, k = r$k, k_yi = r$k.yi, q = r$QE, q_pval = r$QEp, i2 = r$I2,
       h2 = r$H2, cochran = r$CO, cochran_pval = r$COp, cmh = r$MH, cmh_pval = r$MHp,
       breslow_day = r$BD, breslow_day_pval = r$BDp, tarone = r$TA, tarone_pval = r$TAp,
       k_pos = r$k.pos)
})

out <- list(
  meta = list(
    generated_by = "tests/reference/metafor/extras_reference.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    control = ctl,
    note = paste("Effect sizes: bcg log RR, egger2001 log OR (escalc defaults);",
                 "hackshaw1998 yi/vi as stored.")
  ),
  leave1out = leave1out_out,
  subgroups = subgroups_out,
  metareg = metareg_out,
  regtest = regtest_out,
  trimfill = trimfill_out,
  rma_mh = rma_mh_out
)
writeLines(toJSON(prep(out), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE,
                  null = "null", na = "null", digits = NA), out_file)
cat("wrote", out_file, "\n")
