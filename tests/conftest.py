"""Suite-wide fixtures: a clock that every test reads, never the machine's.

Every test runs with the clock frozen-then-ticking at :data:`CLOCK_START` (plus the
``--clock-shift-days`` given on the command line), so a date a test computes and the date
the package checks against always agree, whatever day the suite runs. ``make test`` runs
the date-sensitive modules (marked ``clock``) a second time with the clock a year ahead.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from strategies import register_hypothesis_profiles

#: The instant every test starts at (a weekday morning after the fixtures' draw date).
CLOCK_START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

register_hypothesis_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-shift-days",
        type=int,
        default=0,
        help="run every test with the clock this many days after the suite's fixed start",
    )


def _start(config: pytest.Config) -> datetime:
    return CLOCK_START + timedelta(days=config.getoption("--clock-shift-days"))


@pytest.fixture
def clock_today(request: pytest.FixtureRequest):
    """The day the suite's clock shows in this run (its start plus any shift)."""
    return _start(request.config).date()


@pytest.fixture(autouse=True)
def test_clock(request: pytest.FixtureRequest):
    """The clock of one test: the suite's fixed start plus the requested shift, ticking."""
    with time_machine.travel(_start(request.config), tick=True) as traveller:
        yield traveller
