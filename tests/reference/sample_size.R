# Reference values for tests/test_design.py (stikprove.design.sample_size / expected_half_width).
# Run:  Rscript tests/reference/sample_size.R > tests/reference/sample_size_R.csv
# Base R only (PracTools is not needed: nPropMoe's formula with moe.sw = 1 is written out).
#
# wald:    PracTools::nPropMoe(moe.sw = 1, e, alpha, pU, N):
#          n = N z^2 p q / ((N - 1) e^2 + z^2 p q), and z^2 p q / e^2 without N; rounded up.
# wilson:  smallest n (brute force) with half the Wilson width at x = p * n_eff, n_eff = n (N-1)/(N-n).
# clopper-pearson: the same with qbeta (non-integer x allowed).
# Tolerance in the tests: exact integers.

z_of <- function(cl) qnorm(1 - (1 - cl) / 2)
n_eff <- function(n, N) if (is.na(N)) n else ifelse(n >= N, Inf, n * (N - 1) / (N - n))
hw_wilson <- function(n, p, N, cl) {
  z <- z_of(cl); m <- n_eff(n, N)
  if (is.infinite(m)) return(0)
  z * sqrt(p * (1 - p) / m + z^2 / (4 * m^2)) / (1 + z^2 / m)
}
hw_cp <- function(n, p, N, cl) {
  m <- n_eff(n, N); if (is.infinite(m)) return(0)
  a <- (1 - cl) / 2; x <- p * m
  lo <- qbeta(a, x, m - x + 1); hi <- qbeta(1 - a, x + 1, m - x)
  (hi - lo) / 2
}
brute <- function(hw, e, p, N, cl) {
  upper <- if (is.na(N)) 100000 else N
  for (n in 1:upper) if (hw(n, p, N, cl) <= e) return(n)
  upper
}
wald <- function(e, p, N, cl) {
  z <- z_of(cl)
  n <- if (is.na(N)) z^2 * p * (1 - p) / e^2 else N * z^2 * p * (1 - p) / ((N - 1) * e^2 + z^2 * p * (1 - p))
  ceiling(n - 1e-9)
}
cases <- expand.grid(margin = c(0.03, 0.05, 0.1, 0.15), anticipated = c(0.1, 0.25, 0.5),
                     population_size = c(NA, 50, 400, 1000, 5000), confidence_level = c(0.9, 0.95))
rows <- lapply(seq_len(nrow(cases)), function(i) {
  e <- cases$margin[i]; p <- cases$anticipated[i]; N <- cases$population_size[i]; cl <- cases$confidence_level[i]
  data.frame(margin = e, anticipated = p, population_size = N, confidence_level = cl,
             wald = min(wald(e, p, N, cl), ifelse(is.na(N), Inf, N)),
             wilson = brute(hw_wilson, e, p, N, cl),
             clopper_pearson = brute(hw_cp, e, p, N, cl))
})
out <- do.call(rbind, rows)
write.csv(out, stdout(), row.names = FALSE, na = "")
