"""The reviewers' web form as a Flask application (:func:`create_app`).

Pages: the login, the reviewer's case list (open cases in the stratum's review order, then
the cases they have entered, and their progress), and the codebook form for one case.
Which case the form is for is kept in the session, never in a URL: a case is opened by a
POST from the list. Saving goes through :func:`stikprove.recording.record_assessment`,
the strict import's own checks and writing (one transaction; an ineligible first review
brings in the stratum's next reserve); a saved entry is corrected only with a reason, as a
superseding entry. A reviewer sees and writes only their own entries, also on a
double-reviewed case.

Security: session cookies are HttpOnly and SameSite=Strict (Secure under TLS) and signed
with a key made at start; every POST carries a CSRF token (Flask-WTF's CSRFProtect: 400
without it); logins are throttled per account and address
(:class:`~stikprove.web.accounts.LoginThrottle`, rebuilt from the audit log at start, so a
lockout outlasts a restart); a session ends when idle, at logout, and
when its account's password changes or the account is disabled. The server keeps which
sessions are open and when each was last used (:class:`Sessions`): the cookie carries the
session's random id, so logging out ends it for every copy of the cookie, and a request
that changes nothing (a page, the favicon) sends no cookie, so a late answer can never
overwrite a newer cookie (an opened case was once lost that way). Every page is sent with a
Content-Security-Policy without scripts, no framing and ``Cache-Control: no-store``.
Logins, failed logins, lockouts and logouts go to the study's audit log, entries and
corrections too (by the recording). Nothing with case data is logged: an unexpected error
is logged by its type only.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from stikprove.cpr import contains_cpr
from stikprove.errors import ImportRowsError, StikproveError
from stikprove.kommuner import kommune
from stikprove.recording import record_assessment
from stikprove.store import Study, audit, open_study
from stikprove.web import accounts
from stikprove.web.forms import (
    MAX_TEXT_LENGTH,
    REASON,
    UI_TEXT,
    field_errors,
    form_fields,
    posted_values,
    text_problems,
)
from stikprove.web.headers import security_headers
from stikprove.web.texts import TEXT

LOG = logging.getLogger("stikprove.web")
SOURCE = "stikprove serve"
"""The ``source`` of entries and audit rows written through the web form."""
IDLE_TIMEOUT_S = 30 * 60
"""A session unused this long ends (the reviewer logs in again)."""
LANGUAGES = ("da", "en")
HTTP_MESSAGES = {400: "bad_request", 404: "not_found", 405: "not_allowed", 413: "too_large"}
"""The statuses answered with the form's own error page (the text's key)."""



def create_app(
    study: Study | str | Path,
    *,
    secret_key: bytes | None = None,
    secure_cookies: bool = False,
    behind_proxy: bool = False,
    require_totp: bool | None = None,
    throttle: accounts.ThrottleSettings | None = None,
    clock: Callable[[], float] = time.time,
    language: str = "da",
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    hashing_slots: int | None = None,
) -> Flask:
    """The web form over ``study`` (a Study or the path of its store).

    ``secret_key`` signs the session cookies (default: a new random key, so restarting the
    server ends every session); ``secure_cookies`` marks them Secure (set under TLS);
    ``behind_proxy``: served to other machines through a reverse proxy that terminates TLS
    (Secure cookies, HSTS, and a request that did not come over HTTPS is refused);
    ``require_totp``: every login needs the second factor (default: behind a proxy, that
    is beyond loopback; an account with a second factor enrolled always needs it);
    ``clock`` gives seconds for the idle timeout and the login throttle;
    ``hashing_slots``: how many password checks may run at once (default
    :func:`~stikprove.web.accounts.hashing_slots`).
    """
    if not isinstance(study, Study):
        study = open_study(study)
    if language not in LANGUAGES:
        raise StikproveError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
    secure_cookies = secure_cookies or behind_proxy
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="stikprove_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: a form may take an hour to fill
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    login_throttle = accounts.LoginThrottle(throttle or accounts.ThrottleSettings(), clock)
    accounts.restore_throttle(login_throttle, study)
    app.extensions["stikprove"] = {
        "study": study,
        "throttle": login_throttle,
        "clock": clock,
        "sessions": Sessions(idle_timeout_s, clock),
        "checker": accounts.PasswordChecker(hashing_slots),
        "refusals": Once(60.0, clock),
        "language": language,
        "behind_proxy": behind_proxy,
        "require_totp": behind_proxy if require_totp is None else require_totp,
    }
    # werkzeug answers a path with doubled slashes (/static//x) with a redirect to the
    # merged path on the request's Host, which a client chooses: not merged, such a path
    # is not found (every redirect of the form itself is a relative path)
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    _register(app)
    CSRFProtect(app)  # after _register: its check runs after the session is read
    return app


class Once:
    """Whether something keyed happened for the first time within ``interval_s`` seconds
    (a dict and a lock): the audit of refused logins is written once a minute per account."""

    def __init__(self, interval_s: float, clock: Callable[[], float]):
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_in_a_while(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            if now - self._last.get(key, -self.interval_s - 1) <= self.interval_s:
                return False
            if len(self._last) > 10_000:  # invented names: forget the old ones
                self._last = {k: t for k, t in self._last.items() if now - t <= self.interval_s}
            self._last[key] = now
            return True


class Sessions:
    """The open sessions of one server: each session's id and when it was last used.

    Written by hand: a dict and a lock. Server-side session stores (Flask-Session and its
    backends) keep the whole session on the server and write it back after each request,
    which brings back the lost update this avoids; here the cookie keeps the session's
    few values, and the server only whether its id is still open."""

    def __init__(self, idle_timeout_s: float, clock: Callable[[], float]):
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._last_used: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        """A new session's id (sessions idle too long are forgotten meanwhile)."""
        now = self._clock()
        sid = secrets.token_urlsafe(24)
        with self._lock:
            for old in [k for k, t in self._last_used.items() if now - t > self.idle_timeout_s]:
                del self._last_used[old]
            self._last_used[sid] = now
        return sid

    def use(self, sid: str | None) -> str:
        """'open' (and now used), 'idle' (ended by the idle timeout) or 'unknown' (ended
        at logout, by a restart, or never started here)."""
        now = self._clock()
        with self._lock:
            last = self._last_used.get(sid) if sid else None
            if last is None:
                return "unknown"
            if now - last > self.idle_timeout_s:
                del self._last_used[sid]
                return "idle"
            self._last_used[sid] = now
            return "open"

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._last_used.pop(sid or "", None)


def _state(key: str):
    from flask import current_app

    return current_app.extensions["stikprove"][key]


def _text(key: str, **kwargs) -> str:
    return TEXT[g.get("language") or _state("language")][key].format(**kwargs)


def _register(app: Flask) -> None:
    @app.before_request
    def https_only():
        if _state("behind_proxy") and request.scheme != "https":
            # the proxy forwards X-Forwarded-Proto: https; anything else did not come
            # through it over TLS (and Flask-WTF's strict Referer check needs HTTPS)
            return render_template("error.html", message=_text("https_only")), 400
        return None

    @app.before_request
    def load_reviewer():
        g.language = session.get("language") or _state("language")
        g.reviewer = None
        if request.endpoint == "static":
            # The style sheet needs no login, and must not touch the session: its response
            # would set the cookie as it was when the page asked for it, and arriving after a
            # form's answer (opening a case) it overwrote that answer's cookie, losing the case.
            return
        name = session.get("reviewer")
        if name is None:
            return
        # nothing is written to the session here: a request that changes nothing sends
        # no cookie (see the module docstring)
        used = _state("sessions").use(session.get("sid"))
        account = accounts.get_account(_state("study"), name)
        if account is None or account.disabled or account.changed_at != session.get("stamp"):
            _end_session()
            g.ended = "ended"
            return
        if used != "open":
            _end_session()
            g.ended = "expired" if used == "idle" else "ended"
            return
        g.reviewer = name

    @app.after_request
    def add_security_headers(response):
        for name, value in security_headers(https=app.config["SESSION_COOKIE_SECURE"]):
            response.headers[name] = value
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        if g.get("ended"):
            # the session ended while the form was open (logout elsewhere, a new password,
            # the account disabled, idle, a restart): its token went with it. Say so, not
            # that the form lacks its token; nothing was stored.
            return _to_login(g.ended, nothing_saved=True)
        return render_template("error.html", message=_text("csrf")), 400

    def _to_login(why: str, nothing_saved: bool = False):
        flash(_text(why) + (" " + _text("nothing_saved") if nothing_saved else ""))
        return redirect(url_for("login"), code=303 if request.method == "POST" else 302)

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            if error.code in HTTP_MESSAGES and error.response is None:
                # the form's own page in the reviewer's language, not werkzeug's
                message = _text(HTTP_MESSAGES[error.code])
                return render_template("error.html", message=message), error.code
            return error
        # the type only: a message may carry case data
        LOG.error("unexpected %s while answering %s %s", type(error).__name__,
                  request.method, request.path)  # fmt: skip
        return render_template("error.html", message=_text("internal")), 500

    def login_required():
        if g.reviewer is None:
            if g.get("ended"):
                abort(_to_login(g.ended))
            abort(redirect(url_for("login")))

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/")
    def index():
        return redirect(url_for("cases" if g.reviewer else "login"))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return render_template("login.html", name="")
        name = (request.form.get("name") or "").strip()[:200]
        password = (request.form.get("password") or "")[:1000]
        code = (request.form.get("code") or "")[:20]
        if not _state("checker").has_room():
            # a flood of logins: answered before the store is read (the cheapest refusal)
            return render_template("login.html", name="", error=_text("busy_login")), 503
        address = accounts.client_address(request.remote_addr)
        study = _state("study")
        throttle: accounts.LoginThrottle = _state("throttle")
        known = name in study.reviewers()
        who = name if known else "(unknown name)"  # a typed name may be anything: not logged
        shown = name if known else ""  # ... nor shown again (it might be a CPR number)
        account = accounts.get_account(study, name) if known else None
        key = accounts.throttle_key(name, account)
        wait = throttle.begin(key, address)
        if wait > 0:
            if _state("refusals").first_in_a_while(key):
                # once a minute per account: a flood against a locked account (or while
                # the global limit holds) must not write an audit row per attempt
                _audit(study, "login_refused_locked", who, f"login refused: locked ({address})")
            minutes = max(1, round(wait / 60))
            return render_template("login.html", name=shown,
                                   error=_text("locked", minutes=minutes)), 429  # fmt: skip
        outcome = None
        unenrolled = False
        try:
            usable = account is not None and not account.disabled
            if usable:
                ok = _state("checker").verify(password, account.password_hash)
            else:
                some = accounts.accounts(study)
                _state("checker").verify(password, None, some[0].password_hash if some else None)
                ok = False
            if ok and (account.totp or _state("require_totp")):
                # the second factor, checked after the password and inside the same
                # reservation: a wrong or reused code is a failed login like a wrong password
                unenrolled = not account.totp
                ok = not unenrolled and accounts.check_totp(study, account.reviewer, code,
                                                            _state("clock")())  # fmt: skip
            outcome = ok or (None if unenrolled else False)
        except accounts.HashingBusy:
            return render_template("login.html", name=shown, error=_text("busy_login")), 503
        finally:
            locked = throttle.end(key, address, outcome)
        if unenrolled:
            _audit(study, "login_refused_no_totp", who, f"login refused: no second factor "
                   f"enrolled ({address})")  # fmt: skip
            return render_template("login.html", name=shown, error=_text("no_totp")), 403
        if not ok:
            _audit(study, accounts.LOGIN_FAILED, who,
                   accounts.failed_login_details(address, locked))  # fmt: skip
            return render_template("login.html", name=shown, error=_text("bad_login")), 401
        _end_session()
        session["sid"] = _state("sessions").start()
        session["reviewer"] = account.reviewer
        session["stamp"] = account.changed_at
        _audit(study, accounts.LOGIN, account.reviewer, f"login from {address}")
        return redirect(url_for("cases"))

    @app.post("/logout")
    def logout():
        if g.reviewer:
            _audit(_state("study"), "logout", g.reviewer, f"logout from {request.remote_addr}")
        _end_session()
        flash(TEXT[g.language]["logged_out"])
        return redirect(url_for("login"))

    @app.post("/language")
    def set_language():
        chosen = request.form.get("language")
        if chosen in LANGUAGES:
            session["language"] = chosen
        return redirect(url_for("cases" if g.reviewer else "login"))

    @app.get("/cases")
    def cases():
        login_required()
        study = _state("study")
        open_cases = study.open_cases(g.reviewer)
        entered = study.entered_cases(g.reviewer)
        rows_open = [_case_row(r) for r in open_cases.to_dict("records")]
        rows_done = [_case_row(r, eligible=r["eligible"]) for r in entered.to_dict("records")]
        return render_template(
            "cases.html",
            open_cases=rows_open,
            done_cases=rows_done,
            assigned=len(rows_open) + len(rows_done),
            done=len(rows_done),
            worklist_fields=study.worklist_fields,
        )

    @app.post("/cases/open")
    def open_case():
        login_required()
        case_id = (request.form.get("case_id") or "").strip()
        if _state("study").assignment(case_id, g.reviewer) is None:
            return render_template("error.html", message=_text("not_yours")), 403
        session["case"] = case_id
        return redirect(url_for("case"))

    @app.get("/case")
    def case():
        login_required()
        case_id = session.get("case")
        if case_id is None:
            flash(_text("no_case"))
            return redirect(url_for("cases"))
        return _render_case(case_id)

    @app.post("/case")
    def save_case():
        login_required()
        study = _state("study")
        case_id = session.get("case")
        if case_id is None or request.form.get("case_id") != case_id:
            return render_template("error.html", message=_text("other_case")), 409
        values = posted_values(study.codebook, request.form)
        reason = (request.form.get(REASON) or "").strip() or None
        refused = text_problems({**values, REASON: reason}, g.language)
        if refused:
            # a NUL or another control character, or a text over the stated length: not
            # passed on, and the field comes back empty
            for name in refused:
                values[name] = None
            kept_reason = None if REASON in refused else reason
            return _render_case(case_id, values, refused, [], kept_reason), 422
        today = date.today()
        try:
            # corrections allowed: a saved entry is changed only with a reason (the
            # recording refuses it without one); a new entry needs none
            result = record_assessment(
                study, g.reviewer, case_id, values,
                corrections=True, reason=reason, source=SOURCE, today=today,
            )  # fmt: skip
        except ImportRowsError as error:
            if any(p.column == "case_id" for p in error.problems):
                session.pop("case", None)  # not (or no longer) assigned to this reviewer
                return render_template("error.html", message=_text("not_yours")), 403
            errors, other = field_errors(
                study.codebook, error.problems, today.isoformat(), g.language
            )
            # a CPR number typed into a note or reason is refused (by the recording) and not
            # shown again: the field comes back empty
            for name in [n for n, v in {**values, REASON: reason}.items() if contains_cpr(v)]:
                errors[name] = UI_TEXT[g.language]["cpr"]
                values[name] = None
                reason = None if name == REASON else reason
            return _render_case(case_id, values, errors, other, reason), 422
        except StikproveError:
            return _render_case(case_id, values, {}, [_text("busy")], reason), 503
        if result.corrected:
            flash(_text("corrected"))
        elif result.new:
            flash(_text("saved"))
        else:
            flash(_text("unchanged"))
        for activation in result.activations:
            flash(_text("reserve" if activation.reserve_case else "no_reserve"))
        session.pop("case", None)
        return redirect(url_for("cases"))

    def _render_case(
        case_id: str,
        values: dict | None = None,
        errors: dict | None = None,
        other: list | None = None,
        reason: str | None = None,
    ):
        study = _state("study")
        assignment = study.assignment(case_id, g.reviewer)
        if assignment is None:
            session.pop("case", None)
            return render_template("error.html", message=_text("not_yours")), 403
        before = study.current_entry(case_id, g.reviewer)
        if values is None:
            values = dict(before) if before else {"review_date": date.today().isoformat()}
        info = _case_row(assignment)
        return render_template(
            "case.html",
            case=info,
            fields=form_fields(study.codebook, values, errors, g.language),
            correction=before is not None,
            reason=reason or "",
            reason_error=(errors or {}).get(REASON),
            other_errors=other or [],
            failed=bool(errors or other),
            today=date.today().isoformat(),
            max_text=MAX_TEXT_LENGTH,
        )

    @app.context_processor
    def page_context():
        language = g.get("language", "da")
        return {"reviewer": g.get("reviewer"), "language": language,
                "t": TEXT[language], "ui": UI_TEXT[language],
                "totp_required": _state("require_totp")}  # fmt: skip


def _end_session() -> None:
    """End the session on the server and empty its cookie (keeping the chosen language)."""
    _state("sessions").end(session.get("sid"))
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def _audit(study: Study, action: str, actor: str, details: str) -> None:
    """One audit row in its own transaction."""
    with study.transaction() as con:
        audit(con, action, SOURCE, details, actor=actor)


def _case_row(row: dict, eligible: str | None = None) -> dict:
    code = str(row.get("kommune_code", ""))
    try:
        name = row.get("kommune_name") or kommune(code).name
    except StikproveError:
        name = ""
    return {**row, "kommune_name": name, "second_review": int(row.get("review_slot", 1)) == 2,
            "eligible": eligible}  # fmt: skip
