# The datasets pooled by pool_reference.R and pool_defaults_reference.R (sourced by both;
# expects data_dir and rd() to be defined). Each is a list(yi, vi).

datasets <- list()
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = rd("dat.bcg.csv"))
datasets$bcg_logrr <- list(yi = c(bcg$yi), vi = c(bcg$vi))
nm <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
             n2i = n2i, data = rd("dat.normand1999.csv"))
datasets$normand1999_md <- list(yi = c(nm$yi), vi = c(nm$vi))
for (nme in c("dat.hackshaw1998", "dat.raudenbush1985", "dat.konstantopoulos2011",
              "viechtbauer2005_ex1", "viechtbauer2005_ex2", "jackson2014_ex1", "jackson2014_ex2")) {
  d <- rd(paste0(nme, ".csv"))
  datasets[[sub("^dat\\.", "", nme)]] <- list(yi = d$yi, vi = d$vi)
}
cl <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
             data = rd("dersimonian2007_clasp.csv"))
datasets$dersimonian2007_clasp_logor <- list(yi = c(cl$yi), vi = c(cl$vi))
pl <- rd("planck_2017.csv")
datasets$planck_2017 <- list(yi = pl$h, vi = pl$uh^2)
pa <- rd("planck_all.csv")
datasets$planck_all <- list(yi = pa$h, vi = pa$uh^2)
ng <- rd("newton_G.csv")
datasets$newton_G <- list(yi = ng$G, vi = ng$uG^2)
# small and boundary cases
datasets$k1 <- list(yi = bcg$yi[1], vi = bcg$vi[1])
datasets$k2 <- list(yi = c(bcg$yi[1:2]), vi = c(bcg$vi[1:2]))
datasets$tau2_zero <- list(yi = c(0.10, 0.12, 0.09, 0.11, 0.14),
                           vi = c(0.010, 0.020, 0.015, 0.012, 0.030))
datasets$equal_vi <- list(yi = rd("viechtbauer2005_ex1.csv")$yi, vi = rep(0.05, 10))
