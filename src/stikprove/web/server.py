"""Serving the web form: which addresses are allowed, and the production server.

Plain HTTP only on a loopback address (127.0.0.1, ::1, localhost): the form carries health
data and passwords. Any other address is refused unless a TLS certificate and key are
given; then the form is served over HTTPS with Secure cookies and HSTS.

The server is waitress for plain HTTP on loopback. waitress has no TLS (its documentation
leaves that to a proxy in front), so under TLS the form is served by cheroot, CherryPy's
production WSGI server, with its built-in TLS adapter.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stikprove.errors import StikproveError

if TYPE_CHECKING:  # the command line's --help imports this module: no pandas here
    from stikprove.store import Study

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
THREADS = 8


class ServeError(StikproveError):
    """The web form cannot be served as asked."""


@dataclass(frozen=True)
class Listen:
    """Where to listen and how: ``tls`` holds (certificate, key) or None."""

    host: str
    port: int
    tls: tuple[Path, Path] | None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(host: str, port: int, cert: Path | None = None, key: Path | None = None) -> Listen:
    """Refuse a non-loopback ``host`` without TLS, half a TLS pair, a certificate and key
    that do not load, and a port outside 1-65535 (0: any free port)."""
    if not 0 <= port <= 65535:
        raise ServeError(f"--port: got {port}, expected a port number from 1 to 65535")
    if (cert is None) != (key is None):
        raise ServeError(
            "--tls-cert and --tls-key: got only one of them, expected both (the certificate "
            "and its private key, PEM files)"
        )
    if cert is not None and key is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as error:
            raise ServeError(
                f"--tls-cert {cert} / --tls-key {key}: cannot load them ({error}); expected "
                "a PEM certificate and its matching private key"
            ) from None
        return Listen(host, port, (cert, key))
    if not is_loopback(host):
        raise ServeError(
            f"--host {host}: serving the form beyond this machine needs TLS; expected a "
            "loopback address (127.0.0.1, ::1, localhost), or --tls-cert and --tls-key"
        )
    return Listen(host, port, None)


def make_server(app, listen: Listen):
    """A server for ``app``, bound but not yet serving (:func:`run`): waitress on
    loopback, cheroot under TLS. An address or port it cannot listen on (taken by
    another program, say) is refused with what to do, leaving nothing open."""
    if listen.tls is None:
        from waitress.server import create_server

        # bound here, and handed to waitress: when binding fails, waitress has not yet
        # made its trigger and worker threads (its own bind left them open)
        sock = _bound_socket(listen)
        return create_server(app, sockets=[sock], threads=THREADS, ident="stikprove")
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    # a trial bind first: cheroot's own failed bind leaves its socket open
    _bound_socket(listen).close()
    server = wsgi.Server((listen.host, listen.port), app, numthreads=THREADS,
                         server_name="stikprove")  # fmt: skip
    cert, key = listen.tls
    server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
    try:
        server.prepare()
    except OSError as error:
        server.stop()
        raise _cannot_listen(listen, error) from None
    return server


def _bound_socket(listen: Listen) -> socket.socket:
    """A TCP socket bound to ``listen``'s address and port (not yet listening)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listen.host, listen.port, type=socket.SOCK_STREAM
        )[0]
    except OSError as error:
        raise _cannot_listen(listen, error) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise _cannot_listen(listen, error) from None
    return sock


def _cannot_listen(listen: Listen, error: OSError) -> ServeError:
    return ServeError(
        f"--host {listen.host} --port {listen.port}: cannot listen there "
        f"({error.strerror or error}); expected a free port on an address of this machine: "
        "choose another with --port (--port 0: any free one)"
    )


@contextlib.contextmanager
def serving(study_path: str | Path):
    """Hold the study as the one being served, for the ``with`` block: a second
    ``stikprove serve`` of the same study is refused while the first runs. Two servers would
    each keep their own open sessions and login counts (a reviewer locked out by one could
    log in at the other). An advisory ``flock`` on the study file, which SQLite's own
    (``fcntl``) locks do not see; the operating system releases it when the process ends,
    however it ends."""
    import fcntl

    path = Path(study_path)
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StikproveError(
                f"{path}: already served by another 'stikprove serve'; expected one server "
                "per study (stop the other, or give its address to the reviewers)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def bound_port(server) -> int:
    """The port a server from :func:`make_server` listens on (after binding)."""
    if hasattr(server, "effective_port"):
        return int(server.effective_port)
    return int(server.bind_addr[1])


def run(server, study: Study | None = None) -> None:
    """Serve until interrupted (or closed from another thread: :func:`stop`), holding
    ``study`` open meanwhile (:meth:`Study.kept_open`: each save's short transaction then
    costs no checkpoint)."""
    with study.kept_open() if study is not None else contextlib.nullcontext():
        if hasattr(server, "effective_port"):
            from waitress import wasyncore

            try:
                server.run()
            finally:
                # waitress takes Ctrl-C itself: it finishes the requests under way and
                # returns, its sockets still open (after stop() there are none left)
                wasyncore.close_all(server._map)
        else:
            try:
                server.serve()
            finally:
                server.stop()


def stop(server) -> None:
    """Stop a server that :func:`run` serves in another thread.

    waitress: first its worker threads finish the requests they are answering (up to 5 s,
    waitress's own order in its ``close``), then its loop is asked to close its own
    sockets (through its trigger, which runs a function in the loop's thread), so no
    socket is closed under the loop or a running request. (Closing first made a request
    still finishing wake the closed trigger: ``OSError: Bad file descriptor``.)

    The closing function is queued and the trigger pulled while holding the trigger's
    lock: waitress's own ``pull_trigger`` queues under the lock but writes after it, so
    the loop, woken by the last request's own pull, could run the queued close between
    the two and the write then hit the closed pipe (``Bad file descriptor``, seen once
    in CI). The loop runs queued functions under that same lock, so it waits here."""
    if hasattr(server, "effective_port"):
        from waitress import wasyncore

        server.task_dispatcher.shutdown()
        trigger = server.trigger
        with trigger.lock:
            trigger.thunks.append(lambda: wasyncore.close_all(server._map))
            trigger._physical_pull()
    else:
        server.stop()
