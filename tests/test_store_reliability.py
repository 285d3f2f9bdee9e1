"""Reliability of the study store: killed imports, concurrent imports, bad files, file mode."""

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stikprove.errors import StoreError
from stikprove.recording import import_assessments
from stikprove.store import create_study, open_study
from store_fixtures import entry, make_sample, make_study, write_entries_csv

PAUSING_IMPORT = """
import sys, time
from pathlib import Path
from stikprove.recording import import_assessments
from stikprove.store import open_study

store, worklist, reviewer, marker, seconds = sys.argv[1:]

def pause(result):
    Path(marker).touch()
    time.sleep(float(seconds))

import_assessments(open_study(store), worklist, reviewer, on_before_commit=pause)
"""
"""An import that stops inside its transaction (after writing, before committing): it
touches ``marker`` there and sleeps ``seconds``, so a test can kill it or race it."""


def run_import(study, path, reviewer, pause_at=None, seconds=3600.0) -> subprocess.Popen:
    """The import command in a process of its own; with ``pause_at`` (a marker path) the
    import pauses inside its transaction (:data:`PAUSING_IMPORT`)."""
    if pause_at is None:
        command = [sys.executable, "-m", "stikprove.cli", "import", str(study.path), str(path),
                   "--reviewer", reviewer]  # fmt: skip
    else:
        command = [sys.executable, "-c", PAUSING_IMPORT, str(study.path), str(path), reviewer,
                   str(pause_at), str(seconds)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"import ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("import never reached the pause hook")
        time.sleep(0.05)


def snapshot(study):
    return (
        study.assessments(current_only=False).to_csv(),
        study.audit_log().to_csv(),
        study.assignments().to_csv(),
        study.units().to_csv(),
    )


def filled(tmp_path, study, reviewer, name, ineligible_first=False):
    cases = study.open_cases(reviewer)["case_id"].tolist()
    rows = [entry(c, ineligible=(ineligible_first and i == 0)) for i, c in enumerate(cases)]
    return write_entries_csv(tmp_path / name, rows)


def test_import_killed_mid_transaction_leaves_study_unchanged(tmp_path):
    """kill -9 inside the import's transaction: nothing is written and the store opens fine."""
    study = make_study(tmp_path)
    path = filled(tmp_path, study, "anna", "anna.csv", ineligible_first=True)
    n_rows = len(study.open_cases("anna"))
    before = snapshot(study)
    marker = tmp_path / "paused"
    proc = run_import(study, path, "anna", pause_at=marker)
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    reopened = open_study(study.path)
    assert snapshot(reopened) == before
    # the lock is gone: the same import now succeeds
    result = import_assessments(reopened, path, "anna")
    assert len(result.new) == n_rows
    assert len(result.activations) == 1


@pytest.mark.slow
def test_two_imports_at_once_lose_nothing(tmp_path):
    """Two processes importing at the same time both succeed; every entry is kept."""
    study = make_study(tmp_path)
    anna = filled(tmp_path, study, "anna", "anna.csv")
    bo = filled(tmp_path, study, "bo", "bo.csv")
    n_expected = len(study.open_cases("anna")) + len(study.open_cases("bo"))
    marker = tmp_path / "paused"
    first = run_import(study, anna, "anna", pause_at=marker, seconds=1.5)
    wait_for(marker, first)
    second = run_import(study, bo, "bo")  # waits for the first's write lock (busy_timeout)
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assessments = study.assessments()
    assert len(assessments) == n_expected
    assert set(assessments["reviewer"]) == {"anna", "bo"}
    assert study.audit_log()["action"].tolist().count("import") == 2


def test_truncated_store_is_refused(tmp_path):
    """A store cut in half (e.g. a broken copy) is refused as corrupt with a StoreError."""
    study = make_study(tmp_path)
    data = study.path.read_bytes()
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError):
        open_study(broken)


def test_foreign_sqlite_file_is_refused_untouched(tmp_path):
    """Another program's SQLite file given as STUDY is refused and left unchanged."""
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE journal (x)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a stikprove study store"):
        open_study(path)
    assert path.read_bytes() == before


def test_store_mode_is_0600_whatever_the_umask(tmp_path):
    """The store and its -wal/-shm are readable by the owner only, even with umask 000."""
    old = os.umask(0)
    try:
        study = create_study(tmp_path / "s.sqlite", make_sample(), reviewers=["anna", "bo"])
        con = sqlite3.connect(study.path)  # keep the -wal/-shm files alive
        con.execute("SELECT count(*) FROM units").fetchone()
        with study.transaction() as tx:
            tx.execute("SELECT 1")
        for name in os.listdir(tmp_path):
            mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            assert mode == 0o600, (name, oct(mode))
        con.close()
    finally:
        os.umask(old)


def test_writers_in_one_process_take_turns(tmp_path, monkeypatch):
    """Two threads writing one study take turns on the process's writer lock: the second
    waits while the first's transaction is open, then writes; one that cannot get its turn
    within the busy timeout is refused as busy, naming the other thread, writing nothing."""
    import threading

    import stikprove.store.study as study_module
    from stikprove.store import audit

    study = make_study(tmp_path)
    inside, release = threading.Event(), threading.Event()
    order = []

    def first():
        with study.transaction() as con:
            audit(con, "test", "test", "first writer", actor="first")
            inside.set()
            release.wait(10)
            order.append("first")

    def second():
        with study.transaction() as con:
            audit(con, "test", "test", "second writer", actor="second")
            order.append("second")

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    monkeypatch.setattr(study_module, "BUSY_TIMEOUT_S", 0.05)
    with pytest.raises(StoreError, match=r"busy \(another thread has been writing"):
        second()
    monkeypatch.undo()
    two = threading.Thread(target=second)
    two.start()
    release.set()
    one.join(10)
    two.join(10)
    assert order == ["first", "second"]
    written = study.query("SELECT actor FROM audit WHERE action = 'test' ORDER BY audit_id")
    assert list(written["actor"]) == ["first", "second"]
