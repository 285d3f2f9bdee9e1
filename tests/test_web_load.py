"""Reviewers saving at once through the served form (waitress, loopback) lose nothing and
duplicate nothing, also with a login flood beside them (benchmarks/bench_web.py runs the
same with 20 reviewers and reports the latencies)."""

import threading
import time

import pytest

from stikprove.web import accounts, create_app
from stikprove.web.server import bound_port, check_listen, make_server, run, stop
from store_fixtures import make_study
from web_fixtures import CHEAP_SCRYPT_N
from web_load import run_load, store_problems

pytestmark = pytest.mark.slow

REVIEWERS = {name: f"{name}-kodeord-123" for name in ("anna", "bo", "carl", "dorte")}
STRATA = {f"461|kvinde|o{i}": ("461", "kvinde", "dansk_oprindelse", 60, 40) for i in range(4)}


def _served(study, app, **load):
    server = make_server(app, check_listen("127.0.0.1", 0))
    thread = threading.Thread(target=run, args=(server, study), daemon=True)
    thread.start()
    try:
        return run_load(bound_port(server), REVIEWERS, **load)
    finally:
        stop(server)
        thread.join(10)


def _study(tmp_path):
    study = make_study(tmp_path, reviewers=tuple(REVIEWERS), strata=STRATA, double_every=5)
    for name, password in REVIEWERS.items():
        accounts.add_account(study, name, password, n=CHEAP_SCRYPT_N)
    return study


def test_four_reviewers_saving_at_once_lose_and_duplicate_nothing(tmp_path):
    """4 reviewers × 20 saves at once (every 10th ineligible, which activates a reserve):
    every save answered 302 and is in the store once, with the values sent."""
    study = _study(tmp_path)
    result = _served(study, create_app(study), saves_per_reviewer=20, ineligible_every=10)
    assert result.failures == []
    assert len(result.latencies_s) == 80
    assert store_problems(study, result) == []
    assert int(study.units()["activated"].sum()) > 0


def test_saves_go_on_beside_a_login_flood(tmp_path, monkeypatch):
    """Four clients posting wrong logins (each check a fifth of a second, as scrypt's half
    second on this machine's share) while 4 reviewers save 15 cases each: every save is
    answered 302 and stored once; the flood's logins are refused (401, or 503 when the
    checker is full) and never hold more than its slot and queue."""
    def slow_check(password, like=None):
        time.sleep(0.2)  # scrypt releases the interpreter lock too

    monkeypatch.setattr(accounts, "waste_time_like_a_login", slow_check)
    study = _study(tmp_path)
    app = create_app(study, throttle=accounts.ThrottleSettings(max_failures_global=10**6))
    result = _served(study, app, saves_per_reviewer=15, ineligible_every=10, flooders=4,
                     flood_most=400, flood_seconds=60)  # fmt: skip
    assert result.failures == []
    assert len(result.latencies_s) == 60
    assert store_problems(study, result) == []
    assert result.flood is not None and result.flood.attempts > 0
    assert set(result.flood.statuses) <= {401, 503}
