"""The reviewers' web form: serve, and reviewer accounts (add, passwd, disable)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import signal
import sys
from pathlib import Path

from stikprove.commands.study import STUDY_HELP
from stikprove.errors import StikproveError


def register(subparsers: argparse._SubParsersAction) -> None:
    from stikprove.web.server import DEFAULT_HOST, DEFAULT_PORT

    p = subparsers.add_parser(
        "serve",
        help="serve the reviewers' web form for a study",
        description="Serve the web form where reviewers log in, see their cases in "
        "review order and enter or correct their assessments. It listens on a loopback "
        "address only; for reviewers on other machines put a reverse proxy that "
        "terminates TLS (nginx: deploy/nginx/stikprove.conf, docs/web.md) in front and "
        "use --behind-proxy: then every reviewer also needs a second factor ('stikprove "
        "reviewer totp'). Give reviewers accounts first with 'stikprove reviewer add'. "
        "Stop with Ctrl-C.",
    )
    p.add_argument("study", metavar="STUDY", type=Path, help=STUDY_HELP)
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="served to other machines through a reverse proxy on this machine that "
        "terminates TLS and forwards to --host/--port (its X-Forwarded-* headers are "
        "trusted from it alone); the pages are then HTTPS-only and logins need the "
        "second factor",
    )
    # refused with what to do instead: serve no longer terminates TLS itself
    p.add_argument("--tls-cert", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--tls-key", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--language",
        choices=("da", "en"),
        default="da",
        help="language of the pages (default: da; each reviewer can switch)",
    )
    p.set_defaults(func=run_serve)

    p = subparsers.add_parser(
        "reviewer",
        help="reviewer accounts for the web form (add, passwd, totp, disable)",
        description="Accounts for the web form, one per reviewer named in the assignment. "
        "The password is read from the terminal (twice), or as the first line of standard "
        "input when that is not a terminal; it is stored only as a scrypt hash. At least 10 "
        "characters, and not weak or common (the zxcvbn strength estimator). The second "
        "factor (a 6-digit code from an authenticator app, TOTP) is needed to log in "
        "whenever the form is served beyond this machine (serve --behind-proxy).",
    )
    actions = p.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="add, passwd, totp or disable"
    )
    for action, text in (
        ("add", "give a reviewer an account"),
        ("passwd", "set a new password (and enable a disabled account); also the recovery "
         "of a lost authenticator: it removes the second factor, enrol a new one with totp"),
        ("totp", "enrol a second factor (replacing any before it): shows the QR code for "
         "the reviewer's authenticator app"),
        ("disable", "disable an account (ends its sessions)"),
    ):  # fmt: skip
        q = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        q.add_argument("study", metavar="STUDY", type=Path, help=STUDY_HELP)
        q.add_argument("name", metavar="NAME", help="the reviewer's name as in the assignment")
        if action in ("add", "totp"):
            if action == "add":
                q.add_argument("--totp", action="store_true",
                               help="enrol the second factor at once (as 'reviewer totp')")
            q.add_argument(
                "--qr", type=Path, default=None, metavar="FILE",
                help="also write the QR code to FILE (.png or .svg; readable by you only), "
                "to hand to the reviewer; it holds the secret: delete it once enrolled",
            )  # fmt: skip
        q.set_defaults(func=run_reviewer, command="reviewer")


def _read_password(name: str) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise StikproveError("expected the password as the first line of standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass(f"Password for {name}: ")
    second = getpass.getpass("Again: ")
    if first != second:
        raise StikproveError("the two passwords differ: nothing changed")
    return first


def run_reviewer(args: argparse.Namespace) -> int:
    from stikprove.store import open_study
    from stikprove.web import accounts

    study = open_study(args.study)
    if args.action == "disable":
        accounts.disable_account(study, args.name)
        print(f"account of {args.name} disabled (their sessions end at their next request)")
        return 0
    if args.action == "totp":
        _check_qr_file(args.qr)
        _show_totp(args.name, accounts.enroll_totp(study, args.name), args.qr)
        return 0
    if args.action == "add":
        accounts.check_reviewer(study, args.name)
        _check_qr_file(args.qr)
    password = _read_password(args.name)
    if args.action == "add":
        accounts.add_account(study, args.name, password)
        print(f"account for {args.name} added")
        if args.totp or args.qr:
            _show_totp(args.name, accounts.enroll_totp(study, args.name), args.qr)
    else:
        had_totp = accounts.get_account(study, args.name)
        accounts.set_password(study, args.name, password)
        print(f"new password for {args.name} set (their other sessions end)")
        if had_totp is not None and had_totp.totp:
            print(f"their second factor is removed: enrol a new one with 'stikprove reviewer "
                  f"totp {args.study} {args.name}' (needed behind a proxy)")  # fmt: skip
    return 0


def _check_qr_file(path: Path | None) -> None:
    if path is None:
        return
    if path.suffix.lower() not in (".png", ".svg"):
        raise StikproveError(f"--qr {path}: expected a file name ending in .png or .svg")
    if path.exists():
        raise StikproveError(f"--qr {path}: the file exists; expected a new file (it holds a "
                             "secret: nothing is overwritten)")  # fmt: skip
    if not path.resolve().parent.is_dir():
        raise StikproveError(f"--qr {path}: the folder {path.parent} does not exist")


def _show_totp(name: str, uri: str, qr_file: Path | None) -> None:
    """The second factor's QR code in the terminal (and in ``qr_file``, mode 0600), and
    the secret for typing in by hand. segno draws the QR code (pure Python)."""
    import os
    from urllib.parse import parse_qs, urlparse

    import segno

    code = segno.make(uri, error="m")
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    print(f"second factor for {name}: scan this QR code with an authenticator app "
          "(for instance Microsoft Authenticator, Google Authenticator, FreeOTP)")  # fmt: skip
    code.terminal(compact=True)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    print(f"or type the key by hand: {grouped} (time-based, 6 digits, 30 seconds)")
    if qr_file is not None:
        fd = os.open(qr_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            code.save(handle, kind=qr_file.suffix.lower()[1:], scale=8, border=4)
        print(f"QR code written to {qr_file} (readable by you only; delete it once enrolled)")
    print("Shown once: the key is not shown again (enrol anew with 'reviewer totp').")


def run_serve(args: argparse.Namespace) -> int:
    from stikprove.extras import require_extra

    require_extra("web", "'stikprove serve' (the reviewers' web form)")
    from stikprove.store import open_study
    from stikprove.web import accounts, create_app
    from stikprove.web.server import bound_port, check_listen, make_server, run, serving

    listen = check_listen(args.host, args.port, args.tls_cert, args.tls_key,
                          behind_proxy=args.behind_proxy)  # fmt: skip
    study = open_study(args.study)
    if not accounts.accounts(study):
        raise StikproveError(
            f"{args.study} has no reviewer accounts: expected at least one, made with "
            f"'stikprove reviewer add {args.study} NAME'"
        )
    with serving(args.study):
        app = create_app(study, behind_proxy=listen.behind_proxy, language=args.language)
        server = make_server(app, listen)
        shown = dataclasses.replace(listen, port=bound_port(server))
        where = " for the reverse proxy (HTTPS only)" if listen.behind_proxy else ""
        print(f"Serving {study.study_id} at {shown.url}{where} (Ctrl-C stops)", flush=True)
        try:
            with _sigterm_as_interrupt():
                run(server, study)
        except KeyboardInterrupt:
            pass  # waitress takes its own Ctrl-C (and returns); SIGTERM comes here
    print("\nStopped.", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (``kill``, a service manager's stop) stops the server as Ctrl-C does:
    the saves under way are finished first. (Its default would end the process at
    once; and a server started in the background by a shell ignores Ctrl-C's SIGINT.)"""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
