"""Accessibility of the web form: every page, in its states (a refused login, a refused
entry, a correction, an error page, English), passes axe-core's WCAG 2.1 A and AA rules with
no violation (axe-core through axe-playwright-python, in Debian's Chromium); and the whole
round, log in to log out, works by keyboard alone, each focused control showing its focus
(issue 19)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from stikprove.web import create_app
from store_fixtures import ELIGIBLE_ENTRY
from web_fixtures import PASSWORDS, Served, launch_chromium, web_study

pytestmark = pytest.mark.slow

WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
"""axe-core's rules for WCAG 2.0 and 2.1, levels A and AA."""


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
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


def violations(page) -> list[str]:
    """axe-core's WCAG 2.1 AA violations on the page, one line each (rule, elements)."""
    result = Axe().run(page, options=WCAG_21_AA)
    return [
        f"{page.title()}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result.response["violations"]
    ]


def log_in(page, url, name="anna", password=None):
    page.goto(url + "/login")
    page.get_by_label("Navn").fill(name)
    page.get_by_label("Adgangskode").fill(password or PASSWORDS[name])
    page.get_by_role("button", name="Log ind").click()


def test_every_page_passes_axe_wcag_21_aa(site, page):
    """The login (plain and refused), the case list, the form (new, refused, a correction),
    an error page, and the English pages: no axe-core WCAG 2.1 A/AA violation."""
    served, study = site
    found = []
    page.goto(served.url + "/login")
    found += violations(page)
    log_in(page, served.url, password="forkert-kodeord")
    expect(page.get_by_role("alert")).to_be_visible()
    found += violations(page)
    log_in(page, served.url)
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    found += violations(page)
    first = study.open_cases("anna")["case_id"].iloc[0]
    page.get_by_role("button", name=f"Åbn {first}").click()
    found += violations(page)
    page.get_by_role("radio", name="Ja").first.check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Ikke gemt. Ret felterne markeret nedenfor.")).to_be_visible()
    found += violations(page)
    page.get_by_label("Helbredsvurdering").select_option(ELIGIBLE_ENTRY["health_assessment"])
    page.get_by_label("Anbefalet forløb").select_option(ELIGIBLE_ENTRY["recommended_track"])
    page.get_by_label("Indsats de seneste 12 måneder").select_option(
        ELIGIBLE_ENTRY["effort_last_12_months"])  # fmt: skip
    page.get_by_label("Vigtigste grundlag").select_option(ELIGIBLE_ENTRY["evidence"])
    page.locator("#field-new_certificate_requested").get_by_role("radio", name="Nej").check()
    page.get_by_role("radio", name="Sikker").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Sagen er gemt.")).to_be_visible()
    found += violations(page)  # the list with a saved case and a message
    page.get_by_role("button", name=f"Ret {first}").click()
    found += violations(page)
    page.goto(served.url + "/case-that-is-not-there")
    found += violations(page)
    page.goto(served.url + "/cases")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    found += violations(page)
    page.get_by_role("button", name="Log out").click()
    found += violations(page)
    assert found == []


def tab_to(page, target, limit=80):
    """Press Tab until ``target`` (a locator) has the focus, and check that the focus is
    shown (an outline from :focus-visible). Fails when it cannot be reached."""
    for _ in range(limit):
        if target.evaluate("e => e === document.activeElement"):
            outline = target.evaluate("e => getComputedStyle(e).outlineStyle")
            assert outline != "none", f"no visible focus on {target}"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} cannot be reached with Tab")


def test_the_whole_round_by_keyboard_alone(site, page):
    """Without the mouse: skip to the content, log in, open a case, fill the codebook and
    save, correct it with a reason, switch the language and log out; each control reached
    with Tab shows its focus."""
    served, study = site
    page.goto(served.url + "/login")
    expect(page.get_by_label("Navn")).to_be_focused()
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["anna"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    first = study.open_cases("anna")["case_id"].iloc[0]
    page.keyboard.press("Shift+Tab")  # back from the first case's button to the page's top
    tab_to(page, page.get_by_role("link", name="Spring til indholdet"))
    tab_to(page, page.get_by_role("button", name=f"Åbn {first}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Sag {first}")).to_be_visible()
    expect(page.get_by_role("radio", name="Ja").first).to_be_focused()
    page.keyboard.press("Space")
    for label, value in (("Helbredsvurdering", "for_syg"),
                         ("Anbefalet forløb", "ressourceforloeb"),
                         ("Indsats de seneste 12 måneder", "tilbud"),
                         ("Vigtigste grundlag", "journal")):  # fmt: skip
        control = page.get_by_label(label)
        tab_to(page, control)
        for _ in range(12):
            if control.input_value() == value:
                break
            page.keyboard.press("ArrowDown")
        expect(control).to_have_value(value)
    for field, label in (("new_certificate_requested", "Nej"), ("confidence", "Sikker")):
        group = page.locator(f"#field-{field}")
        tab_to(page, group.locator("input:checked"))  # Tab enters a group at its choice
        wanted = group.get_by_role("radio", name=label, exact=True)
        for _ in range(6):
            if wanted.is_checked():
                break
            page.keyboard.press("ArrowDown")
        expect(wanted).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Gem"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Sagen er gemt.")).to_be_visible()
    tab_to(page, page.get_by_role("button", name=f"Ret {first}"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Begrundelse for rettelsen")).to_be_focused()
    page.keyboard.type("ny oplysning i journalen")
    health = page.get_by_label("Helbredsvurdering")
    page.keyboard.press("Shift+Tab")
    for _ in range(40):
        if health.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_role("button", name="Gem rettelse"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Rettelsen er gemt.")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="English"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Log out"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    history = study.assessments(current_only=False)
    assert history["version"].tolist() == [1, 2]
    assert history["reason"].tolist()[1] == "ny oplysning i journalen"
