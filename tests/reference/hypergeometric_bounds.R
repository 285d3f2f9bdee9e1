# Reference bounds for stikprove.exact_bounds.hypergeometric_bounds (exact interval for the
# population count K given x events in a sample of n from N; alpha split equally).
# Run:  Rscript tests/reference/hypergeometric_bounds.R > tests/reference/hypergeometric_bounds_R.csv
# K_low  = smallest K with P(X >= x | K) > alpha/2,  K_high = largest K with P(X <= x | K) > alpha/2,
# K restricted to x <= K <= N - (n - x). Tolerance in the tests: exact integers.
bounds <- function(x, n, N, cl) {
  a <- (1 - cl) / 2
  K <- x:(N - (n - x))
  upper <- phyper(x - 1, K, N - K, n, lower.tail = FALSE)  # P(X >= x)
  lower <- phyper(x, K, N - K, n)                          # P(X <= x)
  c(min(K[upper > a]), max(K[lower > a]))
}
cases <- data.frame(x = c(0, 1, 5, 10, 3, 20, 50, 7, 12),
                    n = c(10, 10, 20, 40, 3, 60, 200, 7, 30),
                    N = c(50, 50, 100, 400, 3, 80, 1000, 20, 31),
                    confidence_level = c(0.95, 0.95, 0.95, 0.9, 0.95, 0.95, 0.99, 0.95, 0.95))
b <- t(mapply(bounds, cases$x, cases$n, cases$N, cases$confidence_level))
cases$k_low <- b[, 1]; cases$k_high <- b[, 2]
write.csv(cases, stdout(), row.names = FALSE)
