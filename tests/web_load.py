"""A bounded load on the web form over loopback: several reviewers saving at once, each
through its own HTTP connection (log in, open a case, load its form, save it), optionally
with a login flood beside them (clients posting wrong logins under invented names until the
reviewers are done, bounded in count and time), and a check of the store afterwards: every
save there once, with the values sent, nothing else.

Used by tests/test_web_load.py (small) and benchmarks/bench_web.py (20 reviewers, with the
save latencies).
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np

from stikprove.store import Study
from store_fixtures import ELIGIBLE_ENTRY, INELIGIBLE_ENTRY

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPEN_CASE = re.compile(r'name="case_id" value="([^"]+)">\s*<button type="submit"(?: autofocus)?>')
HEALTH = ("for_syg", "kan_med_skaanehensyn", "ingen_vaesentlig_barriere", "kan_ikke_vurderes")


class Client:
    """One reviewer's connection: keeps the session cookie, like a browser."""

    def __init__(self, port: int):
        self.con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie: str | None = None

    def request(self, method: str, path: str, data: dict | None = None):
        headers = {}
        body = None
        if self.cookie:
            headers["Cookie"] = self.cookie
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.con.request(method, path, body=body, headers=headers)
        response = self.con.getresponse()
        text = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, text

    def close(self) -> None:
        self.con.close()


def entry_for(reviewer: str, number: int, ineligible_every: int) -> dict[str, str | None]:
    """The values a reviewer sends for their ``number``-th save: every
    ``ineligible_every``-th is ineligible, the others cycle through the health codes."""
    if ineligible_every and number % ineligible_every == ineligible_every - 1:
        return dict(INELIGIBLE_ENTRY)
    return {**ELIGIBLE_ENTRY, "health_assessment": HEALTH[number % len(HEALTH)]}


@dataclass
class ReviewerRun:
    reviewer: str
    latencies_s: list[float] = field(default_factory=list)
    sent: dict[str, dict] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _reviewer(port: int, reviewer: str, password: str, saves: int, ineligible_every: int,
              run: ReviewerRun, logged_in: threading.Barrier | None = None,
              think_s: float = 0.0) -> None:  # fmt: skip
    client = Client(port)
    waited = False
    try:
        status, page = client.request("GET", "/login")
        token = _TOKEN.search(page).group(1)
        for _ in range(1200):  # 503: the server is checking other passwords; try again
            status, _ = client.request(
                "POST", "/login", {"name": reviewer, "password": password, "csrf_token": token}
            )
            if status != 503:
                break
            time.sleep(0.1)
        if status != 302:
            run.failures.append(f"{reviewer}: login answered {status}")
            return
        if logged_in is not None:  # every reviewer logged in before the saves (and a flood)
            waited = True
            logged_in.wait()
        number = 0
        while number < saves:
            status, page = client.request("GET", "/cases")
            token = _TOKEN.search(page).group(1)
            waiting = _OPEN_CASE.findall(page.split("<h2>", 2)[1])  # the open cases only
            if not waiting:
                run.failures.append(f"{reviewer}: no open cases left after {number} saves")
                return
            for case_id in waiting:
                if number >= saves:
                    break
                if think_s:
                    time.sleep(think_s)  # reading the case before opening the next
                client.request("POST", "/cases/open", {"case_id": case_id, "csrf_token": token})
                client.request("GET", "/case")
                values = entry_for(reviewer, number, ineligible_every)
                form = {k: v or "" for k, v in values.items()}
                form.update(case_id=case_id, csrf_token=token)
                start = time.perf_counter()
                status, _ = client.request("POST", "/case", form)
                run.latencies_s.append(time.perf_counter() - start)
                if status != 302:
                    run.failures.append(f"{reviewer}: save {number} answered {status}")
                else:
                    run.sent[case_id] = values
                number += 1
    finally:
        if logged_in is not None and not waited:
            logged_in.wait()
        client.close()


@dataclass
class Flood:
    """What the login flood got: the statuses of its answers."""

    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values())


def _flooder(port: int, number: int, done: threading.Event, flood: Flood, lock: threading.Lock,
             most: int, until: float) -> None:  # fmt: skip
    """Post wrong logins under invented names (each name once: no account lockout stops
    them) until ``done``, ``most`` attempts or the clock passes ``until``."""
    client = Client(port)
    try:
        _, page = client.request("GET", "/login")
        token = _TOKEN.search(page).group(1)
        attempt = 0
        while not done.is_set() and attempt < most and time.monotonic() < until:
            form = {"name": f"x{number}-{attempt}", "password": "forkert-kodeord-1",
                    "csrf_token": token}  # fmt: skip
            status, _ = client.request("POST", "/login", form)
            with lock:
                flood.statuses[status] = flood.statuses.get(status, 0) + 1
            attempt += 1
    finally:
        client.close()


@dataclass(frozen=True)
class LoadResult:
    runs: tuple[ReviewerRun, ...]
    seconds: float
    flood: Flood | None = None

    @property
    def latencies_s(self) -> np.ndarray:
        return np.array([t for r in self.runs for t in r.latencies_s])

    @property
    def failures(self) -> list[str]:
        return [f for r in self.runs for f in r.failures]

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q) * 1000)


def run_load(port: int, passwords: dict[str, str], saves_per_reviewer: int,
             ineligible_every: int = 20, flooders: int = 0, flood_most: int = 5000,
             flood_seconds: float = 300, think_s: float = 0.0) -> LoadResult:  # fmt: skip
    """Every reviewer in ``passwords`` logs in, then all save ``saves_per_reviewer`` cases
    at once (the time is from the first save), each pausing ``think_s`` seconds before
    opening the next case (0: none, a stress test); with ``flooders`` > 0, that many clients
    post wrong logins meanwhile (each at most ``flood_most`` times, for at most
    ``flood_seconds``), stopping when the reviewers are done."""
    runs = tuple(ReviewerRun(name) for name in passwords)
    logged_in = threading.Barrier(len(runs) + 1)
    threads = []
    for run in runs:
        password = passwords[run.reviewer]
        args = (port, run.reviewer, password, saves_per_reviewer, ineligible_every, run,
                logged_in, think_s)  # fmt: skip
        threads.append(threading.Thread(target=_reviewer, args=args))
    flood = Flood() if flooders else None
    done, lock = threading.Event(), threading.Lock()
    until = time.monotonic() + flood_seconds
    flooding = [threading.Thread(target=_flooder, args=(port, n, done, flood, lock, flood_most,
                                                        until))
                for n in range(flooders)]  # fmt: skip
    for thread in threads:
        thread.start()
    logged_in.wait()  # the reviewers' logins first: the flood is beside their saves
    start = time.perf_counter()
    for thread in flooding:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    done.set()
    for thread in flooding:
        thread.join()
    return LoadResult(runs, seconds, flood)


def store_problems(study: Study, result: LoadResult) -> list[str]:
    """What the store holds that the load did not send, or lacks: every save exactly once
    (one version-1 row per case and reviewer, with the values sent), and one reserve
    activation per ineligible first review (while the stratum had reserves)."""
    problems = []
    stored = study.assessments(current_only=False)
    fields = list(study.codebook.field_names)
    sent = {(r.reviewer, c): v for r in result.runs for c, v in r.sent.items()}
    keys = list(zip(stored["reviewer"], stored["case_id"], strict=True))
    if len(keys) != len(set(keys)):
        problems.append(f"{len(keys) - len(set(keys))} duplicated entries")
    if set(keys) != set(sent):
        problems.append(
            f"{len(set(sent) - set(keys))} saves lost, {len(set(keys) - set(sent))} unexpected"
        )
    for row in stored.to_dict("records"):
        values = sent.get((row["reviewer"], row["case_id"]))
        if values is None:
            continue
        got = {f: (None if row[f] is None or row[f] != row[f] else row[f]) for f in fields}
        if got != {f: values.get(f) for f in fields}:
            problems.append(f"{row['reviewer']}/{row['case_id']}: stored values differ")
    if (stored["version"] != 1).any():
        problems.append("a save became a correction")
    slot_1 = study.assignments().query("review_slot == 1")
    first = set(zip(slot_1["reviewer"], slot_1["case_id"], strict=True))
    ineligible = sum(1 for key, v in sent.items() if v["eligible"] == "nej" and key in first)
    activated = int(study.units()["activated"].sum())
    unreplaced = int(study.status()["unreplaced"].sum())
    if activated + unreplaced != ineligible:
        problems.append(
            f"{ineligible} ineligible first reviews, but {activated} reserves activated and "
            f"{unreplaced} left unreplaced"
        )
    return problems
