# Developer and CI entry points; a fresh clone needs only python3.11+, Java 17+ and Maven 3.
SHELL := /bin/bash
.DEFAULT_GOAL := test

VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The first interpreter on PATH that is 3.11 or newer (pyenv shims of missing versions fail the check).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
# Only packages that exist yet: mypy fails on a directory without Python files.
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard carelay/__init__.py streams/__init__.py schemas/__init__.py access/__init__.py process/__init__.py \
	connectors/__init__.py gateway/__init__.py analytics/__init__.py stack/__init__.py))

.PHONY: venv lock audit fetch tools monitoring-tools kannel browser screenshots lint settings-doc test run demo kafka registry bench chaos clean distclean

venv: $(STAMP)

# The locks pin every package with its hashes (pip refuses a file whose hash differs); the dev lock is
# the runtime lock plus the dev extra at the same versions. Reinstalls when pyproject.toml or a lock changes;
# the stamp records the last successful install.
LOCKS := requirements.lock requirements-dev.lock
$(STAMP): pyproject.toml $(LOCKS)
	@test -n "$(PYTHON)" || { echo "make venv: python3.11 or newer is required on PATH" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Re-resolves the locks from pyproject.toml for CPython 3.11 on x86_64 Linux, keeping the pinned versions
# that still fit; `make lock UPGRADE=1` moves every package to its newest version (`UPGRADE=jinja2` one).
LOCK_FLAGS = --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command "make lock" $(if $(filter 1,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE)))
lock: venv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock

# Known vulnerabilities (PyPI's advisory data) in every locked version; fails on one. A vulnerability
# with no fixed release yet is ignored here only with its id and the reason: `--ignore-vuln ID  # why`.
AUDIT_IGNORE :=
audit: venv
	$(PY) -m stack.deps audit requirements-dev.lock $(AUDIT_IGNORE)

# Kafka and Apicurio jars from Maven Central into ~/.cache/carelay (CARELAY_STACK_CACHE); no-op once cached.
fetch: venv
	$(PY) -m stack.kafka fetch
	$(PY) -m stack.registry fetch

# Debian's prometheus (with promtool: the alert rules' unit tests) and prometheus-alertmanager, which `make run`
# starts beside the pipeline (docs/monitoring.md).
monitoring-tools:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				prometheus prometheus-alertmanager >/dev/null; \
		else echo "make monitoring-tools: install prometheus and prometheus-alertmanager (Debian: apt-get install prometheus prometheus-alertmanager)" >&2; \
			exit 1; fi; }

# Debian's docker-compose (no daemon needed) lets the suite check docker-compose.yml; wrk drives `make bench`.
tools:
	@command -v docker-compose >/dev/null && command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose wrk >/dev/null; \
		else echo "make tools: install docker-compose and wrk (Debian: apt-get install docker-compose wrk)" >&2; \
			exit 1; fi; }

# Debian's Kannel (bearerbox, smsbox; fakesmsc from kannel-extras): the peer `make bench` compares with.
# Optional: where it cannot be installed, the bench says so and prints the rest.
kannel:
	@test -x /usr/sbin/bearerbox && test -x /usr/sbin/smsbox && test -x /usr/lib/kannel/test/fakesmsc || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras >/dev/null \
			|| echo "make kannel: apt-get could not install kannel kannel-extras; the bench runs without its peer" >&2; \
		else echo "make kannel: install kannel and kannel-extras (Debian) for the bench's peer; running without it" >&2; fi; }

# Debian's chromium and chromium-driver for the browser tests (tests/browser) and `make screenshots`.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "make browser: install chromium and chromium-driver (Debian: apt-get install chromium chromium-driver)" >&2; \
			exit 1; fi; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(PACKAGES)

# docs/settings.md from the declarations in schemas/settings/ (a test fails when it is stale).
settings-doc: venv
	$(PY) -m schemas.settings --markdown > docs/settings.md

# pytest starts and stops the broker and registry itself (tests/conftest.py).
test: venv fetch tools monitoring-tools browser lint audit
	$(PY) -m pytest -m "not known_bug"

run: venv fetch monitoring-tools
	$(PY) -m stack.cli run

# Against a running `make run`: appointment reminders with fallbacks and a STOP, then the report.
demo: venv
	$(PY) -m stack.cli demo

# Foreground broker on CARELAY_KAFKA_BOOTSTRAP's port, data in $(CARELAY_DATA_DIR or var)/kafka; Ctrl-C stops it.
kafka: venv fetch
	$(PY) -m stack.kafka start

registry: venv fetch
	$(PY) -m stack.registry start

# A PNG of each staff console page into docs/screenshots/ (headless Chromium; starts and stops what it needs).
screenshots: venv fetch browser
	$(PY) -m stack.screenshots

# Prints figures (and writes bench-results/*.json); not a test. `ARGS="--messages 5000"` to change the load.
# Then the reporting dashboard's page load over 1,000,000 lifecycle events (`REPORT_ARGS` to change it).
bench: venv fetch tools kannel
	$(PY) -m stack.bench $(ARGS)
	$(PY) -m stack.reportbench $(REPORT_ARGS)

# The chaos tests alone (they also run in `make test`): worker SIGKILL, broker restart, provider outage,
# replayed and reordered webhooks under load, each ending with the lost/duplicate/audit accounting.
chaos: venv fetch
	$(PY) -m pytest tests/chaos -v

clean:
	rm -rf var bench-results build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Also the virtualenv and the downloaded jars (about 300 MB, re-fetched by the next `make test`).
distclean: clean
	rm -rf $(VENV)
	$(PYTHON) -c 'import os, pathlib, shutil; \
		root = pathlib.Path(os.environ.get("CARELAY_STACK_CACHE") or pathlib.Path.home() / ".cache" / "carelay"); \
		[shutil.rmtree(p) for g in ("kafka-*", "apicurio-registry-*") for p in root.glob(g)]'
