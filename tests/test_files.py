"""Atomic writing and CSV delimiter sniffing (stikprove.files)."""

import os
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
