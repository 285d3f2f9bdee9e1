"""What the package ships besides code: the report notebooks and the protocol templates.

They live in the package (``stikprove/notebooks/``, ``stikprove/protocols/``; a checkout
shows them at the top as ``notebooks/`` and ``protocols/``) and are read with
:mod:`importlib.resources`, so every command works from an installed wheel as it does in a
checkout. pip always installs a wheel as files, so a resource is an ordinary file: its
:class:`~pathlib.Path` is what papermill, nbformat and the protocol loader are given.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stikprove.errors import StikproveError

NOTEBOOKS = {"kommune": "kommune_report.ipynb", "national": "national_overview.ipynb",
             "design": "design_explorer.ipynb"}  # fmt: skip
"""The report notebooks by report kind."""

PROTOCOL_TEMPLATES = {"odense": "odense-replication.toml", "national": "national-template.toml"}
"""The protocol templates by name."""


def _folder(name: str) -> Path:
    return Path(str(resources.files("stikprove") / name))


def notebooks_folder() -> Path:
    """The folder of the shipped report notebooks (and their README.md)."""
    return _folder("notebooks")


def protocols_folder() -> Path:
    """The folder of the shipped protocol templates, the default codebook and the protocol
    format's README.md."""
    return _folder("protocols")


def notebook(kind: str) -> Path:
    """The shipped notebook of a report kind ("kommune", "national", "design")."""
    if kind not in NOTEBOOKS:
        raise StikproveError(f"report kind must be one of {tuple(NOTEBOOKS)}; got {kind!r}")
    return _file(notebooks_folder() / NOTEBOOKS[kind])


def protocol_template(name: str) -> Path:
    """The shipped protocol template ``name`` (one of :data:`PROTOCOL_TEMPLATES`)."""
    if name not in PROTOCOL_TEMPLATES:
        raise StikproveError(
            f"protocol template must be one of {tuple(PROTOCOL_TEMPLATES)}; got {name!r}"
        )
    return _file(protocols_folder() / PROTOCOL_TEMPLATES[name])


def _file(path: Path) -> Path:
    if not path.is_file():
        raise StikproveError(
            f"{path.name} is missing from the installed package ({path}); reinstall "
            "stikprove (pip install --force-reinstall stikprove)"
        )
    return path
