# Reference values for ldn_evidence.effects.escalc, computed with R's metafor::escalc.
#
# Regenerate (needs R with the metafor and jsonlite packages; the test run itself never needs R):
#
#     cd <project root>
#     Rscript tests/reference/metafor/escalc_reference.R
#
# It reads the datasets in tests/reference/data/ (metadat's columns, see the README there), runs
# escalc() once per case below, and writes tests/reference/metafor/escalc_reference.json with
# every input and every yi/vi at full double precision (17 significant digits), plus the R and
# metafor versions. Each case records the measure, the escalc options and the inputs exactly as
# passed, so tests/reference/metafor/escalc_reference_test.py can replay it in Python.
# Missing values (NA) are written as JSON null.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

data_dir <- file.path("tests", "reference", "data")
out_file <- file.path("tests", "reference", "metafor", "escalc_reference.json")
read_data <- function(name) read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)

normand <- read_data("dat.normand1999.csv")
bcg <- read_data("dat.bcg.csv")
niel <- read_data("dat.nielweise2007.csv")
hine <- read_data("dat.hine1989.csv")
egger <- read_data("dat.egger2001.csv")
yusuf <- read_data("dat.yusuf1985.csv")
morris_t <- read_data("morris2008_treatment.csv")
morris_c <- read_data("morris2008_control.csv")

# A hand-made 2x2 grid for the zero-cell rules: all events in both groups (bi = di = 0), no events
# in both groups (ai = ci = 0), one zero cell, no zero cell.
edge <- data.frame(ai = c(10, 0, 5, 3), n1i = c(10, 12, 20, 15),
                   ci = c(8, 0, 0, 4), n2i = c(8, 10, 18, 16))

continuous <- function(d) {
  list(m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i, m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i)
}
# normand1999 with a missing SD in row 2 and a missing n in row 5: those rows must be NA.
normand_na <- continuous(normand)
normand_na$sd1i[3] <- NA
normand_na$n2i[6] <- NA

table_bcg <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
sizes <- function(d) list(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
change <- function(d) {
  # metafor's convention: yi = m1i - m2i, SMCR standardizes by sd1i (the pre-test SD).
  list(m1i = d$m_post, m2i = d$m_pre, sd1i = d$sd_pre, sd2i = d$sd_post, ni = d$ni, ri = d$ri)
}

# Numbers are written with sprintf("%.17g") (exact round trip of a double); jsonlite alone stops
# at 15 significant digits. NA becomes null.
num17 <- function(x) {
  text <- ifelse(is.na(x), "null", sprintf("%.17g", as.numeric(x)))
  structure(paste0("[", paste(text, collapse = ", "), "]"), class = "json")
}

case <- function(id, measure, dataset, inputs, add = 1 / 2, to = "only0", drop00 = FALSE,
                 vtype = "LS") {
  args <- c(list(measure = measure, add = add, to = to, drop00 = drop00, vtype = vtype), inputs)
  res <- suppressWarnings(do.call(escalc, args))
  list(
    id = id, measure = measure, dataset = dataset,
    options = list(add = add, to = to, drop00 = drop00, vtype = vtype),
    inputs = lapply(inputs, num17), yi = num17(res$yi), vi = num17(res$vi)
  )
}

cases <- list(
  # continuous, two groups
  case("md_normand", "MD", "dat.normand1999", continuous(normand)),
  case("md_ho_normand", "MD", "dat.normand1999", continuous(normand), vtype = "HO"),
  case("smd_normand", "SMD", "dat.normand1999", continuous(normand)),
  case("smd_ub_normand", "SMD", "dat.normand1999", continuous(normand), vtype = "UB"),
  case("smd_ls2_normand", "SMD", "dat.normand1999", continuous(normand), vtype = "LS2"),
  case("smd_missing_normand", "SMD", "dat.normand1999 with two values set to NA", normand_na),
  case("smdh_normand", "SMDH", "dat.normand1999", continuous(normand)),
  case("rom_normand", "ROM", "dat.normand1999", continuous(normand)),
  case("rom_ho_normand", "ROM", "dat.normand1999", continuous(normand), vtype = "HO"),
  # binary, full tables
  case("or_bcg", "OR", "dat.bcg", table_bcg),
  case("rr_bcg", "RR", "dat.bcg", table_bcg),
  case("rd_bcg", "RD", "dat.bcg", table_bcg),
  case("rd_ub_bcg", "RD", "dat.bcg", table_bcg, vtype = "UB"),
  case("peto_bcg", "PETO", "dat.bcg", table_bcg),
  case("rd_hine", "RD", "dat.hine1989", sizes(hine)),
  case("or_egger", "OR", "dat.egger2001", sizes(egger)),
  # binary, zero cells: every `to` rule and drop00, for every binary measure
  case("or_niel_only0", "OR", "dat.nielweise2007", sizes(niel)),
  case("or_niel_all", "OR", "dat.nielweise2007", sizes(niel), to = "all"),
  case("or_niel_if0all", "OR", "dat.nielweise2007", sizes(niel), to = "if0all"),
  case("or_niel_none", "OR", "dat.nielweise2007", sizes(niel), to = "none"),
  case("or_niel_drop00", "OR", "dat.nielweise2007", sizes(niel), drop00 = TRUE),
  case("or_niel_add1_all", "OR", "dat.nielweise2007", sizes(niel), add = 1, to = "all"),
  case("rr_niel_only0", "RR", "dat.nielweise2007", sizes(niel)),
  case("rr_niel_none", "RR", "dat.nielweise2007", sizes(niel), to = "none"),
  case("rd_niel_only0", "RD", "dat.nielweise2007", sizes(niel)),
  case("rd_niel_none", "RD", "dat.nielweise2007", sizes(niel), to = "none"),
  case("rd_niel_drop00", "RD", "dat.nielweise2007", sizes(niel), drop00 = TRUE),
  case("peto_niel_only0", "PETO", "dat.nielweise2007", sizes(niel)),
  case("peto_niel_none", "PETO", "dat.nielweise2007", sizes(niel), to = "none"),
  case("or_yusuf_missing_only0", "OR", "dat.yusuf1985 (with NA rows)", sizes(yusuf)),
  case("or_yusuf_drop00_if0all", "OR", "dat.yusuf1985 (with NA rows)", sizes(yusuf),
       to = "if0all", drop00 = TRUE),
  case("rr_edge_only0", "RR", "hand-made zero-cell grid", sizes(edge)),
  case("or_edge_drop00", "OR", "hand-made zero-cell grid", sizes(edge), drop00 = TRUE),
  case("or_edge_drop00_if0all", "OR", "hand-made zero-cell grid", sizes(edge), to = "if0all",
       drop00 = TRUE),
  case("rd_edge_all", "RD", "hand-made zero-cell grid", sizes(edge), to = "all"),
  case("peto_edge_if0all", "PETO", "hand-made zero-cell grid", sizes(edge), to = "if0all"),
  case("rr_edge_none", "RR", "hand-made zero-cell grid", sizes(edge), to = "none"),
  # one group, two occasions (Morris 2008)
  case("mc_morris_treatment", "MC", "morris2008_treatment", change(morris_t)),
  case("smcc_morris_treatment", "SMCC", "morris2008_treatment", change(morris_t)),
  case("smcc_ls2_morris_control", "SMCC", "morris2008_control", change(morris_c), vtype = "LS2"),
  case("smcr_morris_treatment", "SMCR", "morris2008_treatment", change(morris_t)),
  case("smcr_morris_control", "SMCR", "morris2008_control", change(morris_c)),
  case("smcr_ls2_morris_treatment", "SMCR", "morris2008_treatment", change(morris_t),
       vtype = "LS2")
)

out <- list(
  generated_by = "tests/reference/metafor/escalc_reference.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  cases = cases
)
write_json(out, out_file, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE)
cat("wrote", length(cases), "cases to", out_file, "\n")
