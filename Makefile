# Two commands do all the set-up: `make demo` and `make test`.
# Each creates .venv when missing and installs the project with what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# pip's notices about this machine's absent local mirrors are noise, not progress.
QUIET_MIRRORS := sed -u '/^WARNING: Location/d'
PIP := $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check

.PHONY: demo test test-slow test-fast test-exhaustive lab bench lint clean browser screenshots docs \
	docs-serve wheel-check

$(STAMP): pyproject.toml
	@echo "== setting up $(VENV) (first run only: about a minute) =="
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip 2>&1 | $(QUIET_MIRRORS)
	$(PIP) -e '.[dev]' 2>&1 | $(QUIET_MIRRORS)
	$(BIN)/python -c "import stikprove" && touch $(STAMP)
	@echo "== $(VENV) ready =="

demo: $(STAMP)
	$(BIN)/stikprove demo --out demo-output --jobs 2

# The suite on two workers without the slow tier (end-to-end runs, browsers, simulations,
# the national release: `make test-slow`, which CI runs too), then the date-sensitive tests
# (marker `clock`) again with the clock a year ahead, so that no test passes only on the day
# it was written (collected from the test files that use the marker).
CLOCK_TESTS = $(shell grep -l 'mark\.clock' tests/test_*.py)
test: $(STAMP) browser
	$(BIN)/ruff check src tests benchmarks research
	$(BIN)/python -m pytest -n 2 -m "not slow"
	$(BIN)/python -m pytest -n 2 -q -m "clock and not slow" --clock-shift-days=365 $(CLOCK_TESTS)

# The slow tier: end-to-end runs (the demo, rendered reports), browser and load tests, long
# simulations. CI runs it after `make test`.
test-slow: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -m slow

# Every hypothesis test with ten times its examples (CI runs it after `make test`).
test-exhaustive: $(STAMP)
	HYPOTHESIS_PROFILE=exhaustive $(BIN)/python -m pytest -n 2 -q -m "not slow"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

lab: $(STAMP)
	$(PIP) -e '.[dev,lab]'
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(PIP) -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

# The web form's browser tests (tests/test_web_browser.py) drive Debian's chromium through
# Playwright, which never downloads a browser here; the reverse-proxy tests
# (tests/test_web_proxy.py) serve the form behind Debian's nginx. `make test` installs
# them when missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx || { echo "== installing Debian's chromium and nginx for the web form's tests =="; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium nginx; }

# The README's screenshots of the web form (docs/images/web-*.png), from a test study.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

# The built sdist and wheel, checked and installed into a clean venv outside the work tree,
# where init, check-protocol, demo --no-national and a report run (.ci/wheel-check; CI).
wheel-check: $(STAMP)
	bash .ci/wheel-check

# The documentation site (mkdocs.yml) in strict mode: a warning fails the build (the suite
# builds it too, tests/test_docs_site.py). The dev extra brings the docs extra.
DOCS_ENV := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true
docs: $(STAMP)
	$(DOCS_ENV) $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(DOCS_ENV) $(BIN)/mkdocs serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks research

clean:
	rm -rf $(VENV) demo-output .pytest_cache site
