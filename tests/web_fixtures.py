"""Helpers for the web form's tests: a study with reviewer accounts, logging in, and the
CSRF token of a page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from stikprove.store import open_study
from stikprove.web import accounts
from store_fixtures import ELIGIBLE_ENTRY, make_study

PASSWORDS = {"anna": "anna-hemmelig-1", "bo": "bo-hemmelig-22"}
"""Passwords of the test accounts."""
CHEAP_SCRYPT_N = 2**10
"""A cheap scrypt cost for the tests' accounts (the stored hash carries it; the default
cost is tested on its own)."""
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_study(tmp_path, **kwargs):
    """make_study's store (anna and bo, every 4th case double-reviewed) with accounts."""
    study = make_study(tmp_path, **kwargs)
    for name, password in PASSWORDS.items():
        accounts.add_account(study, name, password, n=CHEAP_SCRYPT_N)
    return study


def enrol(study, name: str):
    """Enrol the reviewer's second factor; their authenticator (a ``pyotp.TOTP``)."""
    from urllib.parse import parse_qs, urlparse

    import pyotp

    uri = accounts.enroll_totp(study, name)
    return pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])


def copy_study(template, tmp_path):
    """A copy of the store ``template`` (a Study) in ``tmp_path``, opened."""
    target = tmp_path / template.path.name
    shutil.copyfile(template.path, target)
    return open_study(target)


def token(html: str | bytes) -> str:
    """The CSRF token in a page's first form."""
    text = html.decode() if isinstance(html, bytes) else html
    found = _TOKEN.search(text)
    if found is None:
        raise AssertionError("no csrf_token in the page")
    return found.group(1)


def login(client, name: str, password: str | None = None):
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "name": name,
            "password": password or PASSWORDS[name],
            "csrf_token": token(page.data),
        },
    )


def open_case(client, case_id: str):
    page = client.get("/cases")
    return client.post("/cases/open", data={"case_id": case_id, "csrf_token": token(page.data)})


def save(client, case_id: str, values: dict | None = None, reason: str | None = None):
    """Open ``case_id`` and post ``values`` (default: an eligible entry) for it."""
    open_case(client, case_id)
    form = client.get("/case")
    data = {k: v or "" for k, v in (values or ELIGIBLE_ENTRY).items()}
    data.update(case_id=case_id, csrf_token=token(form.data))
    if reason is not None:
        data["reason"] = reason
    return client.post("/case", data=data)


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium: the browser tests drive it (Playwright never downloads one)."""
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
INSTALL_CHROMIUM = (
    f"{CHROMIUM} is missing: the browser tests need Debian's chromium package; install it "
    "with 'make browser' (as root: apt-get update && apt-get install -y chromium)"
)


def launch_chromium(playwright):
    """The system Chromium, headless; fails (never skips) with how to install it."""
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        raise RuntimeError(INSTALL_CHROMIUM.replace("/usr/bin/chromium", CHROMIUM, 1))
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Served:
    """The web form served by waitress on loopback in a thread (a context manager)."""

    def __init__(self, app, study=None, behind_proxy=False):
        from stikprove.web.server import bound_port, check_listen, make_server

        self.study = study
        listen = check_listen("127.0.0.1", 0, behind_proxy=behind_proxy)
        self.server = make_server(app, listen)
        self.port = bound_port(self.server)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        import threading

        from stikprove.web.server import run

        self.thread = threading.Thread(target=run, args=(self.server, self.study), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        from stikprove.web.server import stop

        stop(self.server)
        self.thread.join(10)


NGINX = "/usr/sbin/nginx"
INSTALL_NGINX = (
    "{nginx} is missing: the reverse-proxy tests need Debian's nginx package; install it "
    "with 'make browser' (as root: apt-get update && apt-get install -y nginx)"
)
DEPLOY_NGINX = Path(__file__).resolve().parents[1] / "deploy/nginx/stikprove.conf"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proxied:
    """nginx in front of a :class:`Served` form (started with ``behind_proxy``), with the
    documented site configuration (deploy/nginx/stikprove.conf), changed only in where it
    listens (``https_port`` on 127.0.0.1), its certificate and the form's port; started
    in the foreground, stopped at the end. Fails (never skips) without nginx."""

    def __init__(self, folder: Path, served: Served, cert: Path, key: Path):
        import re

        if not Path(NGINX).exists():
            raise RuntimeError(INSTALL_NGINX.format(nginx=NGINX))
        self.folder = folder
        self.https_port = free_port()
        site = DEPLOY_NGINX.read_text("utf-8")
        site = re.sub(r"\n\s*listen \[::\]:\d+( ssl)?;", "", site)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
        site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{self.https_port} ssl;")
        site = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", site)
        site = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", site)
        site = site.replace("http://127.0.0.1:8765", f"http://127.0.0.1:{served.port}")
        site = site.replace("zone=stikprove_login:", f"zone=stikprove_login_{self.https_port}:")
        site = site.replace("zone=stikprove_login ", f"zone=stikprove_login_{self.https_port} ")
        self.config = folder / "nginx.conf"
        self.config.write_text(
            "daemon off;\nmaster_process off;\nworker_processes 1;\n"
            f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n"
            + "".join(f"  {kind}_temp_path {folder}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + site + "\n}\n",
            "utf-8",
        )  # fmt: skip
        self.url = f"https://localhost:{self.https_port}"

    def __enter__(self):
        import socket
        import subprocess
        import time

        self.process = subprocess.Popen(
            [NGINX, "-c", str(self.config), "-p", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx did not start: {self.process.stderr.read()!r}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.025)
        self.process.kill()
        raise RuntimeError("nginx did not listen within 5 s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()


def tls_certificate(folder: Path):
    """A test CA (trustme) and a certificate for localhost and 127.0.0.1 signed by it:
    (ca, cert path, key path)."""
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = folder / "cert.pem", folder / "key.pem"
    issued.cert_chain_pems[0].write_to_path(cert)
    issued.private_key_pem.write_to_path(key)
    return ca, cert, key
