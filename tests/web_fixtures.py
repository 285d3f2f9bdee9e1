"""Helpers for the web form's tests: a study with reviewer accounts, logging in, and the
CSRF token of a page."""

from __future__ import annotations

import re
import shutil

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

    def __init__(self, app, study=None):
        from stikprove.web.server import bound_port, check_listen, make_server

        self.study = study
        self.server = make_server(app, check_listen("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{bound_port(self.server)}"

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
