"""The security headers every response carries: the web form's pages (set by the app) and
the server's own error pages (waitress answers a malformed request itself, 400 or 431,
without asking the app). Kept apart from the app so that the server adds them without
loading Flask."""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")
"""Sent when the form is served over HTTPS (behind the reverse proxy)."""


def security_headers(https: bool) -> list[tuple[str, str]]:
    """The headers as (name, value) pairs.

    ``Referrer-Policy: same-origin``: a browser sends the Referer (and Origin) to this site
    only, which Flask-WTF's strict check of a POST under HTTPS needs; with ``no-referrer``
    Chromium posted the login without either, and every login under TLS was refused.
    """
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ]
    return [*headers, HSTS] if https else headers
