"""Serving the web form: which addresses are allowed, and the production server.

The server is waitress, on a loopback address only (127.0.0.1, ::1, localhost): the form
carries health data and passwords, and waitress has no TLS of its own. For reviewers on
other machines it is served behind a reverse proxy on the same machine (nginx:
deploy/nginx/stikprove.conf, docs/web.md) that terminates TLS and forwards to it
(``--behind-proxy``). The proxy does the TLS handshake in its own event loop, holds slow
and idle connections, and passes on whole requests; waitress, asynchronous itself, reads
them without tying up a worker thread. Behind the proxy, the forwarded headers it sets
(``X-Forwarded-For``, ``X-Forwarded-Proto``) are trusted from the proxy's loopback address
only, and every other forwarded header is removed, so a client cannot name its own
address. Served directly, no forwarded header is read at all.

The server's own error pages (a malformed request, headers too large) carry the same
security headers as the form's pages.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stikprove.errors import StikproveError

if TYPE_CHECKING:  # the command line's --help imports this module: no pandas here
    from stikprove.store import Study

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
THREADS = 12
"""waitress's worker threads: password checks hold at most a third of them
(:class:`~stikprove.web.accounts.PasswordChecker` on a 2-core machine: 1 checking, 3
waiting)."""
CONNECTION_LIMIT = 500
"""Open connections waitress keeps at once (its default, 100, was exhausted by 120 idle
ones); each costs a file descriptor and no thread."""
MAX_REQUEST_HEADER_BYTES = 32 * 1024
"""A request's headers may be this long (waitress's default was 256 KiB; nginx in front
allows 4 × 8 KiB); longer ones are refused with 431."""
CHANNEL_TIMEOUT_S = 60
"""An idle connection is closed after this many seconds."""
FORWARDED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})
"""The headers the reverse proxy sets (deploy/nginx/stikprove.conf), trusted from it only."""


class ServeError(StikproveError):
    """The web form cannot be served as asked."""


@dataclass(frozen=True)
class Listen:
    """Where to listen, and whether behind a reverse proxy (``behind_proxy``: the form is
    reached over HTTPS through the proxy, which alone may forward a client's address)."""

    host: str
    port: int
    behind_proxy: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def trusted_proxy(self) -> str | None:
        """The address the proxy connects from (the loopback address listened on)."""
        if not self.behind_proxy:
            return None
        return "::1" if self.host == "::1" else "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


NO_TLS = (
    "stikprove serve does not terminate TLS itself (its TLS server did the handshake on "
    "the loop that accepts connections, so one silent client stalled every reviewer): "
    "serve on loopback with --behind-proxy and let nginx terminate TLS in front "
    "of it (docs/web.md, 'Serving to other machines'; deploy/nginx/stikprove.conf)"
)


def check_listen(host: str, port: int, cert: Path | None = None, key: Path | None = None,
                 behind_proxy: bool = False) -> Listen:  # fmt: skip
    """Refuse a non-loopback ``host`` (the form is served to other machines through a
    reverse proxy that terminates TLS), a TLS certificate (:data:`NO_TLS`), and a port
    outside 1-65535 (0: any free port)."""
    if not 0 <= port <= 65535:
        raise ServeError(f"--port: got {port}, expected a port number from 1 to 65535")
    if cert is not None or key is not None:
        raise ServeError(f"--tls-cert / --tls-key: {NO_TLS}")
    if not is_loopback(host):
        raise ServeError(
            f"--host {host}: the form is served on a loopback address only (127.0.0.1, "
            "::1, localhost), over plain HTTP, which never leaves this machine; serving "
            "it beyond this machine needs TLS: put nginx in front and use "
            "--behind-proxy (docs/web.md, 'Serving to other machines')"
        )
    if behind_proxy and host == "localhost":
        host = "127.0.0.1"  # the proxy's address must be one: the one it connects to
    return Listen(host, port, behind_proxy)


def make_server(app, listen: Listen):
    """A waitress server for ``app``, bound but not yet serving (:func:`run`). An address
    or port it cannot listen on (taken by another program, say) is refused with what to
    do, leaving nothing open."""
    from waitress.channel import HTTPChannel
    from waitress.server import create_server
    from waitress.task import ErrorTask

    from stikprove.web.headers import security_headers

    class SecureErrorTask(ErrorTask):
        """waitress's own error page (400, 431, ...) with the security headers."""

        def execute(self):
            self.response_headers.extend(security_headers(https=listen.behind_proxy))
            super().execute()

    class Channel(HTTPChannel):
        error_task_class = SecureErrorTask

    # bound here, and handed to waitress: when binding fails, waitress has not yet
    # made its trigger and worker threads (its own bind left them open)
    sock = _bound_socket(listen)
    proxy = {}
    if listen.behind_proxy:
        proxy = {
            "trusted_proxy": listen.trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": set(FORWARDED_HEADERS),
            "clear_untrusted_proxy_headers": True,
        }
    server = create_server(
        app, sockets=[sock], threads=THREADS, ident="stikprove",
        connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_S,
        max_request_header_size=MAX_REQUEST_HEADER_BYTES, **proxy,
    )  # fmt: skip
    server.channel_class = Channel
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
    return int(server.effective_port)


def run(server, study: Study | None = None) -> None:
    """Serve until interrupted (or closed from another thread: :func:`stop`), holding
    ``study`` open meanwhile (:meth:`Study.kept_open`: each save's short transaction then
    costs no checkpoint)."""
    from waitress import wasyncore

    with study.kept_open() if study is not None else contextlib.nullcontext():
        try:
            server.run()
        finally:
            # waitress takes Ctrl-C itself: it finishes the requests under way and
            # returns, its sockets still open (after stop() there are none left)
            wasyncore.close_all(server._map)


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
    from waitress import wasyncore

    server.task_dispatcher.shutdown()
    trigger = server.trigger
    with trigger.lock:
        trigger.thunks.append(lambda: wasyncore.close_all(server._map))
        trigger._physical_pull()
