# Reference values for stikprove.release.disclosure.nchs_presentation: the NCHS Data
# Presentation Standards for Proportions as CDC's R package surveytable (0.10.0, by the NCHS
# authors) applies them with set_opts(mode = "nchs"): Korn-Graubard with the design effect
# floored at 1 (svyciprop_adjusted(adj = "nchs"), R/svyciprop_adjusted.R), the edge rules of
# tab() (R/tab.R) and the verdict of .lpe_percents (R/z_lpe.R).
#
# Run from the repository root, with surveytable installed or its source unpacked:
#   Rscript tests/reference/nchs_surveytable.R [path/to/surveytable/R]
# With a path, the package's own R files are sourced from it (the CRAN tarball's R/
# directory; surveytable imports huxtable only for printing, which this script does not use).
# Writes tests/reference/nchs_surveytable_data.csv (the sample: one row per case with an
# outcome) and tests/reference/nchs_surveytable_R.csv (one row per domain and level).
# R 4.2.2, survey 4.1.1, surveytable 0.10.0. No random numbers: rerunning gives the same files.
# Tolerance in tests/test_disclosure.py: 1e-9 relative on n_eff and the limits; flags exact.
suppressMessages({
  library(survey); library(assertthat); library(magrittr); library(glue)
})
options(digits = 15, survey.lonely.psu = "certainty")
args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 1) {
  st <- new.env()
  for (f in list.files(args[1], pattern = "[.]R$", full.names = TRUE)) sys.source(f, envir = st)
  st$.onLoad(NULL, NULL)
  svyciprop_adjusted <- st$svyciprop_adjusted
  lpe_percents <- st$.lpe_percents
  set_survey <- st$set_survey; set_opts <- st$set_opts; tab <- st$tab
} else {
  library(surveytable)
  svyciprop_adjusted <- surveytable::svyciprop_adjusted
  lpe_percents <- surveytable:::.lpe_percents
  set_survey <- surveytable::set_survey; set_opts <- surveytable::set_opts
  tab <- surveytable::tab
}
here <- "tests/reference"

# The domains of tests/fixtures/r/domains_data.csv (missing outcomes dropped before the design
# is built, as stikprove does), plus strata built for the rules' edges.
base <- read.csv("tests/fixtures/r/domains_data.csv", stringsAsFactors = FALSE)
base <- base[!is.na(base$y), ]
rows <- list(data.frame(stratum = base$stratum, N = base$N, y = base$y,
                        domain = paste0("dom:", base$dom)),
             data.frame(stratum = base$stratum, N = base$N, y = base$y,
                        domain = paste0("sdom:", base$sdom)))
edge <- function(stratum, N, events, n, domain) {
  data.frame(stratum = stratum, N = N, y = c(rep(1, events), rep(0, n - events)),
             domain = domain)
}
rows <- c(rows, list(
  # issue 17: N = 60, n = 40, 6 events; judged on n_eff = 40 (floored), not 117
  edge("e_issue", 60, 6, 40, "issue"),
  # three strata with large sampling fractions: p(1-p)/v far above n, df = n - 3 < n - 1;
  # surveytable caps after the df factor: n_eff = n (SAS's order would give n·(t/t)²)
  edge("e_cap1", 12, 3, 11, "cap"), edge("e_cap2", 12, 5, 11, "cap"),
  edge("e_cap3", 12, 6, 11, "cap"),
  # no events, all events (n_eff = n, width 0: presented with P0 when n >= 30)
  edge("e_zero", 200, 0, 35, "zero"), edge("e_one", 100, 31, 31, "one"),
  edge("e_zero_small", 90, 0, 12, "zero_small"),
  # census strata: no sampling error, [p, p]
  edge("e_census", 45, 9, 45, "census"), edge("e_census_small", 12, 3, 12, "census_small"),
  # a large domain with a narrow interval (presented), and one with a wide interval
  edge("e_big", 5000, 400, 900, "big"), edge("e_wide", 400, 20, 45, "wide"),
  # 9 strata of 4 cases: df = 27 with n = 36, a high rate (complement flag)
  do.call(rbind, lapply(1:9, function(i)
    edge(paste0("e_few", i), 5, if (i <= 3) 4 else 3, 4, "few"))),
  # df < 8 with n >= 30: 27 strata, 3 of them with 3 cases each, 24 one-case strata
  # (lonely, contributing 0 as with survey.lonely.psu = "certainty")
  do.call(rbind, lapply(1:27, function(i)
    if (i <= 3) edge(paste0("e_df", i), 6, 2, 3, "df_small")
    else edge(paste0("e_df", i), 2, 1, 1, "df_small")))
))
edges <- do.call(rbind, rows[-(1:2)])
d <- do.call(rbind, rows)
write.csv(rbind(data.frame(stratum = base$stratum, N = base$N, y = base$y, dom = base$dom,
                           sdom = base$sdom),
                data.frame(stratum = edges$stratum, N = edges$N, y = edges$y,
                           dom = edges$domain, sdom = edges$domain)),
          file.path(here, "nchs_surveytable_data.csv"), row.names = FALSE)

# One design per domain family: the base strata (domains dom:* and sdom:* cut them) and each
# edge stratum on its own rows.
nchs <- function(design, level) {
  design$variables$.tmp <- design$variables$y == 1
  xp <- svyciprop_adjusted(~.tmp, design, level = level, adj = "nchs")
  # the glue of tab() (R/tab.R) around svyciprop_adjusted, verbatim in effect
  ret1 <- data.frame(Proportion = as.numeric(xp), SE = sqrt(as.numeric(attr(xp, "var"))))
  ret1$`n effective` <- if (is.null(n_eff <- attr(xp, "n.eff"))) NA else n_eff
  ci <- data.frame(t(attr(xp, "ci")))
  names(ci) <- c("LL", "UL")
  if (is.na(ci$LL)) ci$LL <- 0
  if (is.na(ci$UL)) ci$UL <- 1
  if (ret1$SE == 0) ci$LL <- ci$UL <- ret1$Proportion
  ret1 <- cbind(ret1, ci)
  ret1$`n numerator` <- sum(design$variables$.tmp)
  ret1$`n denominator` <- length(design$variables$.tmp)
  ret1$degf <- degf(design)
  flags <- lpe_percents(ret1)$flags
  # the effective n .lpe_percents judges (its own edge rules on the attribute)
  ne <- ret1$`n effective`
  if (is.na(ne)) ne <- ret1$Proportion * (1 - ret1$Proportion) / ret1$SE^2
  if (ret1$`n numerator` %in% c(0, ret1$`n denominator`)) ne <- ret1$`n denominator`
  ne <- min(ne, ret1$`n denominator`)
  data.frame(estimate = ret1$Proportion, se = ret1$SE, n = ret1$`n denominator`,
             df = ret1$degf, n_eff = ne, ll = ret1$LL, ul = ret1$UL,
             flags = trimws(flags))
}
full <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N,
                  data = base[, c("stratum", "N", "y", "dom", "sdom")])
out <- list()
for (level in c(0.95, 0.90)) {
  for (dom in sort(unique(d$domain))) {
    if (startsWith(dom, "dom:") || startsWith(dom, "sdom:")) {
      col <- if (startsWith(dom, "dom:")) "dom" else "sdom"
      value <- sub("^s?dom:", "", dom)
      sub_design <- full[full$variables[[col]] == value, ]
    } else {
      part <- d[d$domain == dom, ]
      sub_design <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, data = part)
    }
    if (level != 0.95 && !(dom %in% c("issue", "cap", "few", "df_small", "dom:a", "sdom:s5:mand")))
      next
    r <- suppressWarnings(nchs(sub_design, level))
    out[[length(out) + 1]] <- cbind(domain = dom, confidence_level = level, r)
  }
}
res <- do.call(rbind, out)

# The glue above is tab()'s: check it against tab() itself wherever tab() can tabulate the
# domain (both outcomes present; tab() runs at level 0.95).
inside <- res$estimate > 1e-9 & res$estimate < 1 - 1e-9
for (i in which(res$confidence_level == 0.95 & inside)) {
  dom <- res$domain[i]
  if (startsWith(dom, "dom:") || startsWith(dom, "sdom:")) {
    col <- if (startsWith(dom, "dom:")) "dom" else "sdom"
    sub_design <- full[full$variables[[col]] == sub("^s?dom:", "", dom), ]
  } else {
    sub_design <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, data = d[d$domain == dom, ])
  }
  sub_design$variables$outcome <- factor(ifelse(sub_design$variables$y == 1, "yes", "no"))
  invisible(capture.output(suppressMessages(suppressWarnings({
    set_survey(sub_design)
    set_opts(mode = "nchs", raw = TRUE, output = "screen")
    t1 <- as.data.frame(tab("outcome"))
  }))))
  yes <- t1[t1$Level == "yes", ]
  stopifnot(abs(yes[["Percent"]] / 100 - res$estimate[i]) < 1e-12,
            abs(yes[[9]] / 100 - res$ll[i]) < 1e-12, abs(yes[[10]] / 100 - res$ul[i]) < 1e-12)
  tab_flags <- if ("Flags" %in% names(yes)) yes$Flags else ""
  tab_flags <- paste(intersect(strsplit(tab_flags, " +")[[1]], c("Px", "Pc", "Pdf", "P0")),
                     collapse = " ")
  stopifnot(identical(tab_flags, gsub(" +", " ", res$flags[i])))
}
write.csv(res, file.path(here, "nchs_surveytable_R.csv"), row.names = FALSE)
