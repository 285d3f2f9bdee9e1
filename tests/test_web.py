"""The reviewers' web form through Flask's test client: login, the case list, entering,
correcting, ineligible cases, access between reviewers, CSRF, the login throttle, sessions,
security headers, and what stays out of URLs, titles and logs."""

import html
import logging
import re
import tomllib
from pathlib import Path

import pytest

from stikprove.errors import StikproveError
from stikprove.store import open_study
from stikprove.web import accounts, create_app
from store_fixtures import ELIGIBLE_ENTRY, INELIGIBLE_ENTRY
from web_fixtures import PASSWORDS, copy_study, login, open_case, save, token, web_study


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return web_study(tmp_path_factory.mktemp("template"))


@pytest.fixture
def study(template, tmp_path):
    return copy_study(template, tmp_path)


@pytest.fixture
def app(study):
    return create_app(study)


@pytest.fixture
def anna(app):
    client = app.test_client()
    assert login(client, "anna").status_code == 302
    return client


def own_open(study, reviewer):
    return list(study.open_cases(reviewer)["case_id"])


def first_review(study, reviewer):
    """The reviewer's first open case that is a first review (slot 1)."""
    cases = study.open_cases(reviewer)
    return cases.loc[cases["review_slot"] == 1, "case_id"].iloc[0]


def test_login_page_is_plain_and_guarded(app):
    """The login page has a CSRF token and the security headers: a CSP without scripts,
    no framing, no caching."""
    page = app.test_client().get("/login")
    assert page.status_code == 200
    assert token(page.data)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # default-src 'none' covers scripts: none run
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert b"<script" not in page.data


def test_login_sets_a_strict_http_only_cookie_and_is_audited(app, study):
    """A good login gives an HttpOnly, SameSite=Strict session cookie (not Secure without
    TLS) and is audited with the reviewer as actor."""
    response = login(app.test_client(), "anna")
    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    log = study.audit_log()
    assert log.iloc[-1]["action"] == "login" and log.iloc[-1]["actor"] == "anna"


def test_cookies_are_secure_under_tls(study):
    """With secure_cookies (TLS), the session cookie is Secure and HSTS is sent."""
    response = login(create_app(study, secure_cookies=True).test_client(), "anna")
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_wrong_password_is_refused_and_audited_without_the_typed_name(app, study):
    """A wrong password gets 401 and a failed-login audit row; a name that is no reviewer
    is not written to the audit log (it may be anything, even a CPR number)."""
    client = app.test_client()
    assert login(client, "anna", "forkert-kodeord").status_code == 401
    assert login(client, "0101701234", "forkert-kodeord").status_code == 401
    failed = study.audit_log().query("action == 'login_failed'")
    assert failed["actor"].tolist() == ["anna", "(unknown name)"]
    assert not study.audit_log()["details"].str.contains("0101701234").any()
    refused = login(client, "0101701234", "forkert-kodeord").get_data(as_text=True)
    assert "0101701234" not in refused  # not echoed in the form either
    assert client.get("/cases").status_code == 302  # not logged in


def test_post_without_csrf_token_is_refused(app, anna, study):
    """A form post without its CSRF token (or with a wrong one) is refused with 400 and
    writes nothing."""
    client = app.test_client()
    no_token = client.post("/login", data={"name": "anna", "password": PASSWORDS["anna"]})
    assert no_token.status_code == 400
    case_id = first_review(study, "anna")
    assert open_case(anna, case_id).status_code == 302
    data = {**{k: v or "" for k, v in ELIGIBLE_ENTRY.items()}, "case_id": case_id}
    assert anna.post("/case", data=data).status_code == 400
    assert anna.post("/case", data={**data, "csrf_token": "x" * 40}).status_code == 400
    assert study.assessments().empty


def test_repeated_wrong_passwords_lock_the_account_for_a_while(app, study, test_clock):
    """Five wrong passwords lock the account: the right one is refused (429) until the
    lockout has passed, then it works; the lock is audited."""
    client = app.test_client()
    for _ in range(5):
        assert login(client, "anna", "forkert-kodeord").status_code == 401
    locked = login(client, "anna")
    assert locked.status_code == 429
    assert "Prøv igen om 15 minut" in locked.get_data(as_text=True)
    assert "login_refused_locked" in set(study.audit_log()["action"])
    for _ in range(20):  # a flood against the locked account: one audit row a minute
        assert login(client, "anna").status_code == 429
    assert list(study.audit_log()["action"]).count("login_refused_locked") == 1
    test_clock.shift(16 * 60)
    assert login(client, "anna").status_code == 302


def test_one_reviewers_wrong_passwords_do_not_lock_out_the_others(app):
    """On loopback every reviewer comes from one address: one reviewer's five wrong
    passwords lock their account, not the address, so the others still log in."""
    client = app.test_client()
    for _ in range(5):
        assert login(client, "anna", "forkert-kodeord").status_code == 401
    assert login(client, "anna").status_code == 429
    assert login(app.test_client(), "bo").status_code == 302


GLOBAL_LIMIT = accounts.ThrottleSettings(max_failures_global=7, global_window_s=60)
"""A lower global limit than the default, for quicker tests."""


def test_failures_under_invented_names_lock_out_no_reviewer(study, test_clock):
    """Twenty failed logins under made-up names from the reviewers' own address lock out
    no reviewer (nothing is locked by address: on loopback, or behind one office's NAT,
    every reviewer shares it), neither now nor after a restart (issue 19)."""
    settings = accounts.ThrottleSettings()
    assert (settings.max_failures, settings.max_failures_global) == (5, 100)
    app = create_app(study)
    client = app.test_client()
    for i in range(20):
        assert login(client, f"x{i}", "forkert-kodeord").status_code == 401
    assert login(client, "bo").status_code == 302
    assert login(create_app(study).test_client(), "anna").status_code == 302


def test_the_global_limit_pauses_guessing_from_every_address(study, test_clock):
    """Failed logins under any names from any addresses count towards the global limit;
    at the limit every login waits (429, a short wait) until the oldest failure leaves
    the window; another address or a forwarded header does not step around it."""
    app = create_app(study, throttle=GLOBAL_LIMIT)
    for i in range(GLOBAL_LIMIT.max_failures_global):
        answer = login_from(app.test_client(), f"x{i}", "forkert", f"10.0.{i}.1")
        assert answer.status_code == 401
    for address in ("127.0.0.1", "10.9.9.9", "::1"):
        paused = login_from(app.test_client(), "bo", PASSWORDS["bo"], address)
        assert paused.status_code == 429 and "1 minut" in paused.get_data(as_text=True)
    test_clock.shift(61)
    assert login(app.test_client(), "bo").status_code == 302


def test_another_loopback_address_or_a_forwarded_header_does_not_step_around(app, study):
    """A locked account stays locked from every loopback address (127.0.0.14, ::1: the
    same machine) and whatever X-Forwarded-For says (read only from a trusted proxy)."""
    for _ in range(5):
        assert login(app.test_client(), "anna", "forkert-kodeord").status_code == 401
    for address in ("127.0.0.14", "::1", "::ffff:127.0.0.1"):
        assert login_from(app.test_client(), "anna", PASSWORDS["anna"], address).status_code == 429
    client = app.test_client()
    page = client.get("/login")
    forged = client.post(
        "/login",
        data={"name": "anna", "password": PASSWORDS["anna"], "csrf_token": token(page.data)},
        headers={"X-Forwarded-For": "10.1.2.3", "X-Real-IP": "10.1.2.3"},
    )
    assert forged.status_code == 429
    details = " ".join(study.audit_log()["details"])
    assert "127.0.0.14" not in details and "10.1.2.3" not in details and "loopback" in details


def test_a_burst_of_simultaneous_logins_gets_no_more_checks_than_the_limit(app, monkeypatch):
    """Twelve simultaneous logins to one account (eleven wrong, one right) get at most five
    password checks: each login reserves its place in the count before its check (issue
    19: 11 wrong passwords were checked and one got in)."""
    import threading
    import time

    checks = []
    real = accounts.verify_password

    def slow_verify(password, stored):
        checks.append(password)
        time.sleep(0.05)  # the checks overlap, as scrypt's half second makes them
        return real(password, stored)

    monkeypatch.setattr(accounts, "verify_password", slow_verify)
    app.extensions["stikprove"]["checker"] = accounts.PasswordChecker(slots=12, waiting=0)
    forms = []
    for i in range(12):
        client = app.test_client()
        page = client.get("/login")
        password = PASSWORDS["anna"] if i == 11 else f"forkert-{i}"
        forms.append((client, {"name": "anna", "password": password,
                               "csrf_token": token(page.data)}))  # fmt: skip
    start = threading.Barrier(12)
    answers = []

    def post(client, form):
        start.wait()
        answers.append(client.post("/login", data=form).status_code)

    threads = [threading.Thread(target=post, args=pair) for pair in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checks) <= 5
    assert set(answers) <= {302, 401, 429} and answers.count(429) >= 7


def test_case_list_shows_own_open_cases_in_review_order(anna, study):
    """The list holds the reviewer's open cases in stratum and draw order (as
    Study.open_cases), never another reviewer's, and the progress."""
    page = anna.get("/cases").get_data(as_text=True)
    shown = re.findall(r'name="case_id" value="([^"]+)"', page)
    assert shown == own_open(study, "anna")
    assert not set(shown) & (set(own_open(study, "bo")) - set(own_open(study, "anna")))
    assert f"0 af {len(shown)} sager" in page


def test_saving_writes_one_assessment_through_the_recording(anna, study):
    """Saving a case writes one assessment (source 'stikprove serve'), audited; the case
    leaves the open list and the redirect carries no case id."""
    case_id = first_review(study, "anna")
    response = save(anna, case_id)
    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    stored = study.assessments()
    assert stored[["case_id", "reviewer", "version"]].to_numpy().tolist() == [[case_id, "anna", 1]]
    assert stored.iloc[0]["source"] == "stikprove serve"
    assert stored.iloc[0]["health_assessment"] == ELIGIBLE_ENTRY["health_assessment"]
    assert case_id not in own_open(study, "anna")
    log = study.audit_log()
    saved = log[log["action"] == "import"]["details"].tolist()
    assert saved == [f"round 1: 1 new ({case_id}), 0 corrected, 0 unchanged, 0 empty row(s); "
                     "0 reserve activation(s)"]  # fmt: skip
    assert "Sagen er gemt" in anna.get("/cases").get_data(as_text=True)


@pytest.mark.clock
def test_a_refused_entry_shows_the_problems_beside_the_fields(anna, study):
    """An eligible case without a health assessment and with a future date is refused by
    the recording's checks (422), nothing is written, each problem beside its field."""
    case_id = first_review(study, "anna")
    values = {**ELIGIBLE_ENTRY, "health_assessment": None, "review_date": "2099-01-01"}
    response = save(anna, case_id, values)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Ikke gemt" in page
    health = page[page.index('id="field-health_assessment"') :]
    assert "Skal udfyldes." in health[: health.index("</div>")]
    day = page[page.index('id="field-review_date"') :]
    assert "må ikke ligge efter i dag" in day[: day.index("</div>")]
    assert study.assessments().empty


def test_an_edited_form_value_is_refused_by_the_same_checks(anna, study):
    """A code the form never offered (an edited form field) is refused by the recording's
    code check, and an eligible-only field on an ineligible case too."""
    case_id = first_review(study, "anna")
    assert save(anna, case_id, {**ELIGIBLE_ENTRY, "confidence": "helt_sikker"}).status_code == 422
    mixed = {**INELIGIBLE_ENTRY, "health_assessment": "for_syg"}
    response = save(anna, case_id, mixed)
    assert response.status_code == 422
    assert "gælder kun, når 'omfattet' er ja" in html.unescape(response.get_data(as_text=True))
    assert study.assessments().empty


def test_a_correction_needs_a_reason_and_supersedes(anna, study):
    """A saved case opens with its values; changing it without a reason is refused, with
    one it is a new version superseding the old, and the history stays."""
    case_id = first_review(study, "anna")
    save(anna, case_id)
    open_case(anna, case_id)
    form = anna.get("/case").get_data(as_text=True)
    assert "Begrundelse for rettelsen" in form
    assert 'value="for_syg"\n        checked' in form or 'value="for_syg" selected' in form
    changed = {**ELIGIBLE_ENTRY, "health_assessment": "kan_med_skaanehensyn"}
    refused = save(anna, case_id, changed)
    assert refused.status_code == 422
    assert len(study.assessments(current_only=False)) == 1
    assert save(anna, case_id, changed, reason="journal læst igen").status_code == 302
    history = study.assessments(current_only=False)
    assert history["version"].tolist() == [1, 2]
    assert history.iloc[1]["supersedes"] == history.iloc[0]["assessment_id"]
    assert history.iloc[1]["reason"] == "journal læst igen"
    assert "correct" in set(study.audit_log()["action"])


def test_saving_the_same_values_again_changes_nothing(anna, study):
    """Posting a saved case's values again is 'unchanged': no new row."""
    case_id = first_review(study, "anna")
    save(anna, case_id)
    save(anna, case_id, reason="igen")
    assert len(study.assessments(current_only=False)) == 1
    assert "Intet ændret" in anna.get("/cases").get_data(as_text=True)


def test_ineligible_brings_in_the_next_reserve(anna, study):
    """Marking a first review ineligible activates the stratum's next reserve (as the
    import does), assigned to the same reviewer and shown on their list."""
    case_id = first_review(study, "anna")
    before = set(own_open(study, "anna"))
    assert save(anna, case_id, INELIGIBLE_ENTRY).status_code == 302
    units = study.units()
    activated = units[units["activated"]]
    assert activated["replaces"].tolist() == [case_id]
    reserve = activated["case_id"].iloc[0]
    assert set(own_open(study, "anna")) == (before - {case_id}) | {reserve}
    page = anna.get("/cases").get_data(as_text=True)
    assert "reservesag" in page and f'value="{reserve}"' in page


def test_a_reviewer_cannot_open_or_write_another_reviewers_case(app, anna, study):
    """anna cannot open bo's case (403), nor save into it by editing the form's case_id
    (409: the form must be for the case opened), nor post it without opening (409)."""
    bo_only = sorted(set(own_open(study, "bo")) - set(own_open(study, "anna")))[0]
    assert open_case(anna, bo_only).status_code == 403
    own = first_review(study, "anna")
    open_case(anna, own)
    form = anna.get("/case")
    data = {**{k: v or "" for k, v in ELIGIBLE_ENTRY.items()}, "case_id": bo_only,
            "csrf_token": token(form.data)}  # fmt: skip
    assert anna.post("/case", data=data).status_code == 409
    fresh = app.test_client()
    login(fresh, "anna")
    page = fresh.get("/cases")
    data["csrf_token"] = token(page.data)
    assert fresh.post("/case", data=data).status_code == 409
    assert study.assessments().empty


def test_double_review_never_shows_the_other_reviewers_entry(app, anna, study):
    """On a double-reviewed case the second reviewer's form is empty even after the first
    has saved; each entry stays the reviewer's own."""
    doubles = study.assignments().query("review_slot == 2")
    case_id = doubles["case_id"].iloc[0]
    first = doubles.merge(study.assignments().query("review_slot == 1"), on="case_id")
    reviewer_1 = first.set_index("case_id").loc[case_id, "reviewer_y"]
    reviewer_2 = doubles.set_index("case_id").loc[case_id, "reviewer"]
    one, two = app.test_client(), app.test_client()
    login(one, reviewer_1)
    login(two, reviewer_2)
    values = {**ELIGIBLE_ENTRY, "health_assessment": "ingen_vaesentlig_barriere",
              "note": "første vurderers note"}  # fmt: skip
    assert save(one, case_id, values).status_code == 302
    open_case(two, case_id)
    form = two.get("/case").get_data(as_text=True)
    assert "første vurderers note" not in form
    assert "checked" not in form.split('name="health_assessment"')[1][:200]
    assert "Begrundelse for rettelsen" not in form  # a new entry for reviewer 2
    assert save(two, case_id).status_code == 302
    entries = study.assessments().set_index("reviewer")
    assert entries.loc[reviewer_1, "health_assessment"] == "ingen_vaesentlig_barriere"
    assert entries.loc[reviewer_2, "health_assessment"] == "for_syg"


def test_disabling_or_a_new_password_ends_sessions(app, anna, study):
    """Disabling an account ends its session at the next request and refuses logins; a
    new password enables it again and ends the sessions begun before it."""
    accounts.disable_account(study, "anna")
    assert anna.get("/cases").status_code == 302
    assert login(anna, "anna").status_code == 401
    accounts.set_password(study, "anna", "nyt-kodeord-123", n=2**10)
    assert login(anna, "anna", "nyt-kodeord-123").status_code == 302
    other = app.test_client()
    login(other, "anna", "nyt-kodeord-123")
    accounts.set_password(study, "anna", "nyt-kodeord-456", n=2**10)
    assert other.get("/cases").status_code == 302
    assert [a for a in study.audit_log()["action"] if a.startswith("account_")] == [
        "account_add", "account_add", "account_disable", "account_passwd", "account_passwd",
    ]  # fmt: skip


def test_an_idle_session_ends(anna, test_clock):
    """A session unused for longer than the idle timeout ends."""
    assert anna.get("/cases").status_code == 200
    test_clock.shift(31 * 60)
    response = anna.get("/cases")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_logout_ends_the_session_and_is_audited(anna, study):
    """Logging out ends the session (audited)."""
    page = anna.get("/cases")
    assert anna.post("/logout", data={"csrf_token": token(page.data)}).status_code == 302
    assert anna.get("/cases").status_code == 302
    assert study.audit_log().iloc[-1]["action"] == "logout"


def test_no_case_data_in_urls_titles_or_logs(anna, study, caplog):
    """Through a whole round of open, save, correct and ineligible, no URL, redirect,
    page title or log line holds a case id or a note."""
    caplog.set_level(logging.DEBUG)
    ids = set(study.units()["case_id"])
    urls, titles = [], []
    cases = study.open_cases("anna").query("review_slot == 1")["case_id"].tolist()
    for case_id, values in zip(cases, [ELIGIBLE_ENTRY, INELIGIBLE_ENTRY], strict=False):
        response = save(anna, case_id, {**values, "note": "fortrolig note"})
        urls.append(response.headers["Location"])
        titles += re.findall(r"<title>(.*?)</title>", anna.get("/cases").get_data(as_text=True))
        open_case(anna, case_id)
        titles += re.findall(r"<title>(.*?)</title>", anna.get("/case").get_data(as_text=True))
    assert len(study.assessments()) == 2
    text = " ".join(urls + titles + [r.getMessage() for r in caplog.records])
    assert not [i for i in ids if i in text]
    assert "fortrolig" not in text


def test_unexpected_errors_are_logged_by_type_only(study, caplog, monkeypatch):
    """An unexpected error gives a 500 page and a log line with its type, not its message
    (which might hold case data)."""
    app = create_app(study)
    client = app.test_client()
    login(client, "anna")

    def broken(*args, **kwargs):
        raise RuntimeError("case c0001 broke")

    monkeypatch.setattr(type(study), "open_cases", broken)
    response = client.get("/cases")
    assert response.status_code == 500
    assert "c0001" not in caplog.text and "RuntimeError" in caplog.text


def test_language_can_be_switched_to_english(anna):
    """The pages are Danish by default; a reviewer can switch to English (labels from the
    codebook's English text)."""
    page = anna.get("/cases")
    assert "Mine sager" in page.get_data(as_text=True)
    anna.post("/language", data={"language": "en", "csrf_token": token(page.data)})
    assert "My cases" in anna.get("/cases").get_data(as_text=True)


def test_the_form_shows_the_codebooks_labels_and_help(anna, study):
    """The form has each codebook field's Danish label, its values' labels, when it must be
    filled, and the codebook's help text; a date's label without the worklists' typing hint
    (the browser's date control shows its own format)."""
    open_case(anna, first_review(study, "anna"))
    form = anna.get("/case").get_data(as_text=True)
    codebook = study.codebook
    for field in codebook.fields:
        label = field.label["da"].replace(" (ÅÅÅÅ-MM-DD)", "")
        assert html.escape(label, quote=False) in form
    assert "ÅÅÅÅ-MM-DD)" not in form and 'type="date"' in form
    assert "Kan deltage med skånehensyn" in form
    assert "Udfyldes når sagen er omfattet (ja)" in form
    assert "tæller som manglende svar" in form


def test_a_busy_store_refuses_the_save_and_keeps_the_form(anna, study, monkeypatch):
    """When the store cannot take the write (busy), the form comes back (503) with what was
    chosen and a message; nothing is stored."""
    from stikprove.errors import StoreError
    from stikprove.web import app as web_app

    def busy(*args, **kwargs):
        raise StoreError("the study is busy")

    monkeypatch.setattr(web_app, "record_assessment", busy)
    response = save(anna, first_review(study, "anna"))
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "databasen er optaget" in page and 'value="for_syg" selected' in page
    assert study.assessments().empty


def test_an_oversized_post_and_an_unknown_language_are_refused(anna, study):
    """A form post over 64 KiB is refused (413); the app refuses a language it lacks."""
    page = anna.get("/cases")
    big = {"case_id": "x", "csrf_token": token(page.data), "note": "x" * 70_000}
    assert anna.post("/cases/open", data=big).status_code == 413
    with pytest.raises(StikproveError, match="language 'de': expected one of da, en"):
        create_app(study, language="de")


@pytest.mark.clock
def test_a_new_case_is_dated_today_and_no_later(anna, study, clock_today):
    """A new case's form proposes today's date as the review date, and no later one."""
    open_case(anna, first_review(study, "anna"))
    form = anna.get("/case").get_data(as_text=True)
    today = clock_today.isoformat()  # the suite's clock, not the machine's
    assert f'type="date" value="{today}" max="{today}"' in form


def test_a_cpr_number_in_a_note_or_reason_is_refused_and_not_shown_again(anna, study):
    """A CPR-like number in the note (or a correction's reason) is refused by the
    recording's screen; the form comes back with the field emptied and a message, and the
    number is nowhere in the page or the store."""
    case_id = first_review(study, "anna")
    response = save(anna, case_id, {**ELIGIBLE_ENTRY, "note": "borger 010170-1234 ringede"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "010170" not in page and "ligner et CPR-nummer" in page
    assert study.assessments().empty
    save(anna, case_id)
    changed = {**ELIGIBLE_ENTRY, "confidence": "nogen_tvivl"}
    response = save(anna, case_id, changed, reason="se 0101701234")
    assert response.status_code == 422 and "0101701234" not in response.get_data(as_text=True)
    assert len(study.assessments(current_only=False)) == 1
    assert b"0101701234" not in study.path.read_bytes()


def test_the_case_page_needs_an_opened_case(anna):
    """The form without an opened case sends the reviewer back to the list."""
    assert anna.get("/case").headers["Location"] == "/cases"


def test_accounts_live_in_the_store(study):
    """Accounts are stored as scrypt hashes; a password never appears in the store."""
    stored = accounts.get_account(open_study(study.path), "anna")
    assert stored.password_hash.startswith("scrypt$1024$8$1$")
    assert PASSWORDS["anna"].encode() not in study.path.read_bytes()


def test_the_style_sheet_never_sets_the_session_cookie(anna, study):
    """A page's style sheet is asked for with the cookie the page had; answered after a form's
    answer (opening a case), a cookie it set would overwrite that answer's and lose the opened
    case (seen once in CI: the browser landed on the case list with "Vælg en sag fra
    listen."). So it sets none, for a reviewer as for a visitor, and the case stays open."""
    stale = anna.get_cookie("stikprove_session").value
    case_id = own_open(study, "anna")[0]
    assert open_case(anna, case_id).status_code == 302
    late = anna.application.test_client()
    late.set_cookie("stikprove_session", stale)
    with late.get("/static/style.css") as sheet:
        assert sheet.status_code == 200 and "Set-Cookie" not in sheet.headers
    with anna.application.test_client().get("/static/style.css") as visitor:
        assert "Set-Cookie" not in visitor.headers
    page = anna.get("/case")
    assert page.status_code == 200 and f"Sag {case_id}" in page.get_data(as_text=True)


def test_a_page_that_changes_nothing_sets_no_cookie(anna, study):
    """Only a request that changes the session answers with a cookie: a browser's own
    requests (the favicon, a reload of the list) sent with an older cookie must not
    overwrite a newer one, as the style sheet's once did (an opened case was lost)."""
    anna.get("/cases")  # the list's first answer may carry the session's CSRF token
    stale = anna.get_cookie("stikprove_session").value
    assert open_case(anna, own_open(study, "anna")[0]).status_code == 302
    late = anna.application.test_client()
    late.set_cookie("stikprove_session", stale)
    for path in ("/favicon.ico", "/cases"):
        with late.get(path) as answer:
            assert answer.status_code in (200, 204) and "Set-Cookie" not in answer.headers
    with anna.get("/case") as form:
        assert form.status_code == 200 and "Set-Cookie" not in form.headers


def test_a_cookie_kept_from_before_logout_is_refused(app, anna):
    """Logging out ends the session on the server too: a copy of its cookie (kept by a
    proxy, another tab or a thief) no longer logs anyone in."""
    page = anna.get("/cases")
    kept = anna.get_cookie("stikprove_session").value
    anna.post("/logout", data={"csrf_token": token(page.data)})
    thief = app.test_client()
    thief.set_cookie("stikprove_session", kept)
    answer = thief.get("/cases")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def login_from(client, name: str, password: str, address: str):
    """A login posted from ``address`` (the test client's REMOTE_ADDR)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    form = {"name": name, "password": password, "csrf_token": token(page.data)}
    return client.post("/login", data=form, environ_base=environ)


def test_a_lockout_outlasts_a_restart_of_the_server(study, test_clock):
    """An account locked by wrong passwords stays locked when `serve` restarts (a new app
    over the same store: the failed logins are read back from the audit log), from any
    address, until its lockout has passed."""
    client = create_app(study).test_client()
    for _ in range(5):
        assert login(client, "anna", "forkert-kodeord").status_code == 401
    restarted = create_app(study).test_client()
    assert login(restarted, "anna").status_code == 429
    assert login_from(restarted, "anna", PASSWORDS["anna"], "127.0.0.2").status_code == 429
    test_clock.shift(15 * 60 + 2)
    assert login(create_app(study).test_client(), "anna").status_code == 302


def test_failed_logins_count_across_a_restart_until_a_good_login(study):
    """Failures before a restart count with those after it; a good login in between
    clears the account's count, as it does without a restart (each from its own address,
    so that only the account's count is tested)."""
    def fail(app, times, first_address):
        for i in range(times):
            address = f"127.0.1.{first_address + i}"
            assert login_from(app.test_client(), "anna", "forkert", address).status_code == 401

    fail(create_app(study), 3, 1)
    app = create_app(study)
    fail(app, 1, 4)
    assert login_from(app.test_client(), "anna", PASSWORDS["anna"], "127.0.2.1").status_code == 302
    fail(app, 3, 5)
    app = create_app(study)
    fail(app, 1, 8)  # 4 since the good login: not locked
    assert login_from(app.test_client(), "anna", PASSWORDS["anna"], "127.0.2.2").status_code == 302
    fail(create_app(study), 4, 9)
    fail(create_app(study), 1, 13)  # the fifth since the last good login: locked
    assert login_from(create_app(study).test_client(), "anna", PASSWORDS["anna"],
                      "127.0.2.3").status_code == 429  # fmt: skip


def test_a_new_password_lifts_a_lockout(app, study):
    """`reviewer passwd` lifts the account's lockout at once, on the running server and
    after a restart (the way for an administrator to let a locked-out reviewer in)."""
    client = app.test_client()
    for i in range(5):
        assert login_from(client, "anna", "forkert", f"127.0.1.{i}").status_code == 401
    assert login_from(client, "anna", PASSWORDS["anna"], "127.0.2.1").status_code == 429
    accounts.set_password(study, "anna", "nyt-kodeord-123", n=2**10)
    assert login_from(client, "anna", "nyt-kodeord-123", "127.0.2.2").status_code == 302
    for i in range(5):
        login_from(app.test_client(), "anna", "forkert", f"127.0.3.{i}")
    accounts.set_password(study, "anna", "nyt-kodeord-456", n=2**10)
    restarted = create_app(study).test_client()
    assert login_from(restarted, "anna", "nyt-kodeord-456", "127.0.2.3").status_code == 302


CPR_FORMS = tomllib.loads((Path(__file__).parent / "catalogue/cpr_forms.toml").read_text("utf-8"))[
    "found"
]


def test_every_catalogued_cpr_form_in_a_note_is_refused_by_the_form(anna, study):
    """Every CPR form of tests/catalogue typed into the note is refused (422) and not
    shown again, the zero-width, fullwidth and spaced forms of issue 19 included."""
    case_id = first_review(study, "anna")
    for form in CPR_FORMS:
        answer = save(anna, case_id, {**ELIGIBLE_ENTRY, "note": f"ring {form} i dag"})
        assert answer.status_code == 422, form
        assert "ligner et CPR-nummer" in answer.get_data(as_text=True), form
    assert study.assessments().empty


@pytest.mark.parametrize("text", ["før\x00efter", "a\x07b", "a\x1bb", "linje\u2028to"])
def test_a_note_or_reason_with_a_control_character_is_refused(anna, study, text):
    """A NUL or another control character in the note or a reason is refused beside the
    field, which comes back empty; nothing is stored (issue 19: a NUL was stored)."""
    case_id = first_review(study, "anna")
    answer = save(anna, case_id, {**ELIGIBLE_ENTRY, "note": text})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "kontroltegn" in page and text not in page
    assert study.assessments().empty
    save(anna, case_id)
    answer = save(anna, case_id, {**ELIGIBLE_ENTRY, "confidence": "nogen_tvivl"}, reason=text)
    assert answer.status_code == 422 and "kontroltegn" in answer.get_data(as_text=True)
    assert len(study.assessments(current_only=False)) == 1


def test_a_note_over_the_stated_length_is_refused(anna, study):
    """A note of 2,001 characters is refused with the limit (the textarea states it as
    maxlength); 2,000 are saved (issue 19: a 60,000-character note was stored)."""
    from stikprove.web.forms import MAX_TEXT_LENGTH

    case_id = first_review(study, "anna")
    open_case(anna, case_id)
    assert f'maxlength="{MAX_TEXT_LENGTH}"' in anna.get("/case").get_data(as_text=True)
    answer = save(anna, case_id, {**ELIGIBLE_ENTRY, "note": "x" * (MAX_TEXT_LENGTH + 1)})
    assert answer.status_code == 422 and "Højst 2000 tegn" in answer.get_data(as_text=True)
    assert study.assessments().empty
    assert save(anna, case_id, {**ELIGIBLE_ENTRY, "note": "x" * MAX_TEXT_LENGTH}).status_code == 302


@pytest.mark.parametrize("path", ["/static//x", "/static//evil.example/x", "//evil.example/",
                                  "/cases/", "/login/"])  # fmt: skip
def test_no_redirect_goes_to_a_host_the_client_gives(app, path):
    """A request with a forged Host is never redirected to that host (issue 19: GET
    /static//x redirected to it): paths with doubled slashes are not found, and every
    redirect is a relative path."""
    answer = app.test_client().get(path, headers={"Host": "evil.example"})
    location = answer.headers.get("Location") or ""
    assert "evil" not in location and not location.startswith(("http", "//"))


def test_a_session_ended_while_the_form_was_open_says_log_in_again(app, anna, study):
    """The account disabled (or a new password) while a form is open: saving it answers
    'logged out, log in again', nothing stored, and not the form's missing-token message
    (issue 19)."""
    case_id = first_review(study, "anna")
    open_case(anna, case_id)
    form = anna.get("/case")
    accounts.disable_account(study, "anna")
    data = {**{k: v or "" for k, v in ELIGIBLE_ENTRY.items()}, "case_id": case_id,
            "csrf_token": token(form.data)}  # fmt: skip
    answer = anna.post("/case", data=data)
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    page = anna.get("/login").get_data(as_text=True)
    assert "Du er logget ud" in page and "Log ind igen" in page and "Intet fra formularen" in page
    assert "sikkerhedsnøgle" not in page
    assert study.assessments().empty


def test_a_session_ended_by_a_restart_says_log_in_again(study):
    """After a restart of the server (a new app, a new key) a page asks the reviewer to
    log in again, saying why."""
    first = create_app(study, secret_key=b"k" * 32)
    client = first.test_client()
    assert login(client, "anna").status_code == 302
    restarted = create_app(study, secret_key=b"k" * 32)
    client.application = restarted
    answer = client.get("/cases")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert "Du er logget ud" in client.get("/login").get_data(as_text=True)


def test_a_login_finding_the_checker_full_is_refused_before_the_store_is_read(app, monkeypatch):
    """While as many password checks run and wait as allowed, a login is answered 503 at
    once, without reading the store (a flood's cheapest refusal), and nothing is counted."""
    from stikprove.store import Study

    checker = app.extensions["stikprove"]["checker"]
    client = app.test_client()
    page = client.get("/login")
    monkeypatch.setattr(checker, "has_room", lambda: False)

    def no_reading(self):
        raise AssertionError("the store was read")

    monkeypatch.setattr(Study, "reviewers", no_reading)
    form = {"name": "anna", "password": "forkert", "csrf_token": token(page.data)}
    answer = client.post("/login", data=form)
    assert answer.status_code == 503 and "travlt" in answer.get_data(as_text=True)
