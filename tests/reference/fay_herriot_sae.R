# Reference values for stikprove.small_area.fit_fay_herriot: R's sae (Molina & Marhuenda 2015)
# eblupFH and mseFH, REML (MSE by Prasad-Rao) and ML (Datta-Lahiri), on
#  - sae's own `milk` data (43 areas: yi ~ as.factor(MajorArea), vardir = SD^2; the example
#    of ?mseFH), exported here to tests/reference/fay_herriot_milk_data.csv with the major
#    area as dummy columns major_area_2..4 so that stikprove fits the same design; and
#  - tests/reference/fay_herriot_national_data.csv: the kommune direct estimates, variances
#    and covariates of a national demo study (written by fay_herriot_national_data.py); and
#  - the same on the arcsine scale (dataset national_arcsin: asin(sqrt(direct)) with
#    vardir = 1/(4 n_eff)), the fit of stikprove's arcsine model.
# Fisher scoring is run to PRECISION = 1e-12 (sae's default 1e-4 stops earlier), as
# stikprove's default tolerance (1e-10) converges to the same point.
#
# Run from the repository root, with sae installed (not in Debian: R CMD INSTALL on the
# source of the CRAN mirror repository github.com/cran/sae, after apt-get install
# r-cran-lme4 r-cran-mass):
#   Rscript tests/reference/fay_herriot_sae.R
# Writes tests/reference/fay_herriot_sae_R.csv (dataset, method, area, eblup, mse,
# sigma2_u) and tests/reference/fay_herriot_sae_coef_R.csv (dataset, method, term,
# estimate, std_error). R 4.2.2, sae 1.3. No random numbers.
# Tolerance in tests/test_small_area.py: 1e-6 absolute on eblup, mse and sigma2_u (and beta).
suppressMessages(library(sae))
options(digits = 15)
here <- "tests/reference"
PRECISION <- 1e-12
MAXITER <- 1000

data(milk)
milk_out <- data.frame(area = milk$SmallArea, ni = milk$ni, yi = milk$yi, SD = milk$SD,
                       vardir = milk$SD^2, MajorArea = milk$MajorArea)
for (k in 2:4) milk_out[[paste0("major_area_", k)]] <- as.numeric(milk$MajorArea == k)
write.csv(milk_out, file.path(here, "fay_herriot_milk_data.csv"), row.names = FALSE)

national <- read.csv(file.path(here, "fay_herriot_national_data.csv"),
                     colClasses = c(kommune_code = "character"))
covariates <- c("share_women", "share_origin_ikke_vestlig", "share_origin_vestlig",
                "mean_age", "mean_years_on_benefit")

fits <- list()
coefs <- list()
run <- function(dataset, formula, vardir, area, data, method) {
  data$vardir_ <- vardir
  res <- mseFH(formula, vardir_, method = method, MAXITER = MAXITER, PRECISION = PRECISION,
               data = data)
  stopifnot(res$est$fit$convergence)
  fits[[length(fits) + 1]] <<- data.frame(
    dataset = dataset, method = method, area = area, eblup = as.vector(res$est$eblup),
    mse = res$mse, sigma2_u = res$est$fit$refvar)
  coef <- res$est$fit$estcoef
  coefs[[length(coefs) + 1]] <<- data.frame(
    dataset = dataset, method = method, term = rownames(coef), estimate = coef$beta,
    std_error = coef$std.error)
}
for (method in c("REML", "ML")) {
  run("milk", yi ~ major_area_2 + major_area_3 + major_area_4, milk_out$vardir,
      milk_out$area, milk_out, method)
  run("national", as.formula(paste("direct ~", paste(covariates, collapse = " + "))),
      national$variance, national$kommune_code, national, method)
  # the arcsine model's fit (emdi's fh(transformation = "arcsin")): y = asin(sqrt(p)),
  # vardir = 1/(4 n_eff); its EBLUP back-transformed by sin^2 is stikprove's estimate
  arcsin <- national
  arcsin$y_arcsin <- asin(sqrt(national$direct))
  run("national_arcsin", as.formula(paste("y_arcsin ~", paste(covariates, collapse = " + "))),
      1 / (4 * national$n_eff), national$kommune_code, arcsin, method)
}
write.csv(do.call(rbind, fits), file.path(here, "fay_herriot_sae_R.csv"), row.names = FALSE)
write.csv(do.call(rbind, coefs), file.path(here, "fay_herriot_sae_coef_R.csv"),
          row.names = FALSE)
cat("sae", as.character(packageVersion("sae")), "on", R.version.string, "\n")
