"""Reviewer accounts of the web form: passwords, enabling and disabling, and the login
throttle.

An account belongs to a reviewer named in the study's assignment (``stikprove assign``)
and lives in the study store's ``reviewer_accounts`` table (schema 3). A password is kept
only as a salted scrypt hash (:func:`hash_password`, a memory-hard KDF from the standard
library) in the form ``scrypt$N$r$p$salt$key`` (base64), so the cost can be raised later
without breaking stored hashes. Every change of an account is audited in the same
transaction.

Password checks run through a :class:`PasswordChecker`, a semaphore that lets only a few
run at once (a login flood must not hold every worker thread in scrypt).

The login throttle (:class:`LoginThrottle`) is written by hand: it is a few lines over a
dict and a lock, and the Flask extensions that do rate limiting count requests, not failed
logins per account, nor reserve a check before it is made (so that simultaneous logins
cannot get past the limit). It lives in the server's memory, and is rebuilt from the
study's audit log when the server starts (:func:`restore_throttle`: every login and failed
login is an audit row), so a lockout outlasts a restart of ``stikprove serve``. An
account's failures are counted per password (:func:`throttle_key`): a new password
(``stikprove reviewer passwd``) lifts its lockout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stikprove.errors import StoreError
from stikprove.store import Study, audit, now_utc, os_user

SCRYPT_N = 2**17
"""scrypt's CPU/memory cost: 2^17 with r = 8 uses 128 MiB per hash (OWASP's password
storage cheat sheet gives this as the minimum)."""
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 10
_MAXMEM = 2**28  # 256 MiB: scrypt refuses to run above this, well over what N = 2^17 needs


@dataclass(frozen=True)
class Account:
    """A reviewer's account: ``changed_at`` changes with every password change, so a
    session started before it ends (see the web app); ``totp``: whether a second factor
    is enrolled (:func:`enroll_totp`)."""

    reviewer: str
    password_hash: str
    disabled: bool
    changed_at: str
    totp: bool = False


def hash_password(password: str, n: int | None = None, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of ``password`` with its parameters: ``scrypt$N$r$p$salt$key``
    (``n`` default: :data:`SCRYPT_N`)."""
    n = n or SCRYPT_N
    salt = os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Does ``password`` match the ``stored`` hash (constant-time comparison)?"""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=_MAXMEM, dklen=len(expected),
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


_DUMMY_HASHES: dict[str, str] = {}


def waste_time_like_a_login(password: str, like: str | None = None) -> None:
    """Hash ``password`` as a real login would (with the parameters of the stored hash
    ``like``, else the defaults), so an unknown name takes as long to refuse as a wrong
    password: no telling which names have accounts."""
    parameters = "$".join(like.split("$")[1:4]) if like and like.count("$") == 5 else ""
    if parameters not in _DUMMY_HASHES:
        n, r, p = (int(x) for x in parameters.split("$")) if parameters else (
            SCRYPT_N, SCRYPT_R, SCRYPT_P)  # fmt: skip
        _DUMMY_HASHES[parameters] = hash_password("not a password", n=n, r=r, p=p)
    verify_password(password, _DUMMY_HASHES[parameters])


MIN_PASSWORD_SCORE = 3
"""The least zxcvbn score a new password must have (0-4; 3: "safely unguessable", some
10^8 guesses or more)."""
MAX_PASSWORD_LENGTH = 200
"""Longer passwords are refused (scrypt takes any length, but nobody types more)."""


def check_new_password(reviewer: str, password: str, study_id: str = "") -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD_LENGTH` (or longer than
    :data:`MAX_PASSWORD_LENGTH`), with a control character, equal to the name, or weak or
    common by the zxcvbn strength estimator (Dropbox's, maintained as the ``zxcvbn``
    package: dictionaries of common passwords, names and words, keyboard patterns,
    repeats and sequences) below :data:`MIN_PASSWORD_SCORE`, with the reviewer's name
    and the study's id as words it knows. The message gives zxcvbn's advice, never the
    password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(
            f"password for {reviewer!r}: got {len(password)} characters, expected at least "
            f"{MIN_PASSWORD_LENGTH}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StoreError(
            f"password for {reviewer!r}: got {len(password)} characters, expected at most "
            f"{MAX_PASSWORD_LENGTH}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise StoreError(f"password for {reviewer!r}: expected no control characters")
    if password.strip().lower() == reviewer.lower():
        raise StoreError(f"password for {reviewer!r}: expected something other than the name")
    from zxcvbn import zxcvbn

    verdict = zxcvbn(password, user_inputs=[reviewer, study_id, "stikprove"])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        feedback = verdict.get("feedback") or {}
        advice = " ".join([feedback.get("warning") or "", *(feedback.get("suggestions") or [])])
        raise StoreError(
            f"password for {reviewer!r}: too easy to guess (strength {verdict['score']} of 4, "
            f"expected at least {MIN_PASSWORD_SCORE}). {advice.strip()} A few unrelated "
            "words, or a long phrase, are strong and easy to remember."
        )


def get_account(study: Study, reviewer: str) -> Account | None:
    """The reviewer's account, or None when they have none."""
    with study.reading() as con:
        row = con.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM reviewer_accounts WHERE reviewer = ?", (reviewer,)
        ).fetchone()
    return None if row is None else _account(row)


def accounts(study: Study) -> tuple[Account, ...]:
    """Every account of the study, by reviewer name."""
    with study.reading() as con:
        rows = con.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM reviewer_accounts ORDER BY reviewer"
        ).fetchall()
    return tuple(_account(r) for r in rows)


_ACCOUNT_COLUMNS = (
    "reviewer, password_hash, disabled, changed_at, totp_secret IS NOT NULL AND totp_secret != ''"
)


def _account(row) -> Account:
    return Account(row[0], row[1], bool(row[2]), row[3], bool(row[4]))


def add_account(study: Study, reviewer: str, password: str, n: int | None = None) -> Account:
    """Give a reviewer named in the assignment an account (refused if they have one)."""
    check_reviewer(study, reviewer)
    check_new_password(reviewer, password, study.study_id)
    hashed = hash_password(password, n=n)
    with study.transaction() as con:
        if con.execute(
            "SELECT 1 FROM reviewer_accounts WHERE reviewer = ?", (reviewer,)
        ).fetchone():
            raise StoreError(
                f"reviewer {reviewer!r} already has an account: expected a reviewer without "
                "one (change the password with 'stikprove reviewer passwd')"
            )
        con.execute(
            "INSERT INTO reviewer_accounts (reviewer, password_hash, disabled, changed_at) "
            "VALUES (?, ?, 0, ?)",
            (reviewer, hashed, now_utc()),
        )
        audit(con, "account_add", "stikprove reviewer add",
              f"account for reviewer {reviewer}", actor=os_user())  # fmt: skip
    return _existing(study, reviewer)


def set_password(study: Study, reviewer: str, password: str, n: int | None = None) -> Account:
    """Set a new password (and enable the account again): ends the reviewer's sessions.
    It is also the recovery of a lost second factor: the second factor is removed, and a
    new one is enrolled with :func:`enroll_totp` (``stikprove reviewer totp``)."""
    check_new_password(reviewer, password, study.study_id)
    hashed = hash_password(password, n=n)
    with study.transaction() as con:
        _require_account(con, study, reviewer)
        con.execute(
            "UPDATE reviewer_accounts SET password_hash = ?, disabled = 0, changed_at = ?, "
            "totp_secret = NULL, totp_last_step = 0 WHERE reviewer = ?",
            (hashed, _later_stamp(con, reviewer), reviewer),
        )
        audit(con, "account_passwd", "stikprove reviewer passwd",
              f"new password for reviewer {reviewer} (second factor removed)",
              actor=os_user())  # fmt: skip
    return _existing(study, reviewer)


# --------------------------------------------------------------------------------------
# the second factor: TOTP (RFC 6238)

TOTP_DRIFT_STEPS = 1
"""A code of the 30-second step before or after the server's is accepted too (a phone's
clock a little off, a code typed as it changed)."""


def enroll_totp(study: Study, reviewer: str) -> str:
    """Give the reviewer a new second factor (replacing any before it): a random TOTP
    secret (RFC 6238: 6 digits, 30 seconds, HMAC-SHA1, as every authenticator app does;
    pyotp), kept in the store beside the password hash. Ends the reviewer's sessions.
    Returns the ``otpauth://`` URI an authenticator app reads (from its QR code): it holds
    the secret, so it is shown once, to the reviewer only."""
    import pyotp

    secret = pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length
    with study.transaction() as con:
        _require_account(con, study, reviewer)
        con.execute(
            "UPDATE reviewer_accounts SET totp_secret = ?, totp_last_step = 0, changed_at = ? "
            "WHERE reviewer = ?",
            (secret, _later_stamp(con, reviewer), reviewer),
        )
        audit(con, "account_totp", "stikprove reviewer totp",
              f"second factor enrolled for reviewer {reviewer}", actor=os_user())  # fmt: skip
    return pyotp.TOTP(secret).provisioning_uri(name=reviewer,
                                               issuer_name=f"stikprove {study.study_id}")


def check_totp(study: Study, reviewer: str, code: str, now: float) -> bool:
    """Is ``code`` the reviewer's TOTP code at ``now`` (seconds since the epoch; a step
    either side allowed), and not used before? A code is used once: its step is written
    as the last used (atomically: only if it is later than the last used), so the same
    code, or an older one, is refused however quickly it is sent again."""
    import pyotp

    code = code.strip().replace(" ", "")
    if not re.fullmatch(r"\d{6}", code):
        return False
    with study.reading() as con:
        row = con.execute(
            "SELECT totp_secret FROM reviewer_accounts WHERE reviewer = ?", (reviewer,)
        ).fetchone()
    if row is None or not row[0]:
        return False
    totp = pyotp.TOTP(row[0])
    current = int(now // totp.interval)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            with study.transaction() as con:
                used = con.execute(
                    "UPDATE reviewer_accounts SET totp_last_step = ? "
                    "WHERE reviewer = ? AND totp_last_step < ?",
                    (step, reviewer, step),
                ).rowcount
            return used == 1
    return False


def disable_account(study: Study, reviewer: str) -> Account:
    """Disable an account: no more logins, and its open sessions end at their next request."""
    with study.transaction() as con:
        _require_account(con, study, reviewer)
        con.execute(
            "UPDATE reviewer_accounts SET disabled = 1, changed_at = ? WHERE reviewer = ?",
            (_later_stamp(con, reviewer), reviewer),
        )
        audit(con, "account_disable", "stikprove reviewer disable",
              f"account of reviewer {reviewer} disabled", actor=os_user())  # fmt: skip
    return _existing(study, reviewer)


def _later_stamp(con, reviewer: str) -> str:
    """Now, or a microsecond-resolution stamp when the account changed within this second
    (so every change gives a new ``changed_at`` and ends the sessions before it)."""
    stamp = now_utc()
    before = con.execute(
        "SELECT changed_at FROM reviewer_accounts WHERE reviewer = ?", (reviewer,)
    ).fetchone()[0]
    if stamp <= before:
        stamp = f"{before}+{time.time_ns()}"
    return stamp


def check_reviewer(study: Study, reviewer: str) -> None:
    """Refuse a name that is not a reviewer of the study (named in ``stikprove assign``)."""
    known = study.reviewers()
    if reviewer not in known:
        listed = ", ".join(known) or "(none yet: run 'stikprove assign')"
        raise StoreError(f"reviewer {reviewer!r} is not in this study: expected one of {listed}")


def _require_account(con, study: Study, reviewer: str) -> None:
    if not con.execute(
        "SELECT 1 FROM reviewer_accounts WHERE reviewer = ?", (reviewer,)
    ).fetchone():
        check_reviewer(study, reviewer)
        raise StoreError(
            f"reviewer {reviewer!r} has no account: expected one made with 'stikprove reviewer add'"
        )


def _existing(study: Study, reviewer: str) -> Account:
    account = get_account(study, reviewer)
    if account is None:  # pragma: no cover - written in the transaction just before
        raise StoreError(f"account of {reviewer!r} was not written")
    return account


# --------------------------------------------------------------------------------------
# checking passwords: at most a few at once


class HashingBusy(StoreError):
    """No password check could start in time: as many as allowed are running."""


def hashing_slots() -> int:
    """How many password checks may run at once: half the processor cores (at least 1,
    at most 4). Each scrypt of the default cost takes 128 MiB and a core for about half a
    second; more at once would only make every request wait for a core."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class PasswordChecker:
    """Password checks bounded by a semaphore, so that a flood of logins holds only a few
    of the server's worker threads and the others go on answering the logged-in
    reviewers: ``slots`` checks run at once, up to ``waiting`` more wait (at most
    ``wait_s`` seconds) for a slot (default: three per slot), and a login beyond those
    raises :class:`HashingBusy` at once (answered 503: try again in a moment). Waiting
    holds a worker thread too, so the queue is short: with one slot, logins hold at most
    4 of the server's threads."""

    def __init__(self, slots: int | None = None, waiting: int | None = None,
                 wait_s: float = 5.0):  # fmt: skip
        self.slots = slots or hashing_slots()
        self.waiting = 3 * self.slots if waiting is None else waiting
        self.wait_s = wait_s
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._admitted = 0
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """Could a check be admitted now (running and waiting below their bounds)? A
        login asks first, so that a flood finding the checker full is answered without
        reading the store at all."""
        with self._lock:
            return self._admitted < self.slots + self.waiting

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.slots + self.waiting:
                raise HashingBusy("the server is checking as many passwords as it can")
            self._admitted += 1
        if not self._semaphore.acquire(timeout=self.wait_s):
            with self._lock:
                self._admitted -= 1
            raise HashingBusy("no password check could start in time")

    def _leave(self) -> None:
        self._semaphore.release()
        with self._lock:
            self._admitted -= 1

    def verify(self, password: str, stored: str | None, like: str | None = None) -> bool:
        """:func:`verify_password` against ``stored``, or, when there is no account
        (``stored`` None), a check that takes as long as one against ``like`` and fails
        (:func:`waste_time_like_a_login`)."""
        self._admit()
        try:
            if stored is None:
                waste_time_like_a_login(password, like)
                return False
            return verify_password(password, stored)
        finally:
            self._leave()


# --------------------------------------------------------------------------------------
# the login throttle


def client_address(remote_addr: str | None) -> str:
    """The address a login is counted under: every loopback address is one ("loopback":
    127.0.0.1, 127.0.0.14 and ::1 are the same machine), an IPv4 address mapped into IPv6
    is the IPv4 address, and an IPv6 address is its /64 network (what one household or
    office is given). The address is the TCP peer's, or, behind the trusted reverse proxy
    only, the client's as the proxy forwards it; a forwarded header from anyone else is
    never read.

    >>> client_address("127.0.0.14"), client_address("::ffff:10.1.2.3")
    ('loopback', '10.1.2.3')
    >>> client_address("2001:db8:1:2:3:4:5:6")
    '2001:db8:1:2::/64'
    """
    try:
        ip = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class ThrottleSettings:
    """``max_failures`` failed logins within ``window_s`` for one account lock it for
    ``lockout_s`` seconds, from every address; ``max_failures_global`` failed logins under
    any names from any addresses within ``global_window_s`` pause every password check
    until the oldest of them is that old (a rate limit on guessing across accounts and
    addresses; nothing locks an address as such).

    An account's count is checked and raised atomically: a login reserves its place in the
    count before its password is checked, so a burst of simultaneous logins gets no more
    password checks than the limit (the others are answered as locked)."""

    max_failures: int = 5
    window_s: float = 15 * 60
    lockout_s: float = 15 * 60
    max_failures_global: int = 100
    global_window_s: float = 10 * 60


_EVERYONE = ("global", "")


class LoginThrottle:
    """Failed logins per account and over the whole server, and the locks they cause.

    ``clock`` gives seconds (``time.time`` by default; tests move it). Thread-safe: the
    server answers requests on several threads. A login calls :meth:`begin` (which
    reserves its place in the counts, or says how long to wait) and then :meth:`end` with
    its outcome.
    """

    def __init__(self, settings: ThrottleSettings, clock: Callable[[], float] = time.time):
        self.settings = settings
        self._clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _limits(self, account: str | None) -> list[tuple[tuple[str, str], int, float]]:
        keys = [(_EVERYONE, self.settings.max_failures_global, self.settings.global_window_s)]
        if account is not None:
            keys.append((("account", account), self.settings.max_failures,
                         self.settings.window_s))  # fmt: skip
        return keys

    def _recent(self, key: tuple[str, str], window: float, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, []) if now - t < window]
        self._failures[key] = recent
        return recent

    def locked_for(self, account: str, address: str = "") -> float:
        """Seconds until a login may be tried again for this account (0: now)."""
        now = self._clock()
        with self._lock:
            return self._wait(account, now)

    def _wait(self, account: str | None, now: float) -> float:
        wait = 0.0
        for key, limit, window in self._limits(account):
            wait = max(wait, self._locked_until.get(key, 0.0) - now)
            recent = self._recent(key, window, now)
            if key == _EVERYONE and len(recent) >= limit:
                wait = max(wait, recent[-limit] + window - now)
        return max(0.0, wait)

    def begin(self, account: str, address: str = "") -> float:
        """Reserve a password check for a login to ``account``: 0 when it may go ahead
        (then :meth:`end` must follow), else the seconds to wait. Refused also when the
        failures so far and the checks under way together reach a limit."""
        now = self._clock()
        with self._lock:
            wait = self._wait(account, now)
            if wait > 0:
                return wait
            limits = self._limits(account)
            for key, limit, window in limits:
                if len(self._recent(key, window, now)) + self._pending.get(key, 0) >= limit:
                    return 1.0  # as many checks under way as failures left: wait for them
            for key, _, _ in limits:
                self._pending[key] = self._pending.get(key, 0) + 1
            return 0.0

    def end(self, account: str, address: str, outcome: bool | None) -> bool:
        """End a check :meth:`begin` reserved: ``outcome`` True (logged in: the account's
        failures are cleared), False (a failed login, counted) or None (not checked after
        all: nothing counted). True when a failure locks the account."""
        with self._lock:
            for key, _, _ in self._limits(account):
                self._pending[key] = max(0, self._pending.get(key, 0) - 1)
        if outcome is True:
            self.succeeded(account, address)
            return False
        if outcome is False:
            return self.failed(account, address)
        return False

    def failed(self, account: str | None, address: str, at: float | None = None) -> bool:
        """Count a failed login (at ``at``, default now; ``account`` None: the global
        count only); True when it locks the account."""
        now = self._clock() if at is None else at
        locked = False
        with self._lock:
            for key, limit, window in self._limits(account):
                recent = self._recent(key, window, now)
                recent.append(now)
                if key != _EVERYONE and len(recent) >= limit:
                    self._locked_until[key] = now + self.settings.lockout_s
                    self._failures[key] = []
                    locked = True
        return locked

    def succeeded(self, account: str, address: str = "") -> None:
        """A successful login clears the account's failures."""
        with self._lock:
            self._failures.pop(("account", account), None)


def throttle_key(name: str, account: Account | None) -> str:
    """The throttle's account key for a login as ``name``: the account with its
    ``changed_at`` (so a new password starts a new count and lifts a lockout), or the
    typed name when there is no such account (counted and locked like an account, so
    a lockout tells no one which names have accounts)."""
    return name if account is None else f"{account.reviewer}\n{account.changed_at}"


LOGIN = "login"
LOGIN_FAILED = "login_failed"
ACCOUNT_ACTIONS = ("account_add", "account_passwd", "account_disable", "account_totp")
"""Audit actions of a change to an account (their details name it: ``reviewer NAME``)."""
_FAILED_FROM = re.compile(r"^failed login from (?P<address>[^;\s]+)")
_ACCOUNT_OF = re.compile(r"\breviewer (?P<reviewer>\S+)")


def failed_login_details(address: str, locked: bool) -> str:
    """The audit log's details of a failed login (:func:`restore_throttle` reads the
    address back)."""
    return f"failed login from {address}" + ("; now locked" if locked else "")


def _seconds(stamp: str) -> float:
    """An audit time stamp (ISO 8601 UTC, to the second) as seconds since the epoch."""
    return datetime.fromisoformat(stamp).timestamp()


def restore_throttle(throttle: LoginThrottle, study: Study) -> None:
    """Count again, in ``throttle``, the logins and failed logins of the study's audit
    log, in their order: a new server starts with the counts and lockouts the previous
    one had (to the second of the audit's time stamps). ``throttle``'s clock must be
    the wall clock (as :func:`time.time`), which the audit's stamps are taken from.

    A failure under a name that is no reviewer was audited without the name: it counts
    for its address only. So does a failure for an account from before the account's
    last change (its audit row: a new password, say), as it did when it happened."""
    with study.reading() as con:
        rows = con.execute(
            f"SELECT audit_id, at, actor, action, details FROM audit "
            f"WHERE action IN ({', '.join('?' * (2 + len(ACCOUNT_ACTIONS)))}) "
            "ORDER BY audit_id",
            (LOGIN, LOGIN_FAILED, *ACCOUNT_ACTIONS),
        ).fetchall()
    current = {a.reviewer: a for a in accounts(study)}
    changed: dict[str, int] = {}
    for audit_id, _, _, action, details in rows:
        named = _ACCOUNT_OF.search(details) if action in ACCOUNT_ACTIONS else None
        if named is not None:
            changed[named.group("reviewer")] = audit_id
    for audit_id, at, actor, action, details in rows:
        account = current.get(actor)
        fresh = account is not None and audit_id > changed.get(actor, 0)
        key = throttle_key(actor, account) if fresh else None
        if action == LOGIN and key is not None:
            throttle.succeeded(key, "")
        elif action == LOGIN_FAILED:
            address = _FAILED_FROM.match(details)
            if address is not None:
                throttle.failed(key, client_address(address.group("address")), at=_seconds(at))
