"""Atomic writing and CSV delimiter sniffing (stikprove.files)."""

import errno
import gc
import os
import resource
import signal
import stat

import pytest

from stikprove.files import atomic_folder, atomic_write, atomic_write_text, sniff_delimiter


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    """A write that fails halfway keeps the old content and leaves nothing beside it."""
    path = atomic_write_text(tmp_path / "out.csv", "old\n")

    def fails(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fails)
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(FileNotFoundError):  # the second file cannot be written
        atomic_folder(tmp_path / "sample", {"a.csv": "x", "no/such/folder.csv": "y"})
    assert os.listdir(tmp_path) == ["out.csv"]


def test_private_files_are_0600_others_follow_the_umask(tmp_path):
    """Personal data gets mode 0600 whatever the umask; other files the usual mode."""
    old = os.umask(0o022)
    try:
        private = atomic_write_text(tmp_path / "private.csv", "a\n")
        public = atomic_write_text(tmp_path / "public.csv", "a\n", private=False)
        folder = atomic_folder(tmp_path / "sample" / "round1", {"units.csv": "x\n"})
    finally:
        os.umask(old)
    assert (mode(private), mode(public)) == (0o600, 0o644)
    assert (folder / "units.csv").read_text() == "x\n"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("a;b;c", ";"), ("a\tb\tc", "\t"), ("a,b;c", ","), ("a,b,c;d;e;f", ";"), ("a", ",")],
)
def test_sniff_delimiter(header, expected):
    """The delimiter the header holds most often; ',' on a tie or none."""
    assert sniff_delimiter(header) == expected


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_an_os_error_names_the_destination_not_the_temporary_file(tmp_path, code):
    """A write that fails as a full disk fails (an OSError naming no file) or a rename
    refused by a read-only folder (naming the temporary file): the error names the file the
    user asked for."""

    def fails(tmp):
        raise OSError(code, os.strerror(code), str(tmp) if code == errno.EROFS else None)

    with pytest.raises(OSError) as info:
        atomic_write(tmp_path / "out.csv", fails)
    assert info.value.errno == code and info.value.filename == str(tmp_path / "out.csv")
    assert os.listdir(tmp_path) == []


LIMIT = 3000


def test_a_workbook_cut_short_by_the_file_size_limit_ends_in_one_line(tmp_path, capsys):
    """An xlsx whose writing fails halfway (the process's file-size limit stands in for a
    full disk: the same failed write, without a tiny file system) ends with one line
    naming the file, exit 2, nothing left and no second traceback from the half-written
    zip's finaliser. The limit lets openpyxl's temporary copy of the small sheet through
    (about 400 bytes) and stops the workbook (about 5 kB)."""
    from stikprove.cli import main

    extract = tmp_path / "extract.csv"
    extract.write_text("cpr,age\n010190-1234,45\n020285-1111,33\n")
    key = tmp_path / "k.key"
    key.write_text("8f1c2a9e5b7d3f60" * 2 + "1e4a7c2b9d6f0385" * 2 + "\n")
    key.chmod(0o600)
    out = tmp_path / "pseudo.xlsx"
    argv = ["pseudonymize", str(extract), str(out), "--column", "cpr", "--key-file", str(key)]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))
    try:
        code = main(argv)
        gc.collect()  # a half-written zip left open would complain here
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and str(out) in err, err
    assert sorted(os.listdir(tmp_path)) == ["extract.csv", "k.key"]
