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

PROTOCOL_TEMPLATES = {"kommune": "kommune-template.toml", "national": "national-template.toml",
                      "odense": "odense-replication.toml"}  # fmt: skip
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


def copy_notebooks(out: str | Path) -> list[Path]:
    """Copy the shipped notebooks (and their README.md) into the folder ``out`` for editing;
    returns the copies. A file of the same name already there is refused (all of them
    named), and then nothing is copied."""
    import shutil

    from stikprove.files import atomic_write

    out = Path(out)
    sources = [notebook(kind) for kind in NOTEBOOKS]
    sources.append(notebooks_folder() / "README.md")
    if out.exists() and not out.is_dir():
        raise StikproveError(f"--out {out}: is a file; expected a folder")
    taken = [str(out / s.name) for s in sources if (out / s.name).exists()]
    if taken:
        raise StikproveError(
            f"--out {out}: already holds {', '.join(taken)}; expected a folder without them "
            "(move them away, or choose another folder)"
        )
    copies = []
    for source in sources:
        copies.append(atomic_write(out / source.name,
                                   lambda tmp, s=source: shutil.copyfile(s, tmp),
                                   private=False))  # fmt: skip
    return copies
