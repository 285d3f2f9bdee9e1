"""The web form end to end in headless Chromium (Debian's package, driven by Playwright):
log in, enter a case, correct it, mark one ineligible with the keyboard alone, see a
refused entry, then check the study store; every page fits a laptop's screen.

The browser is required: without /usr/bin/chromium these tests fail with how to install it
('make browser'); they are never skipped.
"""

import pytest
from playwright.sync_api import expect, sync_playwright

from stikprove.web import create_app
from web_fixtures import PASSWORDS, Served, enrol, launch_chromium, web_study

#: Slow: a browser per module. (The form's default date is checked a year ahead in
#: test_web.py; these use the suite's fixed clock.)
pytestmark = pytest.mark.slow

LAPTOP = {"width": 1366, "height": 768}
"""A laptop's screen: every page is opened in a window this size."""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def site(tmp_path):
    study = web_study(tmp_path)
    with Served(create_app(study), study) as served:
        yield served, study


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=LAPTOP)
    errors = []
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    # a refused entry's 422 is logged as a failed load; anything else (a CSP violation,
    # a missing style sheet) is a defect
    assert [e for e in errors if "status of 422" not in e] == []


def log_in(page, url, name="anna", code=None):
    page.goto(url + "/login")
    page.get_by_label("Navn").fill(name)
    page.get_by_label("Adgangskode").fill(PASSWORDS[name])
    if code is not None:
        page.get_by_label("Kode fra godkendelsesappen").fill(code)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()


def test_enter_and_correct_a_case(site, page):
    """A reviewer logs in, opens the first case, fills the codebook form and saves; then
    corrects it with a reason. The store holds both versions, the second superseding.
    At a laptop's 1366 × 768 no page needs sideways scrolling, and the list's first
    case and the form's first field are in the first screen."""
    served, study = site
    assert page.viewport_size == LAPTOP
    page.goto(served.url + "/login")
    assert_fits_the_width(page)
    log_in(page, served.url)
    assert_fits_the_width(page)
    first = study.open_cases("anna")["case_id"].iloc[0]
    expect(page.get_by_role("button", name=f"Åbn {first}")).to_be_in_viewport()
    page.get_by_role("button", name=f"Åbn {first}").click()
    expect(page.get_by_role("heading", name=f"Sag {first}")).to_be_visible()
    assert first not in page.url and first not in page.title()
    assert_fits_the_width(page)
    expect(page.get_by_role("radio", name="Ja").first).to_be_in_viewport()
    page.get_by_role("radio", name="Ja").first.check()
    page.get_by_label("Helbredsvurdering").select_option("kan_med_skaanehensyn")
    page.get_by_label("Anbefalet forløb").select_option("aktivitetsparat_med_indsats")
    page.get_by_label("Indsats de seneste 12 måneder").select_option("mentor")
    page.get_by_label("Vigtigste grundlag").select_option("journal")
    page.locator("#field-new_certificate_requested").get_by_role("radio", name="Nej").check()
    page.get_by_role("radio", name="Sikker").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Sagen er gemt.")).to_be_visible()

    page.get_by_role("button", name=f"Ret {first}").click()
    expect(page.get_by_label("Helbredsvurdering")).to_have_value("kan_med_skaanehensyn")
    page.get_by_label("Helbredsvurdering").select_option("for_syg")
    page.get_by_role("button", name="Gem rettelse").click()
    expect(page.locator(".field-error")).to_have_text(["Skal udfyldes."])  # the reason
    page.get_by_label("Begrundelse for rettelsen").fill("ny statusattest")
    page.get_by_role("button", name="Gem rettelse").click()
    expect(page.get_by_text("Rettelsen er gemt.")).to_be_visible()

    history = study.assessments(current_only=False)
    assert history["health_assessment"].tolist() == ["kan_med_skaanehensyn", "for_syg"]
    assert history["reason"].tolist()[1] == "ny statusattest"
    assert history["supersedes"].tolist()[1] == history["assessment_id"].tolist()[0]


def test_keyboard_alone_marks_a_case_ineligible(site, page):
    """Without the mouse: log in, open the first case (focused), choose 'Nej' and a reason,
    save. The case is stored ineligible and its stratum's next reserve is on the list."""
    served, study = site
    page.goto(served.url + "/login")
    expect(page.get_by_label("Navn")).to_be_focused()
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["anna"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    first = study.open_cases("anna")["case_id"].iloc[0]
    expect(page.get_by_role("button", name=f"Åbn {first}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Sag {first}")).to_be_visible()
    expect(page.get_by_role("radio", name="Ja").first).to_be_focused()
    page.keyboard.press("ArrowRight")  # eligible: from 'Ja' to 'Nej'
    page.keyboard.press("Tab")  # the reason's drop-down
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # 'Sagen er afsluttet'
    expect(page.get_by_label("Årsag til at sagen ikke er omfattet")).to_have_value("sag_afsluttet")
    page.get_by_label("Dato for vurderingen").focus()  # then Enter submits the form
    page.keyboard.press("Enter")
    expect(page.get_by_text("En reservesag fra samme stratum")).to_be_visible()

    entry = study.assessments().set_index("case_id").loc[first]
    assert (entry["eligible"], entry["ineligible_reason"]) == ("nej", "sag_afsluttet")
    units = study.units()
    reserve = units.loc[units["replaces"] == first, "case_id"].iloc[0]
    expect(page.get_by_role("button", name=f"Åbn {reserve}")).to_be_visible()


def test_a_refused_entry_keeps_what_was_typed(site, page):
    """Saving an eligible case without its required fields is refused by the server: the
    problems are shown beside the fields, the values chosen stay, nothing is stored."""
    served, study = site
    log_in(page, served.url, "bo")
    first = study.open_cases("bo")["case_id"].iloc[0]
    page.get_by_role("button", name=f"Åbn {first}").click()
    page.get_by_role("radio", name="Ja").first.check()
    page.get_by_label("Helbredsvurdering").select_option("for_syg")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Ikke gemt. Ret felterne markeret nedenfor.")).to_be_visible()
    expect(page.locator("#field-recommended_track .field-error")).to_have_text("Skal udfyldes.")
    expect(page.get_by_label("Helbredsvurdering")).to_have_value("for_syg")
    assert study.assessments().empty


def assert_fits_the_width(page):
    """Nothing on the page is wider than the window: no sideways scrolling, and every
    control within the window's width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"{page.title()}: {width} px wide"
    for control in page.locator("input:visible, select:visible, textarea:visible, "
                                "button:visible").all():  # fmt: skip
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"]


def test_a_missing_browser_fails_with_how_to_install_it(monkeypatch):
    """Without the system Chromium the browser tests fail (not skip), saying how to install
    it."""
    import web_fixtures

    monkeypatch.setattr(web_fixtures, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match=r"make browser.*apt-get install -y chromium"):
        web_fixtures.launch_chromium(None)


@pytest.fixture
def https_site(browser, tmp_path):
    """The form behind nginx (deploy/nginx/stikprove.conf) over HTTPS with a trustme
    certificate, and a Chromium that trusts that certificate (by its public key's hash,
    as a pinned certificate: no certificate error is ignored wholesale)."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from web_fixtures import CHROMIUM_ARGS, Proxied, tls_certificate

    _, cert, key = tls_certificate(tmp_path)
    public = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    spki = public.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    study = web_study(tmp_path)
    authenticator = enrol(study, "anna")
    served = Served(create_app(study, behind_proxy=True), study, behind_proxy=True)
    with served, Proxied(tmp_path, served, cert, key) as proxy:
        chromium = browser.browser_type.launch(
            executable_path="/usr/bin/chromium",
            args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"],
        )
        context = chromium.new_context(viewport=LAPTOP)
        tab = context.new_page()
        yield tab, proxy.url, study, authenticator
        context.close()
        chromium.close()


def test_over_https_a_reviewer_enters_corrects_and_marks_a_case_ineligible(https_site):
    """Through nginx over HTTPS (issue 19: Chromium's login was refused by the strict
    CSRF check, as no-referrer kept the Referer back): log in with the second factor,
    enter a case, correct it, mark another ineligible, log out. The store holds it all."""
    page, url, study, authenticator = https_site
    log_in(page, url, code=authenticator.now())
    assert page.url.startswith("https://")
    first, second = study.open_cases("anna")["case_id"].iloc[:2]
    page.get_by_role("button", name=f"Åbn {first}").click()
    page.get_by_role("radio", name="Ja").first.check()
    page.get_by_label("Helbredsvurdering").select_option("kan_med_skaanehensyn")
    page.get_by_label("Anbefalet forløb").select_option("aktivitetsparat_med_indsats")
    page.get_by_label("Indsats de seneste 12 måneder").select_option("mentor")
    page.get_by_label("Vigtigste grundlag").select_option("journal")
    page.locator("#field-new_certificate_requested").get_by_role("radio", name="Nej").check()
    page.get_by_role("radio", name="Sikker").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Sagen er gemt.")).to_be_visible()
    page.get_by_role("button", name=f"Ret {first}").click()
    page.get_by_label("Helbredsvurdering").select_option("for_syg")
    page.get_by_label("Begrundelse for rettelsen").fill("ny statusattest")
    page.get_by_role("button", name="Gem rettelse").click()
    expect(page.get_by_text("Rettelsen er gemt.")).to_be_visible()
    page.get_by_role("button", name=f"Åbn {second}").click()
    page.get_by_role("radio", name="Nej").first.check()
    page.get_by_label("Årsag til at sagen ikke er omfattet").select_option("sag_afsluttet")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("En reservesag fra samme stratum")).to_be_visible()
    page.get_by_role("button", name="Log ud").click()
    expect(page.get_by_text("Du er logget ud.")).to_be_visible()

    history = study.assessments(current_only=False).set_index("case_id")
    assert history.loc[first, "health_assessment"].tolist() == ["kan_med_skaanehensyn",
                                                                "for_syg"]  # fmt: skip
    assert history.loc[second, "eligible"] == "nej"
