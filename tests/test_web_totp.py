"""The second factor (TOTP, RFC 6238): needed for every login when the form is served
beyond loopback (behind the proxy), and for an account that has one enrolled; a code is
used once; `reviewer passwd` is the recovery (it removes the second factor) and `reviewer
totp` enrols a new one (issue 19)."""

import io
import stat

import pytest

from stikprove.cli import main
from stikprove.web import accounts, create_app
from web_fixtures import CHEAP_SCRYPT_N, PASSWORDS, copy_study, enrol, token, web_study


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return web_study(tmp_path_factory.mktemp("template"))


@pytest.fixture
def study(template, tmp_path):
    return copy_study(template, tmp_path)


@pytest.fixture
def cheap_scrypt(monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT_N", CHEAP_SCRYPT_N)


def login(client, name, code=None, password=None):
    page = client.get("/login")
    form = {"name": name, "password": password or PASSWORDS[name],
            "csrf_token": token(page.data)}  # fmt: skip
    if code is not None:
        form["code"] = code
    return client.post("/login", data=form)


def test_a_login_needs_the_current_code_when_required(study):
    """With the second factor required, the right password alone, or with a wrong code,
    is a failed login; with the authenticator's current code it gets in."""
    app = create_app(study, require_totp=True)
    anna = enrol(study, "anna")
    assert login(app.test_client(), "anna").status_code == 401
    assert login(app.test_client(), "anna", "000000" if anna.now() != "000000" else "111111"
                 ).status_code == 401  # fmt: skip
    answer = login(app.test_client(), "anna", anna.now())
    assert answer.status_code == 302 and answer.headers["Location"] == "/cases"
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'name="code"' in page


def test_a_code_is_accepted_once(study, test_clock):
    """The same code sent again (another browser, the same 30 seconds) is refused, and
    so is an older one once a newer one was used; the next step's code gets in."""
    app = create_app(study, require_totp=True)
    anna = enrol(study, "anna")
    now = test_clock.time_ns() / 1e9  # the suite's clock (a fixed start), not the machine's
    earlier = anna.at(now - 30)
    code = anna.at(now)
    assert login(app.test_client(), "anna", code).status_code == 302
    assert login(app.test_client(), "anna", code).status_code == 401
    assert login(app.test_client(), "anna", earlier).status_code == 401
    test_clock.shift(30)
    assert login(app.test_client(), "anna", anna.at(test_clock.time_ns() / 1e9)).status_code == 302


def test_wrong_codes_count_towards_the_lockout(study):
    """Five wrong codes after the right password lock the account like wrong passwords."""
    app = create_app(study, require_totp=True)
    anna = enrol(study, "anna")
    wrong = "123456" if anna.now() != "123456" else "654321"
    for _ in range(5):
        assert login(app.test_client(), "anna", wrong).status_code == 401
    assert login(app.test_client(), "anna", anna.now()).status_code == 429


def test_behind_the_proxy_an_account_without_a_second_factor_cannot_log_in(study):
    """Beyond loopback (behind the proxy) the second factor is required: an account
    without one is refused after its password (403, saying to ask for one; not counted as
    a failure), and gets in once enrolled."""
    app = create_app(study, behind_proxy=True)
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    page = client.get("/login", **https)
    form = {"name": "bo", "password": PASSWORDS["bo"], "csrf_token": token(page.data)}
    refused = client.post("/login", data=form, **https)
    assert refused.status_code == 403
    assert "stikprove reviewer totp" in refused.get_data(as_text=True)
    assert "login_refused_no_totp" in set(study.audit_log()["action"])
    bo = enrol(study, "bo")
    page = client.get("/login", **https)
    form.update(csrf_token=token(page.data), code=bo.now())
    assert client.post("/login", data=form, **https).status_code == 302


def test_on_loopback_only_an_enrolled_account_needs_its_code(study):
    """On loopback the second factor is not required, but an account that has one needs
    its code; the others log in with their password."""
    app = create_app(study)
    enrol(study, "anna")
    assert login(app.test_client(), "anna").status_code == 401
    assert login(app.test_client(), "bo").status_code == 302


def test_passwd_is_the_recovery_and_totp_enrols_anew(study, monkeypatch, capsys, cheap_scrypt,
                                                     tmp_path):  # fmt: skip
    """A reviewer who lost their phone: `reviewer passwd` sets a new password and removes
    the second factor (saying so), `reviewer totp` enrols a new one, shown as a QR code in
    the terminal and written to --qr (mode 0600, never over an existing file); the old
    authenticator's codes no longer work."""
    old = enrol(study, "anna")
    monkeypatch.setattr("sys.stdin", io.StringIO("et-nyt-langt-kodeord\n"))
    assert main(["reviewer", "passwd", str(study.path), "anna"]) == 0
    out = capsys.readouterr().out
    assert "second factor is removed" in out and "reviewer totp" in out
    assert accounts.get_account(study, "anna").totp is False
    qr = tmp_path / "anna.png"
    assert main(["reviewer", "totp", str(study.path), "anna", "--qr", str(qr)]) == 0
    out = capsys.readouterr().out
    assert "█" in out or "▀" in out  # the QR code, drawn in the terminal
    assert "type the key by hand" in out and qr.read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE(qr.stat().st_mode) == 0o600
    assert main(["reviewer", "totp", str(study.path), "anna", "--qr", str(qr)]) == 2
    assert "the file exists" in capsys.readouterr().err
    app = create_app(study, require_totp=True)
    answer = login(app.test_client(), "anna", old.now(), password="et-nyt-langt-kodeord")
    assert answer.status_code == 401
    actions = study.audit_log()["action"].tolist()
    assert actions.count("account_totp") == 2 and "account_passwd" in actions
    assert "secret" not in " ".join(study.audit_log()["details"]).lower()


def test_add_with_totp_enrols_at_once(tmp_path, monkeypatch, capsys, cheap_scrypt):
    """`reviewer add --totp` gives the account its second factor straight away."""
    from store_fixtures import make_study

    study = make_study(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-kodeord\n"))
    assert main(["reviewer", "add", str(study.path), "anna", "--totp"]) == 0
    assert "otpauth" not in capsys.readouterr().out
    assert accounts.get_account(study, "anna").totp


def test_behind_the_proxy_the_login_page_requires_the_code(study):
    """The login page behind the proxy marks the code field required."""
    app = create_app(study, behind_proxy=True)
    page = app.test_client().get("/login", base_url="https://localhost")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.get_data(as_text=True)
    assert " required>" in page.get_data(as_text=True).split('id="code"', 1)[1].split("\n")[1]
