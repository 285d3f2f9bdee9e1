"""Four reviewers saving at once through the served form (waitress, loopback) lose nothing
and duplicate nothing (benchmarks/bench_web.py runs the same with 2,000 saves and reports
the latencies)."""

import threading

import pytest

from stikprove.web import accounts, create_app
from stikprove.web.server import bound_port, check_listen, make_server, run, stop
from store_fixtures import make_study
from web_fixtures import CHEAP_SCRYPT_N
from web_load import run_load, store_problems

pytestmark = pytest.mark.slow

REVIEWERS = {name: f"{name}-kodeord-123" for name in ("anna", "bo", "carl", "dorte")}
STRATA = {f"461|kvinde|o{i}": ("461", "kvinde", "dansk_oprindelse", 60, 40) for i in range(4)}


def test_four_reviewers_saving_at_once_lose_and_duplicate_nothing(tmp_path):
    """4 reviewers × 20 saves at once (every 10th ineligible, which activates a reserve):
    every save answered 302 and is in the store once, with the values sent."""
    study = make_study(tmp_path, reviewers=tuple(REVIEWERS), strata=STRATA, double_every=5)
    for name, password in REVIEWERS.items():
        accounts.add_account(study, name, password, n=CHEAP_SCRYPT_N)
    server = make_server(create_app(study), check_listen("127.0.0.1", 0))
    thread = threading.Thread(target=run, args=(server, study), daemon=True)
    thread.start()
    try:
        result = run_load(bound_port(server), REVIEWERS, saves_per_reviewer=20,
                          ineligible_every=10)  # fmt: skip
    finally:
        stop(server)
        thread.join(10)
    assert result.failures == []
    assert len(result.latencies_s) == 80
    assert store_problems(study, result) == []
    assert int(study.units()["activated"].sum()) > 0
