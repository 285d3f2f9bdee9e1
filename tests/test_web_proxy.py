"""The form served to other machines as docs/web.md describes it: `serve --behind-proxy`
(waitress on loopback) behind nginx with deploy/nginx/stikprove.conf, TLS terminated by
nginx with a certificate made in the test (trustme). Logins over HTTPS with the CSRF check
kept strict, the client's address as nginx forwards it and never as the client claims it,
and silent or idle connections that stall nobody (issue 19)."""

import http.client
import socket
import ssl
import time

import pytest

from stikprove.web import create_app
from web_fixtures import PASSWORDS, Proxied, Served, enrol, tls_certificate, token, web_study


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return tls_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def proxied(tmp_path, certificate):
    ca, cert, key = certificate
    study = web_study(tmp_path)
    for name in PASSWORDS:
        AUTHENTICATORS[name] = enrol(study, name)
    served = Served(create_app(study, behind_proxy=True), study, behind_proxy=True)
    with served, Proxied(tmp_path, served, cert, key) as proxy:
        yield proxy, served, study, ca
        while OPEN:
            OPEN.pop().close()


OPEN: list = []
"""The connections a test opened (closed after it)."""
AUTHENTICATORS: dict = {}
"""Each reviewer's authenticator app (behind the proxy the second factor is needed)."""


class Browser:
    """An HTTPS client that keeps the session cookie and sends a same-origin Referer, as
    a browser does under ``Referrer-Policy: same-origin``."""

    def __init__(self, proxy, ca, referer=True):
        context = ssl.create_default_context()
        ca.configure_trust(context)
        self.con = http.client.HTTPSConnection("localhost", proxy.https_port,
                                               context=context, timeout=10)  # fmt: skip
        OPEN.append(self.con)
        self.origin = proxy.url
        self.referer = referer
        self.cookie = None

    def request(self, method, path, form=None, headers=None):
        from urllib.parse import urlencode

        sent = dict(headers or {})
        if self.cookie:
            sent["Cookie"] = self.cookie
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            if self.referer:
                sent["Referer"] = self.origin + path
                sent["Origin"] = self.origin
        self.con.request(method, path, body=urlencode(form) if form else None, headers=sent)
        answer = self.con.getresponse()
        body = answer.read().decode()
        cookie = answer.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer, body

    def login(self, name="anna", headers=None):
        _, page = self.request("GET", "/login")
        form = {"name": name, "password": PASSWORDS[name], "csrf_token": token(page),
                "code": AUTHENTICATORS[name].now()}  # fmt: skip
        return self.request("POST", "/login", form, headers)


def test_login_over_https_through_nginx_keeps_the_csrf_check_strict(proxied):
    """Through nginx a login with the browser's same-origin Referer gets in (Secure cookie,
    HSTS, the headers of every page); one without a Referer is refused by the strict
    CSRF check, as is one from another origin."""
    proxy, _, _, ca = proxied
    browser = Browser(proxy, ca)
    answer, _ = browser.login()
    assert answer.status == 302 and answer.getheader("Location") == "/cases"
    assert "Secure" in answer.getheader("Set-Cookie")
    assert answer.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert answer.getheader("Referrer-Policy") == "same-origin"
    cases, body = browser.request("GET", "/cases")
    assert cases.status == 200 and "Mine sager" in body
    refused, _ = Browser(proxy, ca, referer=False).login()
    assert refused.status == 400
    other = Browser(proxy, ca)
    other.origin = "https://evil.example"
    assert other.login()[0].status == 400


def test_the_client_address_is_nginx_s_and_never_the_clients_claim(proxied):
    """The audit names the address nginx saw; an X-Forwarded-For or Forwarded header the
    client sends is overwritten or removed on the way."""
    proxy, _, study, ca = proxied
    forged = {"X-Forwarded-For": "10.1.2.3", "Forwarded": "for=10.1.2.4",
              "X-Forwarded-Host": "evil.example"}  # fmt: skip
    answer, _ = Browser(proxy, ca).login(headers=forged)
    assert answer.status == 302
    details = " ".join(study.audit_log()["details"])
    assert "login from loopback" in details and "10.1.2" not in details


def test_plain_http_behind_the_proxy_is_refused(proxied):
    """A request that did not come through the proxy over HTTPS (straight to the form's
    port, without X-Forwarded-Proto) is refused: the form is HTTPS-only behind a proxy."""
    _, served, _, _ = proxied
    con = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    OPEN.append(con)
    con.request("GET", "/login")
    answer = con.getresponse()
    assert answer.status == 400 and "HTTPS" in answer.read().decode()
    assert answer.getheader("Content-Security-Policy")


def test_silent_and_idle_connections_stall_no_one(proxied):
    """Three connections that never send a ClientHello, and 120 idle ones, do not delay a
    login page (issue 19: one silent connection made it take 9.7 s under the old server's
    TLS, three made it time out; 120 slow ones exhausted the connection limit)."""
    proxy, served, _, ca = proxied
    idle = []
    try:
        for _ in range(3):
            idle.append(socket.create_connection(("127.0.0.1", proxy.https_port)))
        for _ in range(120):
            idle.append(socket.create_connection(("127.0.0.1", served.port)))
        started = time.perf_counter()
        answer, body = Browser(proxy, ca).request("GET", "/login")
        assert answer.status == 200 and "csrf_token" in body
        assert time.perf_counter() - started < 5
        direct = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
        OPEN.append(direct)
        direct.request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
        assert direct.getresponse().status == 200
    finally:
        for sock in idle:
            sock.close()


def test_a_missing_nginx_fails_with_how_to_install_it(monkeypatch, tmp_path):
    """Without Debian's nginx the proxy tests fail (not skip), saying how to install it."""
    import web_fixtures

    monkeypatch.setattr(web_fixtures, "NGINX", "/nonexistent/nginx")
    with pytest.raises(RuntimeError, match=r"make browser.*apt-get install -y nginx"):
        web_fixtures.Proxied(tmp_path, None, tmp_path, tmp_path)


def test_nginx_limits_logins_per_address_before_the_form(proxied):
    """A flood of logins from one address is cut by nginx (30 a minute, a burst of 10:
    429 from nginx), before it reaches the form's password checks; the pages go on."""
    proxy, _, study, ca = proxied
    browser = Browser(proxy, ca)
    _, page = browser.request("GET", "/login")
    form = {"name": "ingen", "password": "forkert-kodeord", "csrf_token": token(page)}
    statuses = [browser.request("POST", "/login", form)[0].status for _ in range(20)]
    assert statuses.count(401) <= 11 and statuses.count(429) >= 9
    failed = (study.audit_log()["action"] == "login_failed").sum()
    assert failed == statuses.count(401)
    assert browser.request("GET", "/login")[0].status == 200
