"""Benchmark: the reviewers' web form under load on loopback: 20 reviewers saving at once,
alone and with a login flood beside them (target: p95 of a save under 100 ms on an idle
2-core machine), and nothing lost or duplicated.

A study of 20 strata × 120 sampled cases (N_h = 200, so 80 reserves each; every 10th
sampled case double-reviewed) assigned to 20 reviewers with accounts (default scrypt cost:
128 MiB, about half a second per check). The form's server (waitress, 12 threads, the study
held open, as ``stikprove serve`` runs it) runs in a process of its own; threads of this
process act as the reviewers, each on its own HTTP connection: log in (all of them first),
then for each case open it from the list, load the form and save it (every 20th ineligible,
which activates a reserve). Only the save (the POST of the form, answered by a redirect) is
timed, from the client. Each run on a fresh study:

1. one reviewer alone, 100 saves (what a save costs with nobody else waiting);
2. 20 reviewers × 30 saves at once, each pausing a second before opening the next case
   (a pace far beyond a physician's, who takes minutes per case: 20 saves a second);
3. the same beside a login flood: 8 clients posting wrong logins under invented names as
   fast as they are answered, until the reviewers are done (at most 5,000 each, 300 s). The
   server's global limit of failed logins is lifted for this run, so that every attempt
   reaches the password check (the worst case: with the default limit the flood is refused
   without a check after 100 failures);
4. 20 reviewers × 50 saves with no pause at all (a stress test: the server then runs at
   its capacity and a save waits for the others' requests, so its latency is the number
   of clients over the throughput, Little's law).

Afterwards the store is checked (tests/web_load.py): every save there once with the values
sent, one reserve activation per ineligible first review; the benchmark fails if not.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the load driver and the sample fixture

from stikprove.store import open_study  # noqa: E402
from stikprove.web import accounts  # noqa: E402
from store_fixtures import make_study  # noqa: E402
from web_load import run_load, store_problems  # noqa: E402

REVIEWERS = {f"r{i:02d}": f"r{i:02d}-kodeord-{i:03d}-ok" for i in range(1, 21)}
SAVES_PER_REVIEWER = 30
STRESS_SAVES = 50
THINK_S = 1.0
ALONE_SAVES = 100
FLOODERS = 8
STRATA = {
    f"461|kvinde|s{i:02d}": ("461", "kvinde", "dansk_oprindelse", 200, 120) for i in range(20)
}


def _serve(path: str, lift_global_limit: bool, ready) -> None:
    """The form's server in its own process (as `stikprove serve` runs it)."""
    import logging

    from stikprove.web import create_app
    from stikprove.web.server import bound_port, check_listen, make_server, run

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 9"
    study = open_study(path)
    settings = accounts.ThrottleSettings(max_failures_global=10**9 if lift_global_limit
                                         else accounts.ThrottleSettings().max_failures_global)
    server = make_server(create_app(study, throttle=settings), check_listen("127.0.0.1", 0))
    ready.put(bound_port(server))
    run(server, study)


def _run(reviewers: dict, saves: int, flooders: int = 0, think_s: float = 0.0) -> dict:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        study = make_study(Path(folder), reviewers=tuple(REVIEWERS), strata=STRATA,
                           double_every=10)  # fmt: skip
        for name, password in reviewers.items():
            accounts.add_account(study, name, password)
        ready = context.Queue()
        server = context.Process(target=_serve, args=(str(study.path), flooders > 0, ready))
        server.start()
        try:
            port = ready.get(timeout=60)
            result = run_load(port, reviewers, saves, flooders=flooders, think_s=think_s)
        finally:
            server.terminate()  # SIGTERM: waitress finishes what it is answering
            server.join(30)
        problems = store_problems(open_study(study.path), result) + result.failures
    if problems:
        raise RuntimeError(f"the load lost or duplicated entries: {problems[:5]}")
    figures = {
        "saves": len(result.latencies_s),
        "seconds": round(result.seconds, 1),
        "saves_per_second": round(len(result.latencies_s) / result.seconds, 1),
        "p50_ms": round(result.percentile_ms(50), 1),
        "p95_ms": round(result.percentile_ms(95), 1),
        "p99_ms": round(result.percentile_ms(99), 1),
        "max_ms": round(float(result.latencies_s.max() * 1000), 1),
    }
    if result.flood is not None:
        figures["flood_attempts"] = result.flood.attempts
        figures["flood_statuses"] = dict(sorted(result.flood.statuses.items()))
    return figures


def main() -> dict:
    import os

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    alone = _run({"r01": REVIEWERS["r01"]}, ALONE_SAVES)
    print(f"one reviewer alone: {alone}")
    twenty = _run(REVIEWERS, SAVES_PER_REVIEWER, think_s=THINK_S)
    print(f"20 reviewers at once (a {THINK_S:g} s pause per case): {twenty}")
    flooded = _run(REVIEWERS, SAVES_PER_REVIEWER, flooders=FLOODERS, think_s=THINK_S)
    print(f"the same beside a login flood of {FLOODERS} clients: {flooded}")
    stress = _run(REVIEWERS, STRESS_SAVES)
    print(f"20 reviewers at once with no pause (stress): {stress}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for name, figures in (("20 at once", twenty), ("beside the flood", flooded)):
        verdict = "met" if figures["p95_ms"] < 100 else "NOT met"
        print(f"{name}: p95 {figures['p95_ms']} ms, target under 100 ms {verdict}")
    print("store check: every save there once, nothing else (every run)")
    return {"alone": alone, "twenty": twenty, "flooded": flooded, "stress": stress}


if __name__ == "__main__":
    main()
