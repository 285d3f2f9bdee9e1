# R survey's svyby + svyciprop (Korn-Graubard, method = "beta") on the benchmark sample.
# Called by bench_estimation.py:  Rscript svyby.R <data.csv> <out.csv>
# Prints the elapsed seconds of the svyby call alone (system.time) on its last line.
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(kommune_code = "character", age_band = "character"))
d <- d[!is.na(d$y), ]
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, data = d)
tm <- system.time(
  res <- svyby(~y, ~kommune_code + age_band, des, svyciprop, method = "beta", vartype = "ci")
)
out <- data.frame(kommune_code = res$kommune_code, age_band = res$age_band,
                  estimate = res$y, ci_low = res$ci_l, ci_high = res$ci_u)
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("%.6f\n", tm[["elapsed"]]))
