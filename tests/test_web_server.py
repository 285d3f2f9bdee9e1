"""Serving the web form and managing accounts: allowed addresses, waitress on loopback
(its own error pages, idle connections, a login flood beside the style sheet), the
`serve` and `reviewer` commands, password hashing, and the store's migrations. TLS behind
nginx: tests/test_web_proxy.py."""

import contextlib
import http.client
import io
import sqlite3
import threading

import pytest

from stikprove.cli import main
from stikprove.errors import StoreError
from stikprove.store import open_study
from stikprove.web import accounts, create_app
from stikprove.web.server import ServeError, bound_port, check_listen, make_server, run, stop
from store_fixtures import make_study
from web_fixtures import CHEAP_SCRYPT_N, token, web_study


@pytest.fixture
def cheap_scrypt(monkeypatch):
    """The commands hash with the default cost; here a cheap one (tested on its own)."""
    monkeypatch.setattr(accounts, "SCRYPT_N", CHEAP_SCRYPT_N)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.9"])
def test_loopback_addresses_are_served(host):
    """Plain HTTP is allowed on loopback addresses, also behind a proxy."""
    assert check_listen(host, 8765).behind_proxy is False
    assert check_listen(host, 8765, behind_proxy=True).trusted_proxy in ("127.0.0.1", "::1")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_other_addresses_are_refused_with_the_way_to_serve_them(host):
    """Any other address is refused, saying to put a TLS proxy in front."""
    with pytest.raises(ServeError, match=r"--host .*needs TLS.*nginx.*--behind-proxy"):
        check_listen(host, 8765)


def test_a_certificate_is_refused_with_the_way_to_use_it(tmp_path, capsys):
    """`serve` no longer terminates TLS (its TLS server did the handshake on its accept
    loop: one silent connection stalled everyone): --tls-cert/--tls-key say what to do."""
    pem = tmp_path / "x.pem"
    with pytest.raises(ServeError, match=r"does not terminate TLS.*--behind-proxy"):
        check_listen("0.0.0.0", 8765, pem, pem)
    study = web_study(tmp_path)
    assert main(["serve", str(study.path), "--tls-cert", str(pem), "--tls-key", str(pem)]) == 2
    assert "deploy/nginx/stikprove.conf" in capsys.readouterr().err


def test_port_out_of_range_is_refused():
    """A port outside 0-65535 is refused."""
    with pytest.raises(ServeError, match="expected a port number"):
        check_listen("127.0.0.1", 70000)


def serving(app, listen):
    """Start a server for ``app`` in a thread; returns (server, port)."""
    server = make_server(app, listen)
    thread = threading.Thread(target=run, args=(server,), daemon=True)
    thread.start()
    return server, bound_port(server), thread


def test_waitress_serves_the_form_on_loopback(tmp_path):
    """waitress answers on loopback with the login page and the security headers."""
    study = web_study(tmp_path)
    server, port, thread = serving(create_app(study), check_listen("127.0.0.1", 0))
    try:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        con.request("GET", "/login")
        response = con.getresponse()
        body = response.read().decode()
        con.close()
        assert response.status == 200 and "Log ind" in body
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("Server") == "stikprove"
    finally:
        stop(server)
        thread.join(10)


def test_waitress_own_error_pages_carry_the_security_headers(tmp_path):
    """A request waitress refuses itself (a malformed request line: 400; headers too
    large: 431) gets the same security headers as the form's pages (issue 19)."""
    import socket

    study = web_study(tmp_path)
    server, port, thread = serving(create_app(study), check_listen("127.0.0.1", 0))
    try:
        for request in (b"GET /login HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                answer = b""
                with contextlib.suppress(ConnectionResetError):  # closed with bytes unread
                    while chunk := sock.recv(65536):
                        answer += chunk
            head = answer.split(b"\r\n\r\n", 1)[0].decode()
            assert head.split()[1] in ("400", "431"), head
            assert "Content-Security-Policy: default-src 'none'" in head
            assert "X-Frame-Options: DENY" in head and "Cache-Control: no-store" in head
    finally:
        stop(server)
        thread.join(10)


def test_a_login_flood_holds_only_a_few_workers(tmp_path, monkeypatch):
    """Eight logins at once, each stuck in its password check, hold at most the checker's
    slots and queue (here 2 and 2; the others are answered 503 at once): the style sheet is
    still answered, and never more than two checks run together (issue 19: eight scrypt
    logins held all eight threads and the style sheet took 13 s)."""
    study = web_study(tmp_path)
    release = threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()

    def stuck(password, like=None):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(20)
        with lock:
            running[0] -= 1

    monkeypatch.setattr(accounts, "waste_time_like_a_login", stuck)
    app = create_app(study)
    app.extensions["stikprove"]["checker"] = accounts.PasswordChecker(slots=2, waiting=2)
    server, port, thread = serving(app, check_listen("127.0.0.1", 0))
    posts = []
    try:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        con.request("GET", "/login")
        page = con.getresponse()
        form = {"name": "nobody", "password": "x", "csrf_token": token(page.read())}
        cookie = page.getheader("Set-Cookie").split(";", 1)[0]
        con.close()

        def post(number):
            from urllib.parse import urlencode

            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            body = urlencode({**form, "name": f"nobody{number}"})
            c.request("POST", "/login", body=body, headers={
                "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
            posts.append(c.getresponse().status)
            c.close()

        flood = [threading.Thread(target=post, args=(i,)) for i in range(8)]
        for t in flood:
            t.start()
        for _ in range(400):
            if running[0] == 2 and len(posts) >= 4:
                break
            threading.Event().wait(0.01)
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        con.request("GET", "/static/style.css")
        assert con.getresponse().status == 200
        con.close()
        assert sorted(posts) == [503] * 4  # beyond 2 checking and 2 waiting: try again
        release.set()
        for t in flood:
            t.join(30)
        assert most[0] == 2 and sorted(posts) == [401] * 4 + [503] * 4
    finally:
        release.set()
        stop(server)
        thread.join(10)


def test_serve_command_refuses_what_it_cannot_serve(tmp_path, capsys):
    """`serve` refuses a non-loopback address and a study without accounts."""
    study = make_study(tmp_path)
    assert main(["serve", str(study.path), "--host", "0.0.0.0"]) == 2
    assert "needs TLS" in capsys.readouterr().err
    assert main(["serve", str(study.path), "--port", "0"]) == 2
    assert "no reviewer accounts" in capsys.readouterr().err


def test_reviewer_commands_add_change_and_disable(tmp_path, monkeypatch, capsys, cheap_scrypt):
    """`reviewer add/passwd/disable` read the password from standard input, keep only its
    hash and are audited; the login follows."""
    study = make_study(tmp_path)
    path = str(study.path)
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-kodeord\n"))
    assert main(["reviewer", "add", path, "anna"]) == 0
    account = accounts.get_account(study, "anna")
    assert accounts.verify_password("et-godt-kodeord", account.password_hash)
    monkeypatch.setattr("sys.stdin", io.StringIO("et-nyt-kodeord\n"))
    assert main(["reviewer", "passwd", path, "anna"]) == 0
    assert accounts.verify_password("et-nyt-kodeord", accounts.get_account(study, "anna")
                                    .password_hash)  # fmt: skip
    assert main(["reviewer", "disable", path, "anna"]) == 0
    assert accounts.get_account(study, "anna").disabled
    actions = study.audit_log()["action"].tolist()
    assert actions[-3:] == ["account_add", "account_passwd", "account_disable"]
    assert "et-godt" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "carl"], "et-godt-kodeord\n", "reviewer 'carl' is not in this study"),
        (["add", "anna"], "kort\n", "got 4 characters, expected at least 10"),
        (["add", "anna"], "ANNA      \n", "expected something other than the name"),
        (["add", "anna"], "aaaaaaaaaa\n", "too easy to guess"),
        (["add", "anna"], "1234567890\n", "too easy to guess"),
        (["add", "anna"], "anna123456\n", "too easy to guess"),
        (["add", "anna"], "password123\n", "too easy to guess"),
        (["add", "anna"], "x" * 201 + "\n", "expected at most 200"),
        (["add", "anna"], "", "expected the password as the first line"),
        (["passwd", "bo"], "et-godt-kodeord\n", "has no account"),
        (["disable", "bo"], "", "has no account"),
    ],
)
def test_reviewer_command_refusals(tmp_path, monkeypatch, capsys, cheap_scrypt, argv, stdin,
                                   message):  # fmt: skip
    """Unknown reviewers, weak or missing passwords and absent accounts are refused with
    exit status 2 and a message; nothing is written."""
    study = make_study(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["reviewer", argv[0], str(study.path), *argv[1:]]) == 2
    assert message in capsys.readouterr().err
    assert accounts.accounts(study) == ()


def test_an_account_is_added_once(tmp_path):
    """A second `add` for the same reviewer is refused (passwd changes a password)."""
    study = make_study(tmp_path)
    accounts.add_account(study, "anna", "et-godt-kodeord", n=CHEAP_SCRYPT_N)
    with pytest.raises(StoreError, match="already has an account"):
        accounts.add_account(study, "anna", "et-andet-kodeord", n=CHEAP_SCRYPT_N)


def test_default_hash_is_scrypt_at_the_owasp_cost():
    """The default hash is scrypt with N = 2^17, r = 8, p = 1, salted (two hashes of one
    password differ), and verifies only the right password."""
    first = accounts.hash_password("et-godt-kodeord")
    assert first.startswith("scrypt$131072$8$1$")
    assert accounts.verify_password("et-godt-kodeord", first)
    cheap = [accounts.hash_password("et-godt-kodeord", n=CHEAP_SCRYPT_N) for _ in range(2)]
    assert cheap[0] != cheap[1]
    assert not accounts.verify_password("et-godt-kodeorD", cheap[0])
    assert not accounts.verify_password("x", "md5$abc")


def test_schema_2_store_gains_the_accounts_table(tmp_path):
    """A schema-2 store is migrated to 3 on open: the reviewer_accounts table appears,
    audited, and nothing else changes."""
    study = make_study(tmp_path)
    con = sqlite3.connect(study.path)
    con.execute("DROP TABLE reviewer_accounts")
    con.execute("PRAGMA user_version = 2")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    migrated = open_study(study.path)
    assert migrated.meta()["schema_version"] == "4"
    assert migrated.audit_log().iloc[-1]["details"] == "schema 2 -> 4"
    assert accounts.accounts(migrated) == ()
    accounts.add_account(migrated, "bo", "et-godt-kodeord", n=CHEAP_SCRYPT_N)
    assert [a.reviewer for a in accounts.accounts(migrated)] == ["bo"]


def test_schema_3_store_gains_the_second_factor_columns(tmp_path):
    """A schema-3 store is migrated to 4 on open: its accounts keep their passwords and
    have no second factor yet (issue 19)."""
    study = web_study(tmp_path)
    con = sqlite3.connect(study.path)
    con.execute("ALTER TABLE reviewer_accounts DROP COLUMN totp_secret")
    con.execute("ALTER TABLE reviewer_accounts DROP COLUMN totp_last_step")
    con.execute("PRAGMA user_version = 3")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    migrated = open_study(study.path)
    assert migrated.audit_log().iloc[-1]["details"] == "schema 3 -> 4"
    anna = accounts.get_account(migrated, "anna")
    assert anna.totp is False and accounts.verify_password("anna-hemmelig-1", anna.password_hash)


def test_an_account_needs_a_reviewer_of_the_study(tmp_path):
    """The store itself refuses an account for a name that is no reviewer."""
    study = make_study(tmp_path)
    with pytest.raises(StoreError, match="refused by the study store"), study.transaction() as con:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("INSERT INTO reviewer_accounts (reviewer, password_hash, disabled, "
                    "changed_at) VALUES ('carl', 'scrypt$1$1$1$a$b', 0, 'now')")


def test_passwords_typed_twice_must_match(tmp_path, monkeypatch, capsys, cheap_scrypt):
    """At a terminal the password is asked twice; two different answers change nothing."""
    study = make_study(tmp_path)
    answers = iter(["et-godt-kodeord", "et-andet-kodeord"])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["reviewer", "add", str(study.path), "anna"]) == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert accounts.accounts(study) == ()


def test_serve_command_serves_the_study_held_open(tmp_path, monkeypatch, capsys):
    """`serve` on loopback makes the app and waitress, holds the study open while serving,
    and says where it listens."""
    from stikprove.web import server as web_server

    study = web_study(tmp_path)
    served = {}

    def fake_run(server, kept):
        served["server"], served["study"] = server, kept
        server.close()  # bound but never served: close its socket

    monkeypatch.setattr(web_server, "run", fake_run)
    assert main(["serve", str(study.path), "--port", "0"]) == 0
    port = served["server"].effective_port
    assert f"Serving test-study at http://127.0.0.1:{port}/" in capsys.readouterr().out
    assert served["study"].path == study.path


def test_serve_stops_on_sigterm_as_on_ctrl_c(tmp_path, monkeypatch, capsys):
    """SIGTERM (kill, a service manager) stops `serve` as Ctrl-C does: waitress's own
    stop (the saves under way finished), "Stopped.", exit status 0, and SIGTERM's
    handling as it was before."""
    import os
    import signal

    from stikprove.web import server as web_server

    study = web_study(tmp_path)
    real_run = web_server.run

    def run_then_terminated(server, kept):
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        real_run(server, kept)

    monkeypatch.setattr(web_server, "run", run_then_terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["serve", str(study.path), "--port", "0"]) == 0
    assert "Stopped." in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before


def test_stop_lets_a_running_request_finish_before_closing(monkeypatch, caplog):
    """Stopping waitress while a request is being answered closes nothing until it is
    answered (closing the sockets under it made it fail with "Bad file descriptor"): the
    client gets its answer, no thread fails, nothing is logged as an error."""
    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    server, port, thread = serving(slow_app, check_listen("127.0.0.1", 0))
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    con.request("GET", "/")
    assert entered.wait(10)
    stopper = threading.Thread(target=stop, args=(server,))
    stopper.start()
    stopper.join(0.1)  # time enough for the old order to close every socket
    still_open = len(server._map)
    release.set()
    response = con.getresponse()
    answer = (response.status, response.read())
    con.close()
    stopper.join(10)
    thread.join(10)
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert still_open > 0 and answer == (200, b"done")
    assert not stopper.is_alive() and not thread.is_alive() and not server._map
    assert failures == [] and errors == []


def test_stop_writes_to_the_trigger_before_the_loop_can_close_it(monkeypatch):
    """The race CI met once: the loop, woken by a request's own pull of the trigger, ran
    the queued close between stop's queueing and its write to the trigger's pipe, and
    the write failed with "Bad file descriptor". Forced here: just before stop writes,
    another thread runs the loop's trigger handler (as the woken loop would) and is
    given time to finish. Under stop's lock it must wait, so the write goes to an open
    pipe and the close runs after it."""
    server = make_server(lambda environ, start_response: [], check_listen("127.0.0.1", 0))
    trigger = server.trigger
    original_pull = trigger._physical_pull
    trigger.pull_trigger()  # a pending wake-up, as the last request's own pull leaves
    loop_side = threading.Thread(target=trigger.handle_read)

    def pull_after_the_loop_tried():
        loop_side.start()
        loop_side.join(0.3)  # the old order: the close has run by now
        original_pull()

    monkeypatch.setattr(trigger, "_physical_pull", pull_after_the_loop_tried)
    stop(server)  # the old order raised OSError(EBADF) here
    loop_side.join(10)
    assert not loop_side.is_alive()
    assert trigger._closed and not server._map


@pytest.mark.parametrize("proxy", [False, True], ids=["loopback", "behind-proxy"])
def test_a_port_in_use_is_refused_with_what_to_do(tmp_path, capsys, proxy):
    """`serve` on a port another program listens on says so and how to choose another,
    with exit status 2 (it said "(file): Address already in use (no file was left
    half-written)"), and leaves no socket or thread open (the suite fails on an unclosed
    socket)."""
    import socket

    study = web_study(tmp_path)
    tls_args = ["--behind-proxy"] if proxy else []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        threads = threading.active_count()
        assert main(["serve", str(study.path), "--port", str(port), *tls_args]) == 2
        assert threading.active_count() == threads
    message = capsys.readouterr().err
    assert f"--host 127.0.0.1 --port {port}: cannot listen there" in message
    assert "--port 0" in message and "file" not in message


def test_a_second_server_of_the_same_study_is_refused(tmp_path, capsys, monkeypatch):
    """While one `serve` holds a study, a second is refused (exit 2) before it listens: two
    servers would keep separate sessions and login counts, so a reviewer locked out at one
    could log in at the other. Once the first stops, serving is possible again; another
    study is not affected."""
    from stikprove.web import server
    from stikprove.web.server import serving

    def served(*args, **kwargs):  # were the lock not to hold, fail instead of serving on
        raise AssertionError("a second server started")

    monkeypatch.setattr(server, "run", served)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    study, other = web_study(tmp_path / "one"), web_study(tmp_path / "two")
    with serving(study.path):
        assert main(["serve", str(study.path), "--port", "0"]) == 2
        assert "already served by another 'stikprove serve'" in capsys.readouterr().err
        with serving(other.path):
            pass
    with serving(study.path):
        pass
