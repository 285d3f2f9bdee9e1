"""Benchmark: four reviewers saving at once through the web form (target: p95 save latency
under 50 ms on 2 cores), and nothing lost or duplicated.

A study of 20 strata × 120 sampled cases (N_h = 200, so 80 reserves each; every 10th
sampled case double-reviewed) assigned to four reviewers with accounts (default scrypt
cost). ``stikprove serve``'s server (waitress, 8 threads, loopback) runs in this process;
four threads act as the reviewers, each on its own HTTP connection: log in, then for each
case open it from the list, load the form and save it (every 20th ineligible, which
activates a reserve). Only the save (the POST of the form, answered by a redirect) is
timed, from the client. Afterwards the store is checked: every save there once with the
values sent, one reserve activation per ineligible first review (tests/web_load.py).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the load driver and the sample fixture

from stikprove.web import accounts, create_app  # noqa: E402
from stikprove.web.server import bound_port, check_listen, make_server, run, stop  # noqa: E402
from store_fixtures import make_study  # noqa: E402
from web_load import run_load, store_problems  # noqa: E402

REVIEWERS = {name: f"{name}-kodeord-123" for name in ("anna", "bo", "carl", "dorte")}
SAVES_PER_REVIEWER = 500
STRATA = {
    f"461|kvinde|s{i:02d}": ("461", "kvinde", "dansk_oprindelse", 200, 120) for i in range(20)
}


ALONE_SAVES = 200


def _served_load(study, passwords: dict, saves: int):
    server = make_server(create_app(study), check_listen("127.0.0.1", 0))
    thread = threading.Thread(target=run, args=(server, study), daemon=True)
    thread.start()
    try:
        return run_load(bound_port(server), passwords, saves)
    finally:
        stop(server)
        thread.join(10)


def _alone() -> tuple[float, float]:
    """p50 and p95 of one reviewer saving alone (no other client): what a save costs
    without waiting for the others."""
    with tempfile.TemporaryDirectory() as folder:
        study = make_study(Path(folder), reviewers=tuple(REVIEWERS), strata=STRATA,
                           double_every=10)  # fmt: skip
        accounts.add_account(study, "anna", REVIEWERS["anna"])
        result = _served_load(study, {"anna": REVIEWERS["anna"]}, ALONE_SAVES)
        if result.failures or store_problems(study, result):
            raise RuntimeError("the single-reviewer run lost or duplicated entries")
        return result.percentile_ms(50), result.percentile_ms(95)


def main() -> dict:
    alone_p50, alone_p95 = _alone()
    print(f"one reviewer alone, {ALONE_SAVES} saves: p50 {alone_p50:.1f} ms, "
          f"p95 {alone_p95:.1f} ms")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        study = make_study(Path(folder), reviewers=tuple(REVIEWERS), strata=STRATA,
                           double_every=10)  # fmt: skip
        for name, password in REVIEWERS.items():
            accounts.add_account(study, name, password)
        result = _served_load(study, REVIEWERS, SAVES_PER_REVIEWER)
        problems = store_problems(study, result) + result.failures
        saves = len(result.latencies_s)
        figures = {
            "saves": saves,
            "seconds": result.seconds,
            "saves_per_second": saves / result.seconds,
            "p50_ms": result.percentile_ms(50),
            "p95_ms": result.percentile_ms(95),
            "p99_ms": result.percentile_ms(99),
            "max_ms": float(result.latencies_s.max() * 1000),
            "store_problems": len(problems),
            "alone_p50_ms": alone_p50,
            "alone_p95_ms": alone_p95,
        }
    print(f"{saves} saves by {len(REVIEWERS)} reviewers at once in {result.seconds:.1f} s "
          f"({figures['saves_per_second']:.0f} saves/s)")  # fmt: skip
    print(
        f"save latency: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms (target p95 < 50 ms)"
    )
    print("store check: " + ("every save there once, nothing else" if not problems
                             else "; ".join(problems[:5])))  # fmt: skip
    if problems:
        raise RuntimeError(f"the load lost or duplicated entries: {problems[:5]}")
    return figures


if __name__ == "__main__":
    main()
