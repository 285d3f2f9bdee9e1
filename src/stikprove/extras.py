"""The optional parts of the install (pyproject.toml's extras) and the message a command
gives when the one it needs is missing.

The base install holds the analysis and the reports; ``stikprove[web]`` adds the reviewers'
web form (Flask, Flask-WTF, waitress; pyotp, segno and zxcvbn for the second factor and
the password check); ``stikprove[lab]`` adds JupyterLab for
editing the notebooks.
"""

from __future__ import annotations

import importlib.util

from stikprove.errors import StikproveError

EXTRAS = {
    "web": ("flask", "flask_wtf", "wtforms", "waitress", "pyotp", "segno", "zxcvbn"),
    "lab": ("jupyterlab",),
}
"""The modules each extra brings (import names)."""


class MissingExtraError(StikproveError):
    """A command needs an optional part of the install that is not installed."""


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    if extra not in EXTRAS:
        raise StikproveError(f"extra must be one of {tuple(EXTRAS)}; got {extra!r}")
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, purpose: str) -> None:
    """Refuse with the ``pip install`` that brings ``extra`` when any of its modules is
    missing; ``purpose`` says what needs it."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f"{purpose} needs the optional '{extra}' part of stikprove, which is not "
            f"installed (missing: {', '.join(missing)}); install it with: "
            f"pip install 'stikprove[{extra}]'"
        )
