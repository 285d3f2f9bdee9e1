"""Write tests/reference/fay_herriot_national_data.csv: the kommune inputs of a Fay–Herriot
model for a national demo study, fed to R's sae (fay_herriot_sae.R) and to stikprove alike.

The study is that of tests/report_fixtures.make_report_study over all 98 kommuner with the
national template's budget of 6,000 reviews (synthetic frame seed 7, the template's draw seed
2026, every case reviewed from the synthetic truth): deterministic, about 6,000 cases.
Per kommune: the direct estimate of too_ill and its design variance
(StratifiedSample.estimate, the default method), the variance smoothed by the GVF where n < 30
or the variance is 0 (stikprove.small_area.smooth_variances), and the default covariates
from every case of the study population (stikprove.small_area.area_covariates on the study's
units; share_health_exempt is constant there and dropped).

Run from the repository root:  .venv/bin/python tests/reference/fay_herriot_national_data.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from report_fixtures import make_report_study  # noqa: E402
from stikprove.estimation import StratifiedSample  # noqa: E402
from stikprove.kommuner import kommune_codes  # noqa: E402
from stikprove.small_area import area_covariates, smooth_variances  # noqa: E402
from stikprove.store import open_study  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, _ = make_report_study(Path(folder), kommuner=tuple(kommune_codes()),
                                    max_reviews=6000)  # fmt: skip
        study = open_study(path)
        direct = StratifiedSample.from_study(study).estimate("too_ill", by="kommune_code")
        covariates = area_covariates(study.units())
    inputs = smooth_variances(direct)
    table = inputs[["kommune_code", "n", "n_eff", "direct", "variance", "variance_source"]]
    table = table.merge(covariates, on="kommune_code", validate="one_to_one")
    table.to_csv(HERE / "fay_herriot_national_data.csv", index=False)
    print(f"wrote {len(table)} kommuner; dropped covariates: {covariates.attrs['dropped']}")


if __name__ == "__main__":
    main()
