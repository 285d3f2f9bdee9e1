# Reference Neyman allocations for tests/test_design.py (stikprove.design.allocate, "neyman").
# Run:  Rscript tests/reference/neyman_allocation.R > tests/reference/neyman_allocation_R.csv
# Base R only (neither `sampling` nor `survey` has an allocation function; PracTools' strAlloc
# is not packaged for Debian), written from the textbook definition:
#
#   n_h = n N_h S_h / sum(N_h S_h),  S_h = sqrt(N_h / (N_h - 1) p_h (1 - p_h))   (Cochran 5.9)
#
# with bounds min(minimum, N_h) <= n_h <= N_h: a stratum whose share falls outside its bounds
# is fixed at the bound and the rest of n is shared again among the others, until none moves
# (Cochran 5.10 for the census cap). The continuous shares x_h are then rounded by largest
# remainder (floor, then +1 to the largest remainders, ties to the earlier stratum, within the
# bounds). Tolerance in the tests: x_h to 1e-9, n_h exact.

neyman <- function(N, p, total, minimum) {
  S <- sqrt(ifelse(N > 1, N / (N - 1), 1) * p * (1 - p))
  w <- N * S
  lower <- pmin(minimum, N); upper <- N
  fixed <- rep(NA_real_, length(N))
  repeat {
    free <- is.na(fixed)
    rest <- total - sum(fixed[!free])
    x <- fixed
    x[free] <- if (sum(w[free]) > 0) rest * w[free] / sum(w[free]) else rest / sum(free)
    over <- free & x > upper
    under <- free & x < lower
    if (!any(over | under)) break
    # fix the worst side first: caps when the free strata overshoot, else minimums
    if (any(over)) fixed[over] <- upper[over] else fixed[under] <- lower[under]
  }
  x
}

largest_remainder <- function(x, lower, upper, total) {
  n <- pmin(pmax(floor(x + 1e-9), lower), upper)
  rem <- round(x - n, 9)
  while (sum(n) < total) {
    can <- which(n < upper)
    i <- can[order(-rem[can], can)][1]
    n[i] <- n[i] + 1; rem[i] <- -Inf
  }
  n
}

cases <- list(
  list(N = c(1000, 1000), p = c(0.5, 0.1), total = 100, minimum = 0),
  list(N = c(846, 620, 1210, 400, 324), p = c(0.1, 0.2, 0.35, 0.25, 0.15), total = 200, minimum = 5),
  list(N = c(12, 3000, 2500, 40), p = c(0.5, 0.5, 0.2, 0.4), total = 300, minimum = 0),
  list(N = c(500, 300, 200, 7, 1), p = c(0, 0.3, 1, 0.5, 0.5), total = 60, minimum = 4),
  list(N = c(50, 50, 50), p = c(0.3, 0.3, 0.3), total = 100, minimum = 0),
  list(N = c(40, 4000, 3), p = c(0.5, 0.01, 0.02), total = 1000, minimum = 3)
)
rows <- list()
for (k in seq_along(cases)) {
  cs <- cases[[k]]
  x <- neyman(cs$N, cs$p, cs$total, cs$minimum)
  n <- largest_remainder(x, pmin(cs$minimum, cs$N), cs$N, cs$total)
  rows[[k]] <- data.frame(case = k, stratum = seq_along(cs$N), population_size = cs$N,
                          anticipated = cs$p, total = cs$total, minimum = cs$minimum,
                          share = sprintf("%.12f", x), sample_size = n)
}
write.csv(do.call(rbind, rows), stdout(), row.names = FALSE, quote = FALSE)
