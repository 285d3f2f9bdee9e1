"""Files stikprove reads and writes, at the base layer below every step: atomic writing of
a file or a folder, the delimiter of a CSV file, and the worklist's layout (its sheet and
special columns, shared by the worklist writer and the import reader).

Atomic writing is written by hand because the standard library has no such call: the
content goes to a temporary file in the destination's folder (so the rename stays on one
file system), is flushed to disk (``fsync``), and is renamed over the destination
(``os.replace``, atomic on POSIX and Windows). A reader sees the old file or the new one,
never half of it; on any error the temporary file is removed and the destination is left
as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

CASES_SHEET = "Sager"
"""The worklist sheet holding the cases (worklist.py writes it; import reads it)."""
REASON_COLUMN = "reason"
"""Column with the reason for a correction."""
CODEBOOK_SUFFIX = "_kodebog"
"""A CSV worklist's codebook is written beside it, its name's stem with this suffix."""
ROUND_COLUMN = "round"
"""Column with the round of a worklist (written from round 2 on; none means round 1)."""

CSV_DELIMITERS = (",", ";", "\t")
"""The delimiters a CSV file may use: ',' and, from Danish Excel, ';'; or tab."""


def sniff_delimiter(first_line: str) -> str:
    """The delimiter of a CSV header line: the one of :data:`CSV_DELIMITERS` it holds most
    often (';' from Danish Excel, tab, or ','); ',' on a tie or when it holds none.

    >>> sniff_delimiter("case_id;kommune_code;stratum")
    ';'
    >>> sniff_delimiter("case_id")
    ','
    """
    counts = {d: first_line.count(d) for d in CSV_DELIMITERS}
    return max(counts, key=lambda d: (counts[d], d == ","))


def private_folder(directory: str | Path) -> Path:
    """Create ``directory`` and any missing parent folders with mode 0700 (readable by
    their owner only, whatever the umask: they will hold personal data); folders that
    exist already are left as they are."""
    directory = Path(directory)
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)
    return directory


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        _fsync(folder)


def atomic_write(path: str | Path, write: Callable[[Path], object], private: bool = True) -> Path:
    """Call ``write(temporary_path)`` to fill a new temporary file beside ``path``, flush
    it to disk and rename it over ``path``: the file appears complete or not at all.

    ``private``: the file gets mode 0600 (personal data); otherwise the usual mode (0666
    less the umask). A missing folder is created with mode 0700 (:func:`private_folder`).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        private_folder(path.parent)
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600 if private else 0o666)
    except OSError as error:
        raise naming(error, path) from None
    os.close(fd)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise naming(error, path) from error
        raise
    _fsync_folder(path.parent)
    return path


def naming(error: OSError, path: str | Path) -> OSError:
    """``error`` naming ``path``, the file the user asked for: a full disk's failed write
    names no file, and a refused rename names the temporary file first. An error without
    an errno is returned as it is."""
    if error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def atomic_write_text(path: str | Path, text: str, private: bool = True) -> Path:
    """Write ``text`` (UTF-8, line ends as given) to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(
        path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""), private
    )


def atomic_folder(directory: str | Path, files: Mapping[str, str]) -> Path:
    """Write a new folder holding ``files`` (name -> UTF-8 text) atomically: into a
    temporary folder beside it, flushed to disk, then renamed, so the folder appears
    complete or not at all. ``directory`` must not exist or be an empty folder (the caller
    refuses anything else with its own message)."""
    directory = Path(directory)
    try:
        private_folder(directory.parent)
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    except OSError as error:
        raise naming(error, directory) from None
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="")
            _fsync(tmp / name)
        if directory.exists():
            directory.rmdir()
        os.replace(tmp, directory)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and error.filename in (None, str(tmp), str(directory)):
            raise naming(error, directory) from error
        raise
    _fsync_folder(directory.parent)
    return directory
