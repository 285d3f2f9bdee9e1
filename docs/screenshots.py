"""Screenshots of the web form for the README's walkthrough (``make screenshots``).

Serves the form over a small test study (tests/store_fixtures.py: Odense and Holbæk
strata, reviewers anna and bo) and photographs, in headless Chromium at a laptop's
1280 × 800: the login page, anna's case list after two saved cases (one ineligible, so a
reserve joined the list) and the codebook form of her next case. Writes
docs/images/web-login.png, web-cases.png and web-form.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from stikprove.recording import record_assessment  # noqa: E402
from stikprove.web import create_app  # noqa: E402
from store_fixtures import ELIGIBLE_ENTRY, INELIGIBLE_ENTRY  # noqa: E402
from web_fixtures import PASSWORDS, Served, launch_chromium, web_study  # noqa: E402

OUT = ROOT / "docs" / "images"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        study = web_study(Path(folder))
        first, second = study.open_cases("anna")["case_id"].iloc[:2]
        record_assessment(study, "anna", first, ELIGIBLE_ENTRY, source="screenshots")
        record_assessment(study, "anna", second, INELIGIBLE_ENTRY, source="screenshots")
        with Served(create_app(study), study) as served, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="da-DK")
            page.goto(served.url + "/login")
            page.get_by_label("Navn").fill("anna")
            page.screenshot(path=OUT / "web-login.png")
            page.get_by_label("Adgangskode").fill(PASSWORDS["anna"])
            page.get_by_role("button", name="Log ind").click()
            page.screenshot(path=OUT / "web-cases.png", full_page=True)
            page.get_by_role("button", name="Åbn").first.click()
            page.get_by_role("radio", name="Ja").first.check()
            page.get_by_label("Helbredsvurdering").select_option("kan_med_skaanehensyn")
            page.screenshot(path=OUT / "web-form.png", full_page=True)
            browser.close()
    for name in ("web-login.png", "web-cases.png", "web-form.png"):
        print(OUT / name)


if __name__ == "__main__":
    main()
