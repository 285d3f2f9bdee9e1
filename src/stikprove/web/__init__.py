"""The reviewers' web form: ``stikprove serve STUDY`` (docs/web.md).

- :mod:`stikprove.web.app`: the Flask application (:func:`create_app`): login, case list,
  codebook form, security headers and CSRF tokens;
- :mod:`stikprove.web.accounts`: reviewer accounts (scrypt password hashes in the study
  store) and the login throttle;
- :mod:`stikprove.web.forms`: the codebook as form controls, and refused entries' problems
  beside their fields;
- :mod:`stikprove.web.server`: serving it (waitress on loopback; TLS for any other
  address).

It sits above the store and the recording and uses only their public functions: the
entries it saves are checked and written by :func:`stikprove.recording.record_assessment`.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    # Flask and the store (pandas) load only when the app is made, so that the command
    # line's --help, which imports stikprove.web.server, stays quick.
    if name == "create_app":
        from stikprove.web.app import create_app

        return create_app
    raise AttributeError(f"module 'stikprove.web' has no attribute {name!r}")
