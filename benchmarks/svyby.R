# R survey's svyby + svyciprop (Korn-Graubard, method = "beta") on the benchmark sample.
# Called by bench_estimation.py:  Rscript svyby.R <data.csv> <out.csv> [repeats]
# Prints the seconds of the svyby call alone (system.time; the best of `repeats` runs,
# default 1) on its last line: elapsed, then CPU (user + system) of that run.
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
repeats <- if (length(args) >= 3) as.integer(args[3]) else 1L
d <- read.csv(args[1], colClasses = c(kommune_code = "character", age_band = "character"))
d <- d[!is.na(d$y), ]
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, data = d)
best <- c(Inf, Inf)
for (i in seq_len(repeats)) {
  tm <- system.time(
    res <- svyby(~y, ~kommune_code + age_band, des, svyciprop, method = "beta", vartype = "ci")
  )
  if (tm[["elapsed"]] < best[1]) best <- c(tm[["elapsed"]], tm[["user.self"]] + tm[["sys.self"]])
}
out <- data.frame(kommune_code = res$kommune_code, age_band = res$age_band,
                  estimate = res$y, ci_low = res$ci_l, ci_high = res$ci_u)
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("%.6f %.6f\n", best[1], best[2]))
